//! Hostile names and passwords, and the most verbose logs: login names made of every ASCII
//! punctuation character but `\` (a SQL login's name cannot hold one: MS Learn, CREATE LOGIN),
//! `]` and `'` among them, a space and unicode; 128-character names (`sysname`'s limit) and the
//! clone name that would pass it; passwords drawn from every punctuation character and a
//! unicode first password. Both strategies, two rounds each, then a failing invocation. Every
//! crate (the driver's and the AWS SDK's included) logs at `trace` into a capture, which must
//! hold no password.

use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_core::Step;
use rotation_testkit::{event, policy_excluding_nothing, LogCapture, PUNCTUATION};
use serde_json::json;

use crate::testbed::{Bed, MASTER_PASSWORD};

/// A hostile name prefix: every punctuation character but `\`, a space and unicode.
fn hostile_prefix() -> String {
    let punctuation: String = PUNCTUATION.chars().filter(|c| *c != '\\').collect();
    format!("h{punctuation} Üñ名")
}

#[tokio::test]
async fn hostile_names_and_passwords_leave_no_password_in_trace_logs() {
    let capture = LogCapture::everything_at_trace();
    let policy = policy_excluding_nothing();
    let first = format!("{PUNCTUATION}Üñ-Pa55");
    let mut passwords = vec![first.clone(), MASTER_PASSWORD.to_string()];
    for strategy in ["single", "alternating"] {
        let bed = Bed::new(strategy).await.with_policy(policy.clone());
        let (login, arn) = bed
            .strategy_login(&hostile_prefix(), &first, json!({}))
            .await;
        for round in 1..=2 {
            let run = bed.rotate(&arn).await;
            assert!(
                run.succeeded(),
                "{strategy} round {round}: {:?}",
                run.failure()
            );
            bed.assert_current_logs_in(&arn).await;
            if strategy == "alternating" {
                let (previous, password) = bed.creds(&arn, AWSPREVIOUS).await;
                assert_eq!(bed.server.password(&previous), Some(password));
            }
        }
        let (current, _) = bed.creds(&arn, AWSCURRENT).await;
        assert!(
            current.starts_with(&hostile_prefix()),
            "{current} of {login}"
        );
        // A step refused at login: testSecret of a new rotation before its setSecret.
        let token = bed.start_and_create(&arn).await;
        let err = bed
            .invoke(event(&arn, &token, Step::Test))
            .await
            .expect_err("AWSPENDING's password was never set");
        assert!(err.starts_with("AuthenticationFailed: "), "{err}");
        passwords.extend(bed.created_passwords().await);
        passwords.extend(bed.driver.passwords_of(&arn).await);
    }
    let logs = capture.text();
    assert!(
        logs.contains("rotation_sqlserver"),
        "the function's own lines were captured"
    );
    capture.assert_none_of(&passwords);
}

#[tokio::test]
async fn names_at_the_sysname_limit_rotate_and_a_clone_name_past_it_is_refused() {
    for strategy in ["single", "alternating"] {
        let bed = Bed::new(strategy).await;
        // 128 characters in all with the 10-character tag: a single user at the limit; for
        // alternating users, 122 leave room for `_clone`.
        let fits = if strategy == "single" { 128 } else { 122 };
        let prefix = format!("]'{}", "n".repeat(fits - 2 - 11));
        let (login, arn) = bed
            .strategy_login(&prefix, "Long-Pa55word-1", json!({}))
            .await;
        assert_eq!(login.chars().count(), fits, "{login}");
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "{strategy}: {:?}", run.failure());
        bed.assert_current_logs_in(&arn).await;
    }
    let bed = Bed::new("alternating").await;
    let prefix = "x".repeat(123 - 11);
    let (login, arn) = bed
        .strategy_login(&prefix, "Long-Pa55word-2", json!({}))
        .await;
    assert_eq!(login.chars().count(), 123);
    let error = bed.failure_of(&arn).await;
    assert!(
        error.starts_with("MalformedSecret") && error.contains("128"),
        "{error}"
    );
    assert!(bed.server.password(&format!("{login}_clone")).is_none());
}
