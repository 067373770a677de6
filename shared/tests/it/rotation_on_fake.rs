//! The shared preamble and steps against the strict in-memory Secrets Manager.

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

// ---------------------------------------------------------------- finishSecret

#[tokio::test]
async fn finish_twice_ends_as_once() {
    let (store, original) = setup();
    let rotation = Plain::default();
    for s in [Step::Create, Step::Set, Step::Test] {
        step(&store, &rotation, s, TOKEN).await.unwrap();
    }
    assert_eq!(
        step(&store, &rotation, Step::Finish, TOKEN).await.unwrap(),
        Outcome::Done
    );
    let once = store.stages("s");
    assert_eq!(
        step(&store, &rotation, Step::Finish, TOKEN).await.unwrap(),
        Outcome::AlreadyCurrent
    );
    assert_eq!(store.stages("s"), once);
    assert_finished(&store, TOKEN, &original);
}

#[tokio::test]
async fn finish_twice_at_once_ends_as_once() {
    let (store, original) = setup();
    let rotation = Plain::default();
    for s in [Step::Create, Step::Set, Step::Test] {
        step(&store, &rotation, s, TOKEN).await.unwrap();
    }
    let (a, b) = tokio::join!(
        step(&store, &rotation, Step::Finish, TOKEN),
        step(&store, &rotation, Step::Finish, TOKEN)
    );
    a.unwrap();
    b.unwrap();
    assert_finished(&store, TOKEN, &original);
}

#[tokio::test]
async fn finish_interrupted_after_the_move_is_completed_by_the_retry() {
    let (store, original) = setup();
    let rotation = Plain::default();
    for s in [Step::Create, Step::Set, Step::Test] {
        step(&store, &rotation, s, TOKEN).await.unwrap();
    }
    // The AWSCURRENT move succeeds; the AWSPENDING removal fails.
    store.fail_call(
        "UpdateSecretVersionStage",
        1,
        ApiErrorCode::Other("Throttling".into()),
    );
    let err = step(&store, &rotation, Step::Finish, TOKEN)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "SecretsManagerError");
    assert_eq!(current(&store), TOKEN);
    assert_eq!(store.stages("s")[TOKEN], vec![AWSPENDING, AWSCURRENT]);
    // Any other step delivered now is a replay that changes nothing: only finishSecret
    // finishes the move.
    let stages = store.stages("s");
    for s in [Step::Create, Step::Set, Step::Test] {
        assert_eq!(
            step(&store, &rotation, s, TOKEN).await.unwrap(),
            Outcome::AlreadyCurrent
        );
        assert_eq!(store.stages("s"), stages, "{s} moved a label");
    }
    // The retry sees the token AWSCURRENT and still takes AWSPENDING off it.
    assert_eq!(
        step(&store, &rotation, Step::Finish, TOKEN).await.unwrap(),
        Outcome::AlreadyCurrent
    );
    assert_finished(&store, TOKEN, &original);
}

#[tokio::test]
async fn finish_whose_move_fails_leaves_awscurrent_alone() {
    let (store, original) = setup();
    let rotation = Plain::default();
    for s in [Step::Create, Step::Set, Step::Test] {
        step(&store, &rotation, s, TOKEN).await.unwrap();
    }
    store.fail_next(
        "UpdateSecretVersionStage",
        ApiErrorCode::Other("Throttling".into()),
    );
    assert!(step(&store, &rotation, Step::Finish, TOKEN).await.is_err());
    assert_eq!(current(&store), original);
    assert_eq!(current_value(&store), ORIGINAL);
    assert_eq!(
        step(&store, &rotation, Step::Finish, TOKEN).await.unwrap(),
        Outcome::Done
    );
    assert_finished(&store, TOKEN, &original);
}

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

// ---------------------------------------------------------------- the finishSecret guard

#[tokio::test]
async fn finish_before_create_is_refused_and_changes_nothing() {
    // RotateSecret made an AWSPENDING version with no value; a finishSecret delivered before
    // createSecret would promote it and leave AWSCURRENT without a value.
    let (store, original) = setup();
    let before = store.stages("s");
    let err = step(&store, &Plain::default(), Step::Finish, TOKEN)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "FinishSecretRefused", "{err}");
    assert!(err.to_string().contains("has no value"), "{err}");
    assert_eq!(store.stages("s"), before);
    assert_eq!(current(&store), original);
}

#[tokio::test]
async fn finish_refuses_a_pending_value_that_does_not_validate() {
    let (store, original) = setup();
    store.set_version("s", TOKEN, Some("not json s3cr3t"), &[AWSPENDING]);
    let before = store.stages("s");
    let err = step(&store, &Plain::default(), Step::Finish, TOKEN)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "FinishSecretRefused", "{err}");
    assert!(err.to_string().contains("not a valid secret"), "{err}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert_eq!(store.stages("s"), before);
    assert_eq!(current(&store), original);
}

