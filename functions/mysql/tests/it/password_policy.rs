//! Both strategies on the sandbox's second MariaDB, which runs the password-validation plugin
//! `simple_password_check` in its default strict mode: the server refuses every statement that
//! sets a password as a hash, so the function detects the policy and sends the password itself,
//! over verified TLS, in the forms MariaDB writes to its binary log as a hash, with the session
//! kept out of the general log where it may (the superuser may; a user changing its own
//! password may not, and its statement stays in the general log, which is off by default).

use crate::testbed::{Bed, Options};
use mysql::MARIADB;
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_testkit::LogCapture;
use serde_json::json;

async fn bed(strategy: &str) -> Bed {
    let options = Options {
        policy_server: true,
        ..Options::default()
    };
    Bed::with_options(MARIADB, strategy, options).await
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn both_strategies_rotate_under_a_strict_password_policy() {
    let capture = LogCapture::global();
    let single = bed("single").await;
    let (user, arn) = single
        .user_with_secret("policy", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    for round in 1..=2 {
        let run = single.rotate(&arn).await;
        assert!(run.succeeded(), "single round {round}: {:?}", run.failure());
        let (_, pw) = single.current(&arn).await;
        single.db.login(&user, &pw, true).await.expect("AWSCURRENT");
    }
    let alternating = bed("alternating").await;
    let (_, db, pair) = alternating.alternating_pair_at("policy", "%").await;
    for round in 1..=3 {
        let run = alternating.rotate(&pair).await;
        assert!(
            run.succeeded(),
            "alternating round {round}: {:?}",
            run.failure()
        );
        for stage in [AWSCURRENT, AWSPREVIOUS] {
            let (u, pw) = alternating.creds(&pair, stage).await;
            assert!(alternating.db.can_read(&u, &pw, &db).await, "{stage} {u}");
        }
        alternating.assert_pair_interchangeable(&pair).await;
    }
    let logs = alternating.db.logs();
    let binary = alternating.db.binary_logs();
    // The fixtures' own passwords were set by the test in plaintext; the generated ones must
    // reach neither log.
    let generated = |all: Vec<String>| -> Vec<String> {
        all.into_iter()
            .filter(|p| p != "Initial-Pa55#word" && p != "u-Pa55word" && p != "master-Pa55")
            .collect()
    };
    let mut passwords = generated(single.driver.passwords_of(&arn).await);
    assert_eq!(passwords.len(), 2, "two generated single-user passwords");
    for password in &passwords {
        assert!(
            !contains(&binary, password.as_bytes()),
            "a single-user password reached the binary log"
        );
    }
    let alternating_passwords = generated(alternating.driver.passwords_of(&pair).await);
    assert_eq!(
        alternating_passwords.len(),
        3,
        "three generated alternating passwords"
    );
    for password in &alternating_passwords {
        assert!(
            !contains(&logs, password.as_bytes()),
            "an alternating-users password reached the general or binary log"
        );
    }
    passwords.extend(alternating_passwords);
    capture.assert_none_of(&passwords);
}

#[tokio::test]
async fn a_generated_password_the_policy_refuses_is_a_clear_error_and_changes_nothing() {
    // No punctuation: simple_password_check wants one character that is not a letter or digit.
    let bed = bed("single").await.with_policy(
        rotation_core::PasswordPolicy::from_lookup(
            rotation_core::PasswordDefaults::STANDARD,
            |k| (k == "EXCLUDE_PUNCTUATION").then(|| "true".to_string()),
        )
        .unwrap(),
    );
    let (user, arn) = bed
        .user_with_secret("weak", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    let run = bed.rotate(&arn).await;
    let (_, error) = run.failure().expect("refused");
    assert!(
        error.starts_with("DatabaseError")
            && error.contains("1819")
            && error.contains("password-validation policy"),
        "{error}"
    );
    bed.db
        .login(&user, "Initial-Pa55#word", true)
        .await
        .expect("AWSCURRENT unchanged");
}
