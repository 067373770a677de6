//! The MySQL-wire engine: sessions from the core's connect policy through [`MyDriver`], statements chosen from what the server
//! says it is ([`Server`]) and the account's authentication plugin ([`statements`]),
//! alternating users made exact copies of each other ([`sync`]). Implements the core's
//! `Database` trait, so the core's strategies do the step logic.
//!
//! [`statements`]: crate::statements
//! [`sync`]: crate::sync

use crate::account::plugin_of;
use crate::connect::MyDriver;
use crate::detect::read_server;
use crate::engines;
use crate::server::Server;
use crate::session::{text, MySession};
use crate::statements::{
    out_of_slow_log, own_password_carries_plaintext, own_password_sql, session_limits_sql, Plugin,
};
use crate::sync::{pair_differences, sync_pair};
use rotation_core::database::{
    Capabilities, ConnectPolicy, Database, DatabaseSecret, EngineIdentity, NameLimit, Need,
    Transport, Which,
};
use rotation_core::{Check, PasswordPolicy, Result, RotationError};

/// What differs between the MySQL and MariaDB functions: the engine they declare (the SQL
/// follows the server, not this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavor {
    /// The engine (names, port, limits, domains, quirks: MariaDB retries a refused login that
    /// was expected to work, for its `ed25519` accounts).
    pub identity: &'static EngineIdentity,
}

impl Flavor {
    /// The MySQL function ([`engines::MYSQL`]).
    pub const MYSQL: Flavor = Flavor {
        identity: &engines::MYSQL,
    };

    /// The MariaDB function ([`engines::MARIADB`]).
    pub const MARIADB: Flavor = Flavor {
        identity: &engines::MARIADB,
    };
}

/// The server error code MySQL sends when `REPLACE <current password>` is required.
const MISSING_CURRENT_PASSWORD: u16 = 3892;

/// A MySQL-wire database for the core's strategies.
#[derive(Debug, Clone)]
pub struct MyEngine {
    flavor: Flavor,
    policy: ConnectPolicy,
    /// `USERNAME_CHARACTER_LIMIT`, when set.
    name_limit: Option<usize>,
    /// `ALLOW_PASSWORD_IN_SERVER_LOG`: send a plaintext password a server log records.
    password_in_server_log: bool,
}

impl MyEngine {
    /// The engine for `flavor`, logging in under `policy`.
    pub fn new(flavor: Flavor, policy: ConnectPolicy) -> Self {
        Self {
            flavor,
            policy,
            name_limit: None,
            password_in_server_log: false,
        }
    }

    /// The same engine sending a plaintext password even when a server log would record it
    /// (`ALLOW_PASSWORD_IN_SERVER_LOG`); by default such a change is refused
    /// (`PasswordWouldBeLogged`) before anything is changed.
    pub fn with_password_in_server_log(mut self, allow: bool) -> Self {
        self.password_in_server_log = allow;
        self
    }

    /// The same engine with user names limited to `limit` characters when that is stricter
    /// than the server's limit (`USERNAME_CHARACTER_LIMIT`, as the official MySQL multi-user
    /// function reads it; it defaults to 16 there, the server's limit here).
    pub fn with_name_limit(mut self, limit: Option<usize>) -> Self {
        self.name_limit = limit;
        self
    }

    /// Reads what the server is and sets the session limits, once per session.
    async fn prepare(&self, session: &mut MySession) -> Result<Server> {
        if let Some(server) = session.server {
            return Ok(server);
        }
        let server = read_server(session).await?;
        session
            .execute(session_limits_sql(&server), "set the session time limits")
            .await?;
        session.server = Some(server);
        Ok(server)
    }

    /// The plugin of the session's own account, from `SHOW CREATE USER CURRENT_USER()` (which
    /// any user may run for itself). The row holds the password hash: only the plugin is read.
    async fn own_plugin(
        &self,
        session: &mut MySession,
        server: &Server,
        user: &str,
    ) -> Result<Plugin> {
        let row = &session
            .query_row(
                "SHOW CREATE USER CURRENT_USER()",
                "read the account's authentication plugin",
                "SHOW CREATE USER",
            )
            .await?;
        let name = plugin_of(
            &text(row, 0, "the SHOW CREATE USER row")?,
            server.backslash_escapes,
        )
        .map_err(RotationError::UnsupportedServer)?;
        Plugin::parse(&name, user)
    }
}

