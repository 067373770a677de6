//! The PostgreSQL-protocol engine: sessions from the core's connect policy through
//! [`PgDriver`], SQL from a [`Dialect`] (PostgreSQL or Redshift). Implements the core's `Database` trait, so the
//! core's strategies do the step logic.
//!
//! Before a session changes anything it is prepared once ([`Dialect::prepare_session`]): lock
//! and statement timeouts well under the function timeout, so a blocked `ALTER` or `CREATE`
//! can never commit after the invocation has given up, and the password form the server
//! stores, so a password is sent hashed the way the server would hash it.

use std::future::Future;
use std::time::Duration;

use tokio_postgres::{Client, GenericClient, Transaction};

use rotation_core::database::{
    Capabilities, ConnectPolicy, Database, DatabaseSecret, EngineIdentity, Need, Transport, Which,
};
use rotation_core::{Check, PasswordPolicy, Result, RotationError, SecretValue};

use crate::connect::PgDriver;
use crate::error::{column, sql_error, PgError};

/// How the server stores passwords, and so the hashed form a password is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordForm {
    /// A SCRAM-SHA-256 verifier (`SCRAM-SHA-256$4096:...`).
    ScramSha256,
    /// `md5` + hex md5 of the password followed by the user name as the server stores it.
    Md5,
}

/// The hashed form of `password` for the user stored as `stored_name`. The plaintext never
/// reaches the server, its statement log or `pg_stat_statements`.
pub fn hashed_password(form: PasswordForm, stored_name: &str, password: &SecretValue) -> String {
    let pw = password.expose().as_bytes();
    match form {
        PasswordForm::ScramSha256 => postgres_protocol::password::scram_sha_256(pw),
        PasswordForm::Md5 => postgres_protocol::password::md5(pw, stored_name),
    }
}

/// Time limits set on every session before it changes anything. Both stay well under the
/// function's timeout (30 s by default), so a statement waiting on a lock fails on the server
/// instead of committing after the invocation has already failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// `statement_timeout`.
    pub statement_timeout: Duration,
    /// `lock_timeout` (PostgreSQL; Redshift has no such setting).
    pub lock_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(5),
        }
    }
}

/// The SQL of one PostgreSQL-protocol engine.
pub trait Dialect: Send + Sync {
    /// The engine this SQL is for (names, port, database, limits, domains).
    fn identity(&self) -> &'static EngineIdentity;
    /// Sets the session's time limits and returns the password form the server stores. Run
    /// once per session, before its first change.
    fn prepare_session(
        &self,
        client: &Client,
        limits: &SessionLimits,
    ) -> impl Future<Output = Result<PasswordForm, PgError>> + Send;
    /// The statement that sets `user`'s password, in `form`, salted (md5) with `stored_name`.
    /// It must carry a hashed form, never the plaintext.
    fn set_password_sql(
        &self,
        user: &str,
        stored_name: &str,
        password: &SecretValue,
        form: PasswordForm,
    ) -> String;
    /// A query with one parameter (the user name) returning the name as the server stores it
    /// (one text column) for each user it may be: exactly that name or, where the server
    /// folds case ([`Dialect::folds_case`]), any name equal to it ignoring case.
    fn user_exists_sql(&self) -> &'static str;
    /// True when the server folds user names to lower case (Redshift by default): a secret
    /// whose user name differs from the stored one only in case cannot log in with an md5
    /// password (salted with the name the client sends), so it is refused before any change.
    fn folds_case(&self) -> bool {
        false
    }
    /// Creates `clone` with `password` (in `form`) and the privileges of `source`, the user
    /// AWSCURRENT names. `tx` is a transaction the engine commits afterwards, so a failure
    /// leaves no half-made user.
    fn create_clone(
        &self,
        tx: &Transaction<'_>,
        clone: &str,
        source: &str,
        password: &SecretValue,
        form: PasswordForm,
    ) -> impl Future<Output = Result<(), PgError>> + Send;
    /// Preflight: what the server's catalog says the session's user may do for `need`, and
    /// what the server's password checks mean for the passwords this function sends. Reads
    /// only.
    fn privileges(
        &self,
        client: &Client,
        need: Need,
    ) -> impl Future<Output = Result<Vec<Check>, PgError>> + Send;
    /// Sets the existing `user`'s password (in `form`, md5-salted with `stored_name`) and gives
    /// it the privileges of `source` as this engine models them, in the transaction `tx`.
    fn update_clone(
        &self,
        tx: &Transaction<'_>,
        user: &str,
        stored_name: &str,
        source: &str,
        password: &SecretValue,
        form: PasswordForm,
    ) -> impl Future<Output = Result<(), PgError>> + Send;
}

/// Runs statements that may carry password material: on failure only the SQLSTATE is kept,
/// never the server's message (which can quote the statement).
pub async fn execute_secret_sql(
    client: &impl GenericClient,
    sql: &str,
    operation: &str,
) -> Result<(), PgError> {
    tracing::debug!(operation, carries_password = true, "statement");
    client
        .batch_execute(sql)
        .await
        .map_err(|e| PgError::secret_statement(operation, e))
}

