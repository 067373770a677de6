//! The MySQL-wire engine: sessions from [`Connector`], SQL chosen from what the server says it
//! is ([`Server`]) and the account's authentication plugin. Implements the core's `Database`
//! trait, so the core's strategies do the step logic.
//!
//! Passwords are sent hashed wherever the server accepts a hash for that account
//! ([`identified`]): always on MariaDB (`mysql_native_password`, `ed25519`), and on MySQL for
//! another user with `mysql_native_password`. MySQL's own-password change and the SHA-256
//! plugins take the plaintext, inside verified TLS; MySQL rewrites it out of its logs.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::connect::{server_error, Connector};
use super::server::{Family, Server};
use super::show::{plugin_in_create_user, rewrite_grant};
use super::sql::{account, ed25519_auth_string, native_password_hash, quote_string};
use crate::database::{Capabilities, Database, DatabaseSecret, NameLimit, Which};
use crate::error::{Result, RotationError};
use crate::secret::SecretValue;

/// What differs between the MySQL and MariaDB functions (the SQL follows the server, not this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavor {
    /// The `engine` values accepted.
    pub engines: &'static [&'static str],
    /// The longest user name, in characters.
    pub max_username_chars: usize,
}

/// The MySQL function: engines `mysql` and `aurora-mysql`; user names up to 32 characters.
pub const MYSQL: Flavor = Flavor {
    engines: &["mysql", "aurora-mysql"],
    max_username_chars: 32,
};

/// The MariaDB function: engine `mariadb`; user names up to 80 characters.
pub const MARIADB: Flavor = Flavor {
    engines: &["mariadb"],
    max_username_chars: 80,
};

/// The port when a secret has none.
pub const DEFAULT_PORT: u16 = 3306;

/// An account's authentication plugin, as far as password changes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// `mysql_native_password`: SHA1(SHA1(password)), settable as a hash everywhere.
    Native,
    /// MySQL `caching_sha2_password`.
    CachingSha2,
    /// MySQL `sha256_password`.
    Sha256,
    /// MariaDB `ed25519`.
    Ed25519,
}

