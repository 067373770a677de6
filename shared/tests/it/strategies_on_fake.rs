//! Both database strategies on the fake engine and the strict in-memory Secrets Manager: the
//! AWSPREVIOUS fallback, every confused-deputy check, the settle race, verification and
//! set-back, the order of logins (AWSCURRENT before the superuser secret is read), clone
//! creation once, and the orderings a real server cannot be made to produce on demand.

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

// ---------------------------------------------------------------- single user

#[tokio::test]
async fn single_user_rotates_with_these_logins_in_this_order() {
    let db = FakeDatabase::new().with_user("app", "old-Pa55");
    let store = store_with(&secret("app", "old-Pa55", json!({})));
    let strategy = SingleUser::new(db.clone());
    rotate(&store, &strategy).await;
    let new: Value =
        serde_json::from_str(&store.value_of("s", &current_token(&store)).unwrap()).unwrap();
    assert_eq!(db.password_of("app").as_deref(), new["password"].as_str());
    use Which::{Current, Pending};
    // set: current, pending (verification); test: pending; finish: pending. No login is
    // refused on a normal rotation (servers count refused logins; some lock the account).
    assert_eq!(logins_of(&db), vec![Current, Pending, Pending, Pending]);
    assert_eq!(
        db.changes(),
        vec![FakeEvent::SetOwnPassword { user: "app".into() }]
    );
}

#[tokio::test]
async fn single_user_falls_back_on_awsprevious_checked_before_it_logs_in() {
    let db = FakeDatabase::new().with_user("app", "previous-Pa55");
    let store = store_with(&secret("app", "current-Pa55", json!({})));
    store.set_version(
        "s",
        "older",
        Some(&secret("app", "previous-Pa55", json!({}))),
        &[AWSPREVIOUS],
    );
    let strategy = SingleUser::new(db.clone());
    rotate(&store, &strategy).await;
    // AWSCURRENT is refused, then AWSPENDING (not set yet), then AWSPREVIOUS works.
    let logins = db.logins();
    assert_eq!(logins[0], (Which::Current, "app".into(), false));
    assert_eq!(logins[1], (Which::Pending, "app".into(), false));
    assert_eq!(logins[2], (Which::Previous, "app".into(), true));

    // An AWSPREVIOUS for another user is refused before any login with it.
    let db = FakeDatabase::new()
        .with_user("app", "previous-Pa55")
        .with_user("victim", "victim-Pa55");
    let store = store_with(&secret("app", "current-Pa55", json!({})));
    store.set_version(
        "s",
        "older",
        Some(&secret("victim", "victim-Pa55", json!({}))),
        &[AWSPREVIOUS],
    );
    let strategy = SingleUser::new(db.clone());
    create(&store, &strategy).await;
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "ConfusedDeputy", "{err}");
    assert!(db.logins().iter().all(|(w, _, _)| *w != Which::Previous));
    assert!(db.changes().is_empty());
}

#[tokio::test]
async fn single_user_refuses_a_pending_for_another_user_host_or_port_before_any_login() {
    for (field, value) in [
        ("username", json!("victim")),
        ("host", json!("other.example")),
        ("port", json!(6543)),
    ] {
        let db = FakeDatabase::new()
            .with_user("app", "old-Pa55")
            .with_user("victim", "victim-Pa55");
        let store = store_with(&secret("app", "old-Pa55", json!({})));
        let strategy = SingleUser::new(db.clone());
        create(&store, &strategy).await;
        tamper(&store, field, value);
        let err = step(&store, &strategy, Step::Set).await.unwrap_err();
        assert_eq!(err.error_type(), "ConfusedDeputy", "{field}: {err}");
        assert!(db.events().is_empty(), "{field}: no login, no change");
    }
    // Any other difference from AWSCURRENT (even the same server written differently) was not
    // made by createSecret: refused too, naming the keys.
    for (field, value) in [
        ("dbname", json!("other")),
        ("ssl", json!(false)),
        ("host", json!("DB.Example.")),
        ("extra", json!("added")),
    ] {
        let (db, store, strategy) = single_user_created().await;
        tamper(&store, field, value);
        let err = step(&store, &strategy, Step::Set).await.unwrap_err();
        assert_eq!(err.error_type(), "ConfusedDeputy", "{field}: {err}");
        assert!(err.to_string().contains(field), "{field}: {err}");
        assert!(db.events().is_empty(), "{field}: no login, no change");
    }
}

