//! The rotation function, invoked through the Lambda API with the operator's credentials: its
//! preflight, and the rotation steps (each safe to repeat); and its configuration (ARN and
//! timeout).

use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use serde_json::{json, Value};

use crate::error::{sdk_detail, CtlError, Result};

/// What GetFunctionConfiguration says of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// `FunctionArn` (what RotateSecret takes).
    pub arn: String,
    /// `Timeout`: no invocation runs longer.
    pub timeout: Duration,
}

/// A deployed rotation function.
pub struct Function {
    client: aws_sdk_lambda::Client,
    /// Its name or ARN, as given.
    pub name: String,
}

impl Function {
    /// The function `name` (a name or an ARN).
    pub fn new(client: aws_sdk_lambda::Client, name: &str) -> Self {
        Self {
            client,
            name: name.to_string(),
        }
    }

    /// Its ARN and timeout: GetFunctionConfiguration.
    pub async fn configuration(&self) -> Result<Configuration> {
        let out = self
            .client
            .get_function_configuration()
            .function_name(&self.name)
            .send()
            .await
            .map_err(|e| CtlError::Lambda {
                operation: "GetFunctionConfiguration",
                function: self.name.clone(),
                detail: sdk_detail(&e),
            })?;
        let missing = |what: &str| CtlError::Lambda {
            operation: "GetFunctionConfiguration",
            function: self.name.clone(),
            detail: format!("the answer has no {what}"),
        };
        let arn = out
            .function_arn()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| missing("FunctionArn"))?;
        let timeout = out
            .timeout()
            .and_then(|t| u64::try_from(t).ok())
            .filter(|t| *t > 0)
            .ok_or_else(|| missing("Timeout"))?;
        Ok(Configuration {
            arn: arn.to_string(),
            timeout: Duration::from_secs(timeout),
        })
    }

    /// Invokes it synchronously with `payload` and returns what it answered; a function error
    /// is [`CtlError::Function`] with its `errorType` and `errorMessage`.
    pub async fn invoke(&self, payload: &Value) -> Result<Value> {
        let out = self
            .client
            .invoke()
            .function_name(&self.name)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .map_err(|e| CtlError::Invoke {
                function: self.name.clone(),
                detail: sdk_detail(&e),
            })?;
        let body = out
            .payload()
            .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
            .unwrap_or_default();
        let answer: Value = if body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).map_err(|_| {
                CtlError::Refused(format!(
                    "{} answered something that is not JSON ({} bytes)",
                    self.name,
                    body.len()
                ))
            })?
        };
        if out.function_error().is_some() {
            let text = |k: &str| {
                answer
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            return Err(CtlError::Function {
                function: self.name.clone(),
                error_type: Some(text("errorType"))
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "Unhandled".into()),
                message: text("errorMessage"),
            });
        }
        Ok(answer)
    }

    /// The preflight report for `secret` (with the AWSPREVIOUS login when `previous`). A
    /// function that answers anything but a report (an older release, or not one of this
    /// toolkit's functions) is refused with a clear message.
    pub async fn preflight(&self, secret: &str, previous: bool) -> Result<Value> {
        let report = self
            .invoke(&json!({"Step": "preflight", "SecretId": secret, "Previous": previous}))
            .await
            .map_err(|e| match e {
                CtlError::Function { error_type, .. } if error_type == "InvalidEvent" || error_type == "InvalidStep" => {
                    CtlError::Refused(format!(
                        "{} does not answer preflight events ({error_type}): deploy a release of this toolkit that has them",
                        self.name
                    ))
                }
                other => other,
            })?;
        if !report.get("ok").is_some_and(Value::is_boolean) || !report["checks"].is_array() {
            return Err(CtlError::Refused(format!(
                "{} answered the preflight with something that is not a preflight report",
                self.name
            )));
        }
        Ok(report)
    }

    /// Runs `step` of the rotation `token` of `secret`.
    pub async fn step(&self, secret: &str, token: &str, step: &str) -> Result<()> {
        self.invoke(&json!({"Step": step, "SecretId": secret, "ClientRequestToken": token}))
            .await
            .map(|_| ())
    }
}
