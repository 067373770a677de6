//! Shared set-up for the PostgreSQL function's integration tests: moto through the rotation
//! driver, the sandbox PostgreSQL, and the function invoked in-process.
#![allow(dead_code)]

use postgresql::{Connector, Dialect, PgEngine, Postgres};
use rotation_core::dispatch::{handle, Outcome};
use rotation_core::labels::AWSCURRENT;
use rotation_core::strategy::Strategy;
use rotation_core::PasswordDefaults as Defaults;
use rotation_core::{PasswordDefaults, PasswordPolicy, SdkStore};
use rotation_testkit::{Moto, PgAdmin, RotationDriver, RotationRun};
use serde_json::{json, Value};

pub use rotation_testkit::postgres::unique;

pub struct Bed<D = Postgres> {
    pub driver: RotationDriver,
    pub store: SdkStore,
    pub policy: PasswordPolicy,
    pub pg: PgAdmin,
    pub function: Strategy<PgEngine<D>>,
    /// The engine name and database of the dialect.
    pub engine: &'static str,
    pub dbname: &'static str,
}

/// Which CA the function trusts.
#[derive(Clone, Copy, Default)]
pub enum Trust {
    #[default]
    SandboxCa,
    OtherCa,
}

/// How the function under test is configured beyond its dialect and strategy.
#[derive(Clone, Copy, Default)]
pub struct Options {
    pub trust: Trust,
    /// `ALLOW_PLAINTEXT_FALLBACK`.
    pub plaintext_fallback: bool,
}

impl Bed<Postgres> {
    pub async fn single() -> Self {
        Self::new("single", Trust::SandboxCa, false).await
    }

    pub async fn alternating() -> Self {
        Self::new("alternating", Trust::SandboxCa, false).await
    }

    pub async fn new(strategy: &str, trust: Trust, clone_acts_as_original: bool) -> Self {
        Bed::with_dialect(
            Postgres {
                clone_acts_as_original,
            },
            strategy,
            trust,
            PasswordDefaults::POSTGRES,
        )
        .await
    }
}

impl<D: Dialect> Bed<D> {
    /// A bed for any PostgreSQL-protocol dialect, against the sandbox server.
    pub async fn with_dialect(
        dialect: D,
        strategy: &str,
        trust: Trust,
        defaults: Defaults,
    ) -> Self {
        let options = Options {
            trust,
            ..Options::default()
        };
        Self::with_options(dialect, strategy, defaults, options).await
    }

    /// A bed with every option chosen.
    pub async fn with_options(
        dialect: D,
        strategy: &str,
        defaults: Defaults,
        options: Options,
    ) -> Self {
        let moto = Moto::from_env();
        let pg = PgAdmin::from_env();
        let ca = match options.trust {
            Trust::SandboxCa => &pg.ca,
            Trust::OtherCa => &pg.other_ca,
        };
        let tls = rotation_core::tls::client_config(Some(ca), false).unwrap();
        let (engine, dbname) = (dialect.engines()[0], dialect.default_dbname());
        let connector = Connector::new(tls, dialect.default_port(), dbname)
            .with_plaintext_fallback(options.plaintext_fallback);
        let engine_impl = PgEngine::new(dialect, connector);
        Self {
            driver: RotationDriver::new(&moto).await,
            store: SdkStore::new(moto.client().await),
            policy: PasswordPolicy::from_lookup(defaults, |_| None).unwrap(),
            function: Strategy::from_name(Some(strategy), engine_impl).unwrap(),
            pg,
            engine,
            dbname,
        }
    }

    pub fn with_policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub async fn invoke(&self, event: Value) -> Result<Outcome, String> {
        handle(&self.store, &self.function, &self.policy, &event)
            .await
            .map_err(|e| format!("{}: {e}", e.error_type()))
    }

    pub async fn rotate(&self, arn: &str) -> RotationRun {
        self.driver
            .rotate(arn, |e| async { self.invoke(e).await.map(|_| ()) })
            .await
    }

    /// Rotates `arn` and returns the error of the step that failed (panics if none did).
    pub async fn failure_of(&self, arn: &str) -> String {
        let run = self.rotate(arn).await;
        run.failure()
            .map(|(_, e)| e.to_string())
            .expect("the rotation must fail")
    }