#[tokio::test]
async fn finish_refuses_credentials_that_do_not_work_then_a_replay_of_a_finished_rotation_is_a_no_op(
) {
    let (store, original) = setup();
    let rotation = Plain::default();
    for s in [Step::Create, Step::Set, Step::Test] {
        step(&store, &rotation, s, TOKEN).await.unwrap();
    }
    rotation.fail_verify.store(true, Ordering::SeqCst);
    let before = store.stages("s");
    let err = step(&store, &rotation, Step::Finish, TOKEN)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "FinishSecretRefused", "{err}");
    assert!(err.to_string().contains("do not work"), "{err}");
    assert_eq!(store.stages("s"), before);
    rotation.fail_verify.store(false, Ordering::SeqCst);
    step(&store, &rotation, Step::Finish, TOKEN).await.unwrap();
    assert_finished(&store, TOKEN, &original);
    // The guard is not run again for a finished rotation: a replay is a no-op success even
    // when the check would now fail.
    rotation.fail_verify.store(true, Ordering::SeqCst);
    store.clear_calls();
    let outcome = step(&store, &rotation, Step::Finish, TOKEN).await.unwrap();
    assert_eq!(outcome, Outcome::AlreadyCurrent);
    assert_eq!(store.calls().len(), 1, "only DescribeSecret");
    assert_finished(&store, TOKEN, &original);
}

/// One UpdateSecretVersionStage: the label, MoveToVersionId and RemoveFromVersionId.
#[derive(Clone)]
struct Update {
    stage: String,
    move_to: Option<String>,
    remove_from: Option<String>,
}

/// What a [`Racing`] store does with an UpdateSecretVersionStage: the call it makes on the
/// real store, if any (its failure is answered), then the error it answers instead of success.
type RaceMove = (Option<Update>, Option<RotationError>);

/// A store whose every call is `inner`'s, but UpdateSecretVersionStage goes through `race`
/// (given `inner`, to move labels behind the function's back, and the call asked): how the
/// tests below make races with someone else and answers that were lost. Counts those calls.
struct Racing<F> {
    inner: MemoryStore,
    race: F,
    updates: std::sync::atomic::AtomicUsize,
}

impl<F: Fn(&MemoryStore, &Update) -> RaceMove + Send + Sync> Racing<F> {
    fn new(inner: MemoryStore, race: F) -> Self {
        Self {
            inner,
            race,
            updates: Default::default(),
        }
    }
}

