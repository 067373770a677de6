//! The commands. Each reads what it needs, checks before it changes anything, changes at most
//! one label (or, `attach`, the rotation configuration), reads the secret again to confirm,
//! and answers a [`Done`]: what to print and whether it succeeded. Text is built as lines
//! ([`Text`]) and escaped as it is printed, so nothing read from a secret, a function or AWS
//! reaches the terminal with a control character in it.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::args::{Args, Command};
use crate::error::{CtlError, Result};
use crate::function::Function;
use crate::outcome::{
    check, refused, report_table, stopped_at, versions_table, with_progress, Clients, Done, MARGIN,
};
use crate::secret::{self, Detail, SecretState, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::term::{say, Text};

/// Runs the command of `args`.
pub async fn run(clients: &Clients, args: &Args) -> Result<Done> {
    match args.command {
        Command::Attach => crate::attach::attach(clients, args).await,
        Command::Inspect => inspect(clients, args).await,
        Command::Preflight => preflight(clients, args).await,
        Command::Resume => resume(clients, args).await,
        Command::Abort => abort(clients, args).await,
        Command::Rollback => rollback(clients, args).await,
        Command::Verify => crate::verify::verify(clients, args).await,
    }
}

/// The function to invoke: `--function`, else the secret's rotation function.
fn function(clients: &Clients, args: &Args, state: Option<&SecretState>) -> Result<Function> {
    let name = args
        .function
        .clone()
        .or_else(|| state.and_then(|s| s.function.clone()))
        .ok_or_else(|| {
            CtlError::Refused(format!(
                "{} has no rotation function: name one with --function",
                args.secret
            ))
        })?;
    Ok(Function::new(clients.lambda.clone(), &name))
}

/// `inspect`: Secrets Manager's view, and the function's logs for a rotation in progress.
async fn inspect(clients: &Clients, args: &Args) -> Result<Done> {
    let detail = if args.fingerprints {
        Detail::Fingerprints
    } else {
        Detail::Versions
    };
    let state = secret::read(&clients.secrets, &args.secret, detail).await?;
    let mut text = Text::new();
    text.line(format!("secret    {}", state.arn));
    text.line(format!(
        "rotation  {}; function {}; {}; last rotated {}; next {}",
        match state.rotation_enabled {
            Some(true) => "on",
            Some(false) => "off",
            None => "never configured",
        },
        state.function.as_deref().unwrap_or("none"),
        state.rules.as_deref().unwrap_or("no rules"),
        state.last_rotated.as_deref().unwrap_or("never"),
        state.next_rotation.as_deref().unwrap_or("-"),
    ));
    text.blank();
    text.lines(versions_table(&state));
    if state
        .versions
        .iter()
        .any(|v| v.fingerprint.as_deref() == Some("(not permitted)"))
    {
        text.line("(not permitted: this identity may not read that version's value: secretsmanager:GetSecretValue on the secret, and kms:Decrypt on its KMS key)");
    }
    let mut progress = json!({"inProgress": false});
    let leftover = state
        .with(AWSPENDING)
        .filter(|v| v.has(AWSCURRENT))
        .map(|v| v.id.clone());
    text.blank();
    if let Some(pending) = state.pending() {
        let function = args.function.clone().or(state.function.clone());
        let (stopped, lines) = match &function {
            None => (
                "no rotation function to read the logs of".to_string(),
                json!(null),
            ),
            Some(f) => stopped_at(clients, f, &pending.id, pending.created_ms).await,
        };
        text.line(format!(
            "rotation in progress: version {} carries AWSPENDING (created {}). From the logs: {stopped}.",
            pending.id,
            pending.created.as_deref().unwrap_or("-"),
        ));
        text.line(format!(
            "Next: `rotation-ctl preflight {secret}` says whether the server holds the pending password already \
             (then only resume is safe); `rotation-ctl resume {secret}` finishes it, `rotation-ctl abort {secret}` drops it.",
            secret = args.secret,
        ));
        progress = json!({"inProgress": true, "version": pending.id, "stoppedAt": stopped, "steps": lines});
    } else if let Some(id) = &leftover {
        text.line(format!(
            "AWSPENDING is still on the AWSCURRENT version {id}: finishSecret stopped before taking it off. `rotation-ctl resume {}` finishes it.",
            args.secret
        ));
        progress = json!({"inProgress": true, "version": id, "stoppedAt": "finishSecret moved AWSCURRENT but did not take AWSPENDING off"});
    } else {
        text.line("no rotation in progress");
    }
    let mut json = state.to_value();
    json["rotationInProgress"] = progress;
    Ok(Done {
        ok: true,
        text,
        json,
    })
}

/// `preflight`: the function's report.
async fn preflight(clients: &Clients, args: &Args) -> Result<Done> {
    let state = match &args.function {
        Some(_) => None,
        None => Some(secret::read(&clients.secrets, &args.secret, Detail::Labels).await?),
    };
    let function = function(clients, args, state.as_ref())?;
    let report = with_progress(
        "the preflight",
        function.preflight(&args.secret, args.previous),
    )
    .await?;
    let ok = report["ok"] == true;
    let mut text = Text::new();
    text.line(format!("preflight of {} by {}", args.secret, function.name));
    text.blank();
    text.lines(report_table(&report));
    text.blank();
    text.line(if ok {
        "all checks passed"
    } else {
        "some checks FAILED: see their detail"
    });
    Ok(Done {
        ok,
        text,
        json: report,
    })
}

/// `resume`: the four steps of the rotation in progress, in order, each safe to repeat.
async fn resume(clients: &Clients, args: &Args) -> Result<Done> {
    let state = secret::read(&clients.secrets, &args.secret, Detail::Labels).await?;
    let Some(pending) = state.pending().or(state.with(AWSPENDING)) else {
        return Ok(Done {
            ok: true,
            text: Text::from("no rotation in progress: nothing to resume"),
            json: json!({"resumed": false, "reason": "no rotation in progress"}),
        });
    };
    let token = pending.id.clone();
    let function = function(clients, args, Some(&state))?;
    let mut steps = Vec::new();
    let mut text = Text::new();
    text.line(format!(
        "resuming the rotation {token} of {} through {}",
        state.arn, function.name
    ));
    for (i, step) in ["createSecret", "setSecret", "testSecret", "finishSecret"]
        .iter()
        .enumerate()
    {
        say(&format!("[{}/4] {step} ...", i + 1));
        let started = Instant::now();
        let result = with_progress(step, function.step(&state.arn, &token, step)).await;
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(()) => {
                text.line(format!("  {step}: done ({seconds:.1} s)"));
                steps.push(json!({"step": step, "ok": true, "seconds": seconds}));
            }
            Err(e) => {
                text.line(format!("  {step}: FAILED ({seconds:.1} s): {e}"));
                text.blank();
                text.line(format!("AWSCURRENT was not moved. Fix the cause and resume again; `rotation-ctl preflight {}` checks the setup.", args.secret));
                steps.push(
                    json!({"step": step, "ok": false, "seconds": seconds, "error": e.to_string()}),
                );
                return Ok(Done {
                    ok: false,
                    text,
                    json: json!({"resumed": false, "version": token, "steps": steps}),
                });
            }
        }
    }
    let after = secret::read(&clients.secrets, &state.arn, Detail::Labels).await?;
    let current = after.with(AWSCURRENT).map(|v| v.id.clone());
    let finished = current.as_deref() == Some(token.as_str()) && after.with(AWSPENDING).is_none();
    text.line(if finished {
        format!("rotation finished: AWSCURRENT is version {token}")
    } else {
        format!("the steps answered, but AWSCURRENT is on {} and AWSPENDING on {}: something else moved the labels; run inspect",
            current.as_deref().unwrap_or("no version"), after.with(AWSPENDING).map(|v| v.id.as_str()).unwrap_or("no version"))
    });
    Ok(Done {
        ok: finished,
        text,
        json: json!({"resumed": finished, "version": token, "steps": steps, "current": current}),
    })
}