impl Database for MyEngine {
    type Session = MySession;

    fn identity(&self) -> &EngineIdentity {
        self.flavor.identity
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn username_limit(&self) -> NameLimit {
        let server = self.flavor.identity.username_limit;
        match (server, self.name_limit) {
            (NameLimit::Chars(max), Some(limit)) => NameLimit::Chars(max.min(limit)),
            (server, _) => server,
        }
    }

    fn transport(&self, session: &MySession) -> Transport {
        session.transport()
    }

    async fn privileges(
        &self,
        session: &mut MySession,
        need: Need,
        policy: &PasswordPolicy,
    ) -> Result<Vec<Check>> {
        crate::preflight::checks(session, need, policy, self.password_in_server_log).await
    }

    async fn connect(&self, secret: &DatabaseSecret, which: Which) -> Result<MySession> {
        let (conn, transport) = self
            .policy
            .connect(&MyDriver, self.flavor.identity, secret, which)
            .await?;
        Ok(MySession::new(conn, transport))
    }

    async fn session_user(&self, session: &mut MySession) -> Result<String> {
        let row = &session
            .query_row(
                "SELECT CURRENT_USER()",
                "read CURRENT_USER()",
                "SELECT CURRENT_USER()",
            )
            .await?;
        let current = text(row, 0, "CURRENT_USER()")?;
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
        if own_password_carries_plaintext(&server) {
            session
                .require_private("this server takes a user's own new password only as plaintext")?;
            // Checked before the statement, so a refusal changes nothing. MySQL's REPLACE form
            // below adds the current password: the same logs, the same answer.
            session
                .guard_plaintext(
                    &server,
                    &pending.username,
                    &[&password],
                    self.password_in_server_log,
                )
                .await?;
        }
        let sql = out_of_slow_log(&server, own_password_sql(&server, plugin, &password, None)?);
        match session.try_execute(&sql).await {
            Ok(()) => Ok(()),
            // The account says PASSWORD REQUIRE CURRENT: say the current password too.
            Err(mysql_async::Error::Server(e)) if e.code == MISSING_CURRENT_PASSWORD => {
                let sql = own_password_sql(&server, plugin, &password, Some(&current.password()))?;
                session
                    .execute_secret(&out_of_slow_log(&server, sql), "set the password")
                    .await
            }
            Err(e) => Err(crate::session::statement_error("set the password", true)(e)),
        }
    }

    async fn user_exists(&self, session: &mut MySession, user: &str) -> Result<bool> {
        let rows = session
            .exec_rows(
                "SELECT COUNT(*) FROM mysql.user WHERE User = ?",
                (user,),
                "look the user up",
            )
            .await?;
        let count = rows
            .first()
            .map(|r| text(r, 0, "COUNT(*)"))
            .transpose()?
            .unwrap_or_default();
        Ok(count.parse::<u64>().unwrap_or(0) > 0)
    }

    async fn update_clone(
        &self,
        session: &mut MySession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let server = self.prepare(session).await?;
        sync_pair(
            session,
            &server,
            source,
            pending,
            self.password_in_server_log,
        )
        .await
    }

    async fn create_clone(
        &self,
        session: &mut MySession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let server = self.prepare(session).await?;
        sync_pair(
            session,
            &server,
            source,
            pending,
            self.password_in_server_log,
        )
        .await
    }

    async fn change_is_complete(
        &self,
        session: &mut MySession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<bool> {
        let server = self.prepare(session).await?;
        let left = pair_differences(session, &server, source, pending).await?;
        if !left.is_empty() {
            tracing::debug!(
                user = %pending.username,
                differences = %left.join("; "),
                "the pending user is not yet a finished copy of the current user"
            );
        }
        Ok(left.is_empty())
    }
}
