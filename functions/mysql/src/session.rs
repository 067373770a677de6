//! An open MySQL-wire session and the few ways the engine talks through it: statements whose
//! failure may quote password material (only the error code is kept), and rows read as plain
//! bytes, never through the driver's typed conversions (which panic on a NULL or a value of
//! another type, with the row in the panic message: `SHOW CREATE USER` rows hold hashes); and,
//! before a statement that carries a plaintext password, what the server's logs would do with
//! it (`logs.rs`), refusing when one would record the password.

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Row, Value};

use crate::connect::server_error;
use crate::logs::{self, ServerLogs, LOG_OFF_SQL, LOG_SESSION_SQL, LOG_VARIABLES_SQL};
use crate::server::Server;
use rotation_core::database::Transport;
use rotation_core::{Cause, Result, RotationError, SecretValue};

/// The server error code for "you need the SUPER privilege" (and similar).
const NEEDS_PRIVILEGE: u16 = 1227;
/// MariaDB/MySQL: the password does not satisfy the password-validation policy.
const POLICY_REFUSED: u16 = 1819;
/// MariaDB: statement refused because `--strict-password-validation` is on.
const STRICT_VALIDATION: u16 = 1290;

/// An open session and, once prepared, what its server is.
pub struct MySession {
    pub(super) conn: Conn,
    pub(super) server: Option<Server>,
    /// How the session reaches its server.
    transport: Transport,
    /// Whether this session asked the server to keep it out of the general log (asked once).
    general_log_off: bool,
}

/// One column of a row: its bytes as the server sent them, None for NULL.
pub(super) type Cell = Option<Vec<u8>>;

impl MySession {
    /// A session over `conn`, reaching its server through `transport`.
    pub(super) fn new(conn: Conn, transport: Transport) -> Self {
        Self {
            conn,
            server: None,
            transport,
            general_log_off: false,
        }
    }

    /// How the session reaches its server.
    pub(super) fn transport(&self) -> Transport {
        self.transport
    }

    /// Runs a statement that carries no secret.
    pub(super) async fn execute(&mut self, sql: &str, operation: &str) -> Result<()> {
        tracing::debug!(operation, "statement");
        self.conn
            .query_drop(sql)
            .await
            .map_err(statement_error(operation, false))
    }

    /// Runs a statement, handing back the driver's error as it is (for callers that react to
    /// a code); map it with [`statement_error`].
    pub(super) async fn try_execute(
        &mut self,
        sql: &str,
    ) -> std::result::Result<(), mysql_async::Error> {
        self.conn.query_drop(sql).await
    }

    /// Runs a statement that carries password material: on failure only the error code is
    /// kept (the server's message can quote the statement), with what the code means.
    pub(super) async fn execute_secret(&mut self, sql: &str, operation: &str) -> Result<()> {
        tracing::debug!(operation, carries_password = true, "statement");
        self.conn
            .query_drop(sql)
            .await
            .map_err(statement_error(operation, true))
    }

    /// The rows of a text query, each column as bytes.
    pub(super) async fn query_rows(
        &mut self,
        sql: &str,
        operation: &str,
        carries_secret: bool,
    ) -> Result<Vec<Vec<Cell>>> {
        tracing::debug!(operation, carries_password = carries_secret, "query");
        let rows: Vec<Row> = self
            .conn
            .query(sql)
            .await
            .map_err(statement_error(operation, carries_secret))?;
        rows.iter().map(|r| cells(r, operation)).collect()
    }

