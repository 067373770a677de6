//! What the function's log group says about a rotation: the steps its invocations finished and
//! the last failure, read from the summary line each invocation logs (JSON, with `step`,
//! `outcome`, `error_type`, `error`). The lines are found with FilterLogEvents and a term
//! pattern (the token anywhere in the line), and read in either of the functions' two log
//! shapes: the invocation's `token` and request id at the top level (`token`,
//! `function_request_id`, the Lambda / Powertools field names) or under `span` (`span.token`,
//! `span.request_id`, the earlier shape).

use aws_sdk_cloudwatchlogs::Client;
use serde_json::{json, Value};

use crate::error::sdk_detail;

/// At most this many log events are read.
const MAX_EVENTS: usize = 10_000;

/// One invocation of a rotation's step, as its summary line has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLine {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// `createSecret`, `setSecret`, ...
    pub step: String,
    /// `done`, `already_created`, `already_current`, or `error`.
    pub outcome: String,
    /// The `errorType`, for a failure.
    pub error_type: Option<String>,
    /// The error message, for a failure.
    pub error: Option<String>,
    /// The Lambda request id of the invocation, when the line has it.
    pub request_id: Option<String>,
}

impl StepLine {
    /// As JSON.
    pub fn to_value(&self) -> Value {
        json!({"timestamp": self.timestamp, "step": self.step, "outcome": self.outcome,
               "errorType": self.error_type, "error": self.error, "requestId": self.request_id})
    }
}

/// The log group of a function given by name or ARN (`arn:aws:lambda:r:acct:function:NAME`).
pub fn log_group(function: &str) -> String {
    let name = match function.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name.to_string(),
        _ => function.to_string(),
    };
    format!("/aws/lambda/{name}")
}

/// The summary line in `message` when it is one for `token`, in either log shape (the
/// invocation's fields at the top level, or under `span`).
pub fn step_line(timestamp: i64, message: &str, token: &str) -> Option<StepLine> {
    let line: Value = serde_json::from_str(message.trim()).ok()?;
    let text = |k: &str| line.get(k).and_then(Value::as_str).map(str::to_string);
    let span = |k: &str| line.get("span")?.get(k)?.as_str().map(str::to_string);
    let summary = matches!(
        text("message").as_deref(),
        Some("rotation step finished" | "rotation step failed")
    );
    let of_token = [text("token"), span("token")]
        .iter()
        .any(|t| t.as_deref() == Some(token));
    if !summary || !of_token {
        return None;
    }
    Some(StepLine {
        timestamp,
        step: text("step")?,
        outcome: text("outcome")?,
        error_type: text("error_type"),
        error: text("error"),
        request_id: text("function_request_id").or_else(|| span("request_id")),
    })
}

/// The summary lines for `token` in `function`'s log group since `since_ms`, oldest first;
/// `Err` says why they could not be read (no log group, no permission).
pub async fn step_lines(
    client: &Client,
    function: &str,
    token: &str,
    since_ms: Option<i64>,
) -> std::result::Result<Vec<StepLine>, String> {
    let group = log_group(function);
    let mut pages = client
        .filter_log_events()
        .log_group_name(&group)
        .filter_pattern(format!("\"{token}\""))
        // A minute early: the function's clock and Secrets Manager's may differ a little.
        .set_start_time(since_ms.map(|ms| ms - 60_000))
        .into_paginator()
        .send();
    let mut lines = Vec::new();
    let mut seen = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("{group}: {}", sdk_detail(&e)))?;
        for event in page.events() {
            seen += 1;
            if let (Some(t), Some(m)) = (event.timestamp(), event.message()) {
                lines.extend(step_line(t, m, token));
            }
        }
        if seen >= MAX_EVENTS {
            break;
        }
    }
    lines.sort_by_key(|l| l.timestamp);
    Ok(lines)
}

