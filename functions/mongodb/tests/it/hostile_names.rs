//! Hostile names and passwords, and the most verbose logs: user names made of every ASCII
//! punctuation character but `,` and `=` (which the driver cannot send in a SCRAM login:
//! `rotation` proves them refused), a space and unicode;
//! passwords drawn from every punctuation character, and a unicode first password (SASLprep on
//! the SCRAM-SHA-256 side). Both personalities, single user and alternating users (a hostile
//! original), two rounds each, then failing invocations (a login refused, a tampered
//! AWSPENDING). Every crate (the driver's and the AWS SDK's included) logs at `trace` into a
//! capture, which must hold no password in any form.

use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_core::Step;
use rotation_testkit::mongo::Personality;
use rotation_testkit::{event, policy_excluding_nothing, LogCapture, PUNCTUATION};
use serde_json::json;

use crate::testbed::Bed;

/// A hostile name prefix: every punctuation character but `,` and `=`, a space and unicode
/// (34 characters, so `<prefix>_<10>_clone` fits DocumentDB's 63).
fn hostile_prefix() -> String {
    let punctuation: String = PUNCTUATION.chars().filter(|c| !",=".contains(*c)).collect();
    format!("h{punctuation} Üñ")
}

#[tokio::test]
async fn hostile_names_and_passwords_leave_no_password_in_trace_logs() {
    let capture = LogCapture::everything_at_trace();
    let policy = policy_excluding_nothing();
    let first = format!("{PUNCTUATION}Üñ-Pa55");
    let mut passwords = vec![first.clone()];
    for personality in [Personality::DocumentDb40, Personality::MongoDb] {
        for strategy in ["single", "alternating"] {
            let bed = Bed::new(personality, strategy)
                .await
                .with_policy(policy.clone());
            let (user, arn) = bed
                .strategy_user(&hostile_prefix(), &first, json!({}))
                .await;
            for round in 1..=2 {
                let run = bed.rotate(&arn).await;
                assert!(
                    run.succeeded(),
                    "{personality:?} {strategy} round {round}: {:?}",
                    run.failure()
                );
                assert!(bed.stage_holds(&arn, AWSCURRENT).await);
                if strategy == "alternating" {
                    assert!(bed.stage_holds(&arn, AWSPREVIOUS).await);
                    assert_eq!(
                        bed.server.roles_of(bed.db, &user),
                        bed.server.roles_of(bed.db, &format!("{user}_clone"))
                    );
                }
            }
            let (current_user, _) = bed.current(&arn).await;
            assert!(current_user.starts_with(&hostile_prefix()));
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
    }
    let logs = capture.text();
    assert!(
        logs.contains("rotation_mongodb"),
        "the function's own lines were captured"
    );
    capture.assert_none_of(&passwords);
}
