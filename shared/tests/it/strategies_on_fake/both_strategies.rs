//! Both strategies: the finishSecret guard, a strategy the engine cannot do, the call budget,
//! no password in the logs, the preflight, and the deployed strategy.

use super::*;

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
async fn a_server_at_capacity_is_database_at_capacity_at_every_login_and_a_retry_completes() {
    for kind in [StrategyKind::SingleUser, StrategyKind::AlternatingUsers] {
        let single = kind == StrategyKind::SingleUser;
        let pending_user = if single { "app" } else { "app_clone" };
        let (db, store) = alternating_setup(json!({}));
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = Strategy::new(kind, db.clone()).unwrap();
        create(&store, &strategy).await;
        let before = store.stages("s");
        let at_capacity = |err: rotation_core::RotationError, which: &str| {
            assert_eq!(err.error_type(), "DatabaseAtCapacity", "{kind:?}: {err}");
            assert!(
                err.to_string()
                    .contains(&format!("refused the {which} login")),
                "{kind:?}: {err}"
            );
            err.to_string()
        };

        // At the AWSCURRENT login: nothing changed, no superuser login.
        db.full_for_logins_of("app", 0, 1);
        let err = step(&store, &strategy, Step::Set).await.unwrap_err();
        at_capacity(err, "AWSCURRENT");
        assert!(db.changes().is_empty(), "{kind:?}");
        assert!(db.logins().iter().all(|(w, _, _)| *w != Which::Superuser));
        // At the superuser's login (alternating users only): nothing changed.
        if !single {
            db.full_for_logins_of("admin", 0, 1);
            let err = step(&store, &strategy, Step::Set).await.unwrap_err();
            at_capacity(err, "master secret");
            assert!(db.changes().is_empty(), "{kind:?}");
        }

        // At the verification after the change (single user: every retry too): the change
        // stands, nothing is set back, and the step says so.
        // Single user: after its AWSCURRENT login, the first verification and its five
        // retries; alternating users: the check before the change, then the verification.
        if single {
            db.full_for_logins_of("app", 1, 6);
        } else {
            db.full_for_logins_of(pending_user, 0, 2);
        }
        let err = step(&store, &strategy, Step::Set).await.unwrap_err();
        let text = at_capacity(err, "AWSPENDING");
        assert!(
            text.contains("this was the check of") && text.contains("which the server accepted"),
            "{kind:?}: {text}"
        );
        assert_eq!(db.changes().len(), 1, "{kind:?}: one change, no set-back");
        assert_eq!(store.stages("s"), before, "{kind:?}");
        // The next delivery finds AWSPENDING logs in and changes nothing more.
        step(&store, &strategy, Step::Set).await.unwrap();
        assert_eq!(db.changes().len(), 1, "{kind:?}");

        // testSecret and finishSecret's guard: the capacity error, not a refusal, nothing moved.
        db.full_for_logins_of(pending_user, 0, 1);
        let err = step(&store, &strategy, Step::Test).await.unwrap_err();
        at_capacity(err, "AWSPENDING");
        step(&store, &strategy, Step::Test).await.unwrap();
        db.full_for_logins_of(pending_user, 0, 1);
        let err = step(&store, &strategy, Step::Finish).await.unwrap_err();
        at_capacity(err, "AWSPENDING");
        assert_eq!(
            store.stages("s"),
            before,
            "{kind:?}: AWSCURRENT did not move"
        );
        step(&store, &strategy, Step::Finish).await.unwrap();
        assert_eq!(current_token(&store), TOKEN, "{kind:?}");
        assert_eq!(db.changes().len(), 1, "{kind:?}");
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
