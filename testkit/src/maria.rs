//! Root access to the sandbox's MariaDB servers (feature `mysql`), to set up users and check
//! which passwords log in. The MySQL-wire test bed itself lives with its adapter
//! (`functions/mysql/tests/it/testbed.rs`).

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};

use crate::sandbox_var;

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

/// `name` as a MySQL identifier (backticks doubled), for the admin's own statements.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The account `user`@`host`, both parts quoted as identifiers.
pub fn account(user: &str, host: &str) -> String {
    format!("{}@{}", quote_ident(user), quote_ident(host))
}