impl Plugin {
    /// The plugin named `name` (as `mysql.user.plugin` or `SHOW CREATE USER` print it); an
    /// empty name is the native plugin. Anything else (IAM, PAM, sockets, ...) is refused: those
    /// accounts have no password to rotate.
    pub fn parse(name: &str, user: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "mysql_native_password" => Ok(Self::Native),
            "caching_sha2_password" => Ok(Self::CachingSha2),
            "sha256_password" => Ok(Self::Sha256),
            "ed25519" => Ok(Self::Ed25519),
            _ => Err(RotationError::UnsupportedServer(format!(
                "the account of user {user} authenticates with the {} plugin, which has no password this function can rotate",
                name.trim()
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Native => "mysql_native_password",
            Self::CachingSha2 => "caching_sha2_password",
            Self::Sha256 => "sha256_password",
            Self::Ed25519 => "ed25519",
        }
    }
}

fn literal(server: &Server, value: &str) -> Result<String> {
    quote_string(value, server.backslash_escapes).ok_or_else(|| {
        RotationError::malformed(
            "AWSPENDING",
            "the password holds a NUL character, which MySQL statements cannot carry",
        )
    })
}

/// The `IDENTIFIED ...` clause giving an account using `plugin` the password `password`, hashed
/// wherever `server` accepts a hash for that plugin.
pub fn identified(server: &Server, plugin: Plugin, password: &SecretValue) -> Result<String> {
    match (server.family, plugin) {
        (Family::MariaDb, Plugin::Native) => Ok(format!(
            "IDENTIFIED BY PASSWORD '{}'",
            native_password_hash(password)
        )),
        (Family::MariaDb, Plugin::Ed25519) => Ok(format!(
            "IDENTIFIED VIA ed25519 USING '{}'",
            ed25519_auth_string(password)
        )),
        (Family::MySql, Plugin::Native) => Ok(format!(
            "IDENTIFIED WITH mysql_native_password AS '{}'",
            native_password_hash(password)
        )),
        (Family::MySql, Plugin::CachingSha2 | Plugin::Sha256) => Ok(format!(
            "IDENTIFIED WITH {} BY {}",
            plugin.name(),
            literal(server, password.expose())?
        )),
        (family, plugin) => Err(RotationError::UnsupportedServer(format!(
            "{family} has no {} plugin",
            plugin.name()
        ))),
    }
}

/// The statement a user runs to change its own password (no privilege needed). MariaDB takes
/// the hash for the account's plugin; MySQL only takes the plaintext (`ALTER USER USER()`),
/// with `REPLACE` and the current password when the account requires it.
pub fn own_password_sql(
    server: &Server,
    plugin: Plugin,
    password: &SecretValue,
    replace: Option<&SecretValue>,
) -> Result<String> {
    match (server.family, plugin) {
        (Family::MariaDb, Plugin::Native) => Ok(format!(
            "SET PASSWORD = '{}'",
            native_password_hash(password)
        )),
        (Family::MariaDb, Plugin::Ed25519) => Ok(format!(
            "SET PASSWORD = '{}'",
            ed25519_auth_string(password)
        )),
        (Family::MySql, Plugin::Native | Plugin::CachingSha2 | Plugin::Sha256) => {
            let mut sql = format!(
                "ALTER USER USER() IDENTIFIED BY {}",
                literal(server, password.expose())?
            );
            if let Some(current) = replace {
                sql.push_str(&format!(" REPLACE {}", literal(server, current.expose())?));
            }
            Ok(sql)
        }
        (family, plugin) => Err(RotationError::UnsupportedServer(format!(
            "{family} has no {} plugin",
            plugin.name()
        ))),
    }
}

/// One account of a user (one host) as `mysql.user` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account host.
    pub host: String,
    /// The authentication plugin's name.
    pub plugin: String,
    /// `ssl_type`: '', ANY, X509 or SPECIFIED.
    pub ssl_type: String,
    /// `ssl_cipher`.
    pub ssl_cipher: String,
    /// `x509_issuer`.
    pub x509_issuer: String,
    /// `x509_subject`.
    pub x509_subject: String,
    /// max_questions, max_updates, max_connections, max_user_connections.
    pub limits: [i64; 4],
}

/// The `REQUIRE ...` and `WITH ...` clauses that give another account `account`'s TLS
/// requirement and resource limits.
pub fn attributes_sql(server: &Server, account: &Account) -> Result<String> {
    let require = match account.ssl_type.to_ascii_uppercase().as_str() {
        "" => "REQUIRE NONE".to_string(),
        "ANY" => "REQUIRE SSL".to_string(),
        "X509" => "REQUIRE X509".to_string(),
        "SPECIFIED" => {
            let mut parts = Vec::new();
            for (word, value) in [
                ("CIPHER", &account.ssl_cipher),
                ("ISSUER", &account.x509_issuer),
                ("SUBJECT", &account.x509_subject),
            ] {
                if !value.is_empty() {
                    parts.push(format!("{word} {}", literal(server, value)?));
                }
            }
            if parts.is_empty() {
                "REQUIRE SSL".to_string()
            } else {
                format!("REQUIRE {}", parts.join(" AND "))
            }
        }
        other => {
            return Err(RotationError::UnsupportedServer(format!(
                "mysql.user has ssl_type '{other}', which this function does not know how to copy"
            )))
        }
    };
    let names = [
        "MAX_QUERIES_PER_HOUR",
        "MAX_UPDATES_PER_HOUR",
        "MAX_CONNECTIONS_PER_HOUR",
        "MAX_USER_CONNECTIONS",
    ];
    let limits: Vec<String> = names
        .iter()
        .zip(account.limits)
        .filter(|(_, n)| *n >= 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    Ok(format!("{require} WITH {}", limits.join(" ")))
}

/// MySQL 8.0 and later keep default roles in `mysql.default_roles`, not in `SHOW GRANTS`: the
/// statement giving `clone` the same ones (None when there are none).
pub fn default_roles_sql(clone: &str, roles: &[(String, String)]) -> Option<String> {
    if roles.is_empty() {
        return None;
    }
    let list: Vec<String> = roles.iter().map(|(u, h)| account(u, h)).collect();
    Some(format!(
        "ALTER USER {clone} DEFAULT ROLE {}",
        list.join(", ")
    ))
}

/// The session time limits: a blocked statement fails on the server well inside the
/// function's timeout instead of committing after the invocation gave up.
pub fn session_limits_sql(server: &Server) -> &'static str {
    match server.family {
        Family::MariaDb => "SET SESSION lock_wait_timeout = 5, innodb_lock_wait_timeout = 5, max_statement_time = 10",
        Family::MySql => "SET SESSION lock_wait_timeout = 5, innodb_lock_wait_timeout = 5, max_execution_time = 10000",
    }
}

/// An open session and, once prepared, what its server is.
pub struct MySession {
    conn: Conn,
    server: Option<Server>,
}

/// A MySQL-wire database for the core's strategies.
#[derive(Debug, Clone)]
pub struct MyEngine {
    flavor: Flavor,
    connector: Connector,
}

/// The server error code MySQL sends when `REPLACE <current password>` is required.
const MISSING_CURRENT_PASSWORD: u16 = 3892;

fn statement_error(
    operation: &str,
    carries_secret: bool,
) -> impl Fn(mysql_async::Error) -> RotationError + '_ {
    move |e| {
        let server = match &e {
            mysql_async::Error::Server(s) => Some(Box::new(server_error(s, !carries_secret))),
            _ => None,
        };
        RotationError::Database {
            operation: operation.to_string(),
            server,
            source: (!carries_secret).then(|| Box::new(e) as crate::error::Cause),
        }
    }
}

