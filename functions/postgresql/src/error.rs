//! The PostgreSQL-wire adapter's own error, converted into the crate's
//! [`RotationError`] at the engine boundary. It keeps the driver's error (and so its SQLSTATE)
//! as a typed cause; nothing parses error text.

use tokio_postgres::error::SqlState;

use rotation_core::{Cause, RotationError, ServerError};

/// A failure inside the adapter.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// A statement failed. Its text is never part of the message.
    #[error("{operation} failed")]
    Statement {
        /// What was being done, e.g. "create the clone user".
        operation: String,
        /// The statement carried password material (a hash): the server's message, which can
        /// quote the statement, is dropped when converting.
        carries_secret: bool,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The server is not one this adapter supports.
    #[error("unsupported server: {0}")]
    UnsupportedServer(String),
}

impl PgError {
    /// A failed statement without password material.
    pub fn statement(operation: &str, source: tokio_postgres::Error) -> Self {
        Self::Statement {
            operation: operation.to_string(),
            carries_secret: false,
            source,
        }
    }

    /// A failed statement that carried password material.
    pub fn secret_statement(operation: &str, source: tokio_postgres::Error) -> Self {
        Self::Statement {
            operation: operation.to_string(),
            carries_secret: true,
            source,
        }
    }

    /// The SQLSTATE the server sent, if any.
    pub fn code(&self) -> Option<&SqlState> {
        match self {
            Self::Statement { source, .. } => source.code(),
            Self::UnsupportedServer(_) => None,
        }
    }

    /// True when the role already exists: a concurrent setSecret created it first
    /// (`42710 duplicate_object`, or `23505 unique_violation` when both inserts raced).
    pub fn is_duplicate_object(&self) -> bool {
        self.code().is_some_and(|code| {
            *code == SqlState::DUPLICATE_OBJECT || *code == SqlState::UNIQUE_VIOLATION
        })
    }
}

impl From<PgError> for RotationError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::UnsupportedServer(why) => RotationError::UnsupportedServer(why),
            PgError::Statement {
                operation,
                carries_secret,
                source,
            } => {
                let server = source.as_db_error().map(|db| {
                    Box::new(ServerError {
                        scheme: "SQLSTATE",
                        code: db.code().code().to_string(),
                        message: (!carries_secret).then(|| db.message().to_string()),
                    })
                });
                RotationError::Database {
                    operation,
                    server,
                    source: (!carries_secret).then(|| Box::new(source) as Cause),
                }
            }
        }
    }
}

/// Column `i` of `row`, read without panicking: a NULL or a value of another type is the
/// statement's error (`operation`), never a panic (the driver's `Row::get` panics).
pub fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    i: usize,
    operation: &str,
) -> Result<T, PgError> {
    row.try_get(i).map_err(|e| PgError::statement(operation, e))
}

/// Maps the error of a statement without password material.
pub fn sql_error(operation: &str) -> impl Fn(tokio_postgres::Error) -> PgError + '_ {
    move |e| PgError::statement(operation, e)
}
