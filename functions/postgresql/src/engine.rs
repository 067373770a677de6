//! The PostgreSQL-protocol engine: sessions from [`Connector`], SQL from a [`Dialect`]
//! (PostgreSQL here, Redshift in its own crate). Implements the core's `Database` trait, so the
//! core's strategies do the step logic.

use std::future::Future;

use rotation_core::strategy::Database;
use rotation_core::{DatabaseSecret, Result, RotationError, SecretValue};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, GenericClient, Transaction};

use crate::connect::Connector;

/// The SQL of one PostgreSQL-protocol engine.
pub trait Dialect: Send + Sync {
    /// The `engine` values accepted.
    fn engines(&self) -> &'static [&'static str];
    /// The port when the secret has none.
    fn default_port(&self) -> u16;
    /// The database when the secret has none.
    fn default_dbname(&self) -> &'static str;
    /// The longest user name.
    fn max_username_len(&self) -> usize;
    /// The statement that sets `user`'s password. It must carry a hashed form (a verifier),
    /// never the plaintext.
    fn set_password_sql(&self, user: &str, password: &SecretValue) -> String;
    /// A query with one parameter (the user name) returning a row when the user exists.
    fn user_exists_sql(&self) -> &'static str;
    /// Creates `clone` with `password` and the privileges of `original`. `tx` is a transaction
    /// the engine commits afterwards, so a failure leaves no half-made user.
    fn create_clone(
        &self,
        tx: &Transaction<'_>,
        clone: &str,
        original: &str,
        password: &SecretValue,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Runs statements that may carry password material: on failure only the SQLSTATE is reported,
/// never the server's message (which can quote the statement).
pub async fn execute_secret_sql(
    client: &impl GenericClient,
    sql: &str,
    operation: &str,
) -> Result<()> {
    client.batch_execute(sql).await.map_err(|e| {
        let code = e
            .code()
            .map(|c| c.code().to_string())
            .unwrap_or_else(|| "no SQLSTATE (connection problem)".into());
        RotationError::Database {
            operation: operation.to_string(),
            detail: format!("SQLSTATE {code}"),
        }
    })
}

/// Maps an error of a statement without password material (SQLSTATE and message).
pub fn sql_error(operation: &str) -> impl Fn(tokio_postgres::Error) -> RotationError + '_ {
    move |e| RotationError::Database {
        operation: operation.to_string(),
        detail: match e.as_db_error() {
            Some(db) => format!("SQLSTATE {}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        },
    }
}

/// True when `e` says the role already exists: a concurrent setSecret created it first
/// (`42710 duplicate_object`, or `23505 unique_violation` when both inserts raced).
pub fn is_duplicate_object(e: &RotationError) -> bool {
    let RotationError::Database { detail, .. } = e else {
        return false;
    };
    [SqlState::DUPLICATE_OBJECT, SqlState::UNIQUE_VIOLATION]
        .iter()
        .any(|code| detail.starts_with(&format!("SQLSTATE {}", code.code())))
}

/// A PostgreSQL-protocol database for the core's strategies.
#[derive(Debug, Clone)]
pub struct PgEngine<D> {
    dialect: D,
    connector: Connector,
}

impl<D: Dialect> PgEngine<D> {
    /// The engine for `dialect`, connecting through `connector`.
    pub fn new(dialect: D, connector: Connector) -> Self {
        Self { dialect, connector }
    }
}

impl<D: Dialect> Database for PgEngine<D> {
    type Session = Client;

    fn engines(&self) -> &'static [&'static str] {
        self.dialect.engines()
    }

    fn max_username_len(&self) -> usize {
        self.dialect.max_username_len()
    }

    async fn connect(&self, secret: &DatabaseSecret, which: &str) -> Result<Client> {
        self.connector.connect(secret, which).await
    }

    async fn session_user(&self, session: &mut Client) -> Result<String> {
        let row = session
            .query_one("SELECT session_user::text", &[])
            .await
            .map_err(sql_error("read session_user"))?;
        Ok(row.get(0))
    }

    async fn set_own_password(
        &self,
        session: &mut Client,
        user: &str,
        password: &SecretValue,
    ) -> Result<()> {
        // The same statement serves both: PostgreSQL and Redshift let a user alter its own
        // password, and a superuser anyone's.
        self.set_password(session, user, password).await
    }

    async fn user_exists(&self, session: &mut Client, user: &str) -> Result<bool> {
        let row = session
            .query_opt(self.dialect.user_exists_sql(), &[&user])
            .await
            .map_err(sql_error("look the user up"))?;
        Ok(row.is_some())
    }

    async fn set_password(
        &self,
        session: &mut Client,
        user: &str,
        password: &SecretValue,
    ) -> Result<()> {
        let sql = self.dialect.set_password_sql(user, password);
        execute_secret_sql(session, &sql, "set the password").await
    }

    async fn create_clone(
        &self,
        session: &mut Client,
        clone: &str,
        original: &str,
        password: &SecretValue,
    ) -> Result<()> {
        let created = async {
            let tx = session
                .transaction()
                .await
                .map_err(sql_error("begin the clone transaction"))?;
            self.dialect
                .create_clone(&tx, clone, original, password)
                .await?;
            tx.commit()
                .await
                .map_err(sql_error("commit the clone transaction"))
        }
        .await;
        match created {
            // A concurrent setSecret created the clone between our lookup and our CREATE: the
            // transaction rolled back; set the password on the user it made.
            Err(e) if is_duplicate_object(&e) => self.set_password(session, clone, password).await,
            other => other,
        }
    }
}