async fn execute(conn: &mut Conn, sql: &str, operation: &str) -> Result<()> {
    conn.query_drop(sql)
        .await
        .map_err(statement_error(operation, false))
}

/// Runs a statement that carries password material: on failure only the error code is kept.
async fn execute_secret(conn: &mut Conn, sql: &str, operation: &str) -> Result<()> {
    conn.query_drop(sql)
        .await
        .map_err(statement_error(operation, true))
}

impl MyEngine {
    /// The engine for `flavor`, connecting through `connector`.
    pub fn new(flavor: Flavor, connector: Connector) -> Self {
        Self { flavor, connector }
    }

    /// Reads what the server is and sets the session limits, once per session.
    async fn prepare(&self, session: &mut MySession) -> Result<Server> {
        if let Some(server) = session.server {
            return Ok(server);
        }
        let row: Option<(String, String)> = session
            .conn
            .query_first("SELECT VERSION(), @@SESSION.sql_mode")
            .await
            .map_err(statement_error("read the server version", false))?;
        let (version, sql_mode) = row.ok_or_else(|| {
            RotationError::UnsupportedServer("SELECT VERSION() returned no row".into())
        })?;
        let server =
            Server::detect(&version, &sql_mode).map_err(RotationError::UnsupportedServer)?;
        execute(
            &mut session.conn,
            session_limits_sql(&server),
            "set the session time limits",
        )
        .await?;
        session.server = Some(server);
        Ok(server)
    }

