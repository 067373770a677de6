//! The labels are read again after a wait, just before ModifyUser: a step that waited for the
//! user to be `active` (a scripted [`UserApi`] holds it `modifying`) must not write its pair
//! once the labels moved under it (a newer rotation started, or AWSCURRENT was moved), and that
//! costs exactly one DescribeSecret, only when a wait happened. Against the strict in-memory
//! Secrets Manager; no sandbox needed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rotation_core::anchors::TrustAnchors;
use rotation_core::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::{
    handle_invocation, MemoryStore, PasswordPolicy, Result, SecretValue, Step, StoreCall,
};
use rotation_elasticache::{BoxFuture, CacheUser, UserApi, UserArn, WaitPolicy, PASSWORD_DEFAULTS};
use rotation_testkit::event;

const USER_ARN: &str = "arn:aws:elasticache:us-east-1:111122223333:user:u-app";
const SECRET: &str = "cache";
/// This rotation's token.
const T1: &str = "11111111-1111-4111-8111-111111111111";
/// A newer rotation's token.
const T2: &str = "22222222-2222-4222-8222-222222222222";
/// A version a person stored as AWSCURRENT.
const BY_HAND: &str = "33333333-3333-4333-8333-333333333333";

type Hook = Box<dyn FnOnce(&MemoryStore) + Send>;

/// DescribeUsers answers `modifying` `hold` times (running `hook` on the first), then
/// `active`; ModifyUser records the passwords it was given.
struct Held {
    store: Arc<MemoryStore>,
    hold: usize,
    describes: AtomicUsize,
    hook: Mutex<Option<Hook>>,
    modified: Mutex<Vec<Vec<String>>>,
}

impl UserApi for Held {
    fn describe<'a>(&'a self, user: &'a UserArn) -> BoxFuture<'a, Result<Option<CacheUser>>> {
        let n = self.describes.fetch_add(1, Ordering::SeqCst);
        if n == 0 {
            if let Some(hook) = self.hook.lock().unwrap().take() {
                hook(&self.store);
            }
        }
        let status = if n < self.hold { "modifying" } else { "active" };
        let found = CacheUser {
            id: user.user_id.clone(),
            name: "app".into(),
            status: status.into(),
            authentication: Some("password".into()),
            arn: Some(USER_ARN.into()),
        };
        Box::pin(async move { Ok(Some(found)) })
    }

    fn set_passwords<'a>(
        &'a self,
        _: &'a UserArn,
        passwords: &'a [SecretValue],
    ) -> BoxFuture<'a, Result<()>> {
        self.modified
            .lock()
            .unwrap()
            .push(passwords.iter().map(|p| p.expose().to_string()).collect());
        Box::pin(async { Ok(()) })
    }
}

struct Run {
    store: Arc<MemoryStore>,
    api: Arc<Held>,
    function: rotation_elasticache::ElastiCacheRotation,
    policy: PasswordPolicy,
    arn: String,
    first: String,
}

/// A secret with no endpoint, its rotation `t1` started and created; the API holds the user
/// `modifying` `hold` times, running `hook` during the wait.
async fn started(hold: usize, hook: Option<Hook>) -> Run {
    let store = Arc::new(MemoryStore::new());
    let arn = store.create_secret(
        SECRET,
        &serde_json::json!({"user_arn": USER_ARN, "username": "app", "password": "Initial-Pa55word-0001"})
            .to_string(),
    );
    let first =
        rotation_core::labels::versions_with(&store.stages(SECRET), AWSCURRENT)[0].to_string();
    store.start_rotation(SECRET, T1).unwrap();
    let api = Arc::new(Held {
        store: Arc::clone(&store),
        hold,
        describes: AtomicUsize::new(0),
        hook: Mutex::new(hook),
        modified: Mutex::new(Vec::new()),
    });
    let settings = rotation_testkit::settings(
        PASSWORD_DEFAULTS,
        &[("ELASTICACHE_USER_ARNS", USER_ARN.to_string())],
    );
    let anchors = TrustAnchors::new(None, false).unwrap();
    let function = rotation_elasticache::build_with(&settings, api.clone(), anchors).unwrap();
    let wait = function.wait();
    let function = function.with_wait(WaitPolicy {
        max_wait: Duration::from_secs(2),
        interval: Duration::from_millis(20),
        ..wait
    });
    let policy = PasswordPolicy::from_lookup(PASSWORD_DEFAULTS, |_| None).unwrap();
    handle_invocation(
        store.as_ref(),
        &function,
        &policy,
        &event(&arn, T1, Step::Create),
    )
    .await
    .expect("createSecret");
    store.clear_calls();
    Run {
        store,
        api,
        function,
        policy,
        arn,
        first,
    }
}

