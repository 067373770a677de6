//! What Secrets Manager says about a secret: its rotation settings and its versions, each with
//! its labels, creation time and, when asked, a password fingerprint (never the value); and the
//! two changes the commands make: a label move, and RotateSecret.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::types::RotationRulesType;
use aws_sdk_secretsmanager::Client;
use aws_smithy_types::date_time::Format;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::args::Schedule;
use crate::error::{sdk_detail, CtlError, Result};

/// The staging labels the rotation functions use.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// See [`AWSCURRENT`].
pub const AWSPENDING: &str = "AWSPENDING";
/// See [`AWSCURRENT`].
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// One version of the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The version id (a rotation's ClientRequestToken).
    pub id: String,
    /// Its staging labels.
    pub stages: Vec<String>,
    /// When it was created (RFC 3339), when read ([`Detail::Versions`]).
    pub created: Option<String>,
    /// Milliseconds since the epoch of the creation, when read.
    pub created_ms: Option<i64>,
    /// The password fingerprint ([`fingerprint`]) or why there is none, when asked
    /// ([`Detail::Fingerprints`]).
    pub fingerprint: Option<String>,
}

/// How much [`read`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// DescribeSecret: the rotation settings and the labels.
    Labels,
    /// Also ListSecretVersionIds (every page): the labels and each version's creation time
    /// from there.
    Versions,
    /// Also GetSecretValue per labelled version: the password fingerprints. A version whose
    /// value may not be read is shown so (`(not permitted)`), not an error.
    Fingerprints,
}

impl Version {
    /// True when it carries `label`.
    pub fn has(&self, label: &str) -> bool {
        self.stages.iter().any(|s| s == label)
    }
}

/// A secret as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretState {
    /// The ARN.
    pub arn: String,
    /// The name.
    pub name: String,
    /// `RotationEnabled`.
    pub rotation_enabled: Option<bool>,
    /// `RotationLambdaARN`.
    pub function: Option<String>,
    /// The rotation rules, as one sentence.
    pub rules: Option<String>,
    /// The rotation rules, as given to RotateSecret.
    pub schedule: Option<Schedule>,
    /// `LastRotatedDate` (RFC 3339).
    pub last_rotated: Option<String>,
    /// `NextRotationDate` (RFC 3339).
    pub next_rotation: Option<String>,
    /// The versions with a label, oldest first.
    pub versions: Vec<Version>,
}

impl SecretState {
    /// The version carrying `label`.
    pub fn with(&self, label: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.has(label))
    }

    /// The rotation in progress: AWSPENDING on a version that is not AWSCURRENT.
    pub fn pending(&self) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.has(AWSPENDING) && !v.has(AWSCURRENT))
    }

    /// The secret as JSON (for `--output json`).
    pub fn to_value(&self) -> Value {
        json!({
            "arn": self.arn,
            "name": self.name,
            "rotation": {
                "enabled": self.rotation_enabled,
                "function": self.function,
                "rules": self.rules,
                "lastRotated": self.last_rotated,
                "nextRotation": self.next_rotation,
            },
            "versions": self.versions.iter().map(|v| {
                let mut version = json!({"id": v.id, "stages": v.stages, "created": v.created});
                if let Some(f) = &v.fingerprint {
                    version["passwordFingerprint"] = json!(f);
                }
                version
            }).collect::<Vec<_>>(),
        })
    }
}

/// A fingerprint of `password`: the first 8 bytes of HMAC-SHA-256 under `key`, in hex. The
/// tool draws the key at random for each run and never shows it: equal fingerprints in one
/// output mean equal passwords, and nothing in the output lets anyone check a guess.
pub fn fingerprint(key: &[u8], password: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return "unavailable".into();
    };
    mac.update(password.as_bytes());
    let digest = mac.finalize().into_bytes();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// What to show for a version's value: the fingerprint of its `password`, or why there is none.
fn fingerprint_of(key: &[u8], value: Option<&str>) -> String {
    let Some(text) = value else {
        return "(no value)".into();
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => match map.get("password") {
            Some(Value::String(p)) => fingerprint(key, p),
            _ => "(no password key)".into(),
        },
        _ => "(not a JSON object)".into(),
    }
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
}

/// The rules as one sentence (`every 30 days, window 4h`).
pub fn rules_text(s: &Schedule) -> String {
    let mut parts = Vec::new();
    if let Some(days) = s.days {
        parts.push(format!("every {days} days"));
    }
    if let Some(expression) = &s.expression {
        parts.push(format!("schedule {expression}"));
    }
    if let Some(window) = &s.duration {
        parts.push(format!("window {window}"));
    }
    parts.join(", ")
}

fn sm_error<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> CtlError {
    move |e| CtlError::SecretsManager {
        operation,
        detail: sdk_detail(&e),
    }
}

