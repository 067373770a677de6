//! Both database strategies on the fake engine and the strict in-memory Secrets Manager: the
//! AWSPREVIOUS fallback, every confused-deputy check, the settle race, verification and
//! set-back, the order of logins (AWSCURRENT before the superuser secret is read), clone
//! creation once, and the orderings a real server cannot be made to produce on demand. The
//! fixtures are here; the tests, by strategy, in the modules below.

mod alternating_users;
mod both_strategies;
mod single_user;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rotation_core::database::{
    AlternatingUsers, Capabilities, FakeDatabase, FakeEvent, Fault, SingleUser, Strategy, Which,
};
use rotation_core::labels::{self, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::{
    handle_invocation, MemoryStore, Outcome, PasswordDefaults, PasswordPolicy, Result, Rotation,
    RotationEvent, Step, StoreCall, StrategyKind,
};
use serde_json::{json, Value};

const TOKEN: &str = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";

fn policy() -> PasswordPolicy {
    PasswordPolicy::from_lookup(PasswordDefaults::POSTGRES, |_| None).unwrap()
}

/// A fake-engine secret for `user`, with `extra` keys.
pub(crate) fn secret(user: &str, password: &str, extra: Value) -> String {
    let mut v = json!({
        "engine": FakeDatabase::ENGINE, "host": "db.example", "username": user, "password": password,
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v.to_string()
}

fn event(name: &str, step: Step) -> Value {
    RotationEvent {
        step,
        secret_id: MemoryStore::arn(name),
        token: TOKEN.into(),
        rotation_token: None,
    }
    .to_value()
}

/// A store with secret `s` (AWSCURRENT `current`) whose rotation `TOKEN` has started.
fn store_with(current: &str) -> MemoryStore {
    let store = MemoryStore::new();
    store.create_secret("s", current);
    store.start_rotation("s", TOKEN).unwrap();
    store
}

async fn step<R: Rotation>(store: &MemoryStore, rotation: &R, s: Step) -> Result<Outcome> {
    handle_invocation(store, rotation, &policy(), &event("s", s)).await
}

async fn create<R: Rotation>(store: &MemoryStore, rotation: &R) -> Value {
    step(store, rotation, Step::Create).await.unwrap();
    serde_json::from_str(&store.value_of("s", TOKEN).unwrap()).unwrap()
}

async fn rotate<R: Rotation>(store: &MemoryStore, rotation: &R) {
    for s in Step::ALL {
        step(store, rotation, s)
            .await
            .unwrap_or_else(|e| panic!("{s}: {}: {e}", e.error_type()));
    }
}

fn current_token(store: &MemoryStore) -> String {
    labels::versions_with(&store.stages("s"), AWSCURRENT)[0].to_string()
}

/// Overwrites `field` of the AWSPENDING value, as an attacker with PutSecretValue could.
fn tamper(store: &MemoryStore, field: &str, value: Value) {
    let mut pending: Value = serde_json::from_str(&store.value_of("s", TOKEN).unwrap()).unwrap();
    pending[field] = value;
    store.set_version("s", TOKEN, Some(&pending.to_string()), &[AWSPENDING]);
}

/// User `app` (password `old-Pa55`) on the fake, its secret, the single-user strategy, and
/// the rotation `TOKEN` started and past createSecret.
async fn single_user_created() -> (FakeDatabase, MemoryStore, SingleUser<FakeDatabase>) {
    let db = FakeDatabase::new().with_user("app", "old-Pa55");
    let store = store_with(&secret("app", "old-Pa55", json!({})));
    let strategy = SingleUser::new(db.clone());
    create(&store, &strategy).await;
    (db, store, strategy)
}

fn logins_of(db: &FakeDatabase) -> Vec<Which> {
    db.logins().into_iter().map(|(which, _, _)| which).collect()
}

/// `app` and its superuser `admin` on the fake; the child secret names the superuser's.
fn alternating_setup(master_extra: Value) -> (FakeDatabase, MemoryStore) {
    let db = FakeDatabase::new()
        .with_user("app", "app-Pa55")
        .with_user("admin", "admin-Pa55");
    let store = MemoryStore::new();
    let master = store.create_secret("admin", &secret("admin", "admin-Pa55", master_extra));
    store.create_secret(
        "s",
        &secret("app", "app-Pa55", json!({ "masterarn": master })),
    );
    (db, store)
}