    /// Starts a rotation of `arn` and invokes every step twice: one after the other, or both
    /// at once. Every invocation must succeed. Returns the token.
    pub async fn rotate_each_step_twice(&self, arn: &str, at_once: bool) -> String {
        let token = self.driver.start(arn).await.unwrap();
        for step in rotation_core::Step::ALL {
            let ev = event(arn, &token, step);
            if at_once {
                let (a, b) = tokio::join!(self.invoke(ev.clone()), self.invoke(ev.clone()));
                a.unwrap_or_else(|e| panic!("{step}: {e}"));
                b.unwrap_or_else(|e| panic!("{step}: {e}"));
            } else {
                self.invoke(ev.clone())
                    .await
                    .unwrap_or_else(|e| panic!("{step}: {e}"));
                self.invoke(ev)
                    .await
                    .unwrap_or_else(|e| panic!("{step} again: {e}"));
            }
        }
        token
    }

    /// Overwrites `field` of the AWSPENDING value (moto lets a token be reused), as an attacker
    /// with PutSecretValue could.
    pub async fn tamper_pending(&self, arn: &str, token: &str, field: &str, value: Value) {
        let stage = rotation_core::labels::AWSPENDING;
        let mut pending: Value =
            serde_json::from_str(&self.driver.value(arn, stage).await).unwrap();
        pending[field] = value;
        self.driver
            .client()
            .put_secret_value()
            .secret_id(arn)
            .client_request_token(token)
            .secret_string(pending.to_string())
            .version_stages(stage)
            .send()
            .await
            .unwrap();
    }

    /// The secret JSON for `user` on the sandbox server.
    pub fn secret_json(&self, user: &str, password: &str, extra: Value) -> String {
        let mut v = json!({
            "engine": self.engine,
            "host": self.pg.host,
            "port": self.pg.port,
            "username": user,
            "password": password,
            "dbname": self.dbname,
        });
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v.to_string()
    }

    pub async fn secret(&self, json: &str) -> String {
        self.driver
            .create_secret(&format!("pg-{}", unique()), json)
            .await
    }

    /// Username and password under `stage`.
    pub async fn creds(&self, arn: &str, stage: &str) -> (String, String) {
        let v: Value = serde_json::from_str(&self.driver.value(arn, stage).await).unwrap();
        (
            v["username"].as_str().unwrap().into(),
            v["password"].as_str().unwrap().into(),
        )
    }

    pub async fn current(&self, arn: &str) -> (String, String) {
        self.creds(arn, AWSCURRENT).await
    }

    /// A new login user `<prefix>_<unique>` (SCRAM) on the bed's database, and its secret with
    /// `extra` keys. Returns (user, secret ARN).
    pub async fn user_with_secret(
        &self,
        prefix: &str,
        password: &str,
        extra: Value,
    ) -> (String, String) {
        let user = format!("{prefix}_{}", unique());
        self.pg
            .create_login(self.dbname, &user, password, false, &[])
            .await;
        let arn = self.secret(&self.secret_json(&user, password, extra)).await;
        (user, arn)
    }

    /// A new superuser `name` and its secret with `extra` keys; returns the secret's ARN.
    pub async fn superuser_secret(&self, name: &str, password: &str, extra: Value) -> String {
        self.pg
            .session(self.dbname)
            .await
            .batch_execute(&format!(
                "CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}",
                rotation_testkit::postgres::ident(name),
                rotation_testkit::postgres::literal(password)
            ))
            .await
            .expect("create the superuser");
        self.secret(&self.secret_json(name, password, extra)).await
    }

    /// Starts a rotation of `arn` as RotateSecret does and runs createSecret; returns the token.
    pub async fn start_and_create(&self, arn: &str) -> String {
        let token = self.driver.start(arn).await.unwrap();
        self.invoke(event(arn, &token, rotation_core::Step::Create))
            .await
            .expect("createSecret");
        token
    }

