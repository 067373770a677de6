//! The rotation event Secrets Manager sends: `Step`, `SecretId`, `ClientRequestToken`.

use std::fmt;

use serde_json::Value;

use crate::error::{Result, RotationError};

/// The four rotation steps, in the order Secrets Manager invokes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Store a new AWSPENDING value.
    Create,
    /// Apply the AWSPENDING value to the service that uses the secret.
    Set,
    /// Prove the AWSPENDING value works.
    Test,
    /// Move AWSCURRENT to the AWSPENDING version.
    Finish,
}

impl Step {
    /// All steps, in invocation order.
    pub const ALL: [Step; 4] = [Step::Create, Step::Set, Step::Test, Step::Finish];

    /// The wire name (`createSecret`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Create => "createSecret",
            Step::Set => "setSecret",
            Step::Test => "testSecret",
            Step::Finish => "finishSecret",
        }
    }

    /// Parses a wire name; anything else is [`RotationError::InvalidStep`].
    pub fn parse(name: &str) -> Result<Self> {
        Step::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| RotationError::InvalidStep {
                step: truncate(name, 64),
            })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invocation of a rotation function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEvent {
    /// The step to run.
    pub step: Step,
    /// The secret ARN (or name) being rotated.
    pub secret_id: String,
    /// The version id of the new secret version (a UUID chosen by Secrets Manager).
    pub token: String,
    /// `RotationToken`: sent by Secrets Manager with each step; it must be passed to
    /// PutSecretValue when the function calls Secrets Manager through an assumed role or in
    /// another account (cross-account rotation), where the service checks it.
    pub rotation_token: Option<String>,
}

impl RotationEvent {
    /// Reads the event from the raw payload. Unknown fields are ignored; a missing or non-string
    /// field, or an unknown step, is a typed error naming the field.
    pub fn from_value(payload: &Value) -> Result<Self> {
        let object = payload.as_object().ok_or_else(|| {
            RotationError::InvalidEvent(format!(
                "the payload is a JSON {}, not an object",
                json_kind(payload)
            ))
        })?;
        let field = |name: &str| -> Result<String> {
            match object.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(Value::String(_)) => Err(RotationError::InvalidEvent(format!(
                    "field {name} is empty"
                ))),
                Some(other) => Err(RotationError::InvalidEvent(format!(
                    "field {name} must be a string, found a JSON {}",
                    json_kind(other)
                ))),
                None => Err(RotationError::InvalidEvent(format!(
                    "field {name} is missing"
                ))),
            }
        };
        let secret_id = field("SecretId")?;
        let token = field("ClientRequestToken")?;
        let step = Step::parse(&field("Step")?)?;
        let rotation_token = match object.get("RotationToken") {
            None | Some(Value::Null) => None,
            Some(_) => Some(field("RotationToken")?),
        };
        Ok(Self {
            step,
            secret_id,
            token,
            rotation_token,
        })
    }

    /// The event as Secrets Manager would send it.
    pub fn to_value(&self) -> Value {
        let mut value = serde_json::json!({
            "Step": self.step.as_str(),
            "SecretId": self.secret_id,
            "ClientRequestToken": self.token,
        });
        if let Some(rotation_token) = &self.rotation_token {
            value["RotationToken"] = Value::String(rotation_token.clone());
        }
        value
    }
}

/// A JSON value's kind, for error messages that must not echo the value itself.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rotation_token_is_optional_and_must_be_a_string() {
        let base = json!({"Step": "createSecret", "SecretId": "arn:s", "ClientRequestToken": "t"});
        assert_eq!(
            RotationEvent::from_value(&base).unwrap().rotation_token,
            None
        );
        let mut null = base.clone();
        null["RotationToken"] = Value::Null;
        assert_eq!(
            RotationEvent::from_value(&null).unwrap().rotation_token,
            None
        );
        let mut number = base;
        number["RotationToken"] = json!(7);
        let e = RotationEvent::from_value(&number).unwrap_err().to_string();
        assert!(e.contains("RotationToken") && e.contains("number"), "{e}");
    }

    #[test]
    fn parses_every_step_and_ignores_unknown_fields() {
        for step in Step::ALL {
            let v = json!({"Step": step.as_str(), "SecretId": "arn:s", "ClientRequestToken": "t", "RotationToken": "x"});
            let ev = RotationEvent::from_value(&v).unwrap();
            assert_eq!(ev.step, step);
            assert_eq!(ev.secret_id, "arn:s");
            assert_eq!(ev.token, "t");
            assert_eq!(ev.rotation_token.as_deref(), Some("x"));
            assert_eq!(RotationEvent::from_value(&ev.to_value()).unwrap(), ev);
            assert_eq!(RotationEvent::from_value(&ev.to_value()).unwrap(), ev);
        }
    }

    #[test]
    fn unknown_step_is_typed() {
        let v = json!({"Step": "rollbackSecret", "SecretId": "s", "ClientRequestToken": "t"});
        let err = RotationEvent::from_value(&v).unwrap_err();
        assert_eq!(err.error_type(), "InvalidStep");
        assert!(err.to_string().contains("rollbackSecret"));
    }

    #[test]
    fn missing_or_mistyped_fields_are_named() {
        let cases = [
            (
                json!({"SecretId": "s", "ClientRequestToken": "t"}),
                "Step is missing",
            ),
            (
                json!({"Step": "createSecret", "ClientRequestToken": "t"}),
                "SecretId is missing",
            ),
            (
                json!({"Step": "createSecret", "SecretId": "s", "ClientRequestToken": 7}),
                "ClientRequestToken must be a string",
            ),
            (
                json!({"Step": "createSecret", "SecretId": "", "ClientRequestToken": "t"}),
                "SecretId is empty",
            ),
            (json!(["createSecret"]), "JSON array, not an object"),
        ];
        for (payload, needle) in cases {
            let err = RotationEvent::from_value(&payload).unwrap_err();
            assert_eq!(err.error_type(), "InvalidEvent");
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
