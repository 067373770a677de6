//! Alternating users on the fake engine: the clone made once, AWSCURRENT's login before the
//! superuser secret is read, every confused-deputy check, the superuser secrets deployed, the
//! settle race, and a pair begun on a clone name.

use super::*;

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
