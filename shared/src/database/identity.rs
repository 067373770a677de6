//! What an adapter declares about each engine it serves, in one place (its `engines.rs`): the
//! binary, the `engine` values it accepts, the default port and database, the user name limit,
//! the domains of its AWS-managed endpoints and the password defaults. The core reads an engine
//! only through this; a test in each adapter holds it against `packaging/rotation-types.toml`.

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
}

/// The domain of RDS endpoints (instances, clusters, proxies; Aurora too).
pub const RDS_DOMAIN: &str = ".rds.amazonaws.com";