    /// Invokes `step` of the rotation `token`, which must fail without moving any label; returns
    /// the error (`errorType: message`).
    pub async fn fails_changing_no_label(
        &self,
        arn: &str,
        token: &str,
        step: rotation_core::Step,
    ) -> String {
        let before = self.driver.stages(arn).await;
        let err = self
            .invoke(event(arn, token, step))
            .await
            .expect_err("the step must fail");
        assert_eq!(self.driver.stages(arn).await, before, "{step}: {err}");
        err
    }

    /// Rotates `arn` (a single-user secret of `user`) `rounds` times; after each, the server
    /// must store exactly the md5 form of the new password salted with `user`, and it logs in.
    pub async fn rotations_store_md5(&self, arn: &str, user: &str, rounds: usize) {
        for round in 1..=rounds {
            let run = self.rotate(arn).await;
            assert!(run.succeeded(), "round {round}: {:?}", run.failure());
            let (_, new) = self.current(arn).await;
            let md5 = postgresql::engine::hashed_password(
                postgresql::PasswordForm::Md5,
                user,
                &rotation_core::SecretValue::new(new.clone()),
            );
            assert_eq!(self.pg.stored_password(user).await, md5, "round {round}");
            self.login(user, &new, false).await.unwrap();
        }
    }

    /// Carries a started rotation on from setSecret to finishSecret; every step must succeed.
    pub async fn resume(&self, arn: &str, token: &str) {
        for step in [
            rotation_core::Step::Set,
            rotation_core::Step::Test,
            rotation_core::Step::Finish,
        ] {
            self.invoke(event(arn, token, step))
                .await
                .unwrap_or_else(|e| panic!("{step}: {e}"));
        }
    }

    /// A fresh original user `u` (whose name starts with `alt_<tag>_`) that can read one
    /// table, a dedicated superuser with its secret, and the user's secret (with `masterarn`).
    /// Returns (user, master user, secret ARN, table).
    pub async fn alternating_pair(&self, tag: &str) -> (String, String, String, String) {
        let user = format!("alt_{tag}_{}", unique());
        let master = format!("master_{}", unique());
        let table = format!("data_{}", unique());
        self.pg
            .create_login(self.dbname, &user, "u-Pa55word", false, &[])
            .await;
        let admin = self.pg.session(self.dbname).await;
        admin
            .batch_execute(&format!(
                "CREATE TABLE \"{table}\" (v int); INSERT INTO \"{table}\" VALUES (42);
                 GRANT SELECT ON \"{table}\" TO \"{user}\";"
            ))
            .await
            .unwrap();
        let master_arn = self
            .superuser_secret(&master, "master-Pa55", json!({"ssl": true}))
            .await;
        let arn = self
            .secret(&self.secret_json(
                &user,
                "u-Pa55word",
                json!({"masterarn": master_arn, "ssl": true}),
            ))
            .await;
        (user, master, arn, table)
    }

    /// True when `user` logs in with `password` and reads 42 from `table`.
    pub async fn can_read(&self, user: &str, password: &str, table: &str) -> bool {
        let Ok(client) = self.pg.login(user, password, self.dbname, false).await else {
            return false;
        };
        client
            .query_one(&format!("SELECT v FROM \"{table}\""), &[])
            .await
            .map(|r| r.get::<_, i32>(0) == 42)
            .unwrap_or(false)
    }

    /// True when the version `token` of `arn` has a value under AWSPENDING.
    pub async fn pending_value_exists(&self, arn: &str, token: &str) -> bool {
        self.driver
            .client()
            .get_secret_value()
            .secret_id(arn)
            .version_id(token)
            .version_stage(rotation_core::labels::AWSPENDING)
            .send()
            .await
            .is_ok()
    }

    /// Logs in (over TLS when `tls`) and returns the SQLSTATE on failure.
    pub async fn login(&self, user: &str, password: &str, tls: bool) -> Result<(), String> {
        match self.pg.login(user, password, self.dbname, tls).await {
            Ok(_) => Ok(()),
            Err(e) => Err(e
                .code()
                .map(|c| c.code().to_string())
                .unwrap_or_else(|| e.to_string())),
        }
    }
}

/// The event for `step` of the rotation `token` of `arn`.
pub fn event(arn: &str, token: &str, step: rotation_core::Step) -> Value {
    rotation_core::RotationEvent {
        step,
        secret_id: arn.into(),
        token: token.into(),
    }
    .to_value()
}
