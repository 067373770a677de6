//! The PostgreSQL rotation function and the PostgreSQL-protocol engine it shares with Redshift.
//!
//! The core's strategies (`SingleUser`, `AlternatingUsers`) do the step logic; this crate
//! supplies connections ([`connect`]) and SQL ([`dialect`]) behind the core's `Database` trait.
#![deny(clippy::all)]
#![warn(missing_docs)]

pub mod config;
pub mod connect;
pub mod dialect;
pub mod engine;
pub mod sql;

pub use connect::Connector;
pub use dialect::Postgres;
pub use engine::{Dialect, PasswordForm, PgEngine, PgSession, SessionLimits};
