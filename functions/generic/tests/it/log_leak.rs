//! Captures every log line, of every crate at `trace`, of full rotations (against moto and
//! against the fake, successful and failing) and proves that no password ever appears in them.

use rotation_core::handle_invocation as handle;
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_core::{MemoryStore, RotationEvent, Step};
use rotation_generic::GenericRotation;
use rotation_testkit::LogCapture;
use serde_json::Value;

use crate::testbed::bed;

fn password_of(value: &str) -> String {
    serde_json::from_str::<Value>(value).unwrap()["password"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn no_password_reaches_the_logs() {
    let capture = LogCapture::everything_at_trace();

    let bed = bed().await;
    let mut passwords = vec!["first-Secret-Pa55word!".to_string()];
    let arn = bed
        .secret(
            "leak",
            &format!(r#"{{"username":"u","password":"{}"}}"#, passwords[0]),
        )
        .await;
    for _ in 0..3 {
        let run = bed
            .driver
            .rotate(&arn, |e| async { bed.invoke(e).await.map(|_| ()) })
            .await;
        assert!(run.succeeded(), "{:?}", run.failure());
        passwords.push(password_of(&bed.driver.value(&arn, AWSCURRENT).await));
        assert_eq!(
            password_of(&bed.driver.value(&arn, AWSPREVIOUS).await),
            passwords[passwords.len() - 2]
        );
    }

    // Failing invocations log their errors too: a malformed secret and replays after the end.
    let bad_password = "malformed-Secret-Pa55word!";
    let bad = bed
        .secret(
            "leak-bad",
            &format!(r#"{{"user":"u","pass":"{bad_password}","port":"{bad_password}"}}"#),
        )
        .await;
    let run = bed
        .driver
        .rotate(&bad, |e| async { bed.invoke(e).await.map(|_| ()) })
        .await;
    assert!(run.failure().is_some());
    passwords.push(bad_password.to_string());

    // And the fake: a rotation whose testSecret fails because the pending password was swapped
    // for one that breaks the policy.
    let store = MemoryStore::new();
    let fake_password = "fake-Secret-Pa55word!";
    store.create_secret("s", &format!(r#"{{"password":"{fake_password}"}}"#));
    let token = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
    store.start_rotation("s", token).unwrap();
    let ev = |step| {
        RotationEvent {
            step,
            secret_id: MemoryStore::arn("s"),
            token: token.into(),
            rotation_token: None,
        }
        .to_value()
    };
    handle(
        &store,
        &GenericRotation::default(),
        &bed.policy,
        &ev(Step::Create),
    )
    .await
    .unwrap();
    let weak = "weak-but-Secret-1";
    store.set_version(
        "s",
        token,
        Some(&format!(r#"{{"password":"{weak}"}}"#)),
        &["AWSPENDING"],
    );
    let err = handle(
        &store,
        &GenericRotation::default(),
        &bed.policy,
        &ev(Step::Test),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "TestSecretFailed");
    passwords.push(fake_password.to_string());
    passwords.push(weak.to_string());

    let logs = capture.text();
    // The capture really holds the rotations: 12 successful step summaries per moto rotation.
    let finished = logs.matches("rotation step finished").count();
    assert!(
        finished >= 12,
        "expected the summaries of 3 rotations, found {finished}"
    );
    assert!(logs.contains("rotation step failed") && logs.contains("\"duration_ms\""));
    assert!(logs.contains(&arn), "summary lines name the secret ARN");
    for password in &passwords {
        assert!(
            !logs.contains(password.as_str()),
            "a password leaked into the logs"
        );
    }
    eprintln!(
        "checked {} bytes of logs for {} passwords",
        logs.len(),
        passwords.len()
    );
}
