//! The database layer: what every database rotation function shares, whatever its engine.
//!
//! - [`DatabaseSecret`]: the secret JSON of the SAR database functions;
//! - [`Database`]: the engine trait, with the [`Capabilities`] an engine declares;
//! - the two strategies, [`SingleUser`] and [`AlternatingUsers`], and [`Strategy`], the one a
//!   deployment picked;
//! - [`EngineIdentity`]: what an adapter declares about each engine, in one place, its
//!   [`Quirks`] included;
//! - the one connect policy ([`ConnectPolicy`]) every adapter's [`Driver`] logs in through:
//!   TLS mode, trust anchors, the plaintext fallback and what it refuses, timeouts, test
//!   redirects, and what a failure means, for drivers that take the policy's stream and for
//!   those that own their socket ([`ConnectMode`]);
//! - the login and settle helpers the strategies share, superuser-secret resolution, the
//!   RDS lookups, and the hook through which an adapter completes superuser secrets another
//!   service manages ([`ManagedSecretLookup`]).
//!
//! Engines supply connections and SQL; they never re-implement a step.

mod alternating;
mod connect;
#[cfg(feature = "test-support")]
mod fake;
mod fallback;
mod hosts;
mod identity;
mod login;
mod managed;
mod placeholder;
mod preflight;
mod rds;
#[cfg(feature = "rds")]
mod rds_sdk;
mod secret;
mod single_user;
mod strategy;
mod superuser;
mod tls;

use std::fmt;
use std::future::Future;

pub use crate::anchors::{add_bundle, client_config, TrustAnchors, RDS_CA_BUNDLE};
pub use alternating::{alternate_username, pair_partner, AlternatingUsers, CLONE_SUFFIX};
pub use connect::{
    error_chain, has_rustls_error, Address, Attempt, ConnectMode, ConnectPolicy, Driver,
    LoginFailure, OpenError, CONNECT_TIMEOUT, DRIVER_LOGIN_DEADLINE, NO_TLS_ON_SERVER,
};
#[cfg(feature = "test-support")]
pub use fake::{FakeDatabase, FakeEvent, FakeSession, Fault};
pub use fallback::{PasswordRequest, Refusal};
pub use hosts::{is_aws_managed_host, normalize_host, Names, TestHost, TestHosts};
pub use identity::{EngineIdentity, Quirks, RDS_DOMAIN};
pub use managed::{ManagedSecretLookup, ManagedServer};
pub use placeholder::placeholder_password;
pub use rds::{
    first_label, is_replica_or_reader, managed_by, managed_endpoint, verify_identifiers, BoxFuture,
    DbCluster, DbInstance, ManagedBy, ManagedEndpoint, RdsDatabase, RdsLookup, CLUSTER_TAG,
    INSTANCE_TAG, RDS_API,
};
#[cfg(feature = "rds")]
pub use rds_sdk::SdkRds;
pub use secret::{DatabaseSecret, TLS_SERVER_NAME};
pub use single_user::SingleUser;
pub use strategy::Strategy;
pub use tls::{Login, TlsMode, Transport};

use crate::error::Result;
use crate::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};

/// What the superuser secret is called in messages.
pub const MASTER: &str = "master secret";

/// Which credentials a connection uses: a version of the rotated secret, or the superuser's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// AWSCURRENT of the rotated secret.
    Current,
    /// AWSPENDING of the rotated secret.
    Pending,
    /// AWSPREVIOUS of the rotated secret.
    Previous,
    /// The superuser secret named by `masterarn`.
    Superuser,
}

impl Which {
    /// The name used in messages: the staging label, or "master secret".
    pub fn label(self) -> &'static str {
        match self {
            Which::Current => AWSCURRENT,
            Which::Pending => AWSPENDING,
            Which::Previous => AWSPREVIOUS,
            Which::Superuser => MASTER,
        }
    }
}

impl fmt::Display for Which {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How long a user name may be: PostgreSQL counts bytes (and truncates beyond), MySQL and
/// MariaDB count characters (and refuse beyond).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameLimit {
    /// At most this many bytes of UTF-8.
    Bytes(usize),
    /// At most this many characters.
    Chars(usize),
}

impl NameLimit {
    /// The length of `name` in this limit's unit, and the unit's name.
    pub fn measure(self, name: &str) -> (usize, usize, &'static str) {
        match self {
            Self::Bytes(max) => (name.len(), max, "bytes"),
            Self::Chars(max) => (name.chars().count(), max, "characters"),
        }
    }
}

/// What an engine can do. A strategy that needs a capability the engine lacks is refused at
/// start-up, so an engine is added without touching the strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// A user can change its own password (single user).
    pub own_password: bool,
    /// A superuser can change another user's password (alternating users).
    pub other_users_password: bool,
    /// A superuser can create a user with the privileges of another (alternating users).
    pub clone_with_privileges: bool,
}

impl Capabilities {
    /// Every capability.
    pub const ALL: Self = Self {
        own_password: true,
        other_users_password: true,
        clone_with_privileges: true,
    };
}

/// What a preflight asks of a session's user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Change its own password (single user, logged in as AWSCURRENT).
    OwnPassword,
    /// Create users, set their passwords, give them another user's privileges (alternating
    /// users, logged in as the superuser).
    ManageUsers,
}

