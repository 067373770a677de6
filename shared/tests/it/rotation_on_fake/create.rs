//! createSecret: the pending value, its policy password, and replays and races of the step.

use super::*;

// ---------------------------------------------------------------- createSecret

#[tokio::test]
async fn create_copies_every_key_and_sets_a_policy_password() {
    let (store, _) = setup();
    step(&store, &Plain::default(), Step::Create, TOKEN)
        .await
        .unwrap();
    let pending: Value = serde_json::from_str(&store.value_of("s", TOKEN).unwrap()).unwrap();
    let original: Value = serde_json::from_str(ORIGINAL).unwrap();
    assert_ne!(pending["password"], original["password"]);
    policy()
        .check(pending["password"].as_str().unwrap())
        .unwrap();
    for key in ["username", "port", "extra"] {
        assert_eq!(pending[key], original[key], "{key} preserved as it was");
    }
    assert_eq!(store.stages("s")[TOKEN], vec![AWSPENDING]);
}

#[tokio::test]
async fn create_twice_keeps_the_first_value() {
    let (store, _) = setup();
    let rotation = Plain::default();
    assert_eq!(
        step(&store, &rotation, Step::Create, TOKEN).await.unwrap(),
        Outcome::Done
    );
    let first = store.value_of("s", TOKEN);
    assert_eq!(
        step(&store, &rotation, Step::Create, TOKEN).await.unwrap(),
        Outcome::AlreadyCreated
    );
    assert_eq!(store.value_of("s", TOKEN), first);
    // createSecret writes first: the second write was refused (ResourceExists) and the stored
    // value adopted.
    let puts = store
        .calls()
        .iter()
        .filter(|c| matches!(c, StoreCall::PutPending { .. }))
        .count();
    assert_eq!(puts, 2);
}

#[tokio::test]
async fn the_events_rotation_token_reaches_put_secret_value() {
    // Cross-account and assumed-role rotation: Secrets Manager checks the RotationToken of the
    // event on PutSecretValue.
    let (store, _) = setup();
    let rotation = Plain::default();
    let mut with_token = RotationEvent::from_value(&event(Step::Create, TOKEN)).unwrap();
    with_token.rotation_token = Some("rotation-token-from-the-event".into());
    handle(&store, &rotation, &policy(), &with_token.to_value())
        .await
        .unwrap();
    let puts: Vec<StoreCall> = store
        .calls()
        .into_iter()
        .filter(|c| matches!(c, StoreCall::PutPending { .. }))
        .collect();
    assert_eq!(
        puts,
        vec![StoreCall::PutPending {
            token: TOKEN.into(),
            rotation_token: Some("rotation-token-from-the-event".into()),
        }]
    );
    // Without one in the event, none is sent.
    let (store, _) = setup();
    step(&store, &rotation, Step::Create, TOKEN).await.unwrap();
    assert!(store.calls().iter().any(|c| matches!(
        c,
        StoreCall::PutPending {
            rotation_token: None,
            ..
        }
    )));
}

#[tokio::test]
async fn create_twice_at_once_stores_one_value_and_both_succeed() {
    let (store, original) = setup();
    let rotation = Plain::default();
    let (a, b) = tokio::join!(
        step(&store, &rotation, Step::Create, TOKEN),
        step(&store, &rotation, Step::Create, TOKEN)
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert!(outcomes.contains(&Outcome::Done), "{outcomes:?}");
    // Both read "no pending value" before either wrote: the loser hit ResourceExists and
    // adopted the winner's value.
    let puts = store
        .calls()
        .iter()
        .filter(|c| matches!(c, StoreCall::PutPending { .. }))
        .count();
    assert_eq!(puts, 2, "the race really happened: {:?}", store.calls());
    let value = store.value_of("s", TOKEN).unwrap();
    for s in [Step::Set, Step::Test, Step::Finish] {
        step(&store, &rotation, s, TOKEN).await.unwrap();
    }
    assert_finished(&store, TOKEN, &original);
    assert_eq!(current_value(&store), value);
}

#[tokio::test]
async fn create_refuses_a_malformed_current_secret_and_stores_nothing() {
    let store = MemoryStore::new();
    store.create_secret("s", r#"{"username":"app"}"#);
    store.start_rotation("s", TOKEN).unwrap();
    let err = step(&store, &Plain::default(), Step::Create, TOKEN)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "MalformedSecret");
    assert!(err.to_string().contains("password key is missing"));
    assert!(store.value_of("s", TOKEN).is_none());
}
