//! What every command shares: the AWS clients, the answer ([`Done`]), how long a rotation is
//! waited for and how the wait is shown, and how versions and reports are laid out.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::logs;
use crate::secret::SecretState;
use crate::term::{say, table, Text};

/// Added to a function's timeout before the tool counts on its invocations having ended: for
/// the clocks, and for Secrets Manager to show every reader the label change.
pub const MARGIN: Duration = Duration::from_secs(2);

/// The longest a whole rotation is waited for: its four invocations, each within the function's
/// `timeout`, and a minute for Secrets Manager's own pace around them.
pub(crate) fn rotation_bound(timeout: Duration) -> Duration {
    timeout * 4 + Duration::from_secs(60)
}

/// The AWS clients a command may use.
pub struct Clients {
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

/// What a command answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// True when it did what was asked (or found nothing to do); false when a check failed
    /// or it refused.
    pub ok: bool,
    /// For `--output text`.
    pub text: Text,
    /// For `--output json`.
    pub json: Value,
}

/// Runs `work`, telling the operator on stderr every few seconds that it is still waiting.
pub(crate) async fn with_progress<T>(what: &str, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    tokio::pin!(work);
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.tick().await;
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tick.tick() => say(&format!("  ... still waiting for {what} ({} s)", started.elapsed().as_secs())),
        }
    }
}

/// The versions as a table: id, labels, and the creation time and fingerprint when read.
pub(crate) fn versions_table(state: &SecretState) -> Vec<String> {
    let created = state.versions.iter().any(|v| v.created.is_some());
    let fingerprints = state.versions.iter().any(|v| v.fingerprint.is_some());
    let mut header = vec!["VERSION".to_string(), "LABELS".into()];
    if created {
        header.push("CREATED".into());
    }
    if fingerprints {
        header.push("PASSWORD FINGERPRINT".into());
    }
    let mut rows = vec![header];
    for v in &state.versions {
        let mut row = vec![v.id.clone(), v.stages.join(",")];
        if created {
            row.push(v.created.clone().unwrap_or_else(|| "-".into()));
        }
        if fingerprints {
            row.push(v.fingerprint.clone().unwrap_or_else(|| "-".into()));
        }
        rows.push(row);
    }
    table(&rows)
}

/// Where the rotation `token` stopped, from `function`'s log group: a sentence, and the
/// summary lines as JSON (null when they could not be read).
pub(crate) async fn stopped_at(
    clients: &Clients,
    function: &str,
    token: &str,
    since_ms: Option<i64>,
) -> (String, Value) {
    match logs::step_lines(&clients.logs, function, token, since_ms).await {
        Ok(lines) if lines.is_empty() => (
            format!(
                "the function's log group ({}) has no step of this rotation",
                logs::log_group(function)
            ),
            json!([]),
        ),
        Ok(lines) => (
            logs::stopped_at(&lines),
            lines.iter().map(logs::StepLine::to_value).collect(),
        ),
        Err(why) => (
            format!("the function's logs could not be read ({why})"),
            json!(null),
        ),
    }
}

/// The report as a table.
pub(crate) fn report_table(report: &Value) -> Vec<String> {
    let mut rows = vec![vec!["CHECK".to_string(), "RESULT".into(), "DETAIL".into()]];
    for c in report["checks"].as_array().into_iter().flatten() {
        rows.push(vec![
            c["name"].as_str().unwrap_or("?").to_string(),
            if c["ok"] == true { "ok" } else { "FAILED" }.to_string(),
            c["detail"].as_str().unwrap_or("").to_string(),
        ]);
    }
    table(&rows)
}

/// A refusal: one line of text, and its JSON.
pub(crate) fn refused(line: String, json: Value) -> Done {
    Done {
        ok: false,
        text: Text::from(line),
        json,
    }
}

/// The check named `name` in a report: (ok, detail).
pub(crate) fn check<'a>(report: &'a Value, name: &str) -> Option<(bool, &'a str)> {
    report["checks"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
        .map(|c| (c["ok"] == true, c["detail"].as_str().unwrap_or("")))
}