#[tokio::test]
async fn the_superuser_server_compares_host_case_and_trailing_dot_and_the_default_port() {
    // The child names the server as written in its own secret; the superuser's may differ in
    // case, a trailing dot and an explicit default port, and is still the same server.
    let (db, store) = alternating_setup(json!({"host": "DB.EXAMPLE.", "port": 5432}));
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone());
    create(&store, &strategy).await;
    step(&store, &strategy, Step::Set).await.unwrap();
}

#[tokio::test]
async fn the_superuser_server_is_its_certificate_name_only_when_its_login_verifies_tls() {
    // The child's login verifies TLS, so its server is its certificate name `db.example`.
    // A superuser secret at another address of that server with the same certificate name is
    // the same server; with "ssl": false its login proves no name, so only `host` counts.
    for (ssl, same) in [(None, true), (Some(false), false)] {
        let mut master = json!({"host": "10.0.0.9", "tlsServerName": "db.example"});
        if let Some(ssl) = ssl {
            master["ssl"] = json!(ssl);
        }
        let (db, store) = alternating_setup(master);
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = AlternatingUsers::new(db.clone());
        create(&store, &strategy).await;
        let set = step(&store, &strategy, Step::Set).await;
        if same {
            set.unwrap();
        } else {
            assert_eq!(set.unwrap_err().error_type(), "ConfusedDeputy");
            assert!(db.changes().is_empty());
        }
    }
}

#[tokio::test]
async fn single_user_settles_a_failed_change_that_a_concurrent_invocation_made() {
    let (db, store, strategy) = single_user_created().await;
    // The statement reports a failure, but the password is what it should be.
    db.fault_next_change(Fault::FailAfterApplying);
    step(&store, &strategy, Step::Set).await.unwrap();
    // A real failure stands, and nothing changed.
    let (db, store, strategy) = single_user_created().await;
    db.fault_next_change(Fault::Fail);
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "DatabaseError", "{err}");
    assert_eq!(db.password_of("app").as_deref(), Some("old-Pa55"));
}

#[tokio::test]
async fn single_user_sets_the_old_password_back_when_the_new_one_does_not_log_in() {
    let (db, store, strategy) = single_user_created().await;
    db.fault_next_change(Fault::StoreWrongly);
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "PasswordChangeUnverified", "{err}");
    assert!(
        err.to_string().contains("set back and logs in again"),
        "{err}"
    );
    assert_eq!(db.password_of("app").as_deref(), Some("old-Pa55"));
    assert_eq!(
        db.changes(),
        vec![
            FakeEvent::SetOwnPassword { user: "app".into() },
            FakeEvent::SetOwnPassword { user: "app".into() }
        ]
    );
    // The retry completes the rotation.
    for s in [Step::Set, Step::Test, Step::Finish] {
        step(&store, &strategy, s).await.unwrap();
    }
    assert_eq!(current_token(&store), TOKEN);
}

#[tokio::test]
async fn single_user_previous_path_errors_yield_to_a_concurrent_setsecret_that_finished() {
    for previous in [
        secret("someone-else", "x", json!({})),
        "not json".to_string(),
    ] {
        let db = FakeDatabase::new().with_user("app", "old-Pa55");
        let store = store_with(&secret("app", "old-Pa55", json!({})));
        store.set_version("s", "older", Some(&previous), &[AWSPREVIOUS]);
        let strategy = SingleUser::new(db.clone());
        let new = create(&store, &strategy).await["password"]
            .as_str()
            .unwrap()
            .to_string();
        // Our AWSPENDING login fails (not changed yet); then, just before our AWSCURRENT
        // login, another invocation finishes the change, so AWSCURRENT is refused and the
        // AWSPREVIOUS path fails: the step must still succeed, because the work is done.
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        db.on_login(move |which, passwords| {
            if which == Which::Current && !flag.swap(true, Ordering::SeqCst) {
                passwords.insert("app".into(), new.clone());
            }
        });
        step(&store, &strategy, Step::Set)
            .await
            .unwrap_or_else(|e| panic!("previous {previous}: {}: {e}", e.error_type()));
        assert!(db.changes().is_empty(), "nothing changed twice");
    }
}

// ---------------------------------------------------------------- alternating users

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

