//! The lockout and downgrade holes, each closed and proven against the sandbox PostgreSQL:
//! a guarded finishSecret, verified password changes (with the old password set back), the
//! password form the server stores, inputs setSecret needs checked in createSecret, server
//! (host and port) confused-deputy checks, and statements that cannot outlive the invocation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::testbed::{Bed, Options, Trust};
use rotation_core::labels::{self, AWSCURRENT, AWSPENDING};
use rotation_core::{PasswordDefaults, SecretValue, Step};
use rotation_postgresql::{Dialect, PasswordForm, PgError, Postgres, SessionLimits};
use rotation_testkit::{event, unique};
use serde_json::json;
use tokio_postgres::{Client, Transaction};

// ---------------------------------------------------------------- finishSecret guard

#[tokio::test]
async fn finish_before_set_is_refused_and_awscurrent_keeps_working() {
    for strategy in ["single", "alternating"] {
        let bed = Bed::new(strategy, Trust::SandboxCa, false).await;
        let (user, password, arn) = if strategy == "single" {
            let (user, arn) = bed.user_with_secret("early", "early-Pa55", json!({})).await;
            (user, "early-Pa55".to_string(), arn)
        } else {
            let (user, _, arn, _) = bed.alternating_pair("early").await;
            (user, "u-Pa55word".to_string(), arn)
        };
        let token = bed.start_and_create(&arn).await;
        let err = bed
            .fails_changing_no_label(&arn, &token, Step::Finish)
            .await;
        assert!(
            err.starts_with("FinishSecretRefused: ") && err.contains("do not work"),
            "{strategy}: {err}"
        );
        assert!(err.contains("AWSPENDING"), "{err}");
        assert_eq!(bed.current(&arn).await, (user.clone(), password.clone()));
        bed.login(&user, &password, false)
            .await
            .expect("AWSCURRENT still logs in");
        // The rotation then completes when its steps come in order.
        bed.resume(&arn, &token).await;
        let (u, pw) = bed.current(&arn).await;
        bed.login(&u, &pw, false).await.unwrap();
    }
}

// ---------------------------------------------------------------- verified password changes

/// PostgreSQL's SQL, except that while `break_next` is set the next password statement stores
/// the hash of another password: a change the server accepts but that does not log in.
#[derive(Clone, Default)]
struct StoresWrongly {
    inner: Postgres,
    break_next: Arc<AtomicBool>,
}

impl StoresWrongly {
    fn password(&self, password: &SecretValue) -> SecretValue {
        if self.break_next.swap(false, Ordering::SeqCst) {
            SecretValue::new(format!("{}-not-what-was-asked", password.expose()))
        } else {
            password.clone()
        }
    }
}

impl Dialect for StoresWrongly {
    fn identity(&self) -> &'static rotation_core::database::EngineIdentity {
        self.inner.identity()
    }
    async fn prepare_session(
        &self,
        c: &Client,
        l: &SessionLimits,
    ) -> Result<PasswordForm, PgError> {
        self.inner.prepare_session(c, l).await
    }
    fn set_password_sql(&self, u: &str, s: &str, p: &SecretValue, f: PasswordForm) -> String {
        self.inner.set_password_sql(u, s, &self.password(p), f)
    }
    fn user_exists_sql(&self) -> &'static str {
        self.inner.user_exists_sql()
    }
    async fn privileges(
        &self,
        c: &Client,
        need: rotation_core::database::Need,
    ) -> Result<Vec<rotation_core::Check>, PgError> {
        self.inner.privileges(c, need).await
    }
    async fn create_clone(
        &self,
        tx: &Transaction<'_>,
        clone: &str,
        source: &str,
        password: &SecretValue,
        form: PasswordForm,
    ) -> Result<(), PgError> {
        let password = self.password(password);
        self.inner
            .create_clone(tx, clone, source, &password, form)
            .await
    }
    async fn update_clone(
        &self,
        tx: &Transaction<'_>,
        user: &str,
        stored_name: &str,
        source: &str,
        password: &SecretValue,
        form: PasswordForm,
    ) -> Result<(), PgError> {
        let password = self.password(password);
        self.inner
            .update_clone(tx, user, stored_name, source, &password, form)
            .await
    }
}