    /// The accounts (one per host) of `user`.
    async fn accounts(&self, session: &mut MySession, user: &str) -> Result<Vec<Account>> {
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            i64,
        );
        let rows: Vec<Row> = session
            .conn
            .exec(
                "SELECT Host, CAST(plugin AS CHAR), CAST(ssl_type AS CHAR), CAST(ssl_cipher AS CHAR), \
                 CAST(x509_issuer AS CHAR), CAST(x509_subject AS CHAR), CAST(max_questions AS SIGNED), \
                 CAST(max_updates AS SIGNED), CAST(max_connections AS SIGNED), \
                 CAST(max_user_connections AS SIGNED) FROM mysql.user WHERE User = ? ORDER BY Host",
                (user,),
            )
            .await
            .map_err(statement_error("read the user's accounts from mysql.user", false))?;
        Ok(rows
            .into_iter()
            .map(|r| Account {
                host: r.0,
                plugin: r.1,
                ssl_type: r.2,
                ssl_cipher: r.3,
                x509_issuer: r.4,
                x509_subject: r.5,
                limits: [r.6, r.7, r.8, r.9],
            })
            .collect())
    }

    /// The plugin of the session's own account, from `SHOW CREATE USER CURRENT_USER()` (which
    /// any user may run for itself). The statement's text holds the password hash: only the
    /// plugin is read from it.
    async fn own_plugin(
        &self,
        session: &mut MySession,
        server: &Server,
        user: &str,
    ) -> Result<Plugin> {
        let row: Option<String> = session
            .conn
            .query_first("SHOW CREATE USER CURRENT_USER()")
            .await
            .map_err(statement_error(
                "read the account's authentication plugin",
                true,
            ))?;
        let text = row.ok_or_else(|| {
            RotationError::UnsupportedServer("SHOW CREATE USER returned no row".into())
        })?;
        let name = plugin_in_create_user(&text, server.backslash_escapes)
            .map_err(RotationError::UnsupportedServer)?;
        Plugin::parse(&name, user)
    }

    /// Makes `clone` an exact-as-possible copy of `original` on every host `original` has: the
    /// same plugin, TLS requirement and limits, the same privileges, roles and default roles,
    /// and then, last, the pending password. Until that last statement the clone does not log
    /// in with AWSPENDING (a new clone gets an unknowable password), so a failure half-way is
    /// reported, never mistaken for a concurrent setSecret that finished. Every statement is
    /// idempotent, so a retry or a concurrent setSecret converges on the same state.
    async fn sync_clone(
        &self,
        session: &mut MySession,
        original: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let server = self.prepare(session).await?;
        let accounts = self.accounts(session, original).await?;
        if accounts.is_empty() {
            return Err(RotationError::SetSecret(format!(
                "user {original} has no account in mysql.user, so there is nothing to clone"
            )));
        }
        let unknowable = placeholder_password()?;
        let mut passwords = Vec::with_capacity(accounts.len());
        for source in &accounts {
            let plugin = Plugin::parse(&source.plugin, original)?;
            let clone = account(&pending.username, &source.host);
            let placeholder = identified(&server, plugin, &unknowable)?;
            execute_secret(
                &mut session.conn,
                &format!("CREATE USER IF NOT EXISTS {clone} {placeholder}"),
                "create the clone user",
            )
            .await?;
            let attributes = attributes_sql(&server, source)?;
            execute(
                &mut session.conn,
                &format!("ALTER USER {clone} {attributes}"),
                "copy the TLS requirement and limits to the clone",
            )
            .await?;
            self.copy_grants(session, &server, original, &source.host, &clone)
                .await?;
            passwords.push(format!(
                "ALTER USER {clone} {}",
                identified(&server, plugin, &pending.password())?
            ));
        }
        for sql in passwords {
            execute_secret(&mut session.conn, &sql, "set the clone's password").await?;
        }
        Ok(())
    }

    /// Copies the grants (and, on MySQL 8.0+, the default roles) of `original`@`host` to
    /// `clone`.
    async fn copy_grants(
        &self,
        session: &mut MySession,
        server: &Server,
        original: &str,
        host: &str,
        clone: &str,
    ) -> Result<()> {
        let rows: Vec<String> = session
            .conn
            .query(format!("SHOW GRANTS FOR {}", account(original, host)))
            .await
            .map_err(statement_error("read the original user's grants", true))?;
        for row in rows {
            let statement = rewrite_grant(&row, original, host, clone, server.backslash_escapes)
                .map_err(RotationError::UnsupportedServer)?;
            if let Some(statement) = statement {
                execute(&mut session.conn, &statement, "copy a grant to the clone").await?;
            }
        }
        if server.mysql_at_least((8, 0, 0)) {
            let roles: Vec<(String, String)> = session
                .conn
                .exec(
                    "SELECT DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST FROM mysql.default_roles \
                     WHERE USER = ? AND HOST = ? ORDER BY 1, 2",
                    (original, host),
                )
                .await
                .map_err(statement_error(
                    "read the original user's default roles",
                    false,
                ))?;
            if let Some(sql) = default_roles_sql(clone, &roles) {
                execute(&mut session.conn, &sql, "copy the default roles").await?;
            }
        }
        Ok(())
    }
}

/// The password a new clone has until its privileges are copied: 128 random bits from the OS,
/// never stored, never known.
fn placeholder_password() -> Result<SecretValue> {
    let mut bytes = [0u8; 16];
    // aws-lc-rs is already linked for TLS.
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| RotationError::SetSecret("the OS random source failed".into()))?;
    Ok(SecretValue::new(format!(
        "{:032x}",
        u128::from_le_bytes(bytes)
    )))
}

