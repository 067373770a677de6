//! The PostgreSQL-wire adapter, shared by the PostgreSQL and Redshift functions: sessions with
//! verified TLS and typed login failures ([`Connector`]), the engine over a [`Dialect`]
//! ([`PgEngine`]), PostgreSQL's own SQL ([`Postgres`]), quoting, and the adapter's error type
//! ([`PgError`]). Redshift's SQL lives beside the Redshift binary, on this adapter.

mod connect;
mod dialect;
mod engine;
mod error;
mod fallback;
mod sql;

pub use connect::{Connector, CONNECT_TIMEOUT};
pub use dialect::{
    alter_role_password_sql, create_clone_sql, grant_membership_sql, postgres_password_form,
    Postgres, ENGINES, MEMBERSHIP_SQL, MIN_SERVER_VERSION_NUM,
};
pub use engine::{
    execute_secret_sql, hashed_password, stored_name, Dialect, PasswordForm, PgEngine, PgSession,
    SessionLimits,
};
pub use error::{column, sql_error, PgError};
pub use sql::{quote_ident, quote_literal};
