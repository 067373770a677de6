//! `verify SECRET [--rotations N]`: proof, on the real service, that the attached function
//! rotates this secret. In order: the function's preflight (nothing starts unless every check
//! passes); then, N times, one rotation started with RotateSecret (never while AWSPENDING is on
//! a version) and watched until it ends (AWSCURRENT on the new version and no AWSPENDING left,
//! within four of the function's timeouts and a margin), then the preflight again, which logs
//! in with the new AWSCURRENT. Secrets Manager invokes the function for the four steps; the
//! tool only watches the labels (DescribeSecret) and the function's log group, where the first
//! failed step of the rotation is read with its `errorType` ([`crate::logs`]). It stops at the
//! first failure and reports it; it never moves a label, so a failed rotation leaves AWSCURRENT
//! where it was.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::args::Args;
use crate::error::Result;
use crate::function::Function;
use crate::logs::{self, StepLine};
use crate::outcome::{check, refused, report_table, rotation_bound, with_progress, Clients, Done};
use crate::secret::{self, Detail, SecretState, AWSCURRENT, AWSPENDING};
use crate::term::{say, table, Text};

/// How often the labels are read while a rotation runs.
const POLL: Duration = Duration::from_millis(500);

/// How often the function's log group is searched for a failed step while a rotation runs.
const LOG_POLL: Duration = Duration::from_secs(2);

/// The first failure of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where: `preflight`, a step (`setSecret`), `watch` (the labels), or `check` (the
    /// preflight after a rotation).
    pub at: String,
    /// The function's `errorType`, when the failure came from the function (its answer, its
    /// log line, or the detail of a failed check).
    pub error_type: Option<String>,
    /// What happened (never a secret value: the function's messages carry none).
    pub message: String,
}

impl Failure {
    fn to_value(&self) -> Value {
        json!({"at": self.at, "errorType": self.error_type, "message": self.message})
    }

    fn sentence(&self) -> String {
        match &self.error_type {
            Some(t) => format!("{} failed: {t}: {}", self.at, self.message),
            None => format!("{} failed: {}", self.at, self.message),
        }
    }
}

/// The `errorType` a failed preflight check's detail starts with (`AuthenticationFailed:
/// ...`), when it does.
pub fn detail_error_type(detail: &str) -> Option<String> {
    let (head, _) = detail.split_once(": ")?;
    let word = head.chars().all(|c| c.is_ascii_alphanumeric());
    let capital = head.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    (word && capital && head.len() <= 64).then(|| head.to_string())
}

/// The first failed check of a report, as a failure at `at`.
fn failed_check(report: &Value, at: &str) -> Option<Failure> {
    let check = report["checks"]
        .as_array()?
        .iter()
        .find(|c| c["ok"] != true)?;
    let name = check["name"].as_str().unwrap_or("?");
    let detail = check["detail"].as_str().unwrap_or("");
    Some(Failure {
        at: at.to_string(),
        error_type: detail_error_type(detail),
        message: format!("check {name}: {detail}"),
    })
}

/// The version ids and their labels, for the report (never a value).
fn labels(state: &SecretState) -> Value {
    state
        .versions
        .iter()
        .map(|v| json!({"id": v.id, "stages": v.stages}))
        .collect()
}

