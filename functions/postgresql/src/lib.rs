//! The PostgreSQL-wire rotation functions: PostgreSQL (binary `postgresql`) and Amazon Redshift
//! (binary `redshift`). The engines they serve ([`engines`]), tokio-postgres as the core's
//! connect-policy driver ([`PgDriver`]), the engine over a [`Dialect`] ([`PgEngine`]),
//! PostgreSQL's SQL ([`Postgres`]) and Redshift's ([`redshift`]), Redshift-managed admin secrets
//! ([`RedshiftAdmins`], the core's managed-secret hook), quoting, and the adapter's error type
//! ([`PgError`]). The binaries only call `postgresql` or `redshift()`.
//!
//! Each binary links only the AWS SDK it uses: feature `rds` (the RDS API, binary `postgresql`)
//! and feature `redshift` (the Redshift and Redshift Serverless APIs, binary `redshift`), both
//! on by default; each binary requires its own, and its release build (cargo lambda, through
//! `[package.metadata.lambda.bin.*]`) turns on that one alone.
#![deny(clippy::all)]
#![warn(missing_docs)]

mod connect;
mod dialect;
mod engine;
pub mod engines;
mod error;
mod fallback;
pub mod redshift;
mod redshift_admin;
#[cfg(feature = "redshift")]
mod redshift_api;
mod sql;

use std::sync::Arc;

use rotation_core::database::{ConnectPolicy, RdsLookup, Strategy};
use rotation_core::{Result, Settings};

pub use connect::PgDriver;
pub use dialect::{
    alter_role_password_sql, create_clone_sql, grant_membership_sql, postgres_password_form,
    Postgres, MEMBERSHIP_SQL, MIN_SERVER_VERSION_NUM,
};
pub use engine::{
    execute_secret_sql, hashed_password, stored_name, Dialect, PasswordForm, PgEngine, PgSession,
    SessionLimits,
};
pub use error::{column, sql_error, PgError};
pub use redshift::Redshift;
pub use redshift_admin::{
    admin_endpoint, cluster_id, redshift_admin, redshift_error, RedshiftAdmin, RedshiftAdmins,
    RedshiftCluster, RedshiftLookup, Workgroup, REDSHIFT_API, REDSHIFT_CLUSTER_TAG, REDSHIFT_HINT,
    REDSHIFT_SERVERLESS_TAG,
};
#[cfg(feature = "redshift")]
pub use redshift_api::SdkRedshift;
pub use sql::{quote_ident, quote_literal};

/// The rotation the `postgresql` function serves under `settings`: single user or alternating
/// users, with the RDS API for alternating users (feature `rds`).
#[cfg(feature = "rds")]
pub fn postgresql(settings: &Settings) -> Result<Strategy<PgEngine<Postgres>>> {
    let rds = Arc::new(rotation_core::database::SdkRds::new(
        settings.rds_endpoint.clone(),
    ));
    postgresql_with(settings, ConnectPolicy::from_settings(settings)?, Some(rds))
}

/// [`postgresql`] with the connect policy and RDS API given (tests redirect hosts and use an
/// emulator); `rds: None` rotates without the RDS API.
pub fn postgresql_with(
    settings: &Settings,
    policy: ConnectPolicy,
    rds: Option<Arc<dyn RdsLookup>>,
) -> Result<Strategy<PgEngine<Postgres>>> {
    let dialect = Postgres {
        clone_acts_as_original: settings.clone_acts_as_original,
    };
    let strategy = Strategy::from_settings(settings, PgEngine::new(dialect, policy))?;
    Ok(match rds {
        Some(rds) => strategy.with_rds(rds, settings.verify_rds_identifiers),
        None => strategy,
    })
}

/// The rotation the `redshift` function serves under `settings`: single user or alternating
/// users, with the Redshift APIs for Redshift-managed admin secrets (Redshift has no RDS API).
/// A password policy Redshift would refuse stops start-up. Feature `redshift`.
#[cfg(feature = "redshift")]
pub fn redshift(settings: &Settings) -> Result<Strategy<PgEngine<Redshift>>> {
    let api = Arc::new(SdkRedshift::new());
    redshift_with(settings, ConnectPolicy::from_settings(settings)?, Some(api))
}

/// [`redshift()`] with the connect policy and Redshift APIs given (tests redirect hosts and
/// use emulators); `api: None` rotates without them.
pub fn redshift_with(
    settings: &Settings,
    policy: ConnectPolicy,
    api: Option<Arc<dyn RedshiftLookup>>,
) -> Result<Strategy<PgEngine<Redshift>>> {
    redshift::check_policy(&settings.password)?;
    let strategy = Strategy::from_settings(settings, PgEngine::new(Redshift, policy))?;
    Ok(match api {
        Some(api) => strategy.with_managed_secrets(Arc::new(RedshiftAdmins(api))),
        None => strategy,
    })
}
