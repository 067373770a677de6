//! Concurrency against the sandbox: a second rotation started with another token while the
//! first is under way (the first's steps are then refused and change nothing; the second
//! completes), and 50 secrets rotated at once against one database (no deadlock, all complete,
//! every new password logs in and every old one is refused).

use crate::testbed::Bed;
use rotation_core::labels::{self, AWSCURRENT, AWSPENDING};
use rotation_core::Step;
use rotation_testkit::{assert_rotated, event};
use serde_json::json;

#[tokio::test]
async fn a_second_rotation_with_another_token_supersedes_the_first_without_harm() {
    for strategy in ["single", "alternating"] {
        let bed = Bed::new(strategy, crate::testbed::Trust::SandboxCa, false).await;
        let (user, _, arn, table) = bed.alternating_pair("two").await;
        let first = bed.start_and_create(&arn).await;
        // A second RotateSecret, as a person or a schedule could start, moves AWSPENDING.
        let second = bed.driver.start(&arn).await.unwrap();
        let stages = bed.driver.stages(&arn).await;
        assert_eq!(
            labels::versions_with(&stages, AWSPENDING),
            vec![second.as_str()]
        );
        for step in [Step::Set, Step::Test, Step::Finish] {
            let err = bed.fails_changing_no_label(&arn, &first, step).await;
            assert!(
                err.starts_with("VersionNotPending: "),
                "{strategy} {step}: {err}"
            );
            assert!(
                bed.can_read(&user, "u-Pa55word", &table).await,
                "{strategy}: AWSCURRENT works"
            );
        }
        for step in Step::ALL {
            bed.invoke(event(&arn, &second, step))
                .await
                .unwrap_or_else(|e| panic!("{strategy} {step}: {e}"));
        }
        let stages = bed.driver.stages(&arn).await;
        assert_eq!(
            labels::versions_with(&stages, AWSCURRENT),
            vec![second.as_str()]
        );
        let (u, pw) = bed.current(&arn).await;
        assert!(
            bed.can_read(&u, &pw, &table).await,
            "{strategy}: the new AWSCURRENT works"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_secrets_rotate_at_once_against_one_database() {
    let bed = Bed::single().await;
    let mut secrets = Vec::new();
    for _ in 0..50 {
        let (user, arn) = bed
            .user_with_secret("many", "Many-Pa55", json!({"ssl": true}))
            .await;
        secrets.push((user, arn));
    }
    let started = std::time::Instant::now();
    let runs = futures::future::join_all(secrets.iter().map(|(_, arn)| bed.rotate(arn))).await;
    let elapsed = started.elapsed();
    for ((user, arn), run) in secrets.iter().zip(runs) {
        assert!(run.succeeded(), "{user}: {:?}", run.failure());
        assert_rotated(&bed.driver.stages(arn).await, &run);
        let (_, new) = bed.current(arn).await;
        bed.login(user, &new, false).await.unwrap();
        assert_eq!(
            bed.login(user, "Many-Pa55", false).await,
            Err("28P01".into())
        );
    }
    assert!(
        elapsed < std::time::Duration::from_secs(60),
        "50 rotations at once took {elapsed:?}"
    );
}