/// Where a rotation stopped, from its summary lines: the last step that finished, and the
/// last failure after it.
pub fn stopped_at(lines: &[StepLine]) -> String {
    const ORDER: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];
    let rank = |s: &str| ORDER.iter().position(|o| *o == s);
    let done = lines
        .iter()
        .filter(|l| l.outcome != "error")
        .max_by_key(|l| rank(&l.step));
    let failed = lines.iter().rev().find(|l| l.outcome == "error");
    let mut text = match done {
        Some(d) => format!("the last step that finished is {}", d.step),
        None => "no step finished".to_string(),
    };
    if let Some(f) = failed.filter(|f| done.is_none_or(|d| rank(&f.step) > rank(&d.step))) {
        text.push_str(&format!(
            "; {} failed: {}: {}",
            f.step,
            f.error_type.as_deref().unwrap_or("error"),
            f.error.as_deref().unwrap_or("")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_of_the_token_are_read_and_the_stop_is_named() {
        let ok = r#"{"message":"rotation step finished","step":"createSecret","token":"t1","outcome":"done"}"#;
        let failed = r#"{"message":"rotation step failed","step":"setSecret","token":"t1","outcome":"error","error_type":"AuthenticationFailed","error":"refused"}"#;
        let other = r#"{"message":"rotation step finished","step":"setSecret","token":"t2","outcome":"done"}"#;
        let lines: Vec<_> = [
            (1, ok),
            (2, failed),
            (3, other),
            (4, "START RequestId: x"),
            (5, "{"),
        ]
        .into_iter()
        .filter_map(|(t, m)| step_line(t, m, "t1"))
        .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            stopped_at(&lines),
            "the last step that finished is createSecret; setSecret failed: AuthenticationFailed: refused"
        );
        assert_eq!(stopped_at(&[]), "no step finished");
        assert_eq!(
            log_group("arn:aws:lambda:us-east-1:123:function:rot:live"),
            "/aws/lambda/rot"
        );
        assert_eq!(log_group("rot"), "/aws/lambda/rot");
    }

    #[test]
    fn both_log_shapes_are_read() {
        // The earlier shape: the invocation's fields only under `span`.
        let spanned = r#"{"timestamp":"2025-01-01T00:00:00Z","level":"INFO","target":"rotation_core","message":"rotation step finished","step":"createSecret","outcome":"done","duration_ms":3.1,"span":{"request_id":"req-1","secret_arn":"arn:s","token":"t1","name":"invocation"}}"#;
        // The Lambda / Powertools shape: at the top level.
        let flat = r#"{"level":"ERROR","message":"rotation step failed","timestamp":"2025-01-01T00:00:01Z","service":"rotation","cold_start":false,"function_request_id":"req-2","secret_arn":"arn:s","token":"t1","step":"setSecret","outcome":"error","error_type":"AuthenticationFailed","error":"refused","duration_ms":9.0}"#;
        let other = r#"{"level":"INFO","message":"rotation step finished","token":"t2","function_request_id":"req-3","step":"testSecret","outcome":"done"}"#;
        let other_span = r#"{"message":"rotation step finished","step":"testSecret","outcome":"done","span":{"token":"t2"}}"#;
        let not_summary =
            r#"{"level":"INFO","message":"preflight finished","token":"t1","span":{"token":"t1"}}"#;
        let lines: Vec<_> = [
            (1, spanned),
            (2, flat),
            (3, other),
            (4, other_span),
            (5, not_summary),
        ]
        .into_iter()
        .filter_map(|(t, m)| step_line(t, m, "t1"))
        .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            (lines[0].step.as_str(), lines[0].request_id.as_deref()),
            ("createSecret", Some("req-1"))
        );
        assert_eq!(
            (lines[1].step.as_str(), lines[1].request_id.as_deref()),
            ("setSecret", Some("req-2"))
        );
        assert_eq!(
            stopped_at(&lines),
            "the last step that finished is createSecret; setSecret failed: AuthenticationFailed: refused"
        );
        assert_eq!(lines[1].to_value()["requestId"], "req-2");
    }
}