#[tokio::test]
async fn alternating_users_create_the_clone_once_then_copy_from_awscurrent_both_ways() {
    let (db, store) = alternating_setup(json!({}));
    let strategy = AlternatingUsers::new(db.clone());
    for round in 0..3 {
        let token = format!("{round}ccccccc-cccc-4ccc-8ccc-cccccccccccc");
        store.start_rotation("s", &token).unwrap();
        for s in Step::ALL {
            let ev = RotationEvent {
                step: s,
                secret_id: MemoryStore::arn("s"),
                token: token.clone(),
                rotation_token: None,
            };
            handle_invocation(&store, &strategy, &policy(), &ev.to_value())
                .await
                .unwrap_or_else(|e| panic!("round {round} {s}: {e}"));
        }
    }
    assert_eq!(
        db.changes(),
        vec![
            FakeEvent::CreateClone {
                clone: "app_clone".into(),
                source: "app".into()
            },
            // Back to the original: it gets what the clone (AWSCURRENT) holds, and the other
            // way round on the next rotation.
            FakeEvent::UpdateClone {
                user: "app".into(),
                source: "app_clone".into()
            },
            FakeEvent::UpdateClone {
                user: "app_clone".into(),
                source: "app".into()
            },
        ]
    );
    assert_eq!(db.password_of("admin").as_deref(), Some("admin-Pa55"));
}

#[tokio::test]
async fn alternating_users_log_in_as_awscurrent_before_reading_the_superuser_secret() {
    let (db, store) = alternating_setup(json!({}));
    let master_arn = MemoryStore::arn("admin");
    let reads_master = |store: &MemoryStore| {
        store
            .calls()
            .iter()
            .any(|c| matches!(c, StoreCall::GetValue { secret_id, .. } if *secret_id == master_arn))
    };
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone());
    create(&store, &strategy).await;
    // AWSCURRENT is refused: the superuser secret is never read, nobody logs in as superuser.
    db.set_password_of("app", "changed-by-hand");
    store.clear_calls();
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "AuthenticationFailed", "{err}");
    assert!(
        err.to_string().contains("superuser secret was not used"),
        "{err}"
    );
    assert!(!reads_master(&store));
    assert!(!logins_of(&db).contains(&Which::Superuser));
    assert!(db.changes().is_empty());
    // With AWSCURRENT working, the order is AWSCURRENT, then the superuser.
    db.set_password_of("app", "app-Pa55");
    step(&store, &strategy, Step::Set).await.unwrap();
    let logins = logins_of(&db);
    let current = logins.iter().rposition(|w| *w == Which::Current).unwrap();
    let superuser = logins.iter().position(|w| *w == Which::Superuser).unwrap();
    assert!(current < superuser, "{logins:?}");
    assert!(reads_master(&store));
}

#[tokio::test]
async fn alternating_users_refuse_every_confused_deputy_and_change_nothing() {
    // The pending secret tampered with.
    for (field, value) in [
        ("username", json!("victim")),
        ("username", json!("app")),
        ("host", json!("other.example")),
        ("port", json!(6543)),
    ] {
        let (db, store) = alternating_setup(json!({}));
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = AlternatingUsers::new(db.clone());
        create(&store, &strategy).await;
        tamper(&store, field, value.clone());
        let err = step(&store, &strategy, Step::Set).await.unwrap_err();
        assert_eq!(err.error_type(), "ConfusedDeputy", "{field}={value}: {err}");
        assert!(
            db.events().is_empty(),
            "{field}={value}: no login, no change"
        );
    }
    // The superuser secret for another server, or the rotated secret itself.
    for master_extra in [json!({"host": "other.example"}), json!({"port": 6543})] {
        let (db, store) = alternating_setup(master_extra.clone());
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = AlternatingUsers::new(db.clone());
        create(&store, &strategy).await;
        let err = step(&store, &strategy, Step::Set).await.unwrap_err();
        assert_eq!(err.error_type(), "ConfusedDeputy", "{master_extra}: {err}");
        assert!(!logins_of(&db).contains(&Which::Superuser));
        assert!(db.changes().is_empty());
    }
    let (db, store) = alternating_setup(json!({}));
    store.create_secret(
        "s",
        &secret(
            "app",
            "app-Pa55",
            json!({ "masterarn": MemoryStore::arn("s") }),
        ),
    );
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone());
    create(&store, &strategy).await;
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "ConfusedDeputy", "{err}");
    assert!(err.to_string().contains("itself"), "{err}");
    assert!(db.changes().is_empty());
}