impl crate::testbed::BedDialect for StoresWrongly {
    fn build(
        self,
        settings: &rotation_core::Settings,
        policy: rotation_core::database::ConnectPolicy,
        rds: Option<Arc<dyn rotation_core::database::RdsLookup>>,
        redshift_api: Option<Arc<dyn rotation_postgresql::RedshiftLookup>>,
    ) -> rotation_core::database::Strategy<rotation_postgresql::PgEngine<Self>> {
        // A test dialect: built as the postgresql binary builds its own.
        assert!(rds.is_none() && redshift_api.is_none());
        rotation_core::database::Strategy::new(
            settings.strategy,
            rotation_postgresql::PgEngine::new(self, policy),
        )
        .expect("a known strategy")
    }
}

async fn faulty_bed(strategy: &str) -> (Bed<StoresWrongly>, Arc<AtomicBool>) {
    let dialect = StoresWrongly::default();
    let switch = dialect.break_next.clone();
    let bed = Bed::with_options(
        dialect,
        strategy,
        PasswordDefaults::POSTGRES,
        Options::default(),
    )
    .await;
    (bed, switch)
}

#[tokio::test]
async fn single_user_a_change_that_does_not_log_in_is_set_back_before_failing() {
    let (bed, break_next) = faulty_bed("single").await;
    let (user, arn) = bed
        .user_with_secret("verify", "verify-Pa55", json!({}))
        .await;
    let token = bed.start_and_create(&arn).await;
    break_next.store(true, Ordering::SeqCst);
    let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
    assert!(err.starts_with("PasswordChangeUnverified: "), "{err}");
    assert!(err.contains("set back and logs in again"), "{err}");
    bed.login(&user, "verify-Pa55", false)
        .await
        .expect("AWSCURRENT logs in: the old password was set back");
    // Secrets Manager retries setSecret: this time the change holds and the rotation ends.
    bed.resume(&arn, &token).await;
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, false).await.unwrap();
}

#[tokio::test]
async fn alternating_users_a_clone_that_does_not_log_in_fails_set_and_awscurrent_keeps_working() {
    let (bed, break_next) = faulty_bed("alternating").await;
    let (user, _, arn, table) = bed.alternating_pair("verify").await;
    let token = bed.start_and_create(&arn).await;
    break_next.store(true, Ordering::SeqCst);
    let err = bed
        .invoke(event(&arn, &token, Step::Set))
        .await
        .unwrap_err();
    assert!(err.starts_with("PasswordChangeUnverified: "), "{err}");
    assert!(err.contains(&format!("{user}_clone")), "{err}");
    assert!(bed.can_read(&user, "u-Pa55word", &table).await);
    bed.resume(&arn, &token).await;
    let (clone, pw) = bed.current(&arn).await;
    assert!(bed.can_read(&clone, &pw, &table).await);
}

// ---------------------------------------------------------------- the server's password form

#[tokio::test]
async fn passwords_are_stored_in_the_form_the_server_uses_md5_or_scram() {
    // password_encryption set per role, as the sessions of that role see it: md5 for these
    // users (in md5_auth, whose pg_hba line is md5), scram-sha-256 (the server default) for
    // the rest.
    let bed = Bed::single().await;
    let user = format!("md5srv_{}", unique());
    bed.pg
        .create_login("postgres", &user, "md5srv-Pa55", true, &["md5_auth"])
        .await;
    let admin = bed.pg.session("postgres").await;
    admin
        .batch_execute(&format!(
            "ALTER ROLE \"{user}\" SET password_encryption = 'md5'"
        ))
        .await
        .unwrap();
    let arn = bed
        .secret(&bed.secret_json(&user, "md5srv-Pa55", json!({})))
        .await;
    bed.rotations_store_md5(&arn, &user, 2).await;

    // Alternating users: the superuser's sessions store md5, so the clone is md5 too.
    let bed = Bed::alternating().await;
    let (user, master, arn, table) = bed.alternating_pair("md5").await;
    admin
        .batch_execute(&format!(
            "ALTER ROLE \"{master}\" SET password_encryption = 'md5'; GRANT md5_auth TO \"{user}\";"
        ))
        .await
        .unwrap();
    for round in 1..=2 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        let (u, pw) = bed.current(&arn).await;
        assert!(bed.pg.stored_password(&u).await.starts_with("md5"), "{u}");
        assert!(bed.can_read(&u, &pw, &table).await, "round {round}");
    }
}

// ---------------------------------------------------------------- createSecret checks first

