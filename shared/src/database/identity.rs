//! What an adapter declares about each engine it serves, in one place (its `engines.rs`): the
//! binary, the `engine` values it accepts, the default port and database, the user name limit,
//! the domains of its AWS-managed endpoints, the password defaults and its [`Quirks`]. The core
//! reads an engine only through this; a test in each adapter holds it against
//! `packaging/rotation-types.toml`.

use super::NameLimit;
use crate::password::PasswordDefaults;

/// One engine's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineIdentity {
    /// The binary (and rotation-type list `binary`) that serves it.
    pub binary: &'static str,
    /// The secret's `engine` values the function accepts.
    pub engines: &'static [&'static str],
    /// The port when the secret has none.
    pub default_port: u16,
    /// The database when the secret has no `dbname` (`None`: the server's default).
    pub default_dbname: Option<&'static str>,
    /// How long a user name may be (the alternating users' clone name must fit).
    pub username_limit: NameLimit,
    /// Domains (with their leading dot) of the engine's AWS-managed endpoints, which always
    /// offer TLS: the plaintext fallback is never allowed for a host under one of them.
    pub aws_managed_domains: &'static [&'static str],
    /// The password policy defaults (the SAR app's `EXCLUDE_CHARACTERS` and length).
    pub password_defaults: PasswordDefaults,
    /// How the engine departs from the common case, which the strategies read.
    pub quirks: Quirks,
}

/// How an engine departs from the common case (one login per user, server-wide; a refused
/// login means refused), declared with its identity. The strategies and the login helpers read
/// these; an adapter answers no method for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quirks {
    /// A refused login that was expected to work (a verification, AWSCURRENT, the superuser)
    /// is tried once more before it counts as refused. MariaDB: the MySQL driver
    /// (mysql_common 0.37) drops a trailing zero byte from an authentication-switch challenge,
    /// so 1 in 256 `ed25519` challenges is answered wrongly and refused; a second try gets a
    /// new challenge. A real refusal is refused again (and counted twice by the server).
    pub retries_refused_logins: bool,
    /// A user belongs to a database (MongoDB: a user is `user@db`, so the same name in another
    /// `dbname` is another user): the versions a step compares must then name the same
    /// `dbname` (unset: [`EngineIdentity::default_dbname`]) as well as the same user and
    /// server.
    pub users_are_per_database: bool,
    /// One AWSPENDING login proves a change is complete: a user is one login (PostgreSQL,
    /// Redshift). False where a login proves less than the change: a user with several
    /// accounts (MySQL and MariaDB: one per host pattern; a login proves only the one matching
    /// the function's address), or access copied with the password that a login does not show
    /// (MongoDB: roles, authentication restrictions, mechanisms). The engine's
    /// [`Database::change_is_complete`](super::Database::change_is_complete) then decides, and
    /// such an engine must implement it.
    pub one_login_proves_a_change: bool,
}

impl Quirks {
    /// The common case: no retried login, users server-wide, one login proves a change.
    pub const NONE: Self = Self {
        retries_refused_logins: false,
        users_are_per_database: false,
        one_login_proves_a_change: true,
    };
}

/// The domain of RDS endpoints (instances, clusters, proxies; Aurora too).
pub const RDS_DOMAIN: &str = ".rds.amazonaws.com";
