//! The shared preamble every step runs first (rotation enabled, the token, a malformed event,
//! an unknown secret), and the one summary line every invocation logs.

use super::*;

// ---------------------------------------------------------------- preamble

#[tokio::test]
async fn rotation_disabled_is_refused_and_changes_nothing() {
    let (store, original) = setup();
    store.set_rotation_enabled("s", Some(false));
    let before = store.stages("s");
    for s in Step::ALL {
        let err = step(&store, &Plain::default(), s, TOKEN).await.unwrap_err();
        assert_eq!(err.error_type(), "RotationNotEnabled");
    }
    assert_eq!(store.stages("s"), before);
    assert_eq!(current(&store), original);
}

#[tokio::test]
async fn rotation_enabled_absent_is_allowed() {
    let (store, original) = setup();
    store.set_rotation_enabled("s", None);
    rotate(&store, &Plain::default(), TOKEN).await;
    assert_finished(&store, TOKEN, &original);
}

#[tokio::test]
async fn unknown_token_is_refused() {
    let (store, _) = setup();
    let err = step(&store, &Plain::default(), Step::Create, TOKEN2)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "UnknownVersion");
    assert!(err.to_string().contains(TOKEN2));
    assert!(store.value_of("s", TOKEN).is_none());
}

#[tokio::test]
async fn token_already_current_is_a_no_op_for_every_step() {
    let (store, original) = setup();
    let rotation = Plain::default();
    rotate(&store, &rotation, TOKEN).await;
    let after = store.stages("s");
    let value = current_value(&store);
    for s in Step::ALL {
        store.clear_calls();
        assert_eq!(
            step(&store, &rotation, s, TOKEN).await.unwrap(),
            Outcome::AlreadyCurrent
        );
        // Only the preamble's DescribeSecret ran; testSecret first reads its version by token
        // and AWSPENDING, which the service refuses (the label is gone), and falls back to it.
        let mut expected = vec![StoreCall::Describe];
        if s == Step::Test {
            expected.insert(
                0,
                StoreCall::GetValue {
                    secret_id: MemoryStore::arn("s"),
                    stage: AWSPENDING.into(),
                    version_id: Some(TOKEN.into()),
                },
            );
        }
        assert_eq!(store.calls(), expected, "{s}");
    }
    assert_eq!(store.stages("s"), after);
    assert_eq!(current_value(&store), value);
    assert_finished(&store, TOKEN, &original);
}

#[tokio::test]
async fn token_that_is_not_pending_is_refused() {
    let (store, original) = setup();
    // The original version is AWSCURRENT; make an AWSPREVIOUS-only version and use its id.
    store.set_version("s", TOKEN2, Some(ORIGINAL), &[AWSPREVIOUS]);
    let before = store.stages("s");
    for s in Step::ALL {
        let err = step(&store, &Plain::default(), s, TOKEN2)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "VersionNotPending");
        assert!(
            err.to_string().contains(TOKEN),
            "names where AWSPENDING is: {err}"
        );
    }
    assert_eq!(store.stages("s"), before);
    assert_eq!(current(&store), original);
}

#[tokio::test]
async fn malformed_events_are_typed_and_touch_nothing() {
    let (store, _) = setup();
    let rotation = Plain::default();
    let bad = [
        (
            json!({"Step": "createSecret", "SecretId": "s"}),
            "InvalidEvent",
        ),
        (
            json!({"Step": "fooSecret", "SecretId": "s", "ClientRequestToken": TOKEN}),
            "InvalidStep",
        ),
        (json!("createSecret"), "InvalidEvent"),
    ];
    for (payload, kind) in bad {
        let err = handle(&store, &rotation, &policy(), &payload)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), kind);
    }
    assert!(
        store.calls().is_empty(),
        "no Secrets Manager call for a malformed event"
    );
}

#[tokio::test]
async fn unknown_secret_is_a_not_found_error() {
    let store = MemoryStore::new();
    let err = step(&store, &Plain::default(), Step::Create, TOKEN)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.error_type(), "SecretsManagerError");
}

#[tokio::test]
async fn every_invocation_logs_one_summary_line_naming_its_outcome_and_duration() {
    let logs = crate::global_logs();
    let store = MemoryStore::new();
    let arn = store.create_secret("summary", ORIGINAL);
    store.start_rotation("summary", TOKEN).unwrap();
    let rotation = Plain::default();
    rotation.slow_set.store(true, Ordering::SeqCst);
    let mut set_wall_ms = 0.0;
    for s in [
        Step::Create,
        Step::Create,
        Step::Set,
        Step::Test,
        Step::Finish,
        Step::Finish,
    ] {
        let ev = RotationEvent {
            step: s,
            secret_id: arn.clone(),
            token: TOKEN.into(),
            rotation_token: None,
        };
        let started = std::time::Instant::now();
        handle(&store, &rotation, &policy(), &ev.to_value())
            .await
            .unwrap();
        if s == Step::Set {
            set_wall_ms = started.elapsed().as_secs_f64() * 1e3;
        }
    }
    // Only this test's secret: every test of the binary logs into the same capture.
    let summaries: Vec<Value> = logs
        .lines()
        .into_iter()
        .filter(|l| l["secret_arn"] == arn.as_str() && l["message"] == "rotation step finished")
        .collect();
    let ended: Vec<(&str, &str)> = summaries
        .iter()
        .map(|l| (l["step"].as_str().unwrap(), l["outcome"].as_str().unwrap()))
        .collect();
    // The outcome names are what operators filter the logs on.
    assert_eq!(
        ended,
        [
            ("createSecret", "done"),
            ("createSecret", "already_created"),
            ("setSecret", "done"),
            ("testSecret", "done"),
            ("finishSecret", "done"),
            ("finishSecret", "already_current"),
        ]
    );
    assert!(summaries.iter().all(|l| l["token"] == TOKEN));
    // duration_ms is the invocation's time in milliseconds: the slow setSecret's sleep, at
    // most what the test measured around it.
    let set_ms = summaries[2]["duration_ms"].as_f64().unwrap();
    let slow = SLOW_SET.as_secs_f64() * 1e3;
    assert!(
        set_ms >= slow && set_ms <= set_wall_ms + 0.01,
        "setSecret logged {set_ms} ms; it slept {slow} ms and took {set_wall_ms} ms"
    );
}
