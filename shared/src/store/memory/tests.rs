//! Unit tests of `memory.rs` (kept apart so the module stays small).
use super::*;

const T1: &str = "11111111-1111-4111-8111-111111111111";

fn labels(store: &MemoryStore, id: &str) -> Vec<String> {
    store.stages("s").get(id).cloned().unwrap_or_default()
}

fn current_id(store: &MemoryStore) -> String {
    store
        .stages("s")
        .into_iter()
        .find(|(_, l)| l.iter().any(|l| l == AWSCURRENT))
        .unwrap()
        .0
}

#[tokio::test]
async fn version_without_value_is_not_found() {
    let store = MemoryStore::new();
    store.create_secret("s", "{}");
    store.start_rotation("s", T1).unwrap();
    let e = store
        .get_value("s", AWSPENDING, Some(T1))
        .await
        .unwrap_err();
    assert!(e.is_not_found());
}

#[tokio::test]
async fn same_token_different_value_is_resource_exists() {
    let store = MemoryStore::new();
    store.create_secret("s", "{}");
    store
        .put_pending("s", T1, None, &SecretValue::new("a"))
        .await
        .unwrap();
    store
        .put_pending("s", T1, None, &SecretValue::new("a"))
        .await
        .unwrap();
    let e = store
        .put_pending("s", T1, None, &SecretValue::new("b"))
        .await
        .unwrap_err();
    assert!(e.is_resource_exists());
    assert_eq!(store.value_of("s", T1).as_deref(), Some("a"));
    let short = store
        .put_pending("s", "short", None, &SecretValue::new("a"))
        .await;
    assert_eq!(
        short.unwrap_err().api_code(),
        Some(&ApiErrorCode::InvalidParameter)
    );
}

#[tokio::test]
async fn moving_current_needs_remove_from_and_previous_follows() {
    let store = MemoryStore::new();
    store.create_secret("s", "{}");
    let old = current_id(&store);
    store
        .put_pending("s", T1, None, &SecretValue::new("v"))
        .await
        .unwrap();
    let e = store
        .update_stage("s", AWSCURRENT, Some(T1), None)
        .await
        .unwrap_err();
    assert_eq!(e.api_code(), Some(&ApiErrorCode::InvalidParameter));
    let e = store
        .update_stage("s", AWSCURRENT, Some(T1), Some(T1))
        .await
        .unwrap_err();
    assert_eq!(e.api_code(), Some(&ApiErrorCode::InvalidParameter));
    store
        .update_stage("s", AWSCURRENT, Some(T1), Some(&old))
        .await
        .unwrap();
    assert_eq!(labels(&store, T1), vec![AWSPENDING, AWSCURRENT]);
    assert_eq!(labels(&store, &old), vec![AWSPREVIOUS]);
    // Removing a label from a version that does not carry it is refused.
    let e = store
        .update_stage("s", AWSPENDING, None, Some(&old))
        .await
        .unwrap_err();
    assert_eq!(e.api_code(), Some(&ApiErrorCode::InvalidParameter));
}

#[tokio::test]
async fn a_label_lives_on_one_version_only() {
    let store = MemoryStore::new();
    store.create_secret("s", "{}");
    let other = "22222222-2222-4222-8222-222222222222";
    store
        .put_pending("s", T1, None, &SecretValue::new("a"))
        .await
        .unwrap();
    store
        .put_pending("s", other, None, &SecretValue::new("b"))
        .await
        .unwrap();
    assert!(labels(&store, T1).is_empty());
    assert_eq!(labels(&store, other), vec![AWSPENDING]);
    assert!(
        store.start_rotation("s", T1).is_err(),
        "pending is elsewhere"
    );
}

#[tokio::test]
async fn random_password_follows_the_policy() {
    let store = MemoryStore::new();
    let policy =
        PasswordPolicy::from_lookup(crate::password::PasswordDefaults::POSTGRES, |_| None).unwrap();
    let a = store.random_password(&policy).await.unwrap();
    let b = store.random_password(&policy).await.unwrap();
    assert!(policy.check(a.expose()).is_ok());
    assert_ne!(a, b);
}

#[tokio::test]
async fn injected_failures_hit_the_named_operation_once() {
    let store = MemoryStore::new();
    store.create_secret("s", "{}");
    store.fail_next(
        "DescribeSecret",
        ApiErrorCode::Other("ThrottlingException".into()),
    );
    assert!(store.describe("s").await.is_err());
    assert!(store.describe("s").await.is_ok());
    assert_eq!(store.calls().len(), 2);
}