/// The superuser secrets a deployment allows (`MASTER_SECRET_ARNS`): a `masterarn` resolving
/// to any other secret, also one for the same server and readable by the role (a sibling
/// tenant's), or to the rotated secret under another name, is refused before the superuser
/// logs in, and nothing changes.
#[tokio::test]
async fn alternating_users_use_only_the_superuser_secrets_they_were_deployed_with() {
    let reads = |store: &MemoryStore, name: &str| {
        store.calls().iter().any(|c| {
            matches!(c, StoreCall::GetValue { secret_id, .. }
                if secret_id == name || *secret_id == MemoryStore::arn(name))
        })
    };
    let allowed = [MemoryStore::arn("admin")];
    // A sibling's superuser secret for the same server: readable, but not this stack's.
    let (db, store) = alternating_setup(json!({}));
    store.create_secret("sibling-admin", &secret("admin", "admin-Pa55", json!({})));
    store.create_secret(
        "s",
        &secret(
            "app",
            "app-Pa55",
            json!({ "masterarn": MemoryStore::arn("sibling-admin") }),
        ),
    );
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone()).with_superusers(&allowed);
    create(&store, &strategy).await;
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "ConfusedDeputy", "{err}");
    assert!(err.to_string().contains("MASTER_SECRET_ARNS"), "{err}");
    assert!(!logins_of(&db).contains(&Which::Superuser));
    assert!(db.changes().is_empty());
    // The rotated secret itself, named by its name rather than its ARN (a string comparison
    // would let it through; the ARN Secrets Manager resolves it to does not).
    {
        let masterarn = "s";
        let (db, store) = alternating_setup(json!({}));
        store.create_secret(
            "s",
            &secret("app", "app-Pa55", json!({ "masterarn": masterarn })),
        );
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = AlternatingUsers::new(db.clone()).with_superusers(&["*".to_string()]);
        create(&store, &strategy).await;
        let err = step(&store, &strategy, Step::Set).await.unwrap_err();
        assert_eq!(err.error_type(), "ConfusedDeputy", "{masterarn}: {err}");
        assert!(err.to_string().contains("itself"), "{masterarn}: {err}");
        assert!(!logins_of(&db).contains(&Which::Superuser), "{masterarn}");
        assert!(db.changes().is_empty(), "{masterarn}");
    }
    // An empty list refuses every superuser secret, before reading it.
    let (db, store) = alternating_setup(json!({}));
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone()).with_superusers(&[]);
    create(&store, &strategy).await;
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "ConfusedDeputy", "{err}");
    assert!(!reads(&store, "admin"), "the superuser secret is not read");
    assert!(db.changes().is_empty());
    // The allowed secret, named exactly or by a pattern as an IAM resource would be: rotates.
    for pattern in [
        MemoryStore::arn("admin"),
        MemoryStore::arn("adm*"),
        MemoryStore::arn("?dmin"),
    ] {
        let (db, store) = alternating_setup(json!({}));
        store.start_rotation("s", TOKEN).unwrap();
        let strategy =
            AlternatingUsers::new(db.clone()).with_superusers(std::slice::from_ref(&pattern));
        for s in Step::ALL {
            step(&store, &strategy, s)
                .await
                .unwrap_or_else(|e| panic!("{pattern} {s}: {e}"));
        }
        assert_eq!(db.changes().len(), 1, "{pattern}: the clone was made");
    }
}

#[tokio::test]
async fn alternating_users_settle_a_racing_clone_creation_and_verify_the_change() {
    let (db, store) = alternating_setup(json!({}));
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone());
    create(&store, &strategy).await;
    db.fault_next_change(Fault::FailAfterApplying);
    step(&store, &strategy, Step::Set).await.unwrap();

    let (db, store) = alternating_setup(json!({}));
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone());
    create(&store, &strategy).await;
    db.fault_next_change(Fault::StoreWrongly);
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "PasswordChangeUnverified", "{err}");
    assert_eq!(
        db.password_of("app").as_deref(),
        Some("app-Pa55"),
        "AWSCURRENT untouched"
    );
}

#[tokio::test]
async fn alternating_users_without_masterarn_store_nothing() {
    let db = FakeDatabase::new().with_user("app", "app-Pa55");
    let store = store_with(&secret("app", "app-Pa55", json!({})));
    let strategy = AlternatingUsers::new(db.clone());
    let err = step(&store, &strategy, Step::Create).await.unwrap_err();
    assert_eq!(err.error_type(), "MalformedSecret", "{err}");
    assert!(err.to_string().contains("masterarn"), "{err}");
    assert!(store.value_of("s", TOKEN).is_none());
}