/// Reads the secret's rotation settings and labelled versions, as much as `detail` says. Only
/// [`Detail::Fingerprints`] reads values (the other commands need no read access to them).
pub async fn read(client: &Client, secret_id: &str, detail: Detail) -> Result<SecretState> {
    let d = client
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(sm_error("DescribeSecret"))?;
    let arn = d.arn().unwrap_or(secret_id).to_string();
    let mut versions = Vec::new();
    if detail == Detail::Labels {
        for (id, stages) in d.version_ids_to_stages().cloned().unwrap_or_default() {
            versions.push(Version {
                id,
                stages,
                created: None,
                created_ms: None,
                fingerprint: None,
            });
        }
    } else {
        let mut next: Option<String> = None;
        // Secrets Manager keeps about a hundred versions: a hundred pages of a hundred is
        // far more than a secret can have.
        for _ in 0..100 {
            let page = client
                .list_secret_version_ids()
                .secret_id(&arn)
                .max_results(100)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(sm_error("ListSecretVersionIds"))?;
            for v in page.versions() {
                let Some(id) = v.version_id() else { continue };
                versions.push(Version {
                    id: id.to_string(),
                    stages: v.version_stages().to_vec(),
                    created: time(v.created_date()),
                    created_ms: v.created_date().and_then(|t| t.to_millis().ok()),
                    fingerprint: None,
                });
            }
            match page.next_token() {
                Some(t) if !t.is_empty() && Some(t) != next.as_deref() => next = Some(t.into()),
                _ => break,
            }
        }
    }
    versions.retain(|v| !v.stages.is_empty());
    if detail == Detail::Fingerprints {
        let key = uuid::Uuid::new_v4();
        for v in &mut versions {
            let value = client
                .get_secret_value()
                .secret_id(&arn)
                .version_id(&v.id)
                .send()
                .await;
            v.fingerprint = Some(match value {
                Ok(value) => fingerprint_of(key.as_bytes(), value.secret_string()),
                Err(e) => match e.code() {
                    Some("AccessDeniedException") => "(not permitted)".into(),
                    Some("ResourceNotFoundException") => "(no value)".into(),
                    Some(code) => format!("(not read: {code})"),
                    // Not an answer of the service (network, timeout): the command fails.
                    None => return Err(sm_error("GetSecretValue")(e)),
                },
            });
        }
    }
    versions.sort_by_key(|v| (v.created_ms.unwrap_or(i64::MAX), v.id.clone()));
    let schedule = d.rotation_rules().map(|r| Schedule {
        days: r.automatically_after_days(),
        expression: r.schedule_expression().map(str::to_string),
        duration: r.duration().map(str::to_string),
    });
    Ok(SecretState {
        name: d.name().unwrap_or_default().to_string(),
        arn,
        rotation_enabled: d.rotation_enabled(),
        function: d.rotation_lambda_arn().map(str::to_string),
        rules: schedule.as_ref().map(rules_text).filter(|r| !r.is_empty()),
        schedule: schedule.filter(|s| !s.is_empty()),
        last_rotated: time(d.last_rotated_date()),
        next_rotation: time(d.next_rotation_date()),
        versions,
    })
}

/// RotateSecret with the function, the rules and the version id `token`: with `immediately`
/// false, Secrets Manager attaches the function and only tests the configuration (testSecret
/// on a temporary AWSPENDING copy of AWSCURRENT, removed after); with true, it rotates now
/// (asynchronously: the function runs the steps).
pub async fn rotate(
    client: &Client,
    arn: &str,
    token: &str,
    function_arn: &str,
    rules: &Schedule,
    immediately: bool,
) -> Result<()> {
    let rules = RotationRulesType::builder()
        .set_automatically_after_days(rules.days)
        .set_schedule_expression(rules.expression.clone())
        .set_duration(rules.duration.clone())
        .build();
    client
        .rotate_secret()
        .secret_id(arn)
        .client_request_token(token)
        .rotation_lambda_arn(function_arn)
        .rotation_rules(rules)
        .rotate_immediately(immediately)
        .send()
        .await
        .map_err(sm_error("RotateSecret"))?;
    Ok(())
}

/// RotateSecret for one rotation now with the rotation function already attached
/// (`function_arn`) and the version id `token`; the rotation rules are left as they are.
/// Secrets Manager creates the AWSPENDING version and invokes the function for the four steps
/// (asynchronously). The attached function is named again, which changes nothing on the
/// service (moto, the emulator the tests use, forgets the function when none is named).
pub async fn rotate_now(client: &Client, arn: &str, token: &str, function_arn: &str) -> Result<()> {
    client
        .rotate_secret()
        .secret_id(arn)
        .client_request_token(token)
        .rotation_lambda_arn(function_arn)
        .rotate_immediately(true)
        .send()
        .await
        .map_err(sm_error("RotateSecret"))?;
    Ok(())
}

/// Moves `label` to `to` (from `from`), or off `from` when `to` is None: UpdateSecretVersionStage.
pub async fn move_label(
    client: &Client,
    arn: &str,
    label: &str,
    to: Option<&str>,
    from: Option<&str>,
) -> Result<()> {
    client
        .update_secret_version_stage()
        .secret_id(arn)
        .version_stage(label)
        .set_move_to_version_id(to.map(str::to_string))
        .set_remove_from_version_id(from.map(str::to_string))
        .send()
        .await
        .map_err(sm_error("UpdateSecretVersionStage"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_keyed_and_hide_the_password() {
        let a = fingerprint(b"k1", "hunter2-Pa55word");
        assert_eq!(a.len(), 16);
        assert_eq!(a, fingerprint(b"k1", "hunter2-Pa55word"));
        assert_ne!(a, fingerprint(b"k2", "hunter2-Pa55word"));
        assert_ne!(a, fingerprint(b"k1", "hunter3-Pa55word"));
        assert!(!a.contains("hunter"));
        assert_eq!(fingerprint_of(b"k1", Some("[1]")), "(not a JSON object)");
        assert_eq!(fingerprint_of(b"k1", Some("{}")), "(no password key)");
        assert_eq!(fingerprint_of(b"k1", None), "(no value)");
    }
}
