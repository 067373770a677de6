//! What Secrets Manager says about a secret: its rotation settings and its versions, each with
//! its labels, creation time and a password fingerprint (never the value).

use aws_sdk_secretsmanager::Client;
use aws_smithy_types::date_time::Format;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

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
    /// When it was created (RFC 3339), when it has a value.
    pub created: Option<String>,
    /// Milliseconds since the epoch of the creation, when it has a value.
    pub created_ms: Option<i64>,
    /// The password fingerprint ([`fingerprint`]), or why there is none.
    pub fingerprint: String,
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
            "versions": self.versions.iter().map(|v| json!({
                "id": v.id,
                "stages": v.stages,
                "created": v.created,
                "passwordFingerprint": v.fingerprint,
            })).collect::<Vec<_>>(),
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

/// Reads the secret's rotation settings and labelled versions; with `values`, also each
/// version's creation time and password fingerprint (GetSecretValue per version; the other
/// commands do without, so they need no read access to the values).
pub async fn read(client: &Client, secret_id: &str, values: bool) -> Result<SecretState> {
    let key = uuid::Uuid::new_v4();
    let d = client
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| CtlError::SecretsManager {
            operation: "DescribeSecret",
            detail: sdk_detail(&e),
        })?;
    let arn = d.arn().unwrap_or(secret_id).to_string();
    let mut versions = Vec::new();
    for (id, stages) in d.version_ids_to_stages().cloned().unwrap_or_default() {
        if stages.is_empty() {
            continue;
        }
        if !values {
            versions.push(Version {
                id,
                stages,
                created: None,
                created_ms: None,
                fingerprint: "(not read)".into(),
            });
            continue;
        }
        let value = client
            .get_secret_value()
            .secret_id(&arn)
            .version_id(&id)
            .send()
            .await;
        // GetSecretValue's CreatedDate is the version's (ListSecretVersionIds would cost
        // more calls, and moto answers it with the time of the call).
        let (fingerprint, created, created_ms) = match value {
            Ok(v) => (
                fingerprint_of(key.as_bytes(), v.secret_string()),
                time(v.created_date()),
                v.created_date().and_then(|t| t.to_millis().ok()),
            ),
            Err(e) => {
                let detail = sdk_detail(&e);
                if detail.contains("ResourceNotFoundException") {
                    ("(no value)".into(), None, None)
                } else {
                    return Err(CtlError::SecretsManager {
                        operation: "GetSecretValue",
                        detail,
                    });
                }
            }
        };
        versions.push(Version {
            id,
            stages,
            created,
            created_ms,
            fingerprint,
        });
    }
    versions.sort_by_key(|v| (v.created_ms.unwrap_or(i64::MAX), v.id.clone()));
    let rules = d.rotation_rules().map(|r| {
        let mut parts = Vec::new();
        if let Some(days) = r.automatically_after_days() {
            parts.push(format!("every {days} days"));
        }
        if let Some(expression) = r.schedule_expression() {
            parts.push(format!("schedule {expression}"));
        }
        if let Some(window) = r.duration() {
            parts.push(format!("window {window}"));
        }
        parts.join(", ")
    });
    Ok(SecretState {
        name: d.name().unwrap_or_default().to_string(),
        arn,
        rotation_enabled: d.rotation_enabled(),
        function: d.rotation_lambda_arn().map(str::to_string),
        rules: rules.filter(|r| !r.is_empty()),
        last_rotated: time(d.last_rotated_date()),
        next_rotation: time(d.next_rotation_date()),
        versions,
    })
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
        .map_err(|e| CtlError::SecretsManager {
            operation: "UpdateSecretVersionStage",
            detail: sdk_detail(&e),
        })?;
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