impl<F: Fn(&MemoryStore, &Update) -> RaceMove + Send + Sync> SecretStore for Racing<F> {
    async fn describe(&self, id: &str) -> Result<rotation_core::SecretMetadata> {
        self.inner.describe(id).await
    }
    async fn get_version(
        &self,
        id: &str,
        stage: &str,
        version: Option<&str>,
    ) -> Result<rotation_core::SecretVersion> {
        self.inner.get_version(id, stage, version).await
    }
    async fn put_pending(
        &self,
        id: &str,
        token: &str,
        rotation_token: Option<&str>,
        value: &SecretValue,
    ) -> Result<()> {
        self.inner
            .put_pending(id, token, rotation_token, value)
            .await
    }
    async fn update_stage(
        &self,
        id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> Result<()> {
        self.updates.fetch_add(1, Ordering::SeqCst);
        let asked = Update {
            stage: stage.to_string(),
            move_to: move_to.map(str::to_string),
            remove_from: remove_from.map(str::to_string),
        };
        let (call, answer) = (self.race)(&self.inner, &asked);
        if let Some(u) = call {
            self.inner
                .update_stage(id, &u.stage, u.move_to.as_deref(), u.remove_from.as_deref())
                .await?;
        }
        answer.map_or(Ok(()), Err)
    }
    async fn random_password(&self, policy: &PasswordPolicy) -> Result<SecretValue> {
        self.inner.random_password(policy).await
    }
}

#[tokio::test]
async fn finish_stops_when_someone_else_moved_awscurrent_meanwhile() {
    let (inner, _) = setup();
    let rotation = Plain::default();
    for s in [Step::Create, Step::Set, Step::Test] {
        step(&inner, &rotation, s, TOKEN).await.unwrap();
    }
    // At the first UpdateSecretVersionStage, someone else moves AWSCURRENT to another
    // version and the call fails, as a racing rotation or a person would make it.
    let moved = AtomicBool::new(false);
    let store = Racing::new(inner, move |inner: &MemoryStore, asked: &Update| {
        if moved.swap(true, Ordering::SeqCst) {
            return (Some(asked.clone()), None);
        }
        inner.set_version("s", "other-version", Some(ORIGINAL), &[AWSCURRENT]);
        let refused = RotationError::SecretsManager {
            operation: "UpdateSecretVersionStage",
            code: ApiErrorCode::InvalidParameter,
            message: "AWSCURRENT is not on the version to remove it from".into(),
        };
        (None, Some(refused))
    });
    let err = handle(&store, &rotation, &policy(), &event(Step::Finish, TOKEN))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ConcurrentLabelChange", "{err}");
    assert!(err.to_string().contains("other-version"), "{err}");
    let stages = store.inner.stages("s");
    assert_eq!(
        labels::versions_with(&stages, AWSCURRENT),
        vec!["other-version"],
        "the other move stands: {stages:?}"
    );
    assert!(labels::has_label(&stages, TOKEN, AWSPENDING), "{stages:?}");
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

#[tokio::test]
async fn awsprevious_is_absent_only_when_the_service_says_so() {
    let (store, original) = setup();
    let policy = policy();
    let arn = MemoryStore::arn("s");
    let ctx = |versions| StepContext {
        store: &store,
        arn: &arn,
        token: TOKEN,
        rotation_token: None,
        policy: &policy,
        versions,
    };
    // No AWSPREVIOUS yet: without the preamble's labels, the service's not-found says so.
    assert!(ctx(None).previous().await.unwrap().is_none());
    // Any other failure of the read is an error, never "there is none".
    store.fail_next(
        "GetSecretValue",
        ApiErrorCode::Other("InternalServiceError".into()),
    );
    let err = ctx(None).previous().await.unwrap_err();
    assert_eq!(
        err.api_code(),
        Some(&ApiErrorCode::Other("InternalServiceError".into())),
        "{err}"
    );
    // The preamble's labels show none: no call.
    let calls = store.calls().len();
    let stages = store.stages("s");
    assert!(ctx(Some(&stages)).previous().await.unwrap().is_none());
    assert_eq!(store.calls().len(), calls);
    // After a rotation, AWSPREVIOUS is the original value.
    rotate(&store, &Plain::default(), TOKEN).await;
    let stages = store.stages("s");
    let previous = ctx(Some(&stages)).previous().await.unwrap().unwrap();
    assert_eq!(
        previous.expose(),
        store.value_of("s", &original).unwrap().as_str()
    );
}

#[tokio::test]
async fn finish_reads_the_labels_again_at_most_twice_then_gives_up() {
    let (inner, original) = setup();
    let rotation = Plain::default();
    for s in [Step::Create, Step::Set, Step::Test] {
        step(&inner, &rotation, s, TOKEN).await.unwrap();
    }
    inner.clear_calls();
    // Every UpdateSecretVersionStage answers an error: a move of AWSCURRENT is made all the
    // same (the answer was lost), and at each removal of AWSPENDING someone moves AWSCURRENT
    // back to the original version, as a person fighting the rotation would.
    let store = Racing::new(inner, move |_: &MemoryStore, asked: &Update| {
        let call = if asked.stage == AWSCURRENT {
            asked.clone()
        } else {
            Update {
                stage: AWSCURRENT.to_string(),
                move_to: Some(original.clone()),
                remove_from: Some(TOKEN.to_string()),
            }
        };
        let lost = RotationError::SecretsManager {
            operation: "UpdateSecretVersionStage",
            code: ApiErrorCode::Other("RequestTimeout".into()),
            message: "no answer".into(),
        };
        (Some(call), Some(lost))
    });
    // Each failed move is followed by a reread that finds progress (the lost move was made,
    // or AWSCURRENT is back where the step first saw it), so only the bound ends the loop.
    let (policy, finish_event) = (policy(), event(Step::Finish, TOKEN));
    let finish = handle(&store, &rotation, &policy, &finish_event);
    let err = tokio::time::timeout(std::time::Duration::from_secs(10), finish)
        .await
        .expect("finishSecret gives up instead of looping")
        .unwrap_err();
    assert_eq!(
        err.api_code(),
        Some(&ApiErrorCode::Other("RequestTimeout".into())),
        "{err}"
    );
    // move AWSCURRENT, remove AWSPENDING (reread 1), move AWSCURRENT again (reread 2): the
    // third failure is answered.
    assert_eq!(store.updates.load(Ordering::SeqCst), 3);
    let describes = store
        .inner
        .calls()
        .iter()
        .filter(|c| matches!(c, StoreCall::Describe))
        .count();
    assert_eq!(describes, 3, "the preamble's and two rereads");
}
