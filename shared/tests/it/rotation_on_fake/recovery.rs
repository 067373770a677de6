//! Recovery: a stale AWSPENDING, a failure at any call, the API call budget, and every step
//! replayed.

use super::*;

// ---------------------------------------------------------------- stale AWSPENDING

#[tokio::test]
async fn stale_pending_from_a_failed_rotation_blocks_then_resumes() {
    let (store, original) = setup();
    let rotation = Plain::default();
    rotation.fail_test.store(true, Ordering::SeqCst);
    step(&store, &rotation, Step::Create, TOKEN).await.unwrap();
    step(&store, &rotation, Step::Set, TOKEN).await.unwrap();
    let err = step(&store, &rotation, Step::Test, TOKEN)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TestSecretFailed");
    assert_eq!(
        current_value(&store),
        ORIGINAL,
        "a failed rotation leaves AWSCURRENT alone"
    );

    // A new rotation cannot start while AWSPENDING sits on the failed version...
    assert!(store.start_rotation("s", TOKEN2).is_err());
    // ...and a step for another version is refused, naming the stale version.
    store.set_version("s", TOKEN2, Some(ORIGINAL), &[AWSPREVIOUS]);
    let err = step(&store, &rotation, Step::Create, TOKEN2)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "VersionNotPending");
    assert!(err.to_string().contains(TOKEN));
    assert_eq!(
        labels::stale_pending(&store.stages("s"), TOKEN2),
        vec![TOKEN]
    );

    // Retrying the failed rotation (its token still AWSPENDING) completes it with its value.
    rotation.fail_test.store(false, Ordering::SeqCst);
    let pending_value = store.value_of("s", TOKEN).unwrap();
    rotate(&store, &rotation, TOKEN).await;
    assert_finished(&store, TOKEN, &original);
    assert_eq!(current_value(&store), pending_value);

    // And the next rotation starts normally.
    store.start_rotation("s", TOKEN2).unwrap();
    rotate(&store, &rotation, TOKEN2).await;
    assert_finished(&store, TOKEN2, TOKEN);
}

#[tokio::test]
async fn pending_left_on_the_current_version_does_not_block_the_next_rotation() {
    let (store, original) = setup();
    let rotation = Plain::default();
    rotate(&store, &rotation, TOKEN).await;
    // What the official functions leave behind (#168): AWSPENDING on the current version.
    store.set_version(
        "s",
        TOKEN,
        store.value_of("s", TOKEN).as_deref(),
        &[AWSCURRENT, AWSPENDING],
    );
    store.set_version("s", &original, Some(ORIGINAL), &[AWSPREVIOUS]);
    store.start_rotation("s", TOKEN2).unwrap();
    rotate(&store, &rotation, TOKEN2).await;
    assert_finished(&store, TOKEN2, TOKEN);
}

// ---------------------------------------------------------------- failure at any point

#[tokio::test]
async fn a_failure_at_any_call_leaves_awscurrent_working_and_a_retry_finishes() {
    let operations = [
        "DescribeSecret",
        "GetSecretValue",
        "GetRandomPassword",
        "PutSecretValue",
        "UpdateSecretVersionStage",
    ];
    let mut injected = 0;
    for op in operations {
        for skip in 0..5 {
            let (store, original) = setup();
            let rotation = Plain::default();
            store.fail_call(op, skip, ApiErrorCode::Other("InternalServiceError".into()));
            for s in Step::ALL {
                // Secrets Manager retries a failed step; one injected failure, so two tries.
                if let Err(err) = step(&store, &rotation, s, TOKEN).await {
                    injected += 1;
                    // The service's failure is reported as itself, whichever call it hit:
                    // never taken for a refusal, a missing version or an existing one.
                    assert_eq!(
                        err.api_code(),
                        Some(&ApiErrorCode::Other("InternalServiceError".into())),
                        "{op} #{skip} at {s}: {}: {err}",
                        err.error_type()
                    );
                    if s != Step::Finish {
                        assert_eq!(current(&store), original, "{op} #{skip} at {s}");
                    }
                    assert!(
                        current_value(&store) == ORIGINAL || current(&store) == TOKEN,
                        "AWSCURRENT is the old or the fully set-up new secret"
                    );
                    step(&store, &rotation, s, TOKEN).await.unwrap();
                }
            }
            assert_finished(&store, TOKEN, &original);
        }
    }
    // Each of the 11 calls of a rotation (3 DescribeSecret, 4 GetSecretValue, 1
    // GetRandomPassword, 1 PutSecretValue, 2 UpdateSecretVersionStage) failed once.
    assert_eq!(injected, 11, "injections that hit a call");
}

// ---------------------------------------------------------------- API calls

#[tokio::test]
async fn a_rotation_makes_eleven_api_calls() {
    let (store, _) = setup();
    rotate(&store, &Plain::default(), TOKEN).await;
    let calls = store.calls();
    // create: Describe, Get(AWSCURRENT), GetRandomPassword, Put
    // set: Describe, Get(AWSPENDING); test: Get(AWSPENDING by token), no DescribeSecret
    // finish: Describe, Get(AWSPENDING) (the guard), Update(AWSCURRENT), Update(AWSPENDING)
    assert_eq!(calls.len(), 11, "{calls:?}");
    assert!(calls.iter().all(|c| match c {
        StoreCall::GetValue { stage, .. } => !stage.is_empty(),
        _ => true,
    }));
}

// ---------------------------------------------------------------- replays

#[tokio::test]
async fn every_step_twice_in_a_row_ends_as_once() {
    let (store, original) = setup();
    let rotation = Plain::default();
    for s in Step::ALL {
        step(&store, &rotation, s, TOKEN).await.unwrap();
        let once = (store.stages("s"), store.value_of("s", TOKEN));
        step(&store, &rotation, s, TOKEN).await.unwrap();
        assert_eq!(
            (store.stages("s"), store.value_of("s", TOKEN)),
            once,
            "{s} replayed"
        );
    }
    assert_finished(&store, TOKEN, &original);
}

#[tokio::test]
async fn every_step_twice_at_once_ends_as_once() {
    let (store, original) = setup();
    let rotation = Plain::default();
    for s in Step::ALL {
        let (a, b) = tokio::join!(
            step(&store, &rotation, s, TOKEN),
            step(&store, &rotation, s, TOKEN)
        );
        a.unwrap();
        b.unwrap();
    }
    assert_finished(&store, TOKEN, &original);
    let value: Value = serde_json::from_str(&current_value(&store)).unwrap();
    policy().check(value["password"].as_str().unwrap()).unwrap();
}
