//! A TDS (SQL Server wire protocol) stand-in for the SQL Server rotation work (issue 35): no
//! SQL Server can run here. Written from MS-TDS and Microsoft's documentation (facts and
//! sources: `/work/shared/reference/sqlserver.md`); strict, not a yes-machine. What it does not
//! model it refuses with a SQL Server-shaped error (class 16, number
//! [`errors::NOT_MODELLED`]) or by closing the connection, never by accepting silently. Two
//! independent clients prove it (`scripts/tds_standin_check.py`, pymssql with FreeTDS and
//! python-tds, run by `testkit/tests/it/tds_standin.rs`). What is modelled and what is not:
//! `README.md` beside this file.

pub mod catalog;
pub mod classifier;
pub mod database;
pub mod ddl;
pub mod errors;
pub mod expr;
pub mod grants;
pub mod lexer;
pub mod login7;
pub mod packet;
pub mod perms;
pub mod prelogin;
pub mod query;
pub mod rpc;
mod server;
mod session;
pub mod sql;
pub mod tokens;
pub mod transport;
pub mod views;

pub use catalog::LoginKind;
pub use classifier::{TdsClassifier, FAILING_STATEMENT};
pub use prelogin::ServerEncryption;
pub use server::{CountersSnapshot, TdsStandIn};
pub use session::{PROGRAM_VERSION, VERSION};
pub use transport::tls_config;