impl Run {
    async fn step(&self, step: Step) -> std::result::Result<(), String> {
        handle_invocation(
            self.store.as_ref(),
            &self.function,
            &self.policy,
            &event(&self.arn, T1, step),
        )
        .await
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", e.error_type()))
    }

    fn value(&self, version: &str) -> String {
        self.store.value_of(SECRET, version).expect("a value")
    }

    fn password(&self, version: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(&self.value(version)).unwrap();
        v["password"].as_str().unwrap().to_string()
    }

    fn modified(&self) -> Vec<Vec<String>> {
        self.api.modified.lock().unwrap().clone()
    }

    fn operations(&self) -> Vec<&'static str> {
        self.store
            .calls()
            .iter()
            .map(StoreCall::operation)
            .collect()
    }
}

/// A newer rotation started while this setSecret waited (the rotation `t1` abandoned, or
/// finished by another delivery): the older pair must not be written over it.
#[tokio::test]
async fn a_newer_rotation_during_the_wait_stops_set_secret_before_modify_user() {
    // `t1` abandoned (AWSPENDING taken off), `t2` started.
    let run = started(
        1,
        Some(Box::new(|store: &MemoryStore| {
            let t1 = store.value_of(SECRET, T1);
            store.set_version(SECRET, T1, t1.as_deref(), &[]);
            store.set_version(SECRET, T2, Some("{}"), &[AWSPENDING]);
        })),
    )
    .await;
    let err = run.step(Step::Set).await.unwrap_err();
    assert!(
        err.starts_with("VersionNotPending: ") && err.contains(T2),
        "{err}"
    );
    assert!(run.modified().is_empty(), "ModifyUser was called");

    // `t1` finished by a duplicate delivery, then `t2` started: nothing to do, nothing written.
    let run = started(
        1,
        Some(Box::new(|store: &MemoryStore| {
            let first = rotation_core::labels::versions_with(&store.stages(SECRET), AWSCURRENT)[0]
                .to_string();
            let (v0, t1) = (store.value_of(SECRET, &first), store.value_of(SECRET, T1));
            store.set_version(SECRET, T1, t1.as_deref(), &[AWSCURRENT]);
            store.set_version(SECRET, &first, v0.as_deref(), &[AWSPREVIOUS]);
            store.set_version(SECRET, T2, Some("{}"), &[AWSPENDING]);
        })),
    )
    .await;
    run.step(Step::Set)
        .await
        .expect("already done by the other delivery");
    assert!(run.modified().is_empty(), "ModifyUser was called");
}

/// AWSCURRENT moved off the version whose password the pair would keep (a person stored a new
/// current value): its clients would be locked out, so nothing is written.
#[tokio::test]
async fn awscurrent_moved_during_the_wait_stops_set_secret_and_finish_secret() {
    let hook = || -> Hook {
        Box::new(|store: &MemoryStore| {
            store.set_version(SECRET, BY_HAND, Some("{}"), &[AWSCURRENT]);
        })
    };
    let run = started(1, Some(hook())).await;
    let err = run.step(Step::Set).await.unwrap_err();
    assert!(
        err.starts_with("ConcurrentLabelChange: ") && err.contains(BY_HAND),
        "{err}"
    );
    assert!(run.modified().is_empty(), "ModifyUser was called");

    // finishSecret without an endpoint sets the pair again after its wait: the same check.
    let run = started(1, Some(hook())).await;
    let err = run.step(Step::Finish).await.unwrap_err();
    assert!(
        err.starts_with("FinishSecretRefused: ") && err.contains(BY_HAND),
        "{err}"
    );
    assert!(run.modified().is_empty(), "ModifyUser was called");
    assert_eq!(
        rotation_core::labels::versions_with(&run.store.stages(SECRET), AWSPENDING),
        vec![T1]
    );
}

/// The cost: one DescribeSecret more when setSecret waited, none when it did not.
#[tokio::test]
async fn the_labels_cost_one_describe_secret_and_only_after_a_wait() {
    let run = started(0, None).await;
    run.step(Step::Set).await.expect("setSecret");
    assert_eq!(
        run.operations(),
        ["DescribeSecret", "GetSecretValue", "GetSecretValue"]
    );
    let pair = vec![run.password(T1), run.password(&run.first)];
    assert_eq!(run.modified(), vec![pair.clone()]);

    let run = started(2, None).await;
    run.step(Step::Set).await.expect("setSecret");
    assert_eq!(
        run.operations(),
        [
            "DescribeSecret",
            "GetSecretValue",
            "GetSecretValue",
            "DescribeSecret"
        ]
    );
    let pair = vec![run.password(T1), run.password(&run.first)];
    assert_eq!(run.modified(), vec![pair]);
}