/// A database engine as the strategies need it.
pub trait Database: Send + Sync {
    /// An open, authenticated session.
    type Session: Send;

    /// What the adapter declares about this engine (names, port, limits, domains, quirks).
    fn identity(&self) -> &EngineIdentity;

    /// The `engine` values this function accepts.
    fn engines(&self) -> &'static [&'static str] {
        self.identity().engines
    }

    /// The port used when a secret has no `port` key.
    fn default_port(&self) -> u16 {
        self.identity().default_port
    }

    /// The longest user name the engine accepts (for `_clone` names).
    fn username_limit(&self) -> NameLimit {
        self.identity().username_limit
    }

    /// What this engine can do.
    fn capabilities(&self) -> Capabilities;

    /// Logs in with `secret`'s credentials. A wrong password must be
    /// [`RotationError::AuthenticationFailed`](crate::RotationError::AuthenticationFailed); an
    /// unreachable host `DatabaseUnreachable`; a TLS problem `TlsFailure`. The superuser secret
    /// ([`Which::Superuser`]) is never allowed a plaintext fallback.
    fn connect(
        &self,
        secret: &DatabaseSecret,
        which: Which,
    ) -> impl Future<Output = Result<Self::Session>> + Send;

    /// How `session` reaches its server.
    fn transport(&self, session: &Self::Session) -> Transport;

    /// Preflight: what the server says `session`'s user may do for `need`, and what a
    /// password-policy (validation) plugin means for passwords drawn by `policy`, as checks
    /// (names from [`crate::preflight::names`]). Reads only; changes nothing.
    fn privileges(
        &self,
        session: &mut Self::Session,
        need: Need,
        policy: &crate::PasswordPolicy,
    ) -> impl Future<Output = Result<Vec<crate::Check>>> + Send;

    /// Preflight of alternating users: what the superuser's `session` may do to make `clone`
    /// a copy of `source` (the user AWSCURRENT names). Engines whose privileges depend on the
    /// copied user (MongoDB: granting a role needs `grantRole` on the role's database) read it
    /// here; the default is [`Database::privileges`] with [`Need::ManageUsers`]. Reads only.
    fn clone_privileges(
        &self,
        session: &mut Self::Session,
        source: &str,
        clone: &str,
        policy: &crate::PasswordPolicy,
    ) -> impl Future<Output = Result<Vec<crate::Check>>> + Send {
        let _ = (source, clone);
        self.privileges(session, Need::ManageUsers, policy)
    }

    /// The user the session authenticated as.
    fn session_user(
        &self,
        session: &mut Self::Session,
    ) -> impl Future<Output = Result<String>> + Send;

    /// Changes the password of the session's own user from `current`'s to `pending`'s (both
    /// name that user). Engines that must send the old password (SQL Server's `OLD_PASSWORD`,
    /// Oracle's `REPLACE`) take it from `current`.
    fn set_own_password(
        &self,
        session: &mut Self::Session,
        current: &DatabaseSecret,
        pending: &DatabaseSecret,
    ) -> impl Future<Output = Result<()>> + Send;

    /// As superuser: whether `user` exists.
    fn user_exists(
        &self,
        session: &mut Self::Session,
        user: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// As superuser: makes `pending`'s user, which exists, hold `source`'s privileges (the
    /// user AWSCURRENT names, whichever of the pair that is) as the engine's model has it, and
    /// sets its password. MySQL and MariaDB copy everything and revoke what `source` lacks, as
    /// their official functions copy `SHOW GRANTS` on every rotation; PostgreSQL keeps the
    /// clone a member of the original role; Redshift copies (and takes back) the privileges it
    /// enumerates.
    ///
    /// Like [`Database::create_clone`], the pending password must log in only once everything
    /// else is done (one transaction, or the password set last).
    fn update_clone(
        &self,
        session: &mut Self::Session,
        source: &str,
        pending: &DatabaseSecret,
    ) -> impl Future<Output = Result<()>> + Send;

    /// As superuser: creates `pending`'s user, able to log in with its password and with the
    /// privileges of `source` (the user AWSCURRENT names). Must tolerate a concurrent creation
    /// of the same user (then finish it as [`Database::update_clone`] does). The pending
    /// password must log in only once the privileges are in place (one transaction, or the
    /// password set last): setSecret settles a failure by checking the change is done, and
    /// would take a half-made clone that logs in for a finished one.
    fn create_clone(
        &self,
        session: &mut Self::Session,
        source: &str,
        pending: &DatabaseSecret,
    ) -> impl Future<Output = Result<()>> + Send;

    /// As superuser, for engines whose identity declares that one login does not prove a change
    /// ([`Quirks::one_login_proves_a_change`] false; the strategies call it only then): whether
    /// `pending`'s user is a finished copy of `source` holding the pending password, on every
    /// account. Unlike the quirks, this is a method, not a declaration: it reads the server's
    /// records over `session` (MongoDB also logs in anew), which only the adapter can do. The
    /// default, for engines where one login proves a change, answers "not complete", so a
    /// change is never taken as done on its word.
    fn change_is_complete(
        &self,
        session: &mut Self::Session,
        source: &str,
        pending: &DatabaseSecret,
    ) -> impl Future<Output = Result<bool>> + Send {
        let _ = (session, source, pending);
        async { Ok(false) }
    }
}