/// After a label move: the function's preflight, and whether AWSCURRENT is proved not to log
/// in (its login refused). `None` when the function could not answer.
async fn current_refused(function: &Function, arn: &str) -> Option<bool> {
    let report = with_progress("the check after the change", function.preflight(arn, false))
        .await
        .ok()?;
    Some(match check(&report, "current_login") {
        Some((false, detail)) => detail.starts_with("AuthenticationFailed"),
        _ => false,
    })
}

/// The longest an invocation of the secret's rotation function (and of `--function`, when it
/// names another) can run: the largest `Timeout` (GetFunctionConfiguration).
async fn longest_invocation(
    clients: &Clients,
    args: &Args,
    state: &SecretState,
) -> Result<Duration> {
    let mut names: Vec<&str> = state
        .function
        .iter()
        .chain(args.function.iter())
        .map(String::as_str)
        .collect();
    names.dedup();
    let mut longest = Duration::ZERO;
    for name in names {
        let config = Function::new(clients.lambda.clone(), name)
            .configuration()
            .await?;
        longest = longest.max(config.timeout);
    }
    Ok(longest)
}

/// `abort`: take AWSPENDING off the rotation in progress when no client can be locked out.
/// The function's preflight decides before (AWSCURRENT logs in). After the change, the tool
/// waits out the function's timeout (a setSecret of this rotation that started before the
/// label was taken off may still be running and change the password; none can start after,
/// since every step first checks that its version carries AWSPENDING), then asks the
/// preflight again: if AWSCURRENT no longer logs in, AWSPENDING is put back so the rotation can
/// be resumed. Alternating users skip the wait: their setSecret changes the other user.
async fn abort(clients: &Clients, args: &Args) -> Result<Done> {
    let state = secret::read(&clients.secrets, &args.secret, Detail::Labels).await?;
    if let Some(v) = state.with(AWSPENDING).filter(|v| v.has(AWSCURRENT)) {
        // A leftover label on the current version: taking it off changes no credentials.
        secret::move_label(&clients.secrets, &state.arn, AWSPENDING, None, Some(&v.id)).await?;
        return Ok(Done {
            ok: true,
            text: Text::from(format!(
                "AWSPENDING taken off the AWSCURRENT version {} (finishSecret had left it)",
                v.id
            )),
            json: json!({"aborted": true, "version": v.id}),
        });
    }
    let Some(pending) = state.pending() else {
        return Ok(Done {
            ok: true,
            text: Text::from("no rotation in progress: nothing to abort"),
            json: json!({"aborted": false, "reason": "no rotation in progress"}),
        });
    };
    let id = pending.id.clone();
    let function = function(clients, args, Some(&state))?;
    let mut pending_in_use = false;
    let mut alternating = false;
    let verdict: std::result::Result<(), String> = match with_progress(
        "the preflight",
        function.preflight(&state.arn, false),
    )
    .await
    {
        Err(e) => Err(format!("the function's preflight did not answer: {e}")),
        Ok(report) => {
            let p = &report["versions"]["pending"];
            pending_in_use = p["logsIn"] == true;
            alternating = check(&report, "clone_name").is_some();
            if p["version"].is_string() && p["version"] != id.as_str() {
                return Ok(refused(
                        format!("the rotation in progress changed while checking (the function sees AWSPENDING on {}, not {id}): run inspect again", p["version"]),
                        json!({"aborted": false, "version": id, "reason": "the labels changed"}),
                    ));
            }
            match p["abortSafe"].as_bool() {
                    Some(true) => Ok(()),
                    Some(false) => Err("AWSCURRENT's credentials are refused by the server: it already holds the pending password (single user past setSecret), so removing AWSPENDING would leave no version that logs in. Resume instead: `rotation-ctl resume` finishes the rotation".into()),
                    None => Err(format!(
                        "the function could not tell whether AWSCURRENT still logs in ({})",
                        check(&report, "current_login").map(|c| c.1).unwrap_or("no current_login check")
                    )),
                }
        }
    };
    if let Err(why) = &verdict {
        if !args.force {
            return Ok(refused(
                format!("refusing to abort the rotation {id}: {why}. (--force removes AWSPENDING anyway.)"),
                json!({"aborted": false, "version": id, "reason": why}),
            ));
        }
        say(&format!("--force: aborting although {why}"));
    }
    // How long a setSecret already running may go on: read before anything changes.
    let wait = if verdict.is_ok() && !alternating {
        match longest_invocation(clients, args, &state).await {
            Ok(timeout) => Some(timeout + MARGIN),
            Err(e) if args.force => {
                say(&format!("--force: not waiting for running invocations to end ({e})"));
                None
            }
            Err(e) => {
                return Ok(refused(
                    format!("refusing to abort the rotation {id}: the function's timeout is needed to wait out a setSecret that may be running, and it could not be read: {e}. (--force aborts without waiting.)"),
                    json!({"aborted": false, "version": id, "reason": e.to_string()}),
                ))
            }
        }
    } else {
        None
    };
    secret::move_label(&clients.secrets, &state.arn, AWSPENDING, None, Some(&id)).await?;
    if let Some(wait) = wait {
        // Counted from the removal: an invocation that started before it ends within its
        // timeout; one that starts after finds no AWSPENDING on this version and stops.
        say(&format!(
            "AWSPENDING taken off {id}; waiting {} s (the function's timeout and {} s) for any invocation that started before to end, then checking that AWSCURRENT still logs in",
            wait.as_secs(),
            MARGIN.as_secs()
        ));
        with_progress("running invocations to end", tokio::time::sleep(wait)).await;
    }
    let mut warning = None;
    if verdict.is_ok() {
        match current_refused(&function, &state.arn).await {
            Some(true) => {
                // A setSecret landed: the pending password is the server's now. Put the label
                // back so the rotation can finish, unless a new rotation took it meanwhile.
                let now = secret::read(&clients.secrets, &state.arn, Detail::Labels).await?;
                if let Some(other) = now.with(AWSPENDING).filter(|v| v.id != id) {
                    return Ok(refused(
                        format!("AWSCURRENT stopped logging in while aborting, and a new rotation started meanwhile (AWSPENDING on {}): the server may hold the password of {id}, which no label names now. Finish the new rotation (`rotation-ctl resume {}`), and if it cannot log in, put AWSPENDING back on {id} by hand", other.id, args.secret),
                        json!({"aborted": false, "version": id, "reason": "a setSecret ran while aborting and a new rotation started", "pendingOn": other.id}),
                    ));
                }
                if now.with(AWSPENDING).is_none() {
                    secret::move_label(&clients.secrets, &state.arn, AWSPENDING, Some(&id), None)
                        .await?;
                }
                return Ok(refused(
                    format!("AWSCURRENT stopped logging in while aborting (a setSecret ran meanwhile): AWSPENDING is back on {id}; resume the rotation: `rotation-ctl resume {}`", args.secret),
                    json!({"aborted": false, "version": id, "reason": "a setSecret ran while aborting; AWSPENDING put back"}),
                ));
            }
            None => warning = Some(format!("the check after the change did not answer: confirm that AWSCURRENT logs in with `rotation-ctl preflight {}`", args.secret)),
            Some(false) => {}
        }
    }
    let after = secret::read(&clients.secrets, &state.arn, Detail::Labels).await?;
    let gone = after.with(AWSPENDING).is_none();
    let note = if pending_in_use && alternating {
        " The server already held the pending password for the pair's other user, so AWSPREVIOUS no longer logs in (the next rotation sets that user again)."
    } else {
        ""
    };
    let mut text = Text::new();
    text.line(if gone {
        format!("rotation {id} aborted: AWSPENDING taken off; AWSCURRENT is unchanged. Secrets Manager starts a new rotation (a new version) next time.{note}")
    } else {
        format!(
            "AWSPENDING is on {} again: a rotation started meanwhile; run inspect",
            after.with(AWSPENDING).map(|v| v.id.as_str()).unwrap_or("?")
        )
    });
    if let Some(w) = &warning {
        text.line(w.clone());
    }
    Ok(Done {
        ok: gone,
        text,
        json: json!({"aborted": gone, "version": id, "forced": verdict.is_err(),
            "waitedSeconds": wait.map(|w| w.as_secs()), "warning": warning}),
    })
}

