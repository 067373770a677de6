//! The MySQL-wire test bed (feature `mysql`): the [`Harness`] with the MariaDB (or MySQL)
//! function on the sandbox's MariaDB server, plus root access to that server to set up users
//! and check which passwords log in.

use std::ops::Deref;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};
use rotation_core::database::{SdkRds, Strategy, TrustAnchors};
use rotation_core::mysql::{
    account, native_password_hash, quote_ident, Connector, Flavor, MyEngine, MARIADB,
};
use rotation_core::{PasswordDefaults, SecretValue};
use serde_json::{json, Value};

use crate::harness::{unique, Harness};
use crate::sandbox_var;

pub use crate::Trust;

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
}

pub use crate::SANDBOX_CERTIFICATE_NAME;

/// Root access to the sandbox MariaDB server.
#[derive(Debug, Clone)]
pub struct MariaAdmin {
    /// Host (loopback).
    pub host: String,
    /// Port.
    pub port: u16,
    user: String,
    password: String,
    /// The sandbox CA (PEM path).
    pub ca: String,
    /// A CA that signed nothing the server presents (PEM path).
    pub other_ca: String,
    /// The server's general query log.
    pub general_log: String,
    /// The directory holding the server's binary logs (`binlog.*`).
    pub binlog_dir: String,
}

impl MariaAdmin {
    /// The sandbox's MariaDB, from its variables.
    pub fn from_env() -> Self {
        Self::named("SANDBOX_MARIADB")
    }

    /// The sandbox's second MariaDB, with `simple_password_check` in strict mode.
    pub fn policy_from_env() -> Self {
        Self::named("SANDBOX_MARIADB_POLICY")
    }

    fn named(prefix: &str) -> Self {
        let var = |name: &str| sandbox_var(&format!("{prefix}_{name}"));
        Self {
            host: var("HOST"),
            port: var("PORT").parse().expect("a port"),
            user: var("USER"),
            password: var("PASSWORD"),
            ca: var("CA"),
            other_ca: var("OTHER_CA"),
            general_log: var("GENERAL_LOG"),
            binlog_dir: var("BINLOG_DIR"),
        }
    }

    /// Logs in as `user` (over TLS verified against the sandbox CA when `tls`). A refusal is
    /// tried once more: the MySQL driver answers 1 in 256 `ed25519` challenges wrongly (it drops
    /// a trailing zero byte), and a real refusal is refused again.
    pub async fn connect(
        &self,
        user: &str,
        password: &str,
        tls: bool,
    ) -> Result<Conn, mysql_async::Error> {
        match self.connect_once(user, password, tls).await {
            Err(mysql_async::Error::Server(e)) if e.code == 1045 => {
                self.connect_once(user, password, tls).await
            }
            other => other,
        }
    }

    async fn connect_once(
        &self,
        user: &str,
        password: &str,
        tls: bool,
    ) -> Result<Conn, mysql_async::Error> {
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .prefer_socket(false)
            .user(Some(user))
            .pass(Some(password));
        if tls {
            let ca = std::path::PathBuf::from(&self.ca);
            opts = opts.ssl_opts(Some(
                SslOpts::default()
                    .with_root_certs(vec![ca.into()])
                    .with_disable_built_in_roots(true),
            ));
        }
        Conn::new(opts).await
    }

    /// A root session.
    pub async fn root(&self) -> Conn {
        self.connect(&self.user.clone(), &self.password.clone(), false)
            .await
            .expect("root logs in to the sandbox MariaDB")
    }

