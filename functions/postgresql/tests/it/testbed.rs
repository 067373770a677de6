//! The PostgreSQL-wire test bed: the [`Harness`] with a PostgreSQL or Redshift function on the
//! sandbox server, built as the binaries build it ([`rotation_postgresql::postgresql::build_with`],
//! [`rotation_postgresql::redshift::build_with`]) from settings read from a lookup, with the test's trust
//! anchors and host redirects; plus superuser access to that server to set up users and check
//! which passwords log in.

use std::ops::Deref;
use std::sync::Arc;

use rotation_core::database::{ConnectPolicy, RdsLookup, SdkRds, Strategy, TrustAnchors};
use rotation_core::{PasswordDefaults, PasswordPolicy, SecretValue, Settings};
use rotation_postgresql::{
    hashed_password, Dialect, PasswordForm, PgEngine, Postgres, Redshift, RedshiftLookup,
};
use rotation_testkit::postgres::{ident, literal, PgAdmin};
use rotation_testkit::{
    unique, DbProvingBed, Harness, ProvingBed, SmFaults, SANDBOX_CERTIFICATE_NAME,
};
use serde_json::{json, Value};

pub use rotation_testkit::Trust;

/// How the function under test is configured beyond its dialect and strategy.
#[derive(Clone, Default)]
pub struct Options {
    /// The CA the function trusts.
    pub trust: Trust,
    /// `ALLOW_PLAINTEXT_FALLBACK`.
    pub plaintext_fallback: bool,
    /// Give alternating users the RDS API (moto's), checking identifiers when true.
    pub rds: Option<bool>,
    /// The RDS endpoint, instead of moto's.
    pub rds_endpoint: Option<String>,
    /// Host names (e.g. RDS endpoints) whose connections go to the sandbox server and whose
    /// certificate is verified as `db.rotation.test`.
    pub sandbox_hosts: Vec<String>,
    /// Give the Redshift function these Redshift APIs (Redshift-managed admin secrets).
    pub redshift_api: Option<Arc<dyn RedshiftLookup>>,
}

/// How a bed builds the function of a dialect: the shipped dialects as their binaries do.
pub trait BedDialect: Dialect + Sized {
    /// The variables beyond the strategy's that the binary would read for this dialect.
    fn variables(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The function, as its binary's builder makes it from `settings`.
    fn build(
        self,
        settings: &Settings,
        policy: ConnectPolicy,
        rds: Option<Arc<dyn RdsLookup>>,
        redshift_api: Option<Arc<dyn RedshiftLookup>>,
    ) -> Strategy<PgEngine<Self>>;
}

impl BedDialect for Postgres {
    fn variables(&self) -> Vec<(&'static str, String)> {
        let clone_acts = self.clone_acts_as_original.to_string();
        vec![("CLONE_ACTS_AS_ORIGINAL", clone_acts)]
    }

    fn build(
        self,
        settings: &Settings,
        policy: ConnectPolicy,
        rds: Option<Arc<dyn RdsLookup>>,
        redshift_api: Option<Arc<dyn RedshiftLookup>>,
    ) -> Strategy<PgEngine<Self>> {
        assert!(
            redshift_api.is_none(),
            "the postgresql function has no Redshift API"
        );
        rotation_postgresql::postgresql::build_with(settings, policy, rds)
            .expect("the postgresql function builds")
    }
}

impl BedDialect for Redshift {
    fn build(
        self,
        settings: &Settings,
        policy: ConnectPolicy,
        rds: Option<Arc<dyn RdsLookup>>,
        redshift_api: Option<Arc<dyn RedshiftLookup>>,
    ) -> Strategy<PgEngine<Self>> {
        assert!(rds.is_none(), "the redshift function has no RDS API");
        rotation_postgresql::redshift::build_with(settings, policy, redshift_api)
            .expect("the redshift function builds")
    }
}

/// A PostgreSQL-wire function on the sandbox server.
pub struct Bed<D = Postgres> {
    harness: Harness<Strategy<PgEngine<D>>>,
    /// Superuser access to the sandbox server.
    pub pg: PgAdmin,
    /// The first `engine` value of the dialect (used in secrets).
    pub engine: &'static str,
    /// The dialect's default database (used in secrets and logins).
    pub dbname: &'static str,
}

impl<D> Deref for Bed<D> {
    type Target = Harness<Strategy<PgEngine<D>>>;

    fn deref(&self) -> &Self::Target {
        &self.harness
    }
}

impl Bed<Postgres> {
    /// The PostgreSQL single-user function.
    pub async fn single() -> Self {
        Self::new("single", Trust::SandboxCa, false).await
    }

    /// The PostgreSQL alternating-users function.
    pub async fn alternating() -> Self {
        Self::new("alternating", Trust::SandboxCa, false).await
    }

