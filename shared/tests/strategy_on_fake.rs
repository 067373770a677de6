//! The single-user strategy on a fake database (users and passwords in memory) and the strict
//! in-memory Secrets Manager, for the orderings a real server cannot be made to produce on
//! demand: a concurrent setSecret that finishes the work between two of our logins.

use std::collections::HashMap;
use std::sync::Mutex;

use rotation_core::dispatch::handle;
use rotation_core::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::strategy::{Database, SingleUser};
use rotation_core::{
    DatabaseSecret, MemoryStore, PasswordDefaults, PasswordPolicy, Result, RotationError,
    RotationEvent, SecretValue, Step,
};
use serde_json::Value;

const TOKEN: &str = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
const CURRENT: &str =
    r#"{"engine":"postgres","host":"db","username":"app","password":"old-password"}"#;

/// Users and passwords in memory. When `finish_on_current_login` holds a password, the first
/// AWSCURRENT login sets it first, as a concurrent setSecret finishing its change would.
#[derive(Default)]
struct FakeDb {
    passwords: Mutex<HashMap<String, String>>,
    finish_on_current_login: Mutex<Option<String>>,
    logins: Mutex<Vec<String>>,
}

impl FakeDb {
    fn with_user(user: &str, password: &str) -> Self {
        let db = Self::default();
        db.passwords
            .lock()
            .unwrap()
            .insert(user.into(), password.into());
        db
    }

    fn password_of(&self, user: &str) -> Option<String> {
        self.passwords.lock().unwrap().get(user).cloned()
    }
}

impl Database for FakeDb {
    type Session = String;

    fn engines(&self) -> &'static [&'static str] {
        &["postgres"]
    }
    fn default_port(&self) -> u16 {
        5432
    }
    fn max_username_len(&self) -> usize {
        63
    }
    async fn connect(&self, secret: &DatabaseSecret, which: &str) -> Result<String> {
        self.logins.lock().unwrap().push(which.to_string());
        if which == AWSCURRENT {
            if let Some(pw) = self.finish_on_current_login.lock().unwrap().take() {
                self.passwords
                    .lock()
                    .unwrap()
                    .insert(secret.username.clone(), pw);
            }
        }
        let ok = self.password_of(&secret.username).as_deref() == Some(secret.password().expose());
        if ok {
            Ok(secret.username.clone())
        } else {
            Err(RotationError::AuthenticationFailed {
                which: which.into(),
                user: secret.username.clone(),
                host: secret.host.clone(),
                hint: String::new(),
            })
        }
    }
    async fn session_user(&self, session: &mut String) -> Result<String> {
        Ok(session.clone())
    }
    async fn set_own_password(&self, _: &mut String, user: &str, pw: &SecretValue) -> Result<()> {
        self.passwords
            .lock()
            .unwrap()
            .insert(user.into(), pw.expose().into());
        Ok(())
    }
    async fn user_exists(&self, _: &mut String, user: &str) -> Result<bool> {
        Ok(self.password_of(user).is_some())
    }
    async fn set_password(&self, s: &mut String, user: &str, pw: &SecretValue) -> Result<()> {
        self.set_own_password(s, user, pw).await
    }
    async fn create_clone(&self, s: &mut String, c: &str, _: &str, pw: &SecretValue) -> Result<()> {
        self.set_own_password(s, c, pw).await
    }
}

fn event(step: Step) -> Value {
    RotationEvent {
        step,
        secret_id: MemoryStore::arn("s"),
        token: TOKEN.into(),
    }
    .to_value()
}

#[tokio::test]
async fn any_error_on_the_previous_path_yields_to_a_concurrent_setsecret_that_finished() {
    let policy = PasswordPolicy::from_lookup(PasswordDefaults::POSTGRES, |_| None).unwrap();
    let previous_values = [
        // names another user: a confused-deputy error on the fallback path
        r#"{"engine":"postgres","host":"db","username":"someone-else","password":"x"}"#,
        // not a secret at all
        "not json",
    ];
    for previous in previous_values {
        let store = MemoryStore::new();
        store.create_secret("s", CURRENT);
        store.set_version("s", "older-version", Some(previous), &[AWSPREVIOUS]);
        store.start_rotation("s", TOKEN).unwrap();
        let strategy = SingleUser::new(FakeDb::with_user("app", "old-password"));
        handle(&store, &strategy, &policy, &event(Step::Create))
            .await
            .unwrap();
        let pending: Value = serde_json::from_str(&store.value_of("s", TOKEN).unwrap()).unwrap();
        let new_password = pending["password"].as_str().unwrap().to_string();
        // Our AWSPENDING login fails (not changed yet); then, before our AWSCURRENT login, a
        // concurrent invocation finishes the change, so AWSCURRENT is refused and the
        // AWSPREVIOUS path fails: the step must still succeed, because the work is done.
        let db = FakeDb::with_user("app", "old-password");
        *db.finish_on_current_login.lock().unwrap() = Some(new_password.clone());
        let strategy = SingleUser::new(db);
        handle(&store, &strategy, &policy, &event(Step::Set))
            .await
            .unwrap_or_else(|e| panic!("previous {previous}: {}: {e}", e.error_type()));
    }
}

#[tokio::test]
async fn with_nothing_done_concurrently_the_previous_path_error_stands() {
    let policy = PasswordPolicy::from_lookup(PasswordDefaults::POSTGRES, |_| None).unwrap();
    let store = MemoryStore::new();
    store.create_secret("s", CURRENT);
    store.set_version(
        "s",
        "older-version",
        Some(r#"{"engine":"postgres","host":"db","username":"someone-else","password":"x"}"#),
        &[AWSPREVIOUS],
    );
    store.start_rotation("s", TOKEN).unwrap();
    // The database has another password than AWSCURRENT: AWSCURRENT is refused.
    let strategy = SingleUser::new(FakeDb::with_user("app", "changed-by-hand"));
    handle(&store, &strategy, &policy, &event(Step::Create))
        .await
        .unwrap();
    let err = handle(&store, &strategy, &policy, &event(Step::Set))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ConfusedDeputy", "{err}");
    assert!(err.to_string().contains("AWSPREVIOUS"), "{err}");
    let logins = strategy.database().logins.lock().unwrap().clone();
    assert_eq!(
        logins,
        vec![AWSPENDING, AWSCURRENT, AWSPENDING],
        "AWSPREVIOUS is checked before any login with it; AWSPENDING is tried again last"
    );
}
