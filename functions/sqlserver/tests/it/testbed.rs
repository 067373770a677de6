//! The test bed: a TDS stand-in with an RDS-like master login, the function built as the binary
//! builds it (trusting the sandbox CA), and the harness on moto.

use std::ops::Deref;
use std::sync::Arc;

use rotation_core::database::{ConnectPolicy, Strategy, TrustAnchors};
use rotation_sqlserver::engines::SQLSERVER;
use rotation_sqlserver::{build_with, TdsEngine};
use rotation_testkit::tds::{tls_config, LoginKind, ServerEncryption, TdsClassifier, TdsStandIn};
use rotation_testkit::{
    sandbox_var, unique, Classifier, DbProvingBed, Harness, ProvingBed, SmFaults,
};
use serde_json::{json, Value};

/// The master login's password.
pub const MASTER_PASSWORD: &str = "Master-Pa55word-tds";

/// A function under test and its stand-in.
pub struct Bed {
    harness: Harness<Strategy<TdsEngine>>,
    /// "single" or "alternating".
    pub strategy: &'static str,
    /// The server.
    pub server: TdsStandIn,
}

impl Deref for Bed {
    type Target = Harness<Strategy<TdsEngine>>;

    fn deref(&self) -> &Self::Target {
        &self.harness
    }
}

/// The sandbox certificate's server configuration.
pub fn sandbox_tls() -> Arc<rustls::ServerConfig> {
    tls_config(
        &sandbox_var("SANDBOX_TLS_CERT"),
        &sandbox_var("SANDBOX_TLS_KEY"),
    )
    .expect("the sandbox certificate loads")
}

impl Bed {
    /// The function with `strategy` against a stand-in whose encryption is `encryption`
    /// (with the sandbox certificate unless it is NOT_SUP), with `vars` as its environment.
    pub async fn with(
        strategy: &'static str,
        encryption: ServerEncryption,
        vars: &[(&str, String)],
    ) -> Self {
        let tls = (encryption != ServerEncryption::NotSupported).then(sandbox_tls);
        let server = TdsStandIn::start(0, encryption, tls)
            .await
            .expect("the stand-in starts");
        server.add_login("admin", MASTER_PASSWORD, LoginKind::RdsMaster);
        let ca = sandbox_var("SANDBOX_TLS_CA");
        let anchors = TrustAnchors::new(Some(&ca), false).expect("the sandbox CA loads");
        let mut env = vec![("ROTATION_STRATEGY", strategy.to_string())];
        env.extend(vars.iter().cloned());
        let settings = rotation_testkit::settings(SQLSERVER.password_defaults, &env);
        let policy =
            ConnectPolicy::new(anchors).with_plaintext_fallback(settings.allow_plaintext_fallback);
        let function = build_with(&settings, policy, None).expect("the function builds");
        Self {
            harness: Harness::new(function, SQLSERVER.password_defaults).await,
            strategy,
            server,
        }
    }

    /// The function with `strategy` against a stand-in that does not force encryption.
    pub async fn new(strategy: &'static str) -> Self {
        Self::with(strategy, ServerEncryption::Off, &[]).await
    }

