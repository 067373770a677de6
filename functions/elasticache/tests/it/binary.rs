//! The real `elasticache` binary (its `main` and the shared `serve`), run as Lambda runs it (a
//! child process polling a loopback Lambda Runtime API; moto as Secrets Manager and ElastiCache
//! through `AWS_ENDPOINT_URL`): it rotates a user with an endpoint, with the default waits, and
//! both passwords then authenticate against the sandbox Redis; without `ELASTICACHE_USER_ARNS`
//! it does not start.

use std::path::Path;
use std::time::Duration;

use crate::testbed::Bed;
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_core::Step;
use rotation_testkit::{deployed_environment, event, Answer, FunctionProcess, Moto};

#[tokio::test]
async fn the_elasticache_binary_rotates_a_user() {
    let bed = Bed::new().await;
    let (_, user_arn, arn) = bed
        .user_with_secret("binary", "Initial-Pa55word-0001", true)
        .await;
    let binary = Path::new(env!("CARGO_BIN_EXE_elasticache"));
    let moto = Moto::from_env();
    let env = deployed_environment(
        moto.endpoint(),
        &bed.redis.ca,
        &[
            ("ROTATION_STRATEGY", ""),
            ("ELASTICACHE_USER_ARNS", &user_arn),
        ],
    );
    let mut function = FunctionProcess::start(binary, &env)
        .await
        .expect("the binary starts");
    let rotated = function
        .rotate(&bed.driver, &arn, Duration::from_secs(30))
        .await;
    function.stop().await;
    rotated.unwrap();
    bed.stage_logs_in(&arn, AWSCURRENT).await.unwrap();
    bed.stage_logs_in(&arn, AWSPREVIOUS).await.unwrap();
    let (_, previous) = bed.creds(&arn, AWSPREVIOUS).await;
    assert_eq!(previous, "Initial-Pa55word-0001");
}

#[tokio::test]
async fn the_elasticache_binary_does_not_start_without_its_user_list() {
    let bed = Bed::new().await;
    let (_, _, arn) = bed
        .user_with_secret("nolist", "Initial-Pa55word-0001", true)
        .await;
    let binary = Path::new(env!("CARGO_BIN_EXE_elasticache"));
    let moto = Moto::from_env();
    let env = deployed_environment(moto.endpoint(), &bed.redis.ca, &[("ROTATION_STRATEGY", "")]);
    let mut function = FunctionProcess::start(binary, &env)
        .await
        .expect("the process spawns");
    let token = bed.driver.start(&arn).await.expect("RotateSecret");
    let answer = function
        .invoke(event(&arn, &token, Step::Create), Duration::from_secs(30))
        .await;
    let output = function.stop().await;
    assert!(
        matches!(answer, Answer::InitError(_) | Answer::Exited(_)),
        "{answer:?}"
    );
    assert!(
        output.contains("ConfigurationError") && output.contains("ELASTICACHE_USER_ARNS"),
        "{output}"
    );
    assert!(!bed.pending_value_exists(&arn, &token).await);
}