#[tokio::test]
async fn alternating_users_take_privileges_from_the_awscurrent_user_never_from_a_name() {
    // AWSCURRENT is `x_clone_clone`: the pending user is `x_clone`, and an unrelated user `x`
    // exists. Stripping `_clone` from the pending name would hand `x`'s privileges over.
    for pending_exists in [false, true] {
        let mut db = FakeDatabase::new()
            .with_user("x_clone_clone", "cc-Pa55")
            .with_user("x", "unrelated-Pa55")
            .with_user("admin", "admin-Pa55");
        if pending_exists {
            db = db.with_user("x_clone", "old-Pa55");
        }
        let store = MemoryStore::new();
        let master = store.create_secret("admin", &secret("admin", "admin-Pa55", json!({})));
        store.create_secret(
            "s",
            &secret("x_clone_clone", "cc-Pa55", json!({ "masterarn": master })),
        );
        store.start_rotation("s", TOKEN).unwrap();
        rotate(&store, &AlternatingUsers::new(db.clone())).await;
        let expected = if pending_exists {
            FakeEvent::UpdateClone {
                user: "x_clone".into(),
                source: "x_clone_clone".into(),
            }
        } else {
            FakeEvent::CreateClone {
                clone: "x_clone".into(),
                source: "x_clone_clone".into(),
            }
        };
        assert_eq!(
            db.changes(),
            vec![expected],
            "pending exists: {pending_exists}"
        );
        assert_eq!(db.password_of("x").as_deref(), Some("unrelated-Pa55"));
    }
}

#[tokio::test]
async fn alternating_users_keep_a_pair_begun_on_a_clone_name_through_awsprevious() {
    // The pair began as `x_clone_clone` and rotated once: AWSCURRENT is `x_clone`, AWSPREVIOUS
    // `x_clone_clone`. By name alone `x_clone`'s partner is the unrelated `x`; the pair's
    // history (AWSPREVIOUS's user) keeps it.
    let db = FakeDatabase::new()
        .with_user("x_clone", "c-Pa55")
        .with_user("x_clone_clone", "cc-Pa55")
        .with_user("x", "unrelated-Pa55")
        .with_user("admin", "admin-Pa55");
    let store = MemoryStore::new();
    let master = store.create_secret("admin", &secret("admin", "admin-Pa55", json!({})));
    let extra = json!({ "masterarn": master });
    store.create_secret("s", &secret("x_clone", "c-Pa55", extra.clone()));
    store.set_version(
        "s",
        "older",
        Some(&secret("x_clone_clone", "cc-Pa55", extra)),
        &[AWSPREVIOUS],
    );
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone());
    let pending = create(&store, &strategy).await;
    assert_eq!(pending["username"], "x_clone_clone");
    for s in [Step::Set, Step::Test, Step::Finish] {
        step(&store, &strategy, s).await.unwrap();
    }
    assert_eq!(
        db.changes(),
        vec![FakeEvent::UpdateClone {
            user: "x_clone_clone".into(),
            source: "x_clone".into(),
        }]
    );
    assert_eq!(db.password_of("x").as_deref(), Some("unrelated-Pa55"));
}

#[tokio::test]
async fn alternating_users_never_take_one_account_for_a_finished_change_on_several() {
    let (db, store) = alternating_setup(json!({}));
    let db = db.with_several_accounts();
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone());
    create(&store, &strategy).await;
    // The change reaches the account the function logs in through, then fails: an AWSPENDING
    // login works, but the user's other accounts keep the old password.
    db.fault_next_change(Fault::ApplyPartly);
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "DatabaseError", "{err}");
    assert!(db.partly_changed("app_clone"));
    // The retry sees AWSPENDING log in, asks the server whether every account is done, finds
    // it is not, and runs the change again.
    step(&store, &strategy, Step::Set).await.unwrap();
    assert!(!db.partly_changed("app_clone"));
    assert_eq!(
        db.changes()
            .iter()
            .filter(|e| matches!(
                e,
                FakeEvent::CreateClone { .. } | FakeEvent::UpdateClone { .. }
            ))
            .count(),
        2
    );
    // A replay once everything is done changes nothing more.
    step(&store, &strategy, Step::Set).await.unwrap();
    assert_eq!(db.changes().len(), 2);
    // A concurrent invocation that finished every account settles a failure.
    let (db, store) = alternating_setup(json!({}));
    let db = db.with_several_accounts();
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone());
    create(&store, &strategy).await;
    db.fault_next_change(Fault::FailAfterApplying);
    step(&store, &strategy, Step::Set).await.unwrap();
}