    /// The first row of a query that always answers one (server variables, `SHOW CREATE
    /// USER`, `CURRENT_USER()`); none is [`RotationError::UnsupportedServer`] saying `what`
    /// returned no row. Carries no secret.
    pub(super) async fn query_row(
        &mut self,
        sql: &str,
        operation: &str,
        what: &str,
    ) -> Result<Vec<Cell>> {
        self.query_rows(sql, operation, false)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| RotationError::UnsupportedServer(format!("{what} returned no row")))
    }

    /// The rows of a prepared query with `params`, each column as bytes.
    pub(super) async fn exec_rows(
        &mut self,
        sql: &str,
        params: impl Into<Params> + Send,
        operation: &str,
    ) -> Result<Vec<Vec<Cell>>> {
        tracing::debug!(operation, "query");
        let rows: Vec<Row> = self
            .conn
            .exec(sql, params)
            .await
            .map_err(statement_error(operation, false))?;
        rows.iter().map(|r| cells(r, operation)).collect()
    }

    /// Fails unless the session may carry a plaintext password: it runs over verified TLS, or
    /// its secret chose plaintext (`"ssl": false`). A session that fell back to plaintext
    /// (`ALLOW_PLAINTEXT_FALLBACK`: the server's "no TLS" answer is unauthenticated) never may.
    pub(super) fn require_private(&self, why: &str) -> Result<()> {
        match self.transport {
            Transport::VerifiedTls | Transport::Plaintext { fallback: false } => Ok(()),
            Transport::Plaintext { fallback: true } => Err(RotationError::SetSecret(format!(
                "{why}, and this session reached the server by the plaintext fallback (it offered no TLS): refusing to send a password in the clear. Give the server TLS, or set \"ssl\": false in the secret if the network path is trusted"
            ))),
        }
    }

    /// What the server's logs would do with this session's statements ([`ServerLogs`]). When
    /// the general log would record them, the session first asks to leave it (`sql_log_off`,
    /// once; a refusal for want of the privilege is an answer, not an error) and the state is
    /// read again, so what is returned is what the server says after asking.
    pub(super) async fn logs(&mut self, server: &Server) -> Result<ServerLogs> {
        let logs = self.read_logs(server).await?;
        if self.general_log_off || logs::general_log(&logs).is_none() {
            return Ok(logs);
        }
        self.general_log_off = true;
        match self.conn.query_drop(LOG_OFF_SQL).await {
            Ok(()) => {}
            Err(mysql_async::Error::Server(e)) if e.code == NEEDS_PRIVILEGE => {
                tracing::debug!("this session may not set sql_log_off");
            }
            Err(e) => {
                return Err(statement_error(
                    "turn the general log off for the session",
                    false,
                )(e))
            }
        }
        self.read_logs(server).await
    }

    async fn read_logs(&mut self, server: &Server) -> Result<ServerLogs> {
        let mut variables = BTreeMap::new();
        for row in self
            .query_rows(LOG_VARIABLES_SQL, "read the log settings", false)
            .await?
        {
            variables.insert(
                text(&row, 0, "Variable_name")?,
                String::from_utf8_lossy(&bytes(&row, 1)).into_owned(),
            );
        }
        let row = &self
            .query_row(
                LOG_SESSION_SQL,
                "read the session's log state",
                "the session's log state",
            )
            .await?;
        let login = text(row, 1, "USER()")?;
        Ok(ServerLogs {
            family: server.family,
            variables,
            session_log_off: text(row, 0, "@@sql_log_off")? == "1",
            // user@host; the host never holds '@', the user may.
            login_user: login
                .rsplit_once('@')
                .map_or(login.as_str(), |(user, _)| user)
                .to_string(),
            audit_active: text(row, 2, "the count of active audit plugins")? != "0",
        })
    }

    /// Before statements that carry a plaintext password (`passwords`) of `user`: refuses
    /// with `PasswordWouldBeLogged`, before anything is changed, when a log would record it
    /// ([`logs::assess`]), unless the deployer accepted that (`allow`, logged as a warning).
    pub(super) async fn guard_plaintext(
        &mut self,
        server: &Server,
        user: &str,
        passwords: &[&SecretValue],
        allow: bool,
    ) -> Result<()> {
        let logs = self.logs(server).await?;
        let quote = passwords.iter().any(|p| p.expose().contains('\''));
        let exposure = logs::assess(&logs, quote);
        if let Some(masked) = &exposure.audit_masked {
            tracing::debug!(detail = %masked, "the audit plugin records the statement with the password masked");
        }
        if exposure.is_clean() {
            return Ok(());
        }
        if allow {
            tracing::warn!(
                user,
                logs = %exposure.names(),
                "sending a plaintext password that a server log records, as ALLOW_PASSWORD_IN_SERVER_LOG allows"
            );
            return Ok(());
        }
        Err(exposure.refusal(server.family, user, &logs.login_user))
    }
}

/// The columns of `row` as bytes. Only byte, integer and float values are expected.
fn cells(row: &Row, operation: &str) -> Result<Vec<Cell>> {
    (0..row.len())
        .map(|i| match row.as_ref(i) {
            None | Some(Value::NULL) => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b.clone())),
            Some(Value::Int(n)) => Ok(Some(n.to_string().into_bytes())),
            Some(Value::UInt(n)) => Ok(Some(n.to_string().into_bytes())),
            Some(Value::Float(n)) => Ok(Some(n.to_string().into_bytes())),
            Some(Value::Double(n)) => Ok(Some(n.to_string().into_bytes())),
            Some(_) => Err(RotationError::UnsupportedServer(format!(
                "{operation}: the server answered with a date or time where a name or number was expected"
            ))),
        })
        .collect()
}

/// Column `i` of `row` as text; `what` names it in errors (a NULL or non-UTF-8 value is an
/// error, never a panic, and the value is never quoted).
pub(super) fn text(row: &[Cell], i: usize, what: &str) -> Result<String> {
    match row.get(i) {
        Some(Some(bytes)) => String::from_utf8(bytes.clone())
            .map_err(|_| RotationError::UnsupportedServer(format!("{what} is not valid UTF-8"))),
        _ => Err(RotationError::UnsupportedServer(format!(
            "{what} is missing (NULL)"
        ))),
    }
}

/// Column `i` of `row` as bytes; NULL is empty.
pub(super) fn bytes(row: &[Cell], i: usize) -> Vec<u8> {
    row.get(i).cloned().flatten().unwrap_or_default()
}

/// Maps a driver error of the statement `operation`. For statements that carry password
/// material the server's message is dropped and the code explained.
pub(super) fn statement_error(
    operation: &str,
    carries_secret: bool,
) -> impl Fn(mysql_async::Error) -> RotationError + '_ {
    move |e| {
        let server = match &e {
            mysql_async::Error::Server(s) => {
                let mut detail = server_error(s, !carries_secret);
                if carries_secret {
                    detail.message = explain(s.code).map(str::to_string);
                }
                Some(Box::new(detail))
            }
            _ => None,
        };
        RotationError::Database {
            operation: operation.to_string(),
            server,
            source: (!carries_secret).then(|| Box::new(e) as Cause),
        }
    }
}

/// What a server error code means, for statements whose own message is not repeated.
fn explain(code: u16) -> Option<&'static str> {
    match code {
        POLICY_REFUSED => Some("the server's password-validation policy refused the password: make the generated passwords meet it (template parameters passwordLength, excludeCharacters, excludePunctuation, ...)"),
        STRICT_VALIDATION => Some("the server refuses hashed passwords (strict password validation)"),
        NEEDS_PRIVILEGE | 1044 | 1142 => Some("access denied: the user running the statement lacks a privilege it needs"),
        1396 => Some("the server refused the account change (for example a password-validation plugin refusing a hash, or the account changed meanwhile)"),
        3638 => Some("the password is in the account's password history"),
        _ => None,
    }
}
