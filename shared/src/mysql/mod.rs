//! The MySQL-wire adapter, shared by the MySQL (and Aurora MySQL) and MariaDB functions:
//! sessions with verified TLS and typed login failures ([`Connector`]), server detection
//! ([`Server`]), the engine ([`MyEngine`]) with the SQL for each server family and
//! authentication plugin, grant copying, and quoting that holds under every `sql_mode`.

mod connect;
mod engine;
mod fallback;
mod server;
mod show;
mod sql;

pub use connect::{Connector, ACCESS_DENIED, CONNECT_TIMEOUT};
pub use engine::{
    attributes_sql, default_roles_sql, identified, own_password_sql, session_limits_sql, Account,
    Flavor, MyEngine, MySession, Plugin, DEFAULT_PORT, MARIADB, MYSQL,
};
pub use server::{Family, Server, MIN_MARIADB, MIN_MYSQL};
pub use show::{plugin_in_create_user, rewrite_grant};
pub use sql::{account, ed25519_auth_string, native_password_hash, quote_ident, quote_string};

#[cfg(feature = "rds")]
mod function;
#[cfg(feature = "rds")]
pub use function::strategy;