#[tokio::test]
async fn single_user_never_changes_a_proxied_anonymous_or_case_folded_account() {
    for (session_user, error_type) in [
        ("employee", "ConfusedDeputy"),
        ("", "ConfusedDeputy"),
        ("APP", "MalformedSecret"),
    ] {
        let db = FakeDatabase::new()
            .with_user("app", "old-Pa55")
            .with_session_user("app", session_user);
        let store = store_with(&secret("app", "old-Pa55", json!({})));
        let strategy = SingleUser::new(db.clone());
        create(&store, &strategy).await;
        let err = step(&store, &strategy, Step::Set).await.unwrap_err();
        assert_eq!(err.error_type(), error_type, "{session_user}: {err}");
        assert!(db.changes().is_empty(), "{session_user}: nothing changed");
        assert_eq!(db.password_of("app").as_deref(), Some("old-Pa55"));
    }
}

#[tokio::test]
async fn single_user_sets_back_only_when_the_new_password_is_refused() {
    // Logins of `app`: 1 AWSCURRENT (changes the password), 2 the verification as AWSPENDING.
    // The verification finds the server unreachable (a connection limit, a timeout): the change
    // is not undone; the changing session is closed and the login tried again (3), and again
    // while it is not refused (a server frees a closed session's connection slot a moment
    // later): up to six verifications in all (2 to 7).
    for unreachable in [&[2][..], &[2, 3, 4, 5, 6]] {
        let (db, store, strategy) = single_user_created().await;
        db.unreachable_logins_of("app", unreachable);
        step(&store, &strategy, Step::Set).await.unwrap();
        assert_eq!(
            db.changes(),
            vec![FakeEvent::SetOwnPassword { user: "app".into() }],
            "{unreachable:?}: no set-back"
        );
    }
    // Unreachable every time: the step fails, still without a set-back, saying AWSPENDING is
    // probably the password; the retry (AWSCURRENT refused, AWSPENDING logs in) is done.
    let (db, store, strategy) = single_user_created().await;
    db.unreachable_logins_of("app", &[2, 3, 4, 5, 6, 7]);
    let started = std::time::Instant::now();
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "PasswordChangeUnverified", "{err}");
    assert!(err.to_string().contains("not set back"), "{err}");
    assert_eq!(db.changes().len(), 1, "no set-back");
    // The pauses double from 0.1 s: 0.1 + 0.2 + 0.4 + 0.8, so a slot freed within 1.5 s is
    // found.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    step(&store, &strategy, Step::Set).await.unwrap();
    assert_eq!(db.changes().len(), 1);
    // Unreachable once, then refused (the server stored another password): the retries stop
    // at the refusal (servers count refused logins; some lock the account), and the step says
    // to set the password by hand.
    let (db, store, strategy) = single_user_created().await;
    db.unreachable_logins_of("app", &[2]);
    db.fault_next_change(Fault::StoreWrongly);
    let err = step(&store, &strategy, Step::Set).await.unwrap_err();
    assert_eq!(err.error_type(), "PasswordChangeUnverified", "{err}");
    assert!(err.to_string().contains("not set back"), "{err}");
    assert!(err.to_string().contains("by hand"), "{err}");
    // The unreachable attempt never reached the server: one refused login.
    assert_eq!(
        db.logins(),
        [
            (Which::Current, "app".into(), true),
            (Which::Pending, "app".into(), false)
        ]
    );
}

// ---------------------------------------------------------------- both

#[tokio::test]
async fn finish_refuses_credentials_that_do_not_log_in_for_both_strategies() {
    for kind in [StrategyKind::SingleUser, StrategyKind::AlternatingUsers] {
        let (db, store) = alternating_setup(json!({}));
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = Strategy::new(kind, db.clone()).unwrap();
        create(&store, &strategy).await;
        let before = store.stages("s");
        let err = step(&store, &strategy, Step::Finish).await.unwrap_err();
        assert_eq!(err.error_type(), "FinishSecretRefused", "{kind:?}: {err}");
        assert_eq!(store.stages("s"), before, "{kind:?}");
    }
}

#[tokio::test]
async fn a_strategy_the_engine_cannot_do_is_refused_at_start_up() {
    let no_clone = Capabilities {
        clone_with_privileges: false,
        ..Capabilities::ALL
    };
    let no_own = Capabilities {
        own_password: false,
        ..Capabilities::ALL
    };
    let db = |c| FakeDatabase::new().with_capabilities(c);
    assert!(Strategy::new(StrategyKind::SingleUser, db(no_clone)).is_ok());
    for (kind, caps) in [
        (StrategyKind::AlternatingUsers, no_clone),
        (StrategyKind::SingleUser, no_own),
    ] {
        let err = Strategy::new(kind, db(caps)).unwrap_err();
        assert_eq!(err.error_type(), "ConfigurationError");
        assert!(err.to_string().contains("ROTATION_STRATEGY"), "{err}");
    }
}