    /// The secret JSON for `user`, with `extra` keys (overriding the defaults; a null removes
    /// the key).
    pub fn secret_json(&self, user: &str, password: &str, extra: Value) -> String {
        let mut v = json!({"engine": "sqlserver", "host": "127.0.0.1", "port": self.server.port(),
            "username": user, "password": password, "dbname": "master", "ssl": true});
        for (k, val) in extra.as_object().expect("an object") {
            if val.is_null() {
                v.as_object_mut().expect("an object").remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        v.to_string()
    }

    /// A new plain login `<prefix>_<unique>` and its secret with `extra` keys: (login, ARN).
    pub async fn login(&self, prefix: &str, password: &str, extra: Value) -> (String, String) {
        let name = format!("{prefix}_{}", unique());
        self.server.add_login(&name, password, LoginKind::Plain);
        let arn = self
            .harness
            .secret("sqlserver", &self.secret_json(&name, password, extra))
            .await;
        (name, arn)
    }

    /// The stand-in's password of `login`, which must be the secret's AWSCURRENT password.
    pub async fn assert_current_logs_in(&self, arn: &str) {
        let (user, password) = self.current(arn).await;
        assert_eq!(
            self.server.password(&user).as_deref(),
            Some(password.as_str()),
            "AWSCURRENT's password is the server's for {user}"
        );
    }
}

impl Bed {
    /// The same bed with another password policy.
    pub fn with_policy(mut self, policy: rotation_core::PasswordPolicy) -> Self {
        self.harness = self.harness.with_policy(policy);
        self
    }

    /// The function with `strategy` against a stand-in serving plaintext only (for the fault
    /// proxy, which reads the protocol: secrets say `"ssl": false`).
    pub async fn plaintext(strategy: &'static str) -> Self {
        Self::with(strategy, ServerEncryption::NotSupported, &[]).await
    }

    /// A new superuser secret (an RDS-like master login `name`) with `extra` keys: its ARN.
    pub async fn superuser_secret(&self, name: &str, password: &str, extra: Value) -> String {
        self.server.add_login(name, password, LoginKind::RdsMaster);
        let value = self.secret_json(name, password, extra);
        self.harness.secret("sqlserver-master", &value).await
    }

    /// A new login as the bed's strategy needs it, and its secret with `extra` keys: single
    /// user a plain login; alternating users the same with a `masterarn` (a new superuser
    /// secret) unless `extra` names one. (login, ARN).
    pub async fn strategy_login(
        &self,
        prefix: &str,
        password: &str,
        mut extra: Value,
    ) -> (String, String) {
        if self.strategy != "single" && extra.get("masterarn").is_none() {
            let master = format!("master_{}", unique());
            let arn = self
                .superuser_secret(&master, MASTER_PASSWORD, json!({}))
                .await;
            extra["masterarn"] = json!(arn);
        }
        self.login(prefix, password, extra).await
    }
}

impl ProvingBed for Bed {
    type Function = Strategy<TdsEngine>;
    const REFUSED: &'static str = "18456";

    /// The server's own check of the password.
    async fn login(&self, user: &str, password: &str) -> Result<(), String> {
        if self.server.password(user).as_deref() == Some(password) {
            Ok(())
        } else {
            Err(Self::REFUSED.into())
        }
    }

    async fn fresh_pair(&self, tag: &str) -> (String, String) {
        self.strategy_login(tag, "u-Pa55word", json!({})).await
    }

    async fn faulty(mut self, faults: &SmFaults) -> Self {
        self.harness = self.harness.with_faults(faults).await;
        self
    }
}

impl DbProvingBed for Bed {
    fn classifier(&self) -> Arc<dyn Classifier> {
        Arc::new(TdsClassifier)
    }

    fn server_port(&self) -> u16 {
        self.server.port()
    }

    async fn new_user_with_secret(
        &self,
        prefix: &str,
        password: &str,
        extra: Value,
    ) -> (String, String) {
        self.strategy_login(prefix, password, extra).await
    }

    async fn new_superuser_secret(&self, name: &str, password: &str, extra: Value) -> String {
        self.superuser_secret(name, password, extra).await
    }
}

/// A tiberius session to the stand-in as `login`, for setting a test up and reading the
/// catalog back (TLS without certificate checks: loopback test set-up only).
pub async fn session_as(
    port: u16,
    login: &str,
    password: &str,
    database: &str,
) -> tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>> {
    try_session_as(port, login, password, database)
        .await
        .expect("set-up login")
}

/// [`session_as`], or the server's refusal.
pub async fn try_session_as(
    port: u16,
    login: &str,
    password: &str,
    database: &str,
) -> Result<
    tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>>,
    tiberius::error::Error,
> {
    use tokio_util::compat::TokioAsyncWriteCompatExt;
    let mut config = tiberius::Config::new();
    config.host("127.0.0.1");
    config.port(port);
    config.database(database);
    config.authentication(tiberius::AuthMethod::sql_server(login, password));
    config.encryption(tiberius::EncryptionLevel::Required);
    config.trust_cert();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    Box::pin(tiberius::Client::connect(config, tcp.compat_write())).await
}

impl Bed {
    /// Runs `sql` (one batch) as the master login in `database`.
    pub async fn admin_sql(&self, database: &str, sql: &str) {
        let mut client = session_as(self.server.port(), "admin", MASTER_PASSWORD, database).await;
        client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_results()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The first column of every row of `sql` run as the master login in `database`, as
    /// text, sorted.
    pub async fn admin_texts(&self, database: &str, sql: &str) -> Vec<String> {
        let mut client = session_as(self.server.port(), "admin", MASTER_PASSWORD, database).await;
        let rows = client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_first_result()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut texts: Vec<String> = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.get::<&str, _>(i).unwrap_or("NULL").to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        texts.sort();
        texts
    }

    /// What `user` holds in `database` as the catalog says: its role memberships and its
    /// permissions (class, permission, state), for comparing the two logins of a pair.
    pub async fn access_in(&self, database: &str, user: &str) -> (Vec<String>, Vec<String>) {
        let name = user.replace('\'', "''");
        let roles = self
            .admin_texts(
                database,
                &format!("SELECT r.name FROM sys.database_role_members AS m JOIN sys.database_principals AS r ON r.principal_id = m.role_principal_id JOIN sys.database_principals AS u ON u.principal_id = m.member_principal_id WHERE u.name = N'{name}'"),
            )
            .await;
        let permissions = self
            .admin_texts(
                database,
                &format!("SELECT p.class_desc, p.permission_name, p.state_desc FROM sys.database_permissions AS p JOIN sys.database_principals AS u ON u.principal_id = p.grantee_principal_id WHERE u.name = N'{name}'"),
            )
            .await;
        (roles, permissions)
    }

    /// The server permissions of `login` (permission, state).
    pub async fn server_permissions(&self, login: &str) -> Vec<String> {
        let name = login.replace('\'', "''");
        self.admin_texts(
            "master",
            &format!("SELECT p.permission_name, p.state_desc FROM sys.server_permissions AS p JOIN sys.server_principals AS l ON l.principal_id = p.grantee_principal_id WHERE l.name = N'{name}'"),
        )
        .await
    }
}
