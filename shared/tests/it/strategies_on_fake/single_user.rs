//! Single user on the fake engine: the order of logins, the AWSPREVIOUS fallback, the
//! confused-deputy checks, the settle race, verification and set-back.

use super::*;

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