// ---------------------------------------------------------------- the call budget

/// The operations of one rotation, in order, as `Operation` names.
fn operations(store: &MemoryStore) -> Vec<&'static str> {
    store.calls().iter().map(StoreCall::operation).collect()
}

#[tokio::test]
async fn a_database_rotation_makes_twelve_calls_single_user_and_thirteen_alternating() {
    const DESCRIBE: &str = "DescribeSecret";
    const GET: &str = "GetSecretValue";
    const RANDOM: &str = "GetRandomPassword";
    const PUT: &str = "PutSecretValue";
    const UPDATE: &str = "UpdateSecretVersionStage";
    let create = [DESCRIBE, GET, RANDOM, PUT];
    let test = [GET];
    let finish = [DESCRIBE, GET, UPDATE, UPDATE];

    let db = FakeDatabase::new().with_user("app", "old-Pa55");
    let store = store_with(&secret("app", "old-Pa55", json!({})));
    store.clear_calls();
    rotate(&store, &SingleUser::new(db)).await;
    let set = [DESCRIBE, GET, GET];
    let single = [&create[..], &set, &test, &finish].concat();
    assert_eq!(operations(&store), single);
    assert_eq!(single.len(), 12);

    // Alternating users: setSecret also reads the superuser secret.
    let (db, store) = alternating_setup(json!({}));
    store.start_rotation("s", TOKEN).unwrap();
    store.clear_calls();
    rotate(&store, &AlternatingUsers::new(db.clone())).await;
    let set = [DESCRIBE, GET, GET, GET];
    let alternating = [&create[..], &set, &test, &finish].concat();
    assert_eq!(operations(&store), alternating);
    assert_eq!(alternating.len(), 13);

    // The next rotation, from `app_clone` (a name that could pair with `app` or
    // `app_clone_clone`): createSecret reads AWSPREVIOUS once to keep the pair; setSecret
    // needs no history, as AWSPENDING names the name rule's partner.
    let token = "dddddddd-dddd-4ddd-8ddd-dddddddddddd";
    store.start_rotation("s", token).unwrap();
    store.clear_calls();
    let strategy = AlternatingUsers::new(db);
    for s in Step::ALL {
        let ev = RotationEvent {
            step: s,
            secret_id: MemoryStore::arn("s"),
            token: token.into(),
            rotation_token: None,
        };
        handle_invocation(&store, &strategy, &policy(), &ev.to_value())
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    let create = [DESCRIBE, GET, RANDOM, GET, PUT];
    let again = [&create[..], &set, &test, &finish].concat();
    assert_eq!(operations(&store), again);
}

// ---------------------------------------------------------------- no password in the logs

/// Every password of every version of `store`'s secret `s`.
fn passwords_in(store: &MemoryStore) -> Vec<String> {
    store
        .stages("s")
        .keys()
        .filter_map(|id| store.value_of("s", id))
        .filter_map(|v| serde_json::from_str::<Value>(&v).ok())
        .filter_map(|v| v["password"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn no_generated_password_reaches_the_logs_at_trace_even_when_a_rotation_fails() {
    // The global subscriber (other tests of this binary log into it too, harmlessly).
    let sink = crate::global_logs();
    let mut passwords = Vec::new();
    // Single user: a change the server stores wrongly (set back, the step fails), then the
    // retry completes.
    let (db, store, strategy) = single_user_created().await;
    db.fault_next_change(Fault::StoreWrongly);
    step(&store, &strategy, Step::Set).await.unwrap_err();
    for s in [Step::Set, Step::Test, Step::Finish] {
        step(&store, &strategy, s).await.unwrap();
    }
    passwords.extend(passwords_in(&store));
    // Alternating users on several accounts: a change that reaches one account and fails.
    let (db, store) = alternating_setup(json!({}));
    let db = db.with_several_accounts();
    store.start_rotation("s", TOKEN).unwrap();
    let strategy = AlternatingUsers::new(db.clone());
    create(&store, &strategy).await;
    db.fault_next_change(Fault::ApplyPartly);
    step(&store, &strategy, Step::Set).await.unwrap_err();
    for s in [Step::Set, Step::Test, Step::Finish] {
        step(&store, &strategy, s).await.unwrap();
    }
    passwords.extend(passwords_in(&store));
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("\"level\":\"TRACE\"") && l.contains("rotation_core")),
        "the capture is at trace"
    );
    assert!(
        text.contains("rotation step failed"),
        "failures were logged"
    );
    let generated: Vec<&String> = passwords.iter().filter(|p| p.len() >= 24).collect();
    assert_eq!(generated.len(), 2, "one generated password per rotation");
    for pw in generated {
        let json = serde_json::to_string(pw).unwrap();
        for form in [
            pw.clone(),
            json.trim_matches('"').to_string(),
            pw.replace('\'', "''"),
            pw.replace('\'', "''").replace('\\', "\\\\"),
        ] {
            assert!(!text.contains(&form), "a password reached the logs");
        }
    }
}

// ---------------------------------------------------------------- preflight

async fn preflight_of<R: Rotation>(store: &MemoryStore, rotation: &R) -> rotation_core::Report {
    rotation_core::preflight::preflight(
        store,
        rotation,
        &policy(),
        "s",
        rotation_core::PreflightOptions::default(),
    )
    .await
}

fn passed(report: &rotation_core::Report, name: &str) -> bool {
    report
        .check(name)
        .unwrap_or_else(|| panic!("no {name} check in {report:?}"))
        .ok
}

#[tokio::test]
async fn preflight_runs_each_strategys_own_checks_through_the_deployed_strategy() {
    use rotation_core::preflight::names;
    // Single user: AWSCURRENT logs in and may change its own password.
    let db = FakeDatabase::new().with_user("app", "old-Pa55");
    let store = MemoryStore::new();
    store.create_secret("s", &secret("app", "old-Pa55", json!({})));
    let single = Strategy::new(StrategyKind::SingleUser, db.clone()).unwrap();
    let report = preflight_of(&store, &single).await;
    assert!(report.ok(), "{report:?}");
    assert!(passed(&report, names::CURRENT_LOGIN) && passed(&report, names::OWN_PASSWORD));
    assert_eq!(logins_of(&db), vec![Which::Current]);
    // Alternating users: the clone's name, the superuser secret, its login and privileges.
    let (db, store) = alternating_setup(json!({}));
    let alternating = Strategy::new(StrategyKind::AlternatingUsers, db.clone()).unwrap();
    let report = preflight_of(&store, &alternating).await;
    assert!(report.ok(), "{report:?}");
    for name in [
        names::CURRENT_LOGIN,
        names::CLONE_NAME,
        names::SUPERUSER_SECRET,
        names::SUPERUSER_LOGIN,
        names::MANAGE_USERS,
    ] {
        assert!(passed(&report, name), "{name}: {report:?}");
    }
    assert!(report
        .check(names::CLONE_NAME)
        .unwrap()
        .detail
        .contains("app_clone"));
    assert_eq!(logins_of(&db), vec![Which::Current, Which::Superuser]);
    // As setSecret, the superuser is not used while AWSCURRENT does not log in.
    db.refuse_logins_of("app");
    let before = logins_of(&db).len();
    let report = preflight_of(&store, &alternating).await;
    assert!(!passed(&report, names::CURRENT_LOGIN));
    assert!(!passed(&report, names::SUPERUSER_LOGIN), "{report:?}");
    assert_eq!(logins_of(&db)[before..], [Which::Current]);
    assert!(db.changes().is_empty());
}

#[tokio::test]
async fn the_deployed_strategy_rotates_either_kind_and_refuses_another_engine_before_writing() {
    for kind in [StrategyKind::SingleUser, StrategyKind::AlternatingUsers] {
        let (db, store) = alternating_setup(json!({}));
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = Strategy::new(kind, db.clone()).unwrap();
        rotate(&store, &strategy).await;
        let new: Value =
            serde_json::from_str(&store.value_of("s", &current_token(&store)).unwrap()).unwrap();
        let user = new["username"].as_str().unwrap();
        assert_eq!(
            db.password_of(user).as_deref(),
            new["password"].as_str(),
            "{kind:?}"
        );
        // A secret of another engine: createSecret refuses it before writing anything.
        let store = MemoryStore::new();
        let mut other: Value = serde_json::from_str(&secret("app", "app-Pa55", json!({}))).unwrap();
        other["engine"] = json!("oracle");
        other["masterarn"] = json!(MemoryStore::arn("admin"));
        store.create_secret("s", &other.to_string());
        store.start_rotation("s", TOKEN).unwrap();
        let err = step(&store, &strategy, Step::Create).await.unwrap_err();
        assert!(err.to_string().contains("oracle"), "{kind:?}: {err}");
        assert!(store.value_of("s", TOKEN).is_none(), "{kind:?}");
    }
}