/// The labels as one line: `id[LABEL,LABEL] id[LABEL]`.
fn labels_line(state: &SecretState) -> String {
    state
        .versions
        .iter()
        .map(|v| format!("{}[{}]", v.id, v.stages.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// How a watched rotation ended.
enum Watched {
    /// AWSCURRENT on the new version, no AWSPENDING left.
    Finished(SecretState),
    /// It did not finish: the last state read and why.
    Failed(SecretState, Failure),
}

/// The first failed step among the summary lines, as a failure.
fn first_failed_step(lines: &[StepLine]) -> Option<Failure> {
    lines
        .iter()
        .find(|l| l.outcome == "error")
        .map(|l| Failure {
            at: l.step.clone(),
            error_type: l.error_type.clone(),
            message: l.error.clone().unwrap_or_default(),
        })
}

/// Watches the rotation `token` of `arn` until it finishes, a step of it fails in the
/// function's logs, its AWSPENDING goes without AWSCURRENT moving, or `bound` passes.
async fn watch(
    clients: &Clients,
    function: &str,
    arn: &str,
    token: &str,
    since_ms: i64,
    bound: Duration,
) -> Result<Watched> {
    let started = Instant::now();
    let mut seen = false;
    let mut last_log_read: Option<Instant> = None;
    let mut logs_unreadable = None;
    loop {
        let state = secret::read(&clients.secrets, arn, Detail::Labels).await?;
        let current = state.with(AWSCURRENT).map(|v| v.id.as_str());
        let pending = state.with(AWSPENDING).map(|v| v.id.as_str());
        seen |= pending == Some(token);
        if current == Some(token) && pending.is_none() {
            return Ok(Watched::Finished(state));
        }
        let spent = started.elapsed();
        let ended = seen && pending != Some(token) && current != Some(token);
        if ended || spent >= bound || last_log_read.is_none_or(|t| t.elapsed() >= LOG_POLL) {
            last_log_read = Some(Instant::now());
            match logs::step_lines(&clients.logs, function, token, Some(since_ms)).await {
                Ok(lines) => {
                    if let Some(failure) = first_failed_step(&lines) {
                        return Ok(Watched::Failed(state, failure));
                    }
                }
                Err(why) => logs_unreadable = Some(why),
            }
        }
        let unread = || {
            logs_unreadable
                .as_ref()
                .map(|why| format!(" (the function's logs could not be read: {why})"))
                .unwrap_or_default()
        };
        if ended {
            let failure = Failure {
                at: "watch".into(),
                error_type: None,
                message: format!(
                    "AWSPENDING left version {token} without AWSCURRENT moving to it (AWSCURRENT is on {}){}",
                    current.unwrap_or("no version"),
                    unread()
                ),
            };
            return Ok(Watched::Failed(state, failure));
        }
        if spent >= bound {
            let where_ = if current == Some(token) {
                format!(
                    "AWSCURRENT is on {token} but AWSPENDING is still on {}",
                    pending.unwrap_or("-")
                )
            } else if seen {
                format!(
                    "AWSPENDING is still on {token}; AWSCURRENT on {}",
                    current.unwrap_or("no version")
                )
            } else {
                "AWSPENDING never showed on the new version".to_string()
            };
            let failure = Failure {
                at: "watch".into(),
                error_type: None,
                message: format!(
                    "the rotation did not end within {} s: {where_}{}",
                    bound.as_secs(),
                    unread()
                ),
            };
            return Ok(Watched::Failed(state, failure));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `verify SECRET [--rotations N]`.
pub async fn verify(clients: &Clients, args: &Args) -> Result<Done> {
    let state = secret::read(&clients.secrets, &args.secret, Detail::Labels).await?;
    let arn = state.arn.clone();
    let Some(attached) = state.function.clone().filter(|f| !f.is_empty()) else {
        return Ok(refused(
            format!("refusing to verify: {} has no rotation function; attach ours first: `rotation-ctl attach {} --function NAME_OR_ARN --days N`", args.secret, args.secret),
            json!({"verified": false, "reason": "no rotation function"}),
        ));
    };
    if state.rotation_enabled != Some(true) {
        return Ok(refused(
            format!("refusing to verify: rotation of {} is off (RotateSecret would turn it on); attach the function with `rotation-ctl attach {} --function {attached}` first", args.secret, args.secret),
            json!({"verified": false, "reason": "rotation off", "function": attached}),
        ));
    }
    let function = Function::new(clients.lambda.clone(), &attached);
    let config = function.configuration().await?;
    if let Some(named) = &args.function {
        let other = Function::new(clients.lambda.clone(), named)
            .configuration()
            .await?;
        if other.arn != config.arn {
            return Ok(refused(
                format!("refusing to verify: --function names {} but the secret's rotation function is {}; Secrets Manager invokes the attached one: attach {named} first (`rotation-ctl attach {} --function {named}`)", other.arn, config.arn, args.secret),
                json!({"verified": false, "reason": "--function is not the attached function", "function": config.arn}),
            ));
        }
    }
    if let Some(v) = state.with(AWSPENDING) {
        return Ok(refused(
            format!("refusing to verify: AWSPENDING is on version {} (a rotation in progress or left over); `rotation-ctl inspect {}` shows where it is, `rotation-ctl resume {}` or `rotation-ctl abort {}` ends it", v.id, args.secret, args.secret, args.secret),
            json!({"verified": false, "reason": "rotation in progress", "version": v.id}),
        ));
    }
    let bound = rotation_bound(config.timeout);
    let mut text = Text::new();
    let mut json = json!({
        "secret": arn,
        "function": config.arn,
        "timeoutSeconds": config.timeout.as_secs(),
        "rotationsAsked": args.rotations,
        "rotations": [],
    });
    text.line(format!(
        "verifying {arn} with {} (timeout {} s; {} rotation{})",
        config.arn,
        config.timeout.as_secs(),
        args.rotations,
        if args.rotations == 1 { "" } else { "s" }
    ));

    // (1) The preflight: nothing is rotated unless every check passes.
    let report = match with_progress("the preflight", function.preflight(&arn, false)).await {
        Ok(report) => report,
        Err(e) => {
            let failure = Failure {
                at: "preflight".into(),
                error_type: error_type_of(&e),
                message: e.to_string(),
            };
            return Ok(stop(text, json, failure, &args.secret, false));
        }
    };
    text.blank();
    text.line("preflight:");
    text.lines(report_table(&report));
    json["preflight"] = report.clone();
    if let Some(failure) = failed_check(&report, "preflight") {
        return Ok(stop(text, json, failure, &args.secret, false));
    }
    text.line("all checks passed");

    // (2) The rotations, one after the other.
    let mut results = Vec::new();
    for i in 1..=args.rotations {
        let before = secret::read(&clients.secrets, &arn, Detail::Labels).await?;
        let mut entry = json!({"rotation": i, "labelsBefore": labels(&before)});
        text.blank();
        text.line(format!("rotation {i}/{}", args.rotations));
        text.line(format!("  before  {}", labels_line(&before)));
        if let Some(v) = before.with(AWSPENDING) {
            // Something else started a rotation between two of ours.
            let failure = Failure {
                at: "start".into(),
                error_type: None,
                message: format!(
                    "AWSPENDING is on version {} before the rotation started: another rotation is in progress; none was started",
                    v.id
                ),
            };
            return Ok(failed_rotation(
                text,
                json,
                results,
                entry,
                failure,
                &args.secret,
            ));
        }
        let old_current = before.with(AWSCURRENT).map(|v| v.id.clone());
        let token = uuid::Uuid::new_v4().to_string();
        let since = now_ms();
        let started = Instant::now();
        secret::rotate_now(&clients.secrets, &arn, &token, &config.arn).await?;
        say(&format!(
            "rotation {i}: started (version {token}); watching its labels for up to {} s",
            bound.as_secs()
        ));
        let watched = with_progress(
            &format!("rotation {i}"),
            watch(clients, &config.arn, &arn, &token, since, bound),
        )
        .await?;
        let seconds = started.elapsed().as_secs_f64();
        entry["version"] = json!(token);
        entry["seconds"] = json!((seconds * 1000.0).round() / 1000.0);
        let after = match watched {
            Watched::Finished(after) => after,
            Watched::Failed(after, failure) => {
                text.line(format!("  after   {}", labels_line(&after)));
                text.line(format!(
                    "  FAILED after {seconds:.1} s: {}",
                    failure.sentence()
                ));
                let untouched = after.with(AWSCURRENT).map(|v| v.id.clone()) == old_current;
                text.line(if untouched {
                    format!(
                        "  AWSCURRENT is still on {}",
                        old_current.as_deref().unwrap_or("no version")
                    )
                } else {
                    "  AWSCURRENT moved: run inspect".to_string()
                });
                entry["labelsAfter"] = labels(&after);
                entry["currentUntouched"] = json!(untouched);
                return Ok(failed_rotation(
                    text,
                    json,
                    results,
                    entry,
                    failure,
                    &args.secret,
                ));
            }
        };
        text.line(format!("  after   {}", labels_line(&after)));
        text.line(format!(
            "  finished in {seconds:.1} s: AWSCURRENT moved from {} to {token}",
            old_current.as_deref().unwrap_or("no version")
        ));
        entry["labelsAfter"] = labels(&after);

        // (3) The new AWSCURRENT logs in: the function's preflight.
        let checked_login = match with_progress(
            "the preflight after the rotation",
            function.preflight(&arn, false),
        )
        .await
        {
            Ok(report) => {
                let checked = report["versions"]["current"].as_str() == Some(token.as_str());
                match failed_check(&report, "check") {
                    Some(failure) => Err(failure),
                    None if !checked => Err(Failure {
                        at: "check".into(),
                        error_type: None,
                        message: format!(
                            "the preflight checked version {} as AWSCURRENT, not {token}",
                            report["versions"]["current"].as_str().unwrap_or("none")
                        ),
                    }),
                    None => Ok(report),
                }
            }
            Err(e) => Err(Failure {
                at: "check".into(),
                error_type: error_type_of(&e),
                message: e.to_string(),
            }),
        };
        match checked_login {
            Ok(report) => {
                let login = check(&report, "current_login")
                    .map_or("every check passed", |(_, detail)| detail)
                    .to_string();
                text.line(format!("  check   the new AWSCURRENT: {login}"));
                entry["ok"] = json!(true);
                entry["check"] = report;
                results.push(entry);
            }
            Err(failure) => {
                text.line(format!("  check   FAILED: {}", failure.sentence()));
                return Ok(failed_rotation(
                    text,
                    json,
                    results,
                    entry,
                    failure,
                    &args.secret,
                ));
            }
        }
    }
    json["rotations"] = json!(results);
    json["verified"] = json!(true);
    text.blank();
    text.lines(summary(&json));
    text.blank();
    text.line(format!(
        "verified: {} rotation{} of {arn} by {} finished and the new AWSCURRENT logged in each time",
        args.rotations,
        if args.rotations == 1 { "" } else { "s" },
        config.arn
    ));
    Ok(Done {
        ok: true,
        text,
        json,
    })
}

/// Stops at a failed rotation: its `entry` marked failed with `failure`, after the `results`
/// of the rotations before it.
fn failed_rotation(
    text: Text,
    mut json: Value,
    mut results: Vec<Value>,
    mut entry: Value,
    failure: Failure,
    secret: &str,
) -> Done {
    entry["ok"] = json!(false);
    entry["failure"] = failure.to_value();
    results.push(entry);
    json["rotations"] = json!(results);
    stop(text, json, failure, secret, true)
}

/// The `errorType` of an error of the tool: the function's, when the function answered one.
fn error_type_of(e: &crate::error::CtlError) -> Option<String> {
    match e {
        crate::error::CtlError::Function { error_type, .. } => Some(error_type.clone()),
        _ => None,
    }
}

/// One row per rotation: number, version, duration, result.
fn summary(json: &Value) -> Vec<String> {
    let mut rows = vec![vec![
        "ROTATION".to_string(),
        "VERSION".into(),
        "SECONDS".into(),
        "RESULT".into(),
    ]];
    for r in json["rotations"].as_array().into_iter().flatten() {
        rows.push(vec![
            r["rotation"].to_string(),
            r["version"].as_str().unwrap_or("-").to_string(),
            r["seconds"]
                .as_f64()
                .map(|s| format!("{s:.1}"))
                .unwrap_or_else(|| "-".into()),
            if r["ok"] == true { "ok" } else { "FAILED" }.to_string(),
        ]);
    }
    table(&rows)
}

/// The answer at the first failure: what failed, and what to do next.
fn stop(mut text: Text, mut json: Value, failure: Failure, secret: &str, rotated: bool) -> Done {
    json["verified"] = json!(false);
    json["failure"] = failure.to_value();
    text.blank();
    if json["rotations"].as_array().is_some_and(|r| !r.is_empty()) {
        text.lines(summary(&json));
        text.blank();
    }
    text.line(format!("NOT verified: {}", failure.sentence()));
    text.line(if rotated {
        format!("Next: `rotation-ctl inspect {secret}` shows the labels and where the rotation stopped; fix the cause, then `rotation-ctl resume {secret}` finishes it or `rotation-ctl abort {secret}` drops it.")
    } else {
        format!("Nothing was rotated. Fix what failed and run `rotation-ctl verify {secret}` again.")
    });
    Done {
        ok: false,
        text,
        json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_read_from_check_details() {
        assert_eq!(
            detail_error_type("AuthenticationFailed: the server refused user bob").as_deref(),
            Some("AuthenticationFailed")
        );
        assert_eq!(detail_error_type("lacks CREATEROLE"), None);
        assert_eq!(detail_error_type("user bob: refused"), None);
        assert_eq!(detail_error_type("Not One: x"), None);
        let report = json!({"checks": [
            {"name": "secret_shape", "ok": true, "detail": "fine"},
            {"name": "current_login", "ok": false, "detail": "AuthenticationFailed: refused"},
            {"name": "tls", "ok": false, "detail": "later"}
        ]});
        let failure = failed_check(&report, "preflight").unwrap();
        assert_eq!(failure.error_type.as_deref(), Some("AuthenticationFailed"));
        assert_eq!(
            failure.sentence(),
            "preflight failed: AuthenticationFailed: check current_login: AuthenticationFailed: refused"
        );
        assert!(failed_check(&json!({"checks": [{"name": "a", "ok": true}]}), "x").is_none());
    }

    #[test]
    fn the_first_failed_step_is_the_failure() {
        let line = |t, step: &str, outcome: &str, error_type: Option<&str>| StepLine {
            timestamp: t,
            step: step.into(),
            outcome: outcome.into(),
            error_type: error_type.map(str::to_string),
            error: error_type.map(|e| format!("{e} happened")),
            request_id: None,
        };
        let lines = [
            line(1, "createSecret", "done", None),
            line(2, "setSecret", "error", Some("AuthenticationFailed")),
            line(3, "setSecret", "error", Some("ServiceNotReady")),
        ];
        let f = first_failed_step(&lines).unwrap();
        assert_eq!(
            (f.at.as_str(), f.error_type.as_deref(), f.message.as_str()),
            (
                "setSecret",
                Some("AuthenticationFailed"),
                "AuthenticationFailed happened"
            )
        );
        assert!(first_failed_step(&lines[..1]).is_none());
    }
}
