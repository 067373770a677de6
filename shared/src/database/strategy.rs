//! The strategy a deployment chose ([`StrategyKind`], from `ROTATION_STRATEGY`, which the
//! template sets per rotation type; the secret never decides), checked against what the engine
//! can do.

use std::sync::Arc;

use super::{AlternatingUsers, Database, ManagedSecretLookup, RdsLookup, SingleUser};
use crate::error::{Result, RotationError};
use crate::preflight::{PreflightOptions, Report};
use crate::secret::SecretValue;
use crate::settings::{StrategyKind, ROTATION_STRATEGY};
use crate::steps::{Rotation, StepContext};
use crate::store::SecretStore;

/// Single user or alternating users, over one engine.
#[derive(Debug, Clone)]
pub enum Strategy<D> {
    /// See [`SingleUser`].
    SingleUser(SingleUser<D>),
    /// See [`AlternatingUsers`].
    AlternatingUsers(AlternatingUsers<D>),
}

impl<D: Database> Strategy<D> {
    /// The strategy `kind` over `db`; a [`RotationError::Configuration`] when the engine lacks a
    /// capability the strategy needs.
    pub fn new(kind: StrategyKind, db: D) -> Result<Self> {
        let can = db.capabilities();
        let missing = match kind {
            StrategyKind::SingleUser if !can.own_password => {
                Some("users of this engine cannot change their own password")
            }
            StrategyKind::AlternatingUsers if !can.other_users_password => {
                Some("this engine cannot change another user's password")
            }
            StrategyKind::AlternatingUsers if !can.clone_with_privileges => {
                Some("this engine cannot create a user with another's privileges")
            }
            _ => None,
        };
        if let Some(reason) = missing {
            return Err(RotationError::Configuration {
                variable: ROTATION_STRATEGY.into(),
                problem: format!("is {} but {reason}", kind.name()),
            });
        }
        Ok(match kind {
            StrategyKind::SingleUser => Self::SingleUser(SingleUser::new(db)),
            StrategyKind::AlternatingUsers => Self::AlternatingUsers(AlternatingUsers::new(db)),
        })
    }

    /// The same strategy with the RDS API (used by alternating users only; see
    /// [`AlternatingUsers::with_rds`]).
    pub fn with_rds(self, rds: Arc<dyn RdsLookup>, verify_identifiers: bool) -> Self {
        match self {
            Self::AlternatingUsers(s) => {
                Self::AlternatingUsers(s.with_rds(rds, verify_identifiers))
            }
            single => single,
        }
    }

    /// The same strategy with another service's managed-secret lookup (used by alternating
    /// users only; see [`AlternatingUsers::with_managed_secrets`]).
    pub fn with_managed_secrets(self, lookup: Arc<dyn ManagedSecretLookup>) -> Self {
        match self {
            Self::AlternatingUsers(s) => Self::AlternatingUsers(s.with_managed_secrets(lookup)),
            single => single,
        }
    }

    /// The strategy `settings` choose (`ROTATION_STRATEGY`) over `db`, allowed only the
    /// superuser secrets they name (`MASTER_SECRET_ARNS`): what every binary builds.
    pub fn from_settings(settings: &crate::settings::Settings, db: D) -> Result<Self> {
        Ok(Self::new(settings.strategy, db)?.with_superusers(&settings.master_secret_arns))
    }

    /// Alternating users: the superuser secrets `masterarn` may resolve to (the settings'
    /// `MASTER_SECRET_ARNS`; see [`AlternatingUsers::with_superusers`]). Single user: unchanged.
    pub fn with_superusers(self, arns: &[String]) -> Self {
        match self {
            Self::AlternatingUsers(s) => Self::AlternatingUsers(s.with_superusers(arns)),
            single => single,
        }
    }

    /// The strategy named by `value`, as `ROTATION_STRATEGY` spells it (None: single user).
    pub fn from_name(value: Option<&str>, db: D) -> Result<Self> {
        Self::new(StrategyKind::parse(value)?, db)
    }
}

impl<D: Database> Rotation for Strategy<D> {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        match self {
            Self::SingleUser(s) => s.validate(value, which),
            Self::AlternatingUsers(s) => s.validate(value, which),
        }
    }

    fn pending_value(&self, current: &SecretValue, pw: &SecretValue) -> Result<SecretValue> {
        match self {
            Self::SingleUser(s) => s.pending_value(current, pw),
            Self::AlternatingUsers(s) => s.pending_value(current, pw),
        }
    }

    async fn pending_value_in<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &SecretValue,
        pw: &SecretValue,
    ) -> Result<SecretValue> {
        match self {
            Self::SingleUser(s) => s.pending_value_in(ctx, current, pw).await,
            Self::AlternatingUsers(s) => s.pending_value_in(ctx, current, pw).await,
        }
    }

    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        match self {
            Self::SingleUser(s) => s.set_secret(ctx).await,
            Self::AlternatingUsers(s) => s.set_secret(ctx).await,
        }
    }

    async fn verify_pending<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        match self {
            Self::SingleUser(s) => s.verify_pending(ctx, pending).await,
            Self::AlternatingUsers(s) => s.verify_pending(ctx, pending).await,
        }
    }

    async fn preflight<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &SecretValue,
        options: PreflightOptions,
        report: &mut Report,
    ) {
        match self {
            Self::SingleUser(s) => s.preflight(ctx, current, options, report).await,
            Self::AlternatingUsers(s) => s.preflight(ctx, current, options, report).await,
        }
    }
}
