//! The MySQL-wire test bed: the [`Harness`] with a MySQL or MariaDB function on the sandbox
//! MariaDB, built as the binaries build it ([`rotation_mysql::build_with`]) with the test host redirect
//! and trust anchors of the test, plus root access to the server.

use std::ops::Deref;
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use rotation_core::database::{ConnectPolicy, SdkRds, Strategy, TrustAnchors};
use rotation_core::SecretValue;
use rotation_mysql::{account, native_password_hash, quote_ident, Flavor, MyEngine};
use rotation_testkit::maria::MariaAdmin;
use rotation_testkit::{
    unique, DbProvingBed, Harness, ProvingBed, SmFaults, SANDBOX_CERTIFICATE_NAME,
};
use serde_json::{json, Value};

pub use rotation_testkit::Trust;

/// The sandbox MariaDB's global `sql_mode`: every bed holds it shared for its lifetime; the
/// test that changes it (`hostile_names`) holds it alone ([`SqlModeChange`]), so no bed of
/// this process sees it half-way. (Under cargo-nextest each test is its own process and
/// `.config/nextest.toml` runs that test alone; this keeps `cargo test` as safe.)
///
/// Not a `tokio::sync::RwLock`: that one queues a new reader behind a waiting writer, so a
/// test making a second bed while it holds a first would wait for itself. Here a reader waits
/// only while the writer holds the lock.
static SQL_MODE: SqlMode = SqlMode {
    state: std::sync::Mutex::new(SqlModeState {
        beds: 0,
        changing: false,
    }),
    changed: tokio::sync::Notify::const_new(),
};

struct SqlMode {
    state: std::sync::Mutex<SqlModeState>,
    changed: tokio::sync::Notify,
}

struct SqlModeState {
    /// Beds holding it shared.
    beds: usize,
    /// Held alone.
    changing: bool,
}

impl SqlMode {
    /// Waits until `take` takes the state (it answers whether it did), woken by every release.
    async fn acquire(&'static self, take: impl Fn(&mut SqlModeState) -> bool) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if take(&mut self.state.lock().unwrap_or_else(|p| p.into_inner())) {
                return;
            }
            changed.await;
        }
    }

    fn release(&'static self, give: impl Fn(&mut SqlModeState)) {
        give(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
        self.changed.notify_waiters();
    }
}

/// A bed's shared hold of `sql_mode`.
struct SqlModeShared;

impl SqlModeShared {
    async fn take() -> Self {
        SQL_MODE
            .acquire(|s| {
                let free = !s.changing;
                s.beds += usize::from(free);
                free
            })
            .await;
        Self
    }
}

impl Drop for SqlModeShared {
    fn drop(&mut self) {
        SQL_MODE.release(|s| s.beds -= 1);
    }
}

/// The sole hold of the sandbox MariaDB's global `sql_mode`: no other bed of this process
/// exists while it is held, and the beds it makes do not share it.
pub struct SqlModeChange {
    _private: (),
}

impl SqlModeChange {
    /// Waits until no bed of this process is left, then holds `sql_mode` alone.
    pub async fn begin() -> Self {
        SQL_MODE
            .acquire(|s| {
                let free = !s.changing && s.beds == 0;
                s.changing |= free;
                free
            })
            .await;
        Self { _private: () }
    }

    /// A MariaDB bed with `strategy`, trusting the sandbox CA, under this hold.
    pub async fn bed(&self, strategy: &str) -> Bed {
        Bed::build(Flavor::MARIADB, strategy, Options::default(), None).await
    }
}

impl Drop for SqlModeChange {
    fn drop(&mut self) {
        SQL_MODE.release(|s| s.changing = false);
    }
}

/// How the function under test is configured beyond its flavor and strategy.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The CA the function trusts.
    pub trust: Trust,
    /// `ALLOW_PLAINTEXT_FALLBACK`.
    pub plaintext_fallback: bool,
    /// Give alternating users the RDS API (moto's), checking identifiers when true.
    pub rds: Option<bool>,
    /// Host names (e.g. RDS endpoints) whose connections go to the sandbox server and whose
    /// certificate is verified as `db.rotation.test`.
    pub sandbox_hosts: Vec<String>,
    /// Use the sandbox's second MariaDB, which runs the password-validation plugin
    /// `simple_password_check` in strict mode (hashed passwords refused).
    pub policy_server: bool,
    /// `USERNAME_CHARACTER_LIMIT`, when set.
    pub username_character_limit: Option<usize>,
    /// `ALLOW_PASSWORD_IN_SERVER_LOG=true`.
    pub allow_password_in_server_log: bool,
}

/// A MySQL-wire function on the sandbox MariaDB.
pub struct Bed {
    harness: Harness<Strategy<MyEngine>>,
    /// Root access to the sandbox server.
    pub db: MariaAdmin,
    /// The first `engine` value of the flavor (used in secrets).
    pub engine: &'static str,
    /// The shared hold of the server's `sql_mode` ([`SQL_MODE`]), none under a
    /// [`SqlModeChange`].
    _sql_mode: Option<SqlModeShared>,
}

