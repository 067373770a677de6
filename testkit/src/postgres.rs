//! The sandbox's PostgreSQL server, seen by tests: a superuser session for setup and checks,
//! and logins as any user to prove which password works.

use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::sandbox_var;

/// Superuser access to the sandbox PostgreSQL (from `SANDBOX_PG_*`).
#[derive(Debug, Clone)]
pub struct PgAdmin {
    /// 127.0.0.1
    pub host: String,
    /// The server port.
    pub port: u16,
    /// The superuser name.
    pub user: String,
    password: String,
    /// The CA that signed the server certificate (PEM file).
    pub ca: String,
    /// A CA that signed nothing the server presents (PEM file).
    pub other_ca: String,
    /// The server log (statements are logged with `log_statement=all`).
    pub log: String,
}

impl PgAdmin {
    /// The sandbox server.
    pub fn from_env() -> Self {
        Self {
            host: sandbox_var("SANDBOX_PG_HOST"),
            port: sandbox_var("SANDBOX_PG_PORT")
                .parse()
                .expect("SANDBOX_PG_PORT"),
            user: sandbox_var("SANDBOX_PG_USER"),
            password: sandbox_var("SANDBOX_PG_PASSWORD"),
            ca: sandbox_var("SANDBOX_PG_CA"),
            other_ca: sandbox_var("SANDBOX_PG_OTHER_CA"),
            log: sandbox_var("SANDBOX_PG_LOG"),
        }
    }

    /// The superuser password (for a master secret).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// A superuser session on `dbname`.
    pub async fn session(&self, dbname: &str) -> Client {
        self.login(&self.user, &self.password, dbname, false)
            .await
            .expect("the sandbox superuser logs in")
    }

    /// Logs in as `user` with `password` (over verified TLS when `tls`).
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        dbname: &str,
        tls: bool,
    ) -> Result<Client, tokio_postgres::Error> {
        let mut config = Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(user)
            .password(password)
            .dbname(dbname);
        let client = if tls {
            config.ssl_mode(SslMode::Require);
            let tls =
                rotation_core::database::client_config(Some(&self.ca), false).expect("sandbox CA");
            let (client, conn) = config
                .connect(MakeRustlsConnect::new((*tls).clone()))
                .await?;
            tokio::spawn(conn);
            client
        } else {
            config.ssl_mode(SslMode::Disable);
            let (client, conn) = config.connect(NoTls).await?;
            tokio::spawn(conn);
            client
        };
        Ok(client)
    }

    /// Creates a login role with `password` (stored as md5 when `md5`), member of `groups`.
    pub async fn create_login(
        &self,
        dbname: &str,
        user: &str,
        password: &str,
        md5: bool,
        groups: &[&str],
    ) {
        let admin = self.session(dbname).await;
        let encryption = if md5 { "md5" } else { "scram-sha-256" };
        let mut sql = format!(
            "SET password_encryption = '{encryption}'; CREATE ROLE {} LOGIN PASSWORD {};",
            ident(user),
            literal(password)
        );
        for g in groups {
            sql.push_str(&format!(" GRANT {} TO {};", ident(g), ident(user)));
        }
        admin
            .batch_execute(&sql)
            .await
            .expect("create the test role");
    }

    /// The stored password form of `user` (`SCRAM-SHA-256$...` or `md5...`).
    pub async fn stored_password(&self, user: &str) -> String {
        let admin = self.session("postgres").await;
        admin
            .query_one(
                "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
                &[&user],
            )
            .await
            .expect("role exists")
            .get::<_, Option<String>>(0)
            .unwrap_or_default()
    }

    /// The server log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every statement pg_stat_statements has recorded.
    pub async fn recorded_statements(&self) -> String {
        let admin = self.session("postgres").await;
        admin
            .query("SELECT query FROM pg_stat_statements", &[])
            .await
            .expect("pg_stat_statements")
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A quoted identifier (the admin's own quoting, independent of the adapter's).
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted literal, in the `E'...'` form, which reads the same whatever
/// `standard_conforming_strings` says (the admin's own quoting, independent of the adapter's).
pub fn literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}