    /// Runs `sql` as root (several statements allowed).
    pub async fn run(&self, sql: &str) {
        let mut conn = self.root().await;
        conn.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("as root: {e}"));
        let _ = conn.disconnect().await;
    }

    /// Logs in and returns the server's error code (e.g. "1045") or the error on failure.
    pub async fn login(&self, user: &str, password: &str, tls: bool) -> Result<(), String> {
        match self.connect(user, password, tls).await {
            Ok(conn) => {
                let _ = conn.disconnect().await;
                Ok(())
            }
            Err(mysql_async::Error::Server(e)) => Err(e.code.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// True when `user` logs in (TLS) with `password` and reads 42 from `db`.`t`.
    pub async fn can_read(&self, user: &str, password: &str, db: &str) -> bool {
        let Ok(mut conn) = self.connect(user, password, true).await else {
            return false;
        };
        let value: Result<Option<i64>, _> = conn
            .query_first(format!("SELECT v FROM {}.t", quote_ident(db)))
            .await;
        let _ = conn.disconnect().await;
        matches!(value, Ok(Some(42)))
    }

    /// The `SHOW GRANTS` rows of `user`@`host`.
    pub async fn grants(&self, user: &str, host: &str) -> Vec<String> {
        let mut conn = self.root().await;
        let rows = conn
            .query(format!("SHOW GRANTS FOR {}", account(user, host)))
            .await
            .unwrap_or_else(|e| panic!("SHOW GRANTS: {e}"));
        let _ = conn.disconnect().await;
        rows
    }

    /// The hosts of `user`'s accounts.
    pub async fn hosts(&self, user: &str) -> Vec<String> {
        let mut conn = self.root().await;
        let rows = conn
            .exec(
                "SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host",
                (user,),
            )
            .await
            .expect("read mysql.user");
        let _ = conn.disconnect().await;
        rows
    }

    /// `user`'s accounts: (host, plugin, stored authentication string), by host.
    pub async fn accounts(&self, user: &str) -> Vec<(String, String, String)> {
        let mut conn = self.root().await;
        let rows = conn
            .exec(
                "SELECT Host, CAST(plugin AS CHAR), CAST(authentication_string AS CHAR) FROM mysql.user WHERE User = ? ORDER BY Host",
                (user,),
            )
            .await
            .expect("read mysql.user");
        let _ = conn.disconnect().await;
        rows
    }

    /// `SHOW CREATE USER` and the sorted `SHOW GRANTS` rows of `user`@`host`, with the user
    /// name replaced by `X`, every password hash by `<hash>` and column lists sorted: two
    /// accounts are interchangeable when these are equal. Written independently of the
    /// function's own parser, on purpose.
    pub async fn account_shape(&self, user: &str, host: &str) -> Vec<String> {
        let who = account(user, host);
        let mut conn = self.root().await;
        let create: Vec<String> = conn
            .query(format!("SHOW CREATE USER {who}"))
            .await
            .unwrap_or_else(|e| panic!("SHOW CREATE USER: {e}"));
        let grants: Vec<String> = conn
            .query(format!("SHOW GRANTS FOR {who}"))
            .await
            .unwrap_or_else(|e| panic!("SHOW GRANTS: {e}"));
        let _ = conn.disconnect().await;
        let quoted = format!("{}@", quote_ident(user));
        let mut rows: Vec<String> = grants
            .iter()
            .map(|r| normalize_row(&r.replace(&quoted, "`X`@")))
            .collect();
        rows.sort();
        let mut shape: Vec<String> = create
            .iter()
            .map(|r| normalize_row(&r.replace(&quoted, "`X`@")))
            .collect();
        shape.extend(rows);
        shape
    }

    /// Every binary log, as bytes.
    pub fn binary_logs(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&self.binlog_dir).expect("the binlog directory") {
            let path = entry.expect("an entry").path();
            let is_binlog = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("binlog.") && !n.ends_with(".index"));
            if is_binlog {
                all.extend(std::fs::read(&path).expect("read a binlog"));
            }
        }
        all
    }

    /// The general query log and every binary log, as bytes.
    pub fn logs(&self) -> Vec<u8> {
        let mut all = std::fs::read(&self.general_log).expect("read the general log");
        all.extend(self.binary_logs());
        all
    }
}