impl Deref for Bed {
    type Target = Harness<Strategy<MyEngine>>;

    fn deref(&self) -> &Self::Target {
        &self.harness
    }
}

impl Bed {
    /// The MariaDB function with `strategy` ("single" or "alternating"), trusting the sandbox CA.
    pub async fn new(strategy: &str) -> Self {
        Self::with_options(Flavor::MARIADB, strategy, Options::default()).await
    }

    /// A bed for `flavor` with `strategy` and `options`.
    pub async fn with_options(flavor: Flavor, strategy: &str, options: Options) -> Self {
        let shared = SqlModeShared::take().await;
        Self::build(flavor, strategy, options, Some(shared)).await
    }

    /// A bed for `flavor` with `strategy` and `options`, holding `sql_mode` (shared) or not.
    async fn build(
        flavor: Flavor,
        strategy: &str,
        options: Options,
        sql_mode: Option<SqlModeShared>,
    ) -> Self {
        let db = if options.policy_server {
            MariaAdmin::policy_from_env()
        } else {
            MariaAdmin::from_env()
        };
        let (extra, built_in) = options.trust.anchors(&db.ca, &db.other_ca);
        let anchors = TrustAnchors::new(extra, built_in).expect("the trust anchors load");
        let mut policy =
            ConnectPolicy::new(anchors).with_plaintext_fallback(options.plaintext_fallback);
        let sandbox: std::net::SocketAddr = format!("{}:{}", db.host, db.port)
            .parse()
            .expect("the sandbox address");
        for host in &options.sandbox_hosts {
            policy = policy.with_test_host(host, sandbox, SANDBOX_CERTIFICATE_NAME);
        }
        let verify = options.rds.map(|v| v.to_string());
        let mut vars = vec![("ROTATION_STRATEGY", strategy.to_string())];
        vars.extend(verify.map(|v| ("VERIFY_RDS_IDENTIFIERS", v)));
        vars.extend(
            options
                .username_character_limit
                .map(|n| ("USERNAME_CHARACTER_LIMIT", n.to_string())),
        );
        if options.allow_password_in_server_log {
            vars.push(("ALLOW_PASSWORD_IN_SERVER_LOG", "true".to_string()));
        }
        let settings = rotation_testkit::settings(flavor.identity.password_defaults, &vars);
        let rds = options.rds.map(|_| {
            let endpoint = rotation_testkit::Moto::from_env().endpoint().to_string();
            Arc::new(SdkRds::new(Some(endpoint))) as _
        });
        let function = rotation_mysql::build_with(flavor, &settings, policy, rds)
            .expect("the function builds");
        Self {
            harness: Harness::new(function, flavor.identity.password_defaults).await,
            db,
            engine: flavor.identity.engines[0],
            _sql_mode: sql_mode,
        }
    }

    /// The same bed whose function's Secrets Manager client has `faults` injected.
    pub async fn with_faults(mut self, faults: &SmFaults) -> Self {
        self.harness = self.harness.with_faults(faults).await;
        self
    }

    /// The same bed with another password policy.
    pub fn with_policy(mut self, policy: rotation_core::PasswordPolicy) -> Self {
        self.harness = self.harness.with_policy(policy);
        self
    }

    /// The secret JSON for `user` on the sandbox server, with `extra` keys.
    pub fn secret_json(&self, user: &str, password: &str, extra: Value) -> String {
        let mut v = json!({
            "engine": self.engine,
            "host": self.db.host,
            "port": self.db.port,
            "username": user,
            "password": password,
        });
        for (k, val) in extra.as_object().expect("extra is an object") {
            v[k] = val.clone();
        }
        v.to_string()
    }

    /// A secret named `maria-<unique>` holding `json`; returns its ARN.
    pub async fn secret(&self, json: &str) -> String {
        self.harness.secret("maria", json).await
    }

    /// Creates `user`@`host` with `password` and `clauses` (e.g. "REQUIRE SSL"), as root. On
    /// the policy server, which refuses hashes, the password is sent as it is (a test fixture).
    pub async fn create_user(&self, user: &str, host: &str, password: &str, clauses: &str) {
        let mut conn = self.db.root().await;
        // CREATE USER takes no placeholders; the hash needs no quoting.
        let hash = native_password_hash(&SecretValue::new(password));
        let policy: Option<(String, String)> = conn
            .query_first("SELECT @@strict_password_validation, (SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_TYPE = 'PASSWORD VALIDATION')")
            .await
            .expect("read the password policy");
        let identified = match policy {
            Some((strict, n)) if strict == "1" && n != "0" => format!(
                "IDENTIFIED BY {}",
                rotation_mysql::quote_string(password, true).expect("no NUL")
            ),
            _ => format!("IDENTIFIED BY PASSWORD '{hash}'"),
        };
        conn.query_drop(format!(
            "CREATE USER {} {identified} {clauses}",
            account(user, host)
        ))
        .await
        .unwrap_or_else(|e| panic!("create {user}: {e}"));
        let _ = conn.disconnect().await;
    }

