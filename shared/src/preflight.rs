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

use serde_json::Value;

use crate::error::{Result, RotationError};
use crate::event::json_kind;
use crate::labels::{self, VersionStages, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::password::PasswordPolicy;
pub use crate::report::{names, Check, PreflightOptions, Report, VersionState};
use crate::steps::{Rotation, StepContext};
use crate::store::SecretStore;

/// The `Step` value of a preflight event.
pub const PREFLIGHT: &str = "preflight";

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