/// The name `user` has on the server (via `sql`, which returns it), or `user` when not found.
pub async fn stored_name(
    client: &impl GenericClient,
    sql: &str,
    user: &str,
) -> Result<String, PgError> {
    let rows = client
        .query(sql, &[&user])
        .await
        .map_err(sql_error("look the user up"))?;
    let mut names = Vec::with_capacity(rows.len());
    for row in &rows {
        names.push(column::<String>(row, 0, "look the user up")?);
    }
    // The exact name if it is stored so, else the one the server folded it to.
    Ok(names
        .iter()
        .find(|n| n.as_str() == user)
        .or(names.first())
        .cloned()
        .unwrap_or_else(|| user.to_string()))
}

/// An open session and, once prepared, the password form its server stores.
pub struct PgSession {
    client: Client,
    form: Option<PasswordForm>,
    transport: Transport,
}

impl PgSession {
    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// A PostgreSQL-protocol database for the core's strategies.
#[derive(Debug, Clone)]
pub struct PgEngine<D> {
    dialect: D,
    policy: ConnectPolicy,
    limits: SessionLimits,
}

impl<D: Dialect> PgEngine<D> {
    /// The engine for `dialect`, logging in under `policy`, with the default limits.
    pub fn new(dialect: D, policy: ConnectPolicy) -> Self {
        Self {
            dialect,
            policy,
            limits: SessionLimits::default(),
        }
    }

    /// The same engine with other session time limits.
    pub fn with_limits(mut self, limits: SessionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Prepares the session on first use; returns its password form.
    async fn prepare(&self, session: &mut PgSession) -> Result<PasswordForm, PgError> {
        if let Some(form) = session.form {
            return Ok(form);
        }
        let form = self
            .dialect
            .prepare_session(&session.client, &self.limits)
            .await?;
        session.form = Some(form);
        Ok(form)
    }
}

impl<D: Dialect> Database for PgEngine<D> {
    type Session = PgSession;

    fn identity(&self) -> &EngineIdentity {
        self.dialect.identity()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    async fn connect(&self, secret: &DatabaseSecret, which: Which) -> Result<PgSession> {
        let (client, transport) = self
            .policy
            .connect(&PgDriver, self.dialect.identity(), secret, which)
            .await?;
        Ok(PgSession {
            client,
            form: None,
            transport,
        })
    }

    fn transport(&self, session: &PgSession) -> Transport {
        session.transport
    }

    async fn privileges(
        &self,
        session: &mut PgSession,
        need: Need,
        _policy: &PasswordPolicy,
    ) -> Result<Vec<Check>> {
        Ok(self.dialect.privileges(&session.client, need).await?)
    }

    async fn session_user(&self, session: &mut PgSession) -> Result<String> {
        let row = session
            .client
            .query_one("SELECT session_user::text", &[])
            .await
            .map_err(sql_error("read session_user"))?;
        Ok(column(&row, 0, "read session_user")?)
    }

    async fn set_own_password(
        &self,
        session: &mut PgSession,
        _current: &DatabaseSecret,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let form = self.prepare(session).await?;
        // The md5 salt is the name as the server stores it: the session's own user.
        let salt = match form {
            PasswordForm::Md5 => self.session_user(session).await?,
            PasswordForm::ScramSha256 => pending.username.clone(),
        };
        let sql =
            self.dialect
                .set_password_sql(&pending.username, &salt, &pending.password(), form);
        Ok(execute_secret_sql(&session.client, &sql, "set the password").await?)
    }

    async fn user_exists(&self, session: &mut PgSession, user: &str) -> Result<bool> {
        let rows = session
            .client
            .query(self.dialect.user_exists_sql(), &[&user])
            .await
            .map_err(sql_error("look the user up"))?;
        let mut stored = Vec::with_capacity(rows.len());
        for row in &rows {
            stored.push(column::<String>(row, 0, "look the user up")?);
        }
        match stored.first() {
            None => Ok(false),
            Some(_) if stored.iter().any(|s| s == user) => Ok(true),
            Some(other) => Err(RotationError::malformed(
                "AWSPENDING",
                format!(
                    "user {user} is stored by the server as {other}, a name that differs only in case; md5 passwords are salted with the name the client sends, so a password set for it would not log in. Use the stored name as the username in AWSCURRENT (the pair's other name follows from it). Nothing was changed"
                ),
            )),
        }
    }

    async fn update_clone(
        &self,
        session: &mut PgSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let form = self.prepare(session).await?;
        let user = &pending.username;
        let salt = stored_name(&session.client, self.dialect.user_exists_sql(), user).await?;
        let password = pending.password();
        let tx = session
            .client
            .transaction()
            .await
            .map_err(sql_error("begin the clone transaction"))?;
        self.dialect
            .update_clone(&tx, user, &salt, source, &password, form)
            .await?;
        tx.commit()
            .await
            .map_err(sql_error("commit the clone transaction"))?;
        Ok(())
    }

    async fn create_clone(
        &self,
        session: &mut PgSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let form = self.prepare(session).await?;
        let (clone, password) = (&pending.username, pending.password());
        let created: Result<(), PgError> = async {
            let tx = session
                .client
                .transaction()
                .await
                .map_err(sql_error("begin the clone transaction"))?;
            self.dialect
                .create_clone(&tx, clone, source, &password, form)
                .await?;
            tx.commit()
                .await
                .map_err(sql_error("commit the clone transaction"))
        }
        .await;
        match created {
            // A concurrent setSecret created the clone between our lookup and our CREATE: the
            // transaction rolled back; finish the user it made.
            Err(e) if e.is_duplicate_object() => self.update_clone(session, source, pending).await,
            other => Ok(other?),
        }
    }
}