    /// Panics unless the two users of `arn`'s pair (AWSCURRENT's and AWSPREVIOUS's) have the
    /// same hosts, each pair of accounts the same `SHOW CREATE USER` and `SHOW GRANTS` up to
    /// the user name and password hash, and every account the hash of its user's password.
    pub async fn assert_pair_interchangeable(&self, arn: &str) {
        let (current, current_pw) = self.current(arn).await;
        let (previous, previous_pw) = self.creds(arn, "AWSPREVIOUS").await;
        let (a, b) = (
            self.db.accounts(&current).await,
            self.db.accounts(&previous).await,
        );
        let hosts =
            |v: &[(String, String, String)]| v.iter().map(|r| r.0.clone()).collect::<Vec<_>>();
        assert_eq!(
            hosts(&a),
            hosts(&b),
            "{current} and {previous} have the same hosts"
        );
        for (host, _, _) in &a {
            assert_eq!(
                self.db.account_shape(&current, host).await,
                self.db.account_shape(&previous, host).await,
                "{current}@{host} and {previous}@{host} are interchangeable"
            );
        }
        for (accounts, password, user) in
            [(&a, &current_pw, &current), (&b, &previous_pw, &previous)]
        {
            for (host, plugin, stored) in accounts {
                let expected = match plugin.as_str() {
                    "ed25519" => {
                        rotation_mysql::ed25519_auth_string(&SecretValue::new(password.as_str()))
                    }
                    _ => native_password_hash(&SecretValue::new(password.as_str())),
                };
                assert_eq!(
                    stored, &expected,
                    "{user}@{host} holds its secret's password"
                );
            }
        }
    }

    /// A new user `<prefix>_<unique>`@`%` and its secret with `extra` keys. Returns
    /// (user, secret ARN).
    pub async fn user_with_secret(
        &self,
        prefix: &str,
        password: &str,
        extra: Value,
    ) -> (String, String) {
        let user = format!("{prefix}_{}", unique());
        self.create_user(&user, "%", password, "").await;
        let arn = self.secret(&self.secret_json(&user, password, extra)).await;
        (user, arn)
    }

    /// A new superuser `name`@`%` (every privilege, with grant option) and its secret.
    pub async fn superuser_secret(&self, name: &str, password: &str, extra: Value) -> String {
        self.create_user(name, "%", password, "").await;
        self.db
            .run(&format!(
                "GRANT ALL PRIVILEGES ON *.* TO {} WITH GRANT OPTION",
                account(name, "%")
            ))
            .await;
        self.secret(&self.secret_json(name, password, extra)).await
    }

    /// A fresh original user `u`@`host` (named `<prefix>_<unique>`) that can read table `t` of
    /// a new database `d_<unique>`, a dedicated superuser with its secret, and the user's
    /// secret (with `masterarn`). Returns (user, database, secret ARN).
    pub async fn alternating_pair_at(&self, prefix: &str, host: &str) -> (String, String, String) {
        let user = format!("{prefix}_{}", unique());
        let master = format!("master_{}", unique());
        let db = format!("d_{}", unique());
        self.create_user(&user, host, "u-Pa55word", "").await;
        self.db
            .run(&format!(
                "CREATE DATABASE {d}; CREATE TABLE {d}.t (v INT); INSERT INTO {d}.t VALUES (42); \
                 GRANT SELECT ON {d}.t TO {a};",
                d = quote_ident(&db),
                a = account(&user, host)
            ))
            .await;
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
        (user, db, arn)
    }

    /// The user name of the superuser secret that `arn`'s `masterarn` names.
    pub async fn master_of(&self, arn: &str) -> String {
        let v: Value =
            serde_json::from_str(&self.driver.value(arn, "AWSCURRENT").await).expect("JSON");
        let master = v["masterarn"].as_str().expect("a masterarn");
        let m: Value =
            serde_json::from_str(&self.driver.value(master, "AWSCURRENT").await).expect("JSON");
        m["username"].as_str().expect("a username").to_string()
    }
}

impl ProvingBed for Bed {
    type Function = Strategy<MyEngine>;
    const REFUSED: &'static str = "1045";

    async fn login(&self, user: &str, password: &str) -> Result<(), String> {
        self.db.login(user, password, true).await
    }

    async fn fresh_pair(&self, tag: &str) -> (String, String) {
        let (user, _, arn) = self.alternating_pair_at(tag, "%").await;
        (user, arn)
    }

    async fn faulty(self, faults: &SmFaults) -> Self {
        self.with_faults(faults).await
    }

    async fn check_pair(&self, arn: &str) {
        self.assert_pair_interchangeable(arn).await;
    }
}

impl DbProvingBed for Bed {
    fn server_port(&self) -> u16 {
        self.db.port
    }

    fn classifier(&self) -> Arc<dyn rotation_testkit::Classifier> {
        Arc::new(crate::classifier::MyClassifier)
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

    /// A second account on a host the sandbox never connects from, with its own limit: the
    /// function must create, copy and set it as carefully as the one it logs in through.
    async fn second_account(&self, user: &str, password: &str) {
        self.create_user(user, "192.0.2.%", password, "WITH MAX_USER_CONNECTIONS 5")
            .await;
    }
}