/// A grant or create row with each password hash (the quoted string after `PASSWORD` or
/// `USING`) replaced by `<hash>` and the items of each parenthesised list sorted.
fn normalize_row(row: &str) -> String {
    let mut out = String::new();
    let mut rest = row;
    while let Some(at) = ["PASSWORD '", "USING '"]
        .iter()
        .filter_map(|m| rest.find(m).map(|i| (i, m.len())))
        .min()
    {
        let (i, len) = at;
        out.push_str(&rest[..i + len - 1]);
        out.push_str("'<hash>'");
        let after = &rest[i + len..];
        rest = after.find('\'').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    let mut sorted = String::new();
    let mut chars = out.split_inclusive(['(', ')']).peekable();
    while let Some(part) = chars.next() {
        if part.ends_with('(') {
            sorted.push_str(part);
            if let Some(inner) = chars.next() {
                let (items, close) = inner.split_at(inner.len().saturating_sub(1));
                let mut list: Vec<&str> = items.split(", ").collect();
                list.sort_unstable();
                sorted.push_str(&list.join(", "));
                sorted.push_str(close);
            }
        } else {
            sorted.push_str(part);
        }
    }
    sorted
}

/// A MySQL-wire function on the sandbox MariaDB.
pub struct Bed {
    harness: Harness<Strategy<MyEngine>>,
    /// Root access to the sandbox server.
    pub db: MariaAdmin,
    /// The first `engine` value of the flavor (used in secrets).
    pub engine: &'static str,
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
        Self::with_options(MARIADB, strategy, Options::default()).await
    }

    /// A bed for `flavor` with `strategy` and `options`.
    pub async fn with_options(flavor: Flavor, strategy: &str, options: Options) -> Self {
        let db = if options.policy_server {
            MariaAdmin::policy_from_env()
        } else {
            MariaAdmin::from_env()
        };
        let (extra, built_in) = options.trust.anchors(&db.ca, &db.other_ca);
        let anchors = TrustAnchors::new(extra, built_in).expect("the trust anchors load");
        let mut connector =
            Connector::new(anchors, 3306).with_plaintext_fallback(options.plaintext_fallback);
        let sandbox: std::net::SocketAddr = format!("{}:{}", db.host, db.port)
            .parse()
            .expect("the sandbox address");
        for host in &options.sandbox_hosts {
            connector = connector.with_test_host(host, sandbox, SANDBOX_CERTIFICATE_NAME);
        }
        let mut function = Strategy::from_name(Some(strategy), MyEngine::new(flavor, connector))
            .expect("a known strategy");
        if let Some(verify) = options.rds {
            let rds = SdkRds::new(Some(crate::Moto::from_env().endpoint().to_string()));
            function = function.with_rds(std::sync::Arc::new(rds), verify);
        }
        Self {
            harness: Harness::new(function, PasswordDefaults::STANDARD).await,
            db,
            engine: flavor.engines[0],
        }
    }

    /// The same bed whose function's Secrets Manager client has `faults` injected.
    pub async fn with_faults(mut self, faults: &crate::SmFaults) -> Self {
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
                rotation_core::mysql::quote_string(password, true).expect("no NUL")
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
                    "ed25519" => rotation_core::mysql::ed25519_auth_string(&SecretValue::new(
                        password.as_str(),
                    )),
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

impl crate::ProvingBed for Bed {
    type Function = Strategy<MyEngine>;
    const REFUSED: &'static str = "1045";
    const PROTOCOL: crate::Protocol = crate::Protocol::MySql;

    fn server_port(&self) -> u16 {
        self.db.port
    }

    async fn login(&self, user: &str, password: &str) -> Result<(), String> {
        self.db.login(user, password, true).await
    }

    async fn fresh_pair(&self, tag: &str) -> (String, String) {
        let (user, _, arn) = self.alternating_pair_at(tag, "%").await;
        (user, arn)
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

    async fn faulty(self, faults: &crate::SmFaults) -> Self {
        self.with_faults(faults).await
    }

    async fn check_pair(&self, arn: &str) {
        self.assert_pair_interchangeable(arn).await;
    }

    /// A second account on a host the sandbox never connects from, with its own limit: the
    /// function must create, copy and set it as carefully as the one it logs in through.
    async fn second_account(&self, user: &str, password: &str) {
        self.create_user(user, "192.0.2.%", password, "WITH MAX_USER_CONNECTIONS 5")
            .await;
    }
}