    /// The PostgreSQL function with `strategy`, trusting `trust`, with
    /// `CLONE_ACTS_AS_ORIGINAL` as given.
    pub async fn new(strategy: &str, trust: Trust, clone_acts_as_original: bool) -> Self {
        let dialect = Postgres {
            clone_acts_as_original,
        };
        Bed::with_dialect(dialect, strategy, trust, PasswordDefaults::POSTGRES).await
    }
}

impl<D: BedDialect> Bed<D> {
    /// A bed for any PostgreSQL-wire dialect.
    pub async fn with_dialect(
        dialect: D,
        strategy: &str,
        trust: Trust,
        defaults: PasswordDefaults,
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
        defaults: PasswordDefaults,
        options: Options,
    ) -> Self {
        let pg = PgAdmin::from_env();
        let (extra, built_in) = options.trust.anchors(&pg.ca, &pg.other_ca);
        let tls = TrustAnchors::new(extra, built_in).expect("the trust anchors load");
        let identity = dialect.identity();
        let (engine, dbname) = (
            identity.engines[0],
            identity.default_dbname.expect("a default database"),
        );
        let mut policy =
            ConnectPolicy::new(tls).with_plaintext_fallback(options.plaintext_fallback);
        let sandbox: std::net::SocketAddr = format!("{}:{}", pg.host, pg.port)
            .parse()
            .expect("the sandbox address");
        for host in &options.sandbox_hosts {
            policy = policy.with_test_host(host, sandbox, SANDBOX_CERTIFICATE_NAME);
        }
        let mut variables = dialect.variables();
        variables.push(("ROTATION_STRATEGY", strategy.to_string()));
        variables.extend(
            options
                .rds
                .map(|verify| ("VERIFY_RDS_IDENTIFIERS", verify.to_string())),
        );
        let settings = rotation_testkit::settings(defaults, &variables);
        let rds = options.rds.map(|_| {
            let endpoint = options
                .rds_endpoint
                .clone()
                .unwrap_or_else(|| rotation_testkit::Moto::from_env().endpoint().to_string());
            Arc::new(SdkRds::new(Some(endpoint))) as Arc<dyn RdsLookup>
        });
        let function = dialect.build(&settings, policy, rds, options.redshift_api.clone());
        Self {
            harness: Harness::new(function, defaults).await,
            pg,
            engine,
            dbname,
        }
    }

    /// The same bed whose function's Secrets Manager client has `faults` injected.
    pub async fn with_faults(mut self, faults: &SmFaults) -> Self {
        self.harness = self.harness.with_faults(faults).await;
        self
    }

    /// The same bed with another password policy.
    pub fn with_policy(mut self, policy: PasswordPolicy) -> Self {
        self.harness = self.harness.with_policy(policy);
        self
    }

    /// True when `user`'s clone (`<user>_clone`) exists on the server.
    pub async fn clone_exists(&self, user: &str) -> bool {
        self.pg
            .session(self.dbname)
            .await
            .query_opt(
                "SELECT 1 FROM pg_roles WHERE rolname = $1",
                &[&format!("{user}_clone")],
            )
            .await
            .expect("pg_roles is readable")
            .is_some()
    }

    /// The secret JSON for `user` on the sandbox server, with `extra` keys.
    pub fn secret_json(&self, user: &str, password: &str, extra: Value) -> String {
        let mut v = json!({
            "engine": self.engine,
            "host": self.pg.host,
            "port": self.pg.port,
            "username": user,
            "password": password,
            "dbname": self.dbname,
        });
        for (k, val) in extra.as_object().expect("extra is an object") {
            v[k] = val.clone();
        }
        v.to_string()
    }

    /// A secret named `pg-<unique>` holding `json`; returns its ARN.
    pub async fn secret(&self, json: &str) -> String {
        self.harness.secret("pg", json).await
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
                ident(name),
                literal(password)
            ))
            .await
            .expect("create the superuser");
        self.secret(&self.secret_json(name, password, extra)).await
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
                "CREATE TABLE {t} (v int); INSERT INTO {t} VALUES (42); GRANT SELECT ON {t} TO {u};",
                t = ident(&table),
                u = ident(&user)
            ))
            .await
            .expect("create the table");
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
            .query_one(&format!("SELECT v FROM {}", ident(table)), &[])
            .await
            .map(|r| r.get::<_, i32>(0) == 42)
            .unwrap_or(false)
    }

    /// Rotates `arn` (a single-user secret of `user`) `rounds` times; after each, the server
    /// must store exactly the md5 form of the new password salted with `user`, and it logs in.
    pub async fn rotations_store_md5(&self, arn: &str, user: &str, rounds: usize) {
        for round in 1..=rounds {
            let run = self.rotate(arn).await;
            assert!(run.succeeded(), "round {round}: {:?}", run.failure());
            let (_, new) = self.current(arn).await;
            let md5 = hashed_password(PasswordForm::Md5, user, &SecretValue::new(new.clone()));
            assert_eq!(self.pg.stored_password(user).await, md5, "round {round}");
            self.login(user, &new, false)
                .await
                .expect("the new password logs in");
        }
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

impl<D: BedDialect> ProvingBed for Bed<D> {
    type Function = Strategy<PgEngine<D>>;
    const REFUSED: &'static str = "28P01";

    async fn login(&self, user: &str, password: &str) -> Result<(), String> {
        Bed::login(self, user, password, false).await
    }

    async fn fresh_pair(&self, tag: &str) -> (String, String) {
        let (user, _, arn, _) = self.alternating_pair(tag).await;
        (user, arn)
    }

    async fn faulty(self, faults: &SmFaults) -> Self {
        self.with_faults(faults).await
    }
}

impl<D: BedDialect> DbProvingBed for Bed<D> {
    fn server_port(&self) -> u16 {
        self.pg.port
    }

    fn classifier(&self) -> Arc<dyn rotation_testkit::Classifier> {
        Arc::new(crate::classifier::PgClassifier)
    }

    async fn new_user_with_secret(
        &self,
        prefix: &str,
        password: &str,
        extra: Value,
    ) -> (String, String) {
        self.user_with_secret(prefix, password, extra).await
    }

    async fn new_superuser_secret(&self, name: &str, password: &str, extra: Value) -> String {
        self.superuser_secret(name, password, extra).await
    }
}
