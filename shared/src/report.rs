//! What a preflight answers: its checks (by their stable [`names`]), the versions it looked
//! at, and the options it was asked with. The shared preflight (`preflight.rs`) and each
//! function's own checks ([`crate::steps::Rotation::preflight`]) write into one [`Report`].

use serde_json::{json, Value};

use crate::error::RotationError;

/// The stable names of the checks, as the report and the operator tool use them.
pub mod names {
    /// DescribeSecret and GetSecretValue answer.
    pub const SECRETS_MANAGER: &str = "secrets_manager";
    /// No AWSPENDING left on a version (a rotation that started and did not finish).
    pub const NO_ROTATION_IN_PROGRESS: &str = "no_rotation_in_progress";
    /// AWSCURRENT is a secret this function can rotate.
    pub const SECRET_SHAPE: &str = "secret_shape";
    /// How the AWSCURRENT login reaches the server (verified TLS, and for which name).
    pub const TLS: &str = "tls";
    /// AWSCURRENT logs in, as its own user.
    pub const CURRENT_LOGIN: &str = "current_login";
    /// The user may change its own password (single user).
    pub const OWN_PASSWORD: &str = "own_password_privilege";
    /// The superuser may create users and give them another's privileges (alternating users).
    pub const MANAGE_USERS: &str = "manage_users_privilege";
    /// What a password-policy (validation) plugin on the server means for rotation.
    pub const PASSWORD_POLICY: &str = "password_policy";
    /// Whether a server log (a general query log, an audit plugin) would record a password
    /// this function sends as plaintext (MySQL, MariaDB).
    pub const PASSWORD_LOGGING: &str = "password_logging";
    /// The other user of an alternating pair has a name the server accepts.
    pub const CLONE_NAME: &str = "clone_name";
    /// `masterarn` is readable and names the same server (the RDS and managed-secret lookups
    /// included).
    pub const SUPERUSER_SECRET: &str = "superuser_secret";
    /// The superuser logs in.
    pub const SUPERUSER_LOGIN: &str = "superuser_login";
    /// Whether a stale AWSPENDING's credentials log in (so whether setSecret ran).
    pub const PENDING_LOGIN: &str = "pending_login";
    /// Whether AWSPREVIOUS's credentials still log in (asked for with `"Previous": true`).
    pub const PREVIOUS_LOGIN: &str = "previous_login";
    /// The function's own service (ElastiCache: the user, its status).
    pub const SERVICE: &str = "service";
}

/// One check of a preflight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// A stable name (see [`names`]).
    pub name: &'static str,
    /// True when this check would not stop a rotation.
    pub ok: bool,
    /// What was found, and what to do when it is not ok. Never a secret value.
    pub detail: String,
}

/// A version the report says something about, and whether its credentials log in (`None`:
/// not tried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionState {
    /// The version id.
    pub version: String,
    /// Whether its credentials log in now.
    pub logs_in: Option<bool>,
    /// AWSPENDING only: whether taking AWSPENDING off this version (aborting the rotation)
    /// leaves every client working. `None`: unknown.
    pub abort_safe: Option<bool>,
}

/// What a preflight asks besides the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PreflightOptions {
    /// Also log in with AWSPREVIOUS (a rollback needs to know it still works; after a
    /// single-user rotation it is refused, which some servers count against the account).
    pub previous: bool,
}

/// The answer of a preflight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The secret's ARN, once DescribeSecret answered.
    pub secret: Option<String>,
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
    /// The AWSCURRENT version id.
    pub current: Option<String>,
    /// A version carrying AWSPENDING that is not AWSCURRENT (a rotation in progress).
    pub pending: Option<VersionState>,
    /// The AWSPREVIOUS version.
    pub previous: Option<VersionState>,
}

impl Report {
    /// Records a check that passed.
    pub fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, true, detail);
    }

    /// Records a check that failed.
    pub fn fail(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, false, detail);
    }

    /// Records a check.
    pub fn push(&mut self, name: &'static str, ok: bool, detail: impl Into<String>) {
        let detail = detail.into();
        tracing::debug!(check = name, ok, detail = %detail, "preflight check");
        self.checks.push(Check { name, ok, detail });
    }

    /// Records a failed check from an error (error messages never carry secret values).
    pub fn fail_with(&mut self, name: &'static str, error: &RotationError) {
        self.fail(name, format!("{}: {error}", error.error_type()));
    }

    /// True when every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The check named `name`, if it ran.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The report as the function answers it.
    pub fn to_value(&self) -> Value {
        let state = |s: &Option<VersionState>| match s {
            None => Value::Null,
            Some(s) => {
                json!({"version": s.version, "logsIn": s.logs_in, "abortSafe": s.abort_safe})
            }
        };
        json!({
            "ok": self.ok(),
            "secret": self.secret,
            "checks": self.checks.iter().map(|c| json!({
                "name": c.name, "ok": c.ok, "detail": c.detail,
            })).collect::<Vec<_>>(),
            "versions": {
                "current": self.current,
                "pending": state(&self.pending),
                "previous": state(&self.previous),
            },
        })
    }
}
