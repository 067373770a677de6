//! What the function's log group says about a rotation: the steps its invocations finished and
//! the last failure, read from the summary line each invocation logs (JSON, with `step`,
//! `token`, `outcome`, `error_type`, `error`).

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
}

impl StepLine {
    /// As JSON.
    pub fn to_value(&self) -> Value {
        json!({"timestamp": self.timestamp, "step": self.step, "outcome": self.outcome,
               "errorType": self.error_type, "error": self.error})
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

/// The summary line in `message` when it is one for `token`.
pub fn step_line(timestamp: i64, message: &str, token: &str) -> Option<StepLine> {
    let line: Value = serde_json::from_str(message.trim()).ok()?;
    let text = |k: &str| line.get(k).and_then(Value::as_str).map(str::to_string);
    let summary = matches!(
        text("message").as_deref(),
        Some("rotation step finished" | "rotation step failed")
    );
    if !summary || text("token").as_deref() != Some(token) {
        return None;
    }
    Some(StepLine {
        timestamp,
        step: text("step")?,
        outcome: text("outcome")?,
        error_type: text("error_type"),
        error: text("error"),
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
}
