//! The quirks an engine declares in its identity (`Quirks`), read by the strategies: the fake
//! engine declares each in turn, and the same steps behave as the declaration says.

use rotation_core::database::{AlternatingUsers, FakeDatabase, Quirks, SingleUser, Which};
use rotation_core::labels::AWSPENDING;
use rotation_core::{
    handle_invocation, MemoryStore, Outcome, PasswordDefaults, PasswordPolicy, Result, Rotation,
    RotationEvent, Step,
};
use serde_json::{json, Value};

use crate::strategies_on_fake::secret;

const TOKEN: &str = "dddddddd-dddd-4ddd-8ddd-dddddddddddd";

async fn step<R: Rotation>(store: &MemoryStore, rotation: &R, s: Step) -> Result<Outcome> {
    let policy = PasswordPolicy::from_lookup(PasswordDefaults::POSTGRES, |_| None).unwrap();
    let event = RotationEvent {
        step: s,
        secret_id: MemoryStore::arn("s"),
        token: TOKEN.into(),
        rotation_token: None,
    };
    handle_invocation(store, rotation, &policy, &event.to_value()).await
}

#[tokio::test]
async fn a_declared_retry_tries_a_refused_awscurrent_login_once_more() {
    for (retries, attempts) in [(false, 1), (true, 2)] {
        let quirks = Quirks {
            retries_refused_logins: retries,
            ..Quirks::NONE
        };
        let db = FakeDatabase::new()
            .with_user("app", "old-Pa55")
            .with_quirks(quirks);
        let store = MemoryStore::new();
        store.create_secret("s", &secret("app", "old-Pa55", json!({})));
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = SingleUser::new(db.clone());
        step(&store, &strategy, Step::Create).await.unwrap();
        db.refuse_logins_of("app");
        let e = step(&store, &strategy, Step::Set).await.unwrap_err();
        assert_eq!(e.error_type(), "AuthenticationFailed", "{e}");
        let current = db
            .logins()
            .into_iter()
            .filter(|(which, _, _)| *which == Which::Current)
            .count();
        assert_eq!(current, attempts, "retries_refused_logins: {retries}");
    }
}

#[tokio::test]
async fn declared_users_per_database_refuse_a_pending_version_of_another_database() {
    for per_database in [false, true] {
        let quirks = Quirks {
            users_are_per_database: per_database,
            ..Quirks::NONE
        };
        let db = FakeDatabase::new()
            .with_user("app", "app-Pa55")
            .with_user("admin", "admin-Pa55")
            .with_quirks(quirks);
        let store = MemoryStore::new();
        let master = store.create_secret("admin", &secret("admin", "admin-Pa55", json!({})));
        store.create_secret(
            "s",
            &secret(
                "app",
                "app-Pa55",
                json!({"masterarn": master, "dbname": "appdb"}),
            ),
        );
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = AlternatingUsers::new(db.clone());
        step(&store, &strategy, Step::Create).await.unwrap();
        let mut pending: Value =
            serde_json::from_str(&store.value_of("s", TOKEN).unwrap()).unwrap();
        pending["dbname"] = json!("otherdb");
        store.set_version("s", TOKEN, Some(&pending.to_string()), &[AWSPENDING]);
        let e = step(&store, &strategy, Step::Set).await.unwrap_err();
        assert_eq!(e.error_type(), "ConfusedDeputy", "{e}");
        // Declared: refused as another user, before any login; otherwise refused later as a
        // changed key.
        let another_user = e
            .to_string()
            .contains("a user of another database is another user");
        assert_eq!(another_user, per_database, "{e}");
        assert!(db.changes().is_empty());
    }
}
