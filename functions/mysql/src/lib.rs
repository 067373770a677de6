//! The MySQL-wire rotation functions: MySQL and Aurora MySQL (binary `mysql`) and MariaDB
//! (binary `mariadb`). The engines they serve ([`engines`]), mysql_async as the core's
//! connect-policy driver ([`MyDriver`]), server detection ([`Server`]), the statements for each
//! server family and authentication plugin, the engine ([`MyEngine`]), alternating users made
//! exact copies of each other (account attributes, grants and their differences, stored-hash
//! checks), quoting that holds under every `sql_mode`, and, before any statement that carries a
//! plaintext password, a check of the server logs that would record it ([`logs`]). The
//! binaries only call [`mysql::build`] and [`mariadb::build`].
#![deny(clippy::all)]
#![warn(missing_docs)]

mod account;
mod connect;
mod detect;
mod engine;
pub mod engines;
mod fallback;
mod grants;
pub mod logs;
pub mod preflight;
mod server;
mod session;
mod sql;
mod statements;
mod stored;
mod sync;
mod tokens;

use std::sync::Arc;

use rotation_core::database::{ConnectPolicy, RdsLookup, SdkRds, Strategy};
use rotation_core::{Result, Settings};

pub use account::{plugin_of, AccountAttributes, Require};
pub use connect::{MyDriver, ACCESS_DENIED, ACCOUNT_LOCKED};
pub use engine::{Flavor, MyEngine};
pub use grants::{atoms_of, revokes, Atom, GrantRow};
pub use server::{Family, Server, MIN_MARIADB, MIN_MYSQL};
pub use session::MySession;
pub use sql::{account, ed25519_auth_string, native_password_hash, quote_ident, quote_string};
pub use statements::{
    carries_plaintext, create_locked_sql, default_roles_sql, identified, own_password_sql,
    session_limits_sql, set_password_sql, Plugin,
};
pub use stored::stored_matches;

/// The `mysql` binary's function.
pub mod mysql {
    use rotation_core::database::Strategy;
    use rotation_core::{Result, Settings};

    use crate::{Flavor, MyEngine};

    /// The rotation the `mysql` function serves under `settings`: single user or alternating
    /// users, with the RDS API for alternating users.
    pub fn build(settings: &Settings) -> Result<Strategy<MyEngine>> {
        crate::build_flavor(Flavor::MYSQL, settings)
    }
}

/// The `mariadb` binary's function.
pub mod mariadb {
    use rotation_core::database::Strategy;
    use rotation_core::{Result, Settings};

    use crate::{Flavor, MyEngine};

    /// The rotation the `mariadb` function serves under `settings`: single user or alternating
    /// users, with the RDS API for alternating users.
    pub fn build(settings: &Settings) -> Result<Strategy<MyEngine>> {
        crate::build_flavor(Flavor::MARIADB, settings)
    }
}

/// The rotation of `flavor`'s function on the deployed connect policy and the RDS API.
fn build_flavor(flavor: Flavor, settings: &Settings) -> Result<Strategy<MyEngine>> {
    let rds = Arc::new(SdkRds::new(settings.rds_endpoint.clone()));
    build_with(
        flavor,
        settings,
        ConnectPolicy::from_settings(settings)?,
        Some(rds),
    )
}

/// [`mysql::build`] or [`mariadb::build`] (`flavor`) with the connect policy and RDS API given (tests redirect hosts and use an
/// emulator); `rds: None` rotates without the RDS API.
pub fn build_with(
    flavor: Flavor,
    settings: &Settings,
    policy: ConnectPolicy,
    rds: Option<Arc<dyn RdsLookup>>,
) -> Result<Strategy<MyEngine>> {
    let engine = MyEngine::new(flavor, policy)
        .with_name_limit(settings.username_character_limit)
        .with_password_in_server_log(settings.allow_password_in_server_log);
    let strategy = Strategy::from_settings(settings, engine)?;
    Ok(match rds {
        Some(rds) => strategy.with_rds(rds, settings.verify_rds_identifiers),
        None => strategy,
    })
}
