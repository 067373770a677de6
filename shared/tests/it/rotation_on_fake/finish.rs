//! finishSecret: replays, interruptions and failed moves, the guard before the move (what it
//! refuses), and races with someone else moving the labels.

use super::*;

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
