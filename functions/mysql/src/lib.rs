//! The MySQL-wire adapter, shared by the MySQL (and Aurora MySQL) and MariaDB functions:
//! sessions with verified TLS and typed login failures ([`Connector`]), server detection
//! ([`Server`]), the statements for each server family and authentication plugin, the engine
//! ([`MyEngine`]), alternating users made exact copies of each other (account attributes,
//! grants and their differences, stored-hash checks), and quoting that holds under every
//! `sql_mode`.

mod account;
mod connect;
mod engine;
mod fallback;
mod grants;
mod server;
mod session;
mod sql;
mod statements;
mod stored;
mod sync;
mod tokens;

pub use account::{plugin_of, AccountAttributes, Require};
pub use connect::{Connector, ACCESS_DENIED, CONNECT_TIMEOUT};
pub use engine::{Flavor, MyEngine, DEFAULT_PORT, MARIADB, MYSQL};
pub use grants::{atoms_of, revokes, Atom, GrantRow};
pub use server::{Family, Server, MIN_MARIADB, MIN_MYSQL};
pub use session::MySession;
pub use sql::{account, ed25519_auth_string, native_password_hash, quote_ident, quote_string};
pub use statements::{
    carries_plaintext, create_locked_sql, default_roles_sql, identified, own_password_sql,
    placeholder_password, session_limits_sql, set_password_sql, Plugin,
};
pub use stored::stored_matches;

#[cfg(feature = "rds")]
mod function;
#[cfg(feature = "rds")]
pub use function::strategy;
