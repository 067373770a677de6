//! The SQL Server engine: sessions from the core's connect policy through [`TdsDriver`], a
//! user's own password changed with `OLD_PASSWORD`, alternating users copied by `copy.rs`.
//! Implements the core's `Database` trait, so the core's strategies do the step logic.

use rotation_core::database::{
    placeholder_password, Capabilities, ConnectPolicy, Database, DatabaseSecret, EngineIdentity,
    Need, Transport, Which,
};
use rotation_core::{Check, PasswordPolicy, Result, RotationError};

use crate::connect::TdsDriver;
use crate::copy::{copy_login, differences};
use crate::engines::SQLSERVER;
use crate::preflight;
use crate::principals;
use crate::session::{text, TdsSession};
use crate::sql::own_password_sql;

/// A SQL Server database for the core's strategies.
#[derive(Debug, Clone)]
pub struct TdsEngine {
    policy: ConnectPolicy,
}

impl TdsEngine {
    /// The engine, logging in under `policy`.
    pub fn new(policy: ConnectPolicy) -> Self {
        Self { policy }
    }
}

impl Database for TdsEngine {
    type Session = TdsSession;

    fn identity(&self) -> &EngineIdentity {
        &SQLSERVER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn transport(&self, session: &TdsSession) -> Transport {
        session.transport()
    }

    async fn connect(&self, secret: &DatabaseSecret, which: Which) -> Result<TdsSession> {
        let (client, transport) = self
            .policy
            .connect(&TdsDriver, &SQLSERVER, secret, which)
            .await?;
        Ok(TdsSession::new(client, transport))
    }

    async fn privileges(
        &self,
        session: &mut TdsSession,
        need: Need,
        policy: &PasswordPolicy,
    ) -> Result<Vec<Check>> {
        preflight::checks(session, need, policy).await
    }

    async fn session_user(&self, session: &mut TdsSession) -> Result<String> {
        let rows = session
            .rows("SELECT SUSER_SNAME()", &[], "read SUSER_SNAME()")
            .await?;
        let row = rows.first().ok_or_else(|| {
            RotationError::UnsupportedServer("SUSER_SNAME() returned no row".into())
        })?;
        text(row, 0, "SUSER_SNAME()")
    }

    async fn set_own_password(
        &self,
        session: &mut TdsSession,
        current: &DatabaseSecret,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let contained = principals::contained(session).await?;
        let sql = own_password_sql(
            contained,
            &pending.username,
            &pending.password(),
            &current.password(),
        )?;
        session.execute_secret(&sql, "set the password").await
    }

    async fn user_exists(&self, session: &mut TdsSession, user: &str) -> Result<bool> {
        Ok(principals::login(session, user).await?.is_some())
    }

    async fn update_clone(
        &self,
        session: &mut TdsSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        copy_login(session, source, pending, placeholder_password).await
    }

    async fn create_clone(
        &self,
        session: &mut TdsSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        self.update_clone(session, source, pending).await
    }

    /// The pending password logs in (a new session), and the pending login is a copy of the
    /// current one (options, role memberships, permissions), read now.
    async fn change_is_complete(
        &self,
        session: &mut TdsSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<bool> {
        // The password first: a finished copy holds the pending password, which only a login
        // proves (the catalog does not show it). setSecret also asks after a failed change.
        if self.connect(pending, Which::Pending).await.is_err() {
            return Ok(false);
        }
        let left = differences(session, source, pending).await?;
        if !left.is_empty() {
            tracing::debug!(
                user = %pending.username,
                differences = %left.join("; "),
                "the pending login is not yet a finished copy of the current one"
            );
        }
        Ok(left.is_empty())
    }
}