#[tokio::test]
async fn alternating_users_without_masterarn_fails_create_and_writes_nothing() {
    let bed = Bed::alternating().await;
    let (user, arn) = bed
        .user_with_secret("nomaster", "nomaster-Pa55", json!({}))
        .await;
    let token = bed.driver.start(&arn).await.unwrap();
    let err = bed
        .fails_changing_no_label(&arn, &token, Step::Create)
        .await;
    assert!(
        err.starts_with("MalformedSecret: ") && err.contains("masterarn key is missing"),
        "{err}"
    );
    assert!(
        !bed.pending_value_exists(&arn, &token).await,
        "no AWSPENDING value with a _clone user was stored"
    );
    // The same token can still be finished by the single-user function.
    let single = Bed::single().await;
    for step in Step::ALL {
        single
            .invoke(event(&arn, &token, step))
            .await
            .unwrap_or_else(|e| panic!("single-user {step}: {e}"));
    }
    let (u, pw) = single.current(&arn).await;
    assert_eq!(u, user);
    single.login(&u, &pw, false).await.unwrap();
}

// ---------------------------------------------------------------- confused deputy: the server

#[tokio::test]
async fn a_pending_secret_for_another_port_is_refused_before_any_login() {
    let bed = Bed::single().await;
    let (user, arn) = bed.user_with_secret("port", "port-Pa55", json!({})).await;
    let token = bed.start_and_create(&arn).await;
    // Port 9 (discard) is closed here: a login attempt there would be DatabaseUnreachable.
    let token = bed.tamper_pending(&arn, &token, "port", json!(9)).await;
    let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
    assert!(err.starts_with("ConfusedDeputy: "), "{err}");
    assert!(err.contains(":9 "), "{err}");
    bed.login(&user, "port-Pa55", false).await.unwrap();
}

#[tokio::test]
async fn a_superuser_secret_for_another_port_or_the_secret_itself_is_refused() {
    let bed = Bed::alternating().await;
    let (user, master, _, _) = bed.alternating_pair("port").await;
    let other_port = bed
        .secret(&bed.secret_json(&master, "master-Pa55", json!({"port": 9})))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "u-Pa55word", json!({"masterarn": other_port})))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains(":9"),
        "{err}"
    );
    // masterarn naming the rotated secret itself.
    let name = format!("pg-self-{}", unique());
    let self_arn = bed
        .driver
        .create_secret(
            &name,
            &bed.secret_json(&user, "u-Pa55word", json!({"masterarn": "x"})),
        )
        .await;
    bed.driver
        .client()
        .put_secret_value()
        .secret_id(&self_arn)
        .secret_string(bed.secret_json(&user, "u-Pa55word", json!({"masterarn": self_arn})))
        .version_stages(AWSCURRENT)
        .send()
        .await
        .unwrap();
    let err = bed.failure_of(&self_arn).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains("itself"),
        "{err}"
    );
    let clone = format!("{user}_clone");
    let exists = bed
        .pg
        .session("postgres")
        .await
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&clone])
        .await
        .unwrap();
    assert!(exists.is_none(), "no clone was created");
}

// ---------------------------------------------------------------- statement time limits

#[tokio::test]
async fn a_blocked_password_change_gives_up_on_the_server_and_never_commits_later() {
    let bed = Bed::single().await;
    let (user, arn) = bed
        .user_with_secret("locked", "locked-Pa55", json!({}))
        .await;
    let token = bed.start_and_create(&arn).await;
    // Another transaction holds the role's row: our ALTER ROLE waits for it.
    let blocker = bed.pg.session("postgres").await;
    blocker
        .batch_execute(&format!(
            "BEGIN; ALTER ROLE \"{user}\" VALID UNTIL 'infinity'"
        ))
        .await
        .unwrap();
    let started = Instant::now();
    let limit = SessionLimits::default().lock_timeout;
    let outcome = tokio::time::timeout(
        limit + Duration::from_secs(15),
        bed.invoke(event(&arn, &token, Step::Set)),
    )
    .await;
    blocker.batch_execute("ROLLBACK").await.unwrap();
    let err = outcome
        .expect("setSecret must give up on its own, not wait for the lock")
        .unwrap_err();
    assert!(
        err.starts_with("DatabaseError: ") && err.contains("55P03"),
        "lock_not_available: {err}"
    );
    assert!(started.elapsed() >= limit, "waited for the lock timeout");
    // Nothing committed, then or later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    bed.login(&user, "locked-Pa55", false)
        .await
        .expect("the old password still works");
    let stages = bed.driver.stages(&arn).await;
    assert!(labels::has_label(&stages, &token, AWSPENDING));
    assert!(!labels::has_label(&stages, &token, AWSCURRENT));
    let settings: Vec<String> = bed
        .pg
        .log_text()
        .lines()
        .filter(|l| l.contains("set_config('lock_timeout'"))
        .map(str::to_string)
        .collect();
    assert!(!settings.is_empty(), "the session set its lock timeout");
}
