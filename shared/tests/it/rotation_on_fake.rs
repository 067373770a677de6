//! The shared preamble and steps against the strict in-memory Secrets Manager. The fixtures
//! are here; the tests, by step or concern, in the modules below.

mod create;
mod finish;
mod preamble;
mod recovery;

use std::sync::atomic::{AtomicBool, Ordering};

use rotation_core::labels::{self, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::StoreCall;
use rotation_core::{handle_invocation as handle, Outcome};
use rotation_core::{
    ApiErrorCode, JsonSecret, MemoryStore, PasswordDefaults, PasswordPolicy, Result, Rotation,
    RotationError, RotationEvent, SecretStore, SecretValue, Step, StepContext,
};
use serde_json::{json, Value};

const TOKEN: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const TOKEN2: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const ORIGINAL: &str =
    r#"{"username":"app","password":"original-pw","port":"5432","extra":{"k":[1,2]}}"#;

/// A rotation with no external service; testSecret and the finishSecret guard can be told to
/// fail, and setSecret to take [`SLOW_SET`].
#[derive(Default)]
struct Plain {
    fail_test: AtomicBool,
    fail_verify: AtomicBool,
    slow_set: AtomicBool,
}

/// How long a slow setSecret takes.
const SLOW_SET: std::time::Duration = std::time::Duration::from_millis(60);

impl Rotation for Plain {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        JsonSecret::parse(value, which).map(|_| ())
    }
    fn pending_value(&self, current: &SecretValue, pw: &SecretValue) -> Result<SecretValue> {
        Ok(JsonSecret::parse(current, AWSCURRENT)?
            .with_password(pw)
            .to_secret_value())
    }
    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        if self.slow_set.load(Ordering::SeqCst) {
            tokio::time::sleep(SLOW_SET).await;
        }
        ctx.pending().await.map(|_| ())
    }
    async fn test_secret<S: SecretStore>(
        &self,
        _ctx: &StepContext<'_, S>,
        _pending: &SecretValue,
    ) -> Result<()> {
        if self.fail_test.load(Ordering::SeqCst) {
            return Err(RotationError::TestSecret(
                "the service refused the pending password".into(),
            ));
        }
        Ok(())
    }
    async fn verify_pending<S: SecretStore>(
        &self,
        _ctx: &StepContext<'_, S>,
        _pending: &SecretValue,
    ) -> Result<()> {
        if self.fail_verify.load(Ordering::SeqCst) {
            return Err(RotationError::AuthenticationFailed {
                which: AWSPENDING.into(),
                user: "app".into(),
                host: "db".into(),
                server: None,
                hint: String::new(),
            });
        }
        Ok(())
    }
}

fn policy() -> PasswordPolicy {
    PasswordPolicy::from_lookup(PasswordDefaults::STANDARD, |_| None).unwrap()
}

fn event(step: Step, token: &str) -> Value {
    RotationEvent {
        step,
        secret_id: MemoryStore::arn("s"),
        token: token.to_string(),
        rotation_token: None,
    }
    .to_value()
}

async fn step(store: &MemoryStore, rotation: &Plain, s: Step, token: &str) -> Result<Outcome> {
    handle(store, rotation, &policy(), &event(s, token)).await
}

fn setup() -> (MemoryStore, String) {
    let store = MemoryStore::new();
    store.create_secret("s", ORIGINAL);
    let original = current(&store);
    store.start_rotation("s", TOKEN).unwrap();
    (store, original)
}

fn current(store: &MemoryStore) -> String {
    labels::versions_with(&store.stages("s"), AWSCURRENT)[0].to_string()
}

fn current_value(store: &MemoryStore) -> String {
    store.value_of("s", &current(store)).unwrap()
}

fn assert_finished(store: &MemoryStore, token: &str, previous: &str) {
    let stages = store.stages("s");
    assert_eq!(
        labels::versions_with(&stages, AWSCURRENT),
        vec![token],
        "{stages:?}"
    );
    assert_eq!(
        labels::versions_with(&stages, AWSPREVIOUS),
        vec![previous],
        "{stages:?}"
    );
    assert!(
        labels::versions_with(&stages, AWSPENDING).is_empty(),
        "{stages:?}"
    );
}

async fn rotate(store: &MemoryStore, rotation: &Plain, token: &str) {
    for s in Step::ALL {
        step(store, rotation, s, token).await.unwrap();
    }
}
