//! Captures every log line, of every crate (the AWS SDK's included) at `trace`, of ElastiCache
//! rotations with and without an endpoint, a refused one and one whose AUTH fails, and proves
//! that no password appears in them: the passwords travel in ModifyUser requests and AUTH
//! commands, which the most verbose setting must not print. Its own test binary: it installs
//! the process's global subscriber.

// The integration tests' bed; this test uses part of it.
#[allow(dead_code)]
#[path = "it/testbed.rs"]
mod testbed;

use rotation_core::Step;
use rotation_testkit::{event, LogCapture};
use testbed::Bed;

#[tokio::test]
async fn no_password_reaches_the_logs_at_trace() {
    let capture = LogCapture::everything_at_trace();
    let bed = Bed::new().await;
    for endpoint in [true, false] {
        let (_, _, arn) = bed
            .user_with_secret("leak", "Initial-Leak-Pa55word-01", endpoint)
            .await;
        for _ in 0..2 {
            let run = bed.rotate(&arn).await;
            assert!(run.succeeded(), "{:?}", run.failure());
        }
    }
    // Failing invocations: AUTH refused (testSecret before setSecret), and a pending secret
    // naming another user.
    let (_, _, arn) = bed
        .user_with_secret("leakfail", "Initial-Leak-Pa55word-02", true)
        .await;
    let token = bed.start_and_create(&arn).await;
    bed.invoke(event(&arn, &token, Step::Test))
        .await
        .expect_err("AUTH with a password never set is refused");
    let logs = capture.text();
    assert!(
        logs.contains("aws_smithy_runtime"),
        "the SDK's own trace lines were captured"
    );
    assert!(
        logs.contains("ModifyUser"),
        "the ModifyUser calls were captured"
    );
    capture.assert_none_of(&bed.created_passwords().await);
}
