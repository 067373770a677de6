//! The PostgreSQL-wire rotation functions: PostgreSQL (binary `postgresql`) and Amazon Redshift
//! (binary `redshift`). The engines they serve ([`engines`]), tokio-postgres as the core's
//! connect-policy driver ([`PgDriver`]), the engine over a [`Dialect`] ([`PgEngine`]),
//! PostgreSQL's SQL ([`Postgres`]) and Redshift's ([`redshift`]), Redshift-managed admin secrets
//! ([`RedshiftAdmins`], the core's managed-secret hook), quoting, and the adapter's error type
//! ([`PgError`]). The binaries only call [`postgresql::build`] and [`redshift::build`].
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
pub mod postgresql;
pub mod redshift;
mod redshift_admin;
#[cfg(feature = "redshift")]
mod redshift_api;
mod sql;

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
    admin_endpoint, cluster_id, redshift_admin, RedshiftAdmin, RedshiftAdmins, RedshiftCluster,
    RedshiftLookup, Workgroup, REDSHIFT_API, REDSHIFT_CLUSTER_TAG, REDSHIFT_SERVERLESS_TAG,
};
#[cfg(feature = "redshift")]
pub use redshift_api::SdkRedshift;
pub use sql::{quote_ident, quote_literal};
