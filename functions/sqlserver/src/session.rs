//! An open SQL Server session: the tiberius client, how it reaches the server, and the three
//! ways statements are sent: queries with parameters (an RPC to `sp_executesql`), statements
//! without secrets (a SQL batch), and statements that carry a password (a SQL batch whose
//! failure keeps only the server's error number).

use rotation_core::database::Transport;
use rotation_core::{Result, RotationError, SecretValue};
use tiberius::{Row, ToSql};

use crate::connect::{server_error, TdsClient};

/// An authenticated session.
pub struct TdsSession {
    client: TdsClient,
    transport: Transport,
}

impl std::fmt::Debug for TdsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TdsSession")
            .field("transport", &self.transport)
            .finish()
    }
}

/// The error of a failed statement doing `operation`; `keep_message` false for statements that
/// carry password material (the driver's error is dropped too: it holds the message).
pub(crate) fn statement_error(
    operation: &str,
    keep_message: bool,
) -> impl FnOnce(tiberius::error::Error) -> RotationError + '_ {
    move |e| {
        let server = match &e {
            tiberius::error::Error::Server(token) => {
                Some(Box::new(server_error(token, keep_message)))
            }
            _ => None,
        };
        RotationError::Database {
            operation: operation.to_string(),
            server,
            source: keep_message.then(|| Box::new(e) as _),
        }
    }
}

impl TdsSession {
    /// A session over `client`, reaching the server by `transport`.
    pub fn new(client: TdsClient, transport: Transport) -> Self {
        Self { client, transport }
    }

    /// How the session reaches its server.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The rows of the first result of `sql` with `params` (`@P1`, `@P2`, ...), sent as an RPC
    /// to `sp_executesql`.
    pub async fn rows(
        &mut self,
        sql: &str,
        params: &[&dyn ToSql],
        operation: &str,
    ) -> Result<Vec<Row>> {
        let stream = self
            .client
            .query(sql, params)
            .await
            .map_err(statement_error(operation, true))?;
        stream
            .into_first_result()
            .await
            .map_err(statement_error(operation, true))
    }

    /// Runs `sql`, which carries no secret, as a SQL batch.
    pub async fn execute(&mut self, sql: &str, operation: &str) -> Result<()> {
        tracing::debug!(statement = %sql, "{operation}");
        let stream = self
            .client
            .simple_query(sql)
            .await
            .map_err(statement_error(operation, true))?;
        stream
            .into_results()
            .await
            .map(drop)
            .map_err(statement_error(operation, true))
    }

    /// Runs `sql`, which carries a password, as a SQL batch: never logged, and a failure keeps
    /// only the server's error number, state and class.
    pub async fn execute_secret(&mut self, sql: &SecretValue, operation: &str) -> Result<()> {
        tracing::debug!("{operation} (a statement with a password: not logged)");
        let stream = self
            .client
            .simple_query(sql.expose())
            .await
            .map_err(statement_error(operation, false))?;
        stream
            .into_results()
            .await
            .map(drop)
            .map_err(statement_error(operation, false))
    }
}

/// Column `index` of `row` as text (`what` names it in errors); NULL is an error.
pub(crate) fn text(row: &Row, index: usize, what: &str) -> Result<String> {
    match row.try_get::<&str, _>(index) {
        Ok(Some(s)) => Ok(s.to_string()),
        Ok(None) => Err(unexpected(what, "NULL")),
        Err(e) => Err(unexpected(what, &e.to_string())),
    }
}

/// Column `index` of `row` as text, NULL as `None`.
pub(crate) fn optional_text(row: &Row, index: usize, what: &str) -> Result<Option<String>> {
    row.try_get::<&str, _>(index)
        .map(|s| s.map(str::to_string))
        .map_err(|e| unexpected(what, &e.to_string()))
}

/// Column `index` of `row` as an integer of any width the catalog uses (tinyint, smallint,
/// int); NULL is an error.
pub(crate) fn integer(row: &Row, index: usize, what: &str) -> Result<i64> {
    if let Ok(Some(v)) = row.try_get::<u8, _>(index) {
        return Ok(v.into());
    }
    if let Ok(Some(v)) = row.try_get::<i16, _>(index) {
        return Ok(v.into());
    }
    match row.try_get::<i32, _>(index) {
        Ok(Some(v)) => Ok(v.into()),
        Ok(None) => Err(unexpected(what, "NULL")),
        Err(e) => Err(unexpected(what, &e.to_string())),
    }
}

/// Column `index` of `row` as a bit; NULL is an error.
pub(crate) fn bit(row: &Row, index: usize, what: &str) -> Result<bool> {
    match row.try_get::<bool, _>(index) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(unexpected(what, "NULL")),
        Err(e) => Err(unexpected(what, &e.to_string())),
    }
}

/// Column `index` of `row` as bytes (a `sid`); NULL as `None`.
pub(crate) fn bytes(row: &Row, index: usize, what: &str) -> Result<Option<Vec<u8>>> {
    row.try_get::<&[u8], _>(index)
        .map(|b| b.map(<[u8]>::to_vec))
        .map_err(|e| unexpected(what, &e.to_string()))
}

fn unexpected(what: &str, found: &str) -> RotationError {
    RotationError::UnsupportedServer(format!("unexpected {what} from the server: {found}"))
}
