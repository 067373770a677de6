//! Captures every log line, of every crate (the AWS SDK's included) at `trace`, of ElastiCache
//! rotations with and without an endpoint, a refused one and one whose AUTH fails, a secret
//! whose AWSCURRENT the cache refuses (setSecret's proof), one naming a user outside
//! `ELASTICACHE_USER_ARNS`, and proves that no password appears in them or in the errors: the
//! passwords travel in ModifyUser requests and AUTH commands, which the most verbose setting
//! must not print.

use rotation_core::Step;
use rotation_testkit::{event, LogCapture};

use crate::testbed::Bed;

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
    // setSecret's proof: AWSCURRENT holds a password the cache refuses.
    let (name, user_arn) = bed.user("leakproof", "Initial-Leak-Pa55word-03").await;
    let json = bed.secret_json(
        &name,
        &user_arn,
        "Chosen-Leak-Pa55word-04",
        true,
        serde_json::json!({}),
    );
    let arn = bed.secret("cache", &json).await;
    let token = bed.start_and_create(&arn).await;
    let err = bed
        .invoke(event(&arn, &token, Step::Set))
        .await
        .expect_err("AWSCURRENT is refused before ModifyUser");
    // A user outside the list: refused at createSecret.
    let outside = Bed::with_vars(&[(
        rotation_core::ELASTICACHE_USER_ARNS,
        "arn:aws:elasticache:us-east-1:123456789012:user:nobody-else".to_string(),
    )])
    .await;
    let (_, _, arn) = outside
        .user_with_secret("leakscope", "Initial-Leak-Pa55word-05", false)
        .await;
    let scope = outside
        .invoke(event(
            &arn,
            &outside.driver.start(&arn).await.expect("RotateSecret"),
            Step::Create,
        ))
        .await
        .expect_err("a user outside the list is refused");
    let mut passwords = bed.created_passwords().await;
    passwords.extend(outside.created_passwords().await);
    passwords.push("Initial-Leak-Pa55word-03".into());
    for err in [&err, &scope] {
        for password in &passwords {
            assert!(!err.contains(password.as_str()), "a password in {err}");
        }
    }
    let logs = capture.text();
    assert!(
        logs.contains("aws_smithy_runtime"),
        "the SDK's own trace lines were captured"
    );
    assert!(
        logs.contains("ModifyUser"),
        "the ModifyUser calls were captured"
    );
    capture.assert_none_of(&passwords);
}
