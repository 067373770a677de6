//! Rotations as Secrets Manager runs them: both passwords live during and after a change, the
//! oldest one dropped by the next rotation, every password proved by `redis-cli` against the
//! sandbox Redis (which mirrors what moto's ElastiCache holds).

use crate::testbed::Bed;
use rotation_core::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::Step;
use rotation_testkit::{assert_rotated, event};

#[tokio::test]
async fn rotations_keep_both_passwords_live_and_drop_the_oldest() {
    let bed = Bed::new().await;
    let (name, _, arn) = bed
        .user_with_secret("app", "Initial-Pa55word-0001", true)
        .await;
    let mut older: Option<String> = None;
    for round in 1..=3 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        assert_rotated(&bed.driver.stages(&arn).await, &run);
        bed.stage_logs_in(&arn, AWSCURRENT)
            .await
            .unwrap_or_else(|e| panic!("round {round}: AWSCURRENT: {e}"));
        // Clients still on the previous password keep working...
        bed.stage_logs_in(&arn, AWSPREVIOUS)
            .await
            .unwrap_or_else(|e| panic!("round {round}: AWSPREVIOUS: {e}"));
        // ...and the one before that is gone: at most two passwords per user.
        if let Some(old) = &older {
            assert_eq!(
                bed.redis.login(&name, old),
                Err("WRONGPASS".into()),
                "round {round}"
            );
        }
        older = Some(bed.creds(&arn, AWSPREVIOUS).await.1);
    }
}

#[tokio::test]
async fn without_an_endpoint_the_api_alone_rotates_and_finish_sets_both_again() {
    let bed = Bed::new().await;
    let (_, _, arn) = bed
        .user_with_secret("noendpoint", "Initial-Pa55word-0001", false)
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    bed.stage_logs_in(&arn, AWSCURRENT).await.unwrap();
    bed.stage_logs_in(&arn, AWSPREVIOUS).await.unwrap();
    // finishSecret straight after createSecret (no setSecret, no testSecret): nothing can read
    // what ElastiCache holds, so the guard sets both passwords before promoting.
    let token = bed.start_and_create(&arn).await;
    bed.invoke(event(&arn, &token, Step::Finish))
        .await
        .expect("finishSecret");
    let stages = bed.driver.stages(&arn).await;
    assert_eq!(
        rotation_core::labels::versions_with(&stages, AWSCURRENT),
        vec![token.as_str()]
    );
    bed.stage_logs_in(&arn, AWSCURRENT).await.unwrap();
    bed.stage_logs_in(&arn, AWSPREVIOUS).await.unwrap();
}

#[tokio::test]
async fn with_an_endpoint_finish_before_set_is_refused_and_current_keeps_working() {
    let bed = Bed::new().await;
    let (_, _, arn) = bed
        .user_with_secret("early", "Initial-Pa55word-0001", true)
        .await;
    let token = bed.start_and_create(&arn).await;
    let err = bed
        .fails_changing_no_label(&arn, &token, Step::Finish)
        .await;
    assert!(
        err.starts_with("FinishSecretRefused: ") && err.contains("WRONGPASS"),
        "{err}"
    );
    let err = bed.fails_changing_no_label(&arn, &token, Step::Test).await;
    assert!(err.starts_with("TestSecretFailed: "), "{err}");
    bed.stage_logs_in(&arn, AWSCURRENT).await.unwrap();
    bed.resume(&arn, &token).await;
    bed.stage_logs_in(&arn, AWSCURRENT).await.unwrap();
}

#[tokio::test]
async fn each_step_twice_and_twice_at_once() {
    let bed = Bed::new().await;
    for endpoint in [true, false] {
        for at_once in [false, true] {
            let (_, _, arn) = bed
                .user_with_secret("twice", "Initial-Pa55word-0001", endpoint)
                .await;
            let token = bed.rotate_each_step_twice(&arn, at_once).await;
            let stages = bed.driver.stages(&arn).await;
            assert_eq!(
                rotation_core::labels::versions_with(&stages, AWSCURRENT),
                vec![token.as_str()],
                "endpoint {endpoint}, at once {at_once}"
            );
            assert!(rotation_core::labels::versions_with(&stages, AWSPENDING).is_empty());
            bed.stage_logs_in(&arn, AWSCURRENT).await.unwrap();
            bed.stage_logs_in(&arn, AWSPREVIOUS).await.unwrap();
        }
    }
}