/// `rollback`: AWSCURRENT back to AWSPREVIOUS, when AWSPREVIOUS still logs in (the function's
/// preflight proves it) and no rotation is in progress (before, and again just before the
/// move). After the move the preflight runs again; if AWSCURRENT does not log in, the move is
/// undone.
async fn rollback(clients: &Clients, args: &Args) -> Result<Done> {
    let state = secret::read(&clients.secrets, &args.secret, Detail::Labels).await?;
    let in_progress = |s: &SecretState| s.with(AWSPENDING).map(|v| v.id.clone());
    if let Some(v) = in_progress(&state) {
        return Ok(refused(
            format!("refusing to roll back: a rotation is in progress (AWSPENDING on {v}); resume or abort it first"),
            json!({"rolledBack": false, "reason": "rotation in progress"}),
        ));
    }
    let (Some(current), Some(previous)) = (state.with(AWSCURRENT), state.with(AWSPREVIOUS)) else {
        return Ok(refused(
            "refusing to roll back: the secret has no AWSPREVIOUS version".into(),
            json!({"rolledBack": false, "reason": "no AWSPREVIOUS"}),
        ));
    };
    let (current, previous) = (current.id.clone(), previous.id.clone());
    let function = function(clients, args, Some(&state))?;
    let report = with_progress("the preflight", function.preflight(&state.arn, true)).await?;
    if !report["versions"]["pending"].is_null() {
        return Ok(refused(
            "refusing to roll back: the function sees a rotation in progress; resume or abort it first".into(),
            json!({"rolledBack": false, "reason": "rotation in progress"}),
        ));
    }
    let p = &report["versions"]["previous"];
    if p["version"] != previous.as_str() || p["logsIn"] != true {
        let detail = check(&report, "previous_login")
            .map(|c| c.1)
            .unwrap_or("the function did not try AWSPREVIOUS");
        return Ok(refused(
            format!("refusing to roll back: AWSPREVIOUS (version {previous}) is not proved to log in: {detail}"),
            json!({"rolledBack": false, "reason": detail}),
        ));
    }
    // Again, just before the move: a rotation that started meanwhile changes AWSPREVIOUS's user.
    if let Some(v) = in_progress(&secret::read(&clients.secrets, &state.arn, Detail::Labels).await?)
    {
        return Ok(refused(
            format!("refusing to roll back: a rotation started while checking (AWSPENDING on {v})"),
            json!({"rolledBack": false, "reason": "rotation in progress"}),
        ));
    }
    secret::move_label(
        &clients.secrets,
        &state.arn,
        AWSCURRENT,
        Some(&previous),
        Some(&current),
    )
    .await?;
    if current_refused(&function, &state.arn).await == Some(true) {
        secret::move_label(
            &clients.secrets,
            &state.arn,
            AWSCURRENT,
            Some(&current),
            Some(&previous),
        )
        .await?;
        return Ok(refused(
            format!("version {previous} stopped logging in while rolling back: AWSCURRENT is back on {current}"),
            json!({"rolledBack": false, "reason": "AWSPREVIOUS stopped logging in; the move was undone"}),
        ));
    }
    let after = secret::read(&clients.secrets, &state.arn, Detail::Labels).await?;
    let done = after.with(AWSCURRENT).map(|v| v.id.as_str()) == Some(previous.as_str());
    Ok(Done {
        ok: done,
        text: Text::from(if done {
            format!("rolled back: AWSCURRENT is version {previous} again (it logs in); {current} is AWSPREVIOUS")
        } else {
            "AWSCURRENT did not move: run inspect".to_string()
        }),
        json: json!({"rolledBack": done, "current": previous, "previous": current}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_the_report_shows_failures() {
        let report = json!({"checks": [
            {"name": "tls", "ok": true, "detail": "verified"},
            {"name": "manage_users_privilege", "ok": false, "detail": "lacks CREATEROLE"}
        ]});
        let lines = report_table(&report);
        assert_eq!(lines.len(), 3);
        assert!(
            lines[2].starts_with("manage_users_privilege  FAILED  lacks"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("tls                     ok      verified"),
            "{lines:?}"
        );
    }

    #[test]
    fn a_hostile_report_cannot_fake_a_row_or_talk_to_the_terminal() {
        let report = json!({"checks": [
            {"name": "current_login", "ok": false,
             "detail": "user bob\u{1b}[2K\rok\u{9b}32m\nsecret_shape  ok  fine"},
            {"name": "tls\r\u{1b}[32m", "ok": true, "detail": "\u{7f}x\u{85}"}
        ]});
        let mut text = Text::new();
        text.lines(report_table(&report));
        let out = text.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(
            lines[1].starts_with("current_login") && lines[1].contains("FAILED"),
            "{out}"
        );
        assert!(!out.chars().any(|c| c != '\n' && c.is_control()), "{out:?}");
        assert!(
            out.contains("bob\\x1b[2K\\rok\\u{9b}32m\\nsecret_shape"),
            "{out}"
        );
    }
}
