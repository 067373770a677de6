//! Preflight: the extra event `{"Step": "preflight", "SecretId": ARN}` that an operator (or the
//! operator tool) sends to a deployed function before attaching it to a secret, or while a
//! rotation is stuck. Secrets Manager never sends it. It changes nothing: it reads the secret,
//! logs in, reads what the server says the user may do, and answers a JSON [`Report`]:
//! `{"ok", "secret", "checks": [{"name", "ok", "detail"}], "versions"}`. No secret value, and
//! nothing derived from one, is ever part of it.
//!
//! The shared part here checks what every function needs (Secrets Manager answers, no rotation
//! in progress, AWSCURRENT is a secret of this function); [`Rotation::preflight`] adds the
//! function's own checks (for databases: TLS, logins, privileges, the superuser secret).

use std::time::Instant;

use serde_json::{json, Value};

use crate::error::{Result, RotationError};
use crate::event::json_kind;
use crate::labels::{self, VersionStages, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::password::PasswordPolicy;
use crate::steps::{Rotation, StepContext};
use crate::store::SecretStore;

/// The `Step` value of a preflight event.
pub const PREFLIGHT: &str = "preflight";

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

/// True when `payload` is a preflight event (`"Step": "preflight"`).
pub fn is_preflight(payload: &Value) -> bool {
    payload.get("Step").and_then(Value::as_str) == Some(PREFLIGHT)
}

/// Reads a preflight event: `SecretId` (a non-empty string) and the optional `Previous`
/// (a boolean).
pub fn parse_preflight(payload: &Value) -> Result<(String, PreflightOptions)> {
    let secret_id = match payload.get("SecretId") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => return Err(invalid("field SecretId is empty".into())),
        Some(other) => {
            return Err(invalid(format!(
                "field SecretId must be a string, found a JSON {}",
                json_kind(other)
            )))
        }
        None => return Err(invalid("field SecretId is missing".into())),
    };
    let previous = match payload.get("Previous") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(invalid(format!(
                "field Previous must be a boolean, found a JSON {}",
                json_kind(other)
            )))
        }
    };
    Ok((secret_id, PreflightOptions { previous }))
}

/// A malformed preflight event, saying what one looks like.
fn invalid(problem: String) -> RotationError {
    RotationError::InvalidEvent(format!(
        "{problem} (a preflight event is {{\"Step\": \"preflight\", \"SecretId\": ARN, \"Previous\": optional boolean}})"
    ))
}

/// Runs a preflight and answers its report. Only a malformed event is an error; everything
/// the preflight finds, a failure to reach Secrets Manager included, is a check in the report.
/// Changes nothing.
pub async fn handle_preflight<S: SecretStore, R: Rotation>(
    store: &S,
    rotation: &R,
    policy: &PasswordPolicy,
    payload: &Value,
) -> Result<Value> {
    let started = Instant::now();
    let (secret_id, options) = parse_preflight(payload)?;
    let report = preflight(store, rotation, policy, &secret_id, options).await;
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name)
        .collect();
    tracing::info!(
        secret_arn = report.secret.as_deref().unwrap_or(&secret_id),
        step = PREFLIGHT,
        ok = report.ok(),
        checks = report.checks.len(),
        failed = failed.join(","),
        duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        "preflight finished"
    );
    Ok(report.to_value())
}

/// The checks of a preflight on `secret_id`.
pub async fn preflight<S: SecretStore, R: Rotation>(
    store: &S,
    rotation: &R,
    policy: &PasswordPolicy,
    secret_id: &str,
    options: PreflightOptions,
) -> Report {
    let mut report = Report::default();
    let metadata = match store.describe(secret_id).await {
        Ok(m) => m,
        Err(e) => {
            report.fail_with(names::SECRETS_MANAGER, &e);
            return report;
        }
    };
    report.secret = Some(metadata.arn.clone());
    let versions = &metadata.versions;
    let current_id = labels::version_with(versions, AWSCURRENT, &metadata.arn)
        .ok()
        .flatten()
        .map(str::to_string);
    report.current = current_id.clone();
    report.previous = labels::version_with(versions, AWSPREVIOUS, &metadata.arn)
        .ok()
        .flatten()
        .map(|v| VersionState {
            version: v.to_string(),
            logs_in: None,
            abort_safe: None,
        });
    in_progress(&mut report, versions, current_id.as_deref());
    let current = match store.get_value(&metadata.arn, AWSCURRENT, None).await {
        Ok(v) => v,
        Err(e) => {
            report.fail_with(names::SECRETS_MANAGER, &e);
            return report;
        }
    };
    report.pass(
        names::SECRETS_MANAGER,
        format!(
            "DescribeSecret and GetSecretValue (AWSCURRENT) answered; rotation is {}",
            match metadata.rotation_enabled {
                Some(true) => "on",
                Some(false) => "off",
                None => "not configured",
            }
        ),
    );
    if let Err(e) = rotation.validate(&current, AWSCURRENT) {
        report.fail_with(names::SECRET_SHAPE, &e);
        return report;
    }
    report.pass(
        names::SECRET_SHAPE,
        "AWSCURRENT is a secret this function rotates",
    );
    let pending_id = report.pending.as_ref().map(|p| p.version.clone());
    let ctx = StepContext {
        store,
        arn: &metadata.arn,
        token: pending_id.as_deref().unwrap_or(""),
        rotation_token: None,
        policy,
        versions: Some(versions),
    };
    rotation
        .preflight(&ctx, &current, options, &mut report)
        .await;
    report
}

/// The rotation-in-progress check: AWSPENDING on a version other than AWSCURRENT's is a
/// rotation that started and has not finished; AWSPENDING on AWSCURRENT's version is a
/// finishSecret that moved AWSCURRENT and stopped before taking AWSPENDING off.
fn in_progress(report: &mut Report, versions: &VersionStages, current: Option<&str>) {
    let pending = labels::versions_with(versions, AWSPENDING);
    match pending.as_slice() {
        [] => report.pass(names::NO_ROTATION_IN_PROGRESS, "no version carries AWSPENDING"),
        [one] if Some(*one) == current => report.fail(
            names::NO_ROTATION_IN_PROGRESS,
            format!(
                "AWSPENDING is still on the AWSCURRENT version {one}: finishSecret moved AWSCURRENT and stopped before taking AWSPENDING off, and the next rotation would reuse it. Resume the rotation (its finishSecret only takes the label off), or remove the label: aws secretsmanager update-secret-version-stage --version-stage AWSPENDING --remove-from-version-id {one}"
            ),
        ),
        [one] => {
            report.pending = Some(VersionState {
                version: one.to_string(),
                logs_in: None,
                abort_safe: None,
            });
            report.fail(
                names::NO_ROTATION_IN_PROGRESS,
                format!(
                    "version {one} carries AWSPENDING: a rotation started and did not finish. Resume it (the remaining steps run again, each safe to repeat) or abort it; the pending_login check, when present, says whether the server already holds the pending password, which decides whether an abort is safe (see docs/operations.md, When a rotation fails)"
                ),
            );
        }
        several => report.fail(
            names::NO_ROTATION_IN_PROGRESS,
            format!(
                "AWSPENDING is on {} versions ({}), which Secrets Manager does not allow: the labels were edited by hand; take AWSPENDING off all but one",
                several.len(),
                several.join(", ")
            ),
        ),
    }
}