impl Database for MyEngine {
    type Session = MySession;

    fn engines(&self) -> &'static [&'static str] {
        self.flavor.engines
    }

    fn default_port(&self) -> u16 {
        DEFAULT_PORT
    }

    fn username_limit(&self) -> NameLimit {
        NameLimit::Chars(self.flavor.max_username_chars)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    async fn connect(&self, secret: &DatabaseSecret, which: Which) -> Result<MySession> {
        let conn = self.connector.connect(secret, which).await?;
        Ok(MySession { conn, server: None })
    }

    async fn session_user(&self, session: &mut MySession) -> Result<String> {
        let row: Option<String> = session
            .conn
            .query_first("SELECT CURRENT_USER()")
            .await
            .map_err(statement_error("read CURRENT_USER()", false))?;
        let current = row.ok_or_else(|| {
            RotationError::UnsupportedServer("SELECT CURRENT_USER() returned no row".into())
        })?;
        // user@host; the host never holds '@', the user may.
        Ok(current
            .rsplit_once('@')
            .map_or(current.as_str(), |(user, _)| user)
            .to_string())
    }

    async fn set_own_password(
        &self,
        session: &mut MySession,
        current: &DatabaseSecret,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let server = self.prepare(session).await?;
        let plugin = self.own_plugin(session, &server, &pending.username).await?;
        let password = pending.password();
        let sql = own_password_sql(&server, plugin, &password, None)?;
        match session.conn.query_drop(&sql).await {
            Ok(()) => Ok(()),
            // The account says PASSWORD REQUIRE CURRENT: say the current password too.
            Err(mysql_async::Error::Server(e)) if e.code == MISSING_CURRENT_PASSWORD => {
                let sql = own_password_sql(&server, plugin, &password, Some(&current.password()))?;
                execute_secret(&mut session.conn, &sql, "set the password").await
            }
            Err(e) => Err(statement_error("set the password", true)(e)),
        }
    }

    async fn user_exists(&self, session: &mut MySession, user: &str) -> Result<bool> {
        let row: Option<i64> = session
            .conn
            .exec_first("SELECT COUNT(*) FROM mysql.user WHERE User = ?", (user,))
            .await
            .map_err(statement_error("look the user up", false))?;
        Ok(row.unwrap_or(0) > 0)
    }

    async fn set_password(&self, session: &mut MySession, pending: &DatabaseSecret) -> Result<()> {
        let server = self.prepare(session).await?;
        let user = &pending.username;
        let accounts = self.accounts(session, user).await?;
        if accounts.is_empty() {
            return Err(RotationError::SetSecret(format!(
                "user {user} has no account in mysql.user"
            )));
        }
        let password = pending.password();
        for a in &accounts {
            let auth = identified(&server, Plugin::parse(&a.plugin, user)?, &password)?;
            execute_secret(
                &mut session.conn,
                &format!("ALTER USER {} {auth}", account(user, &a.host)),
                "set the password",
            )
            .await?;
        }
        Ok(())
    }

    async fn update_clone(
        &self,
        session: &mut MySession,
        original: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        self.sync_clone(session, original, pending).await
    }

    async fn create_clone(
        &self,
        session: &mut MySession,
        original: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        self.sync_clone(session, original, pending).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mysql(version: &str) -> Server {
        Server::detect(version, "").unwrap()
    }

    fn pw(s: &str) -> SecretValue {
        SecretValue::new(s)
    }

    const HASH: &str = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19";

    #[test]
    fn mysql_statements_as_exact_text() {
        let m8 = mysql("8.0.36");
        assert_eq!(
            identified(&m8, Plugin::Native, &pw("password")).unwrap(),
            format!("IDENTIFIED WITH mysql_native_password AS '{HASH}'")
        );
        assert_eq!(
            identified(&m8, Plugin::CachingSha2, &pw("p'w\\")).unwrap(),
            "IDENTIFIED WITH caching_sha2_password BY 'p''w\\\\'"
        );
        let nbe = Server::detect("9.1.0", "NO_BACKSLASH_ESCAPES,ANSI_QUOTES").unwrap();
        assert_eq!(
            identified(&nbe, Plugin::Sha256, &pw("p'w\\")).unwrap(),
            "IDENTIFIED WITH sha256_password BY 'p''w\\'"
        );
        assert_eq!(
            own_password_sql(&m8, Plugin::CachingSha2, &pw("new'"), None).unwrap(),
            "ALTER USER USER() IDENTIFIED BY 'new'''"
        );
        assert_eq!(
            own_password_sql(&nbe, Plugin::Native, &pw("n\\"), Some(&pw("o\\"))).unwrap(),
            "ALTER USER USER() IDENTIFIED BY 'n\\' REPLACE 'o\\'"
        );
        assert!(identified(&m8, Plugin::Ed25519, &pw("x")).is_err());
        assert_eq!(
            default_roles_sql(
                "`app_clone`@`%`",
                &[("r1".into(), "%".into()), ("r`2".into(), "h".into())]
            )
            .unwrap(),
            "ALTER USER `app_clone`@`%` DEFAULT ROLE `r1`@`%`, `r``2`@`h`"
        );
        assert_eq!(default_roles_sql("`c`@`%`", &[]), None);
        assert_eq!(
            session_limits_sql(&m8),
            "SET SESSION lock_wait_timeout = 5, innodb_lock_wait_timeout = 5, max_execution_time = 10000"
        );
    }

    #[test]
    fn mariadb_statements_carry_hashes_only() {
        let maria = mysql("10.11.6-MariaDB");
        assert_eq!(
            identified(&maria, Plugin::Native, &pw("password")).unwrap(),
            format!("IDENTIFIED BY PASSWORD '{HASH}'")
        );
        assert_eq!(
            own_password_sql(&maria, Plugin::Native, &pw("password"), None).unwrap(),
            format!("SET PASSWORD = '{HASH}'")
        );
        let ed = identified(&maria, Plugin::Ed25519, &pw("password")).unwrap();
        assert!(ed.starts_with("IDENTIFIED VIA ed25519 USING '") && !ed.contains("password'"));
        assert!(identified(&maria, Plugin::CachingSha2, &pw("x")).is_err());
    }

    #[test]
    fn attributes_copy_tls_requirements_and_limits() {
        let server = Server::detect("10.11.6-MariaDB", "NO_BACKSLASH_ESCAPES").unwrap();
        let mut a = Account {
            host: "%".into(),
            plugin: "mysql_native_password".into(),
            ssl_type: String::new(),
            ssl_cipher: String::new(),
            x509_issuer: String::new(),
            x509_subject: String::new(),
            limits: [0, 0, 0, 0],
        };
        assert_eq!(
            attributes_sql(&server, &a).unwrap(),
            "REQUIRE NONE WITH MAX_QUERIES_PER_HOUR 0 MAX_UPDATES_PER_HOUR 0 MAX_CONNECTIONS_PER_HOUR 0 MAX_USER_CONNECTIONS 0"
        );
        a.ssl_type = "ANY".into();
        a.limits = [10, 20, 30, -1];
        assert_eq!(
            attributes_sql(&server, &a).unwrap(),
            "REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 10 MAX_UPDATES_PER_HOUR 20 MAX_CONNECTIONS_PER_HOUR 30"
        );
        a.ssl_type = "SPECIFIED".into();
        a.x509_issuer = "/CN=O'Brien CA\\".into();
        a.x509_subject = "/CN=app".into();
        assert!(attributes_sql(&server, &a)
            .unwrap()
            .starts_with("REQUIRE ISSUER '/CN=O''Brien CA\\' AND SUBJECT '/CN=app' WITH"));
        a.ssl_type = "X509".into();
        assert!(attributes_sql(&server, &a)
            .unwrap()
            .starts_with("REQUIRE X509 WITH"));
    }

    #[test]
    fn plugins_without_passwords_are_refused_by_name() {
        assert_eq!(Plugin::parse("", "u").unwrap(), Plugin::Native);
        assert_eq!(Plugin::parse("ED25519", "u").unwrap(), Plugin::Ed25519);
        let err = Plugin::parse("AWSAuthenticationPlugin", "app").unwrap_err();
        assert!(
            err.to_string().contains("AWSAuthenticationPlugin plugin"),
            "{err}"
        );
        assert_eq!(err.error_type(), "UnsupportedServer");
    }
}
