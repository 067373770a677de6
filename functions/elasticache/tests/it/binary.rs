//! The real `elasticache` binary (its `main` and the shared `serve`), run as Lambda runs it (a
//! child process polling a loopback Lambda Runtime API; moto as Secrets Manager and ElastiCache
//! through `AWS_ENDPOINT_URL`): it rotates a user with an endpoint, with the default waits, and
//! both passwords then authenticate against the sandbox Redis.

use std::path::Path;

use crate::testbed::Bed;
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_testkit::rotate_with_binary;

#[tokio::test]
async fn the_elasticache_binary_rotates_a_user() {
    let bed = Bed::new().await;
    let (_, _, arn) = bed
        .user_with_secret("binary", "Initial-Pa55word-0001", true)
        .await;
    let binary = Path::new(env!("CARGO_BIN_EXE_elasticache"));
    rotate_with_binary(binary, "", &bed.redis.ca, &bed.driver, &arn).await;
    bed.stage_logs_in(&arn, AWSCURRENT).await.unwrap();
    bed.stage_logs_in(&arn, AWSPREVIOUS).await.unwrap();
    let (_, previous) = bed.creds(&arn, AWSPREVIOUS).await;
    assert_eq!(previous, "Initial-Pa55word-0001");
}
