//! `attach`: the safe way to put a rotation function on a secret. The function's role reads
//! only secrets whose rotation function it is, so its preflight cannot run before it is
//! attached; and a plain RotateSecret with the function rotates at once. So: attach without
//! rotating (RotateSecret with `RotateImmediately=false`: Secrets Manager only tests the
//! configuration, testSecret on a temporary AWSPENDING copy of AWSCURRENT), run the
//! function's preflight, and start the first rotation only when every check passes, then wait
//! for it to end. The rotation itself is the function's, invoked by Secrets Manager: the tool
//! runs no step.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::args::Args;
use crate::error::{CtlError, Result};
use crate::function::Function;
use crate::outcome::{
    refused, report_table, rotation_bound, stopped_at, versions_table, with_progress, Clients,
    Done, MARGIN,
};
use crate::secret::{self, Detail, SecretState, AWSCURRENT, AWSPENDING};
use crate::term::{say, Text};

/// How often the labels are read while waiting.
const POLL: Duration = Duration::from_millis(500);

/// A configuration test not seen after this long is taken as done (Secrets Manager ran it
/// before RotateSecret answered); if it shows up later, the preflight's
/// `no_rotation_in_progress` check fails and nothing is rotated.
const UNSEEN: Duration = Duration::from_secs(5);

/// Reads the labels every [`POLL`] until `done` (given the state and the time spent) says so
/// or `bound` has passed; the last state read, and whether `done` said so.
async fn wait_for(
    clients: &Clients,
    arn: &str,
    bound: Duration,
    mut done: impl FnMut(&SecretState, Duration) -> bool,
) -> Result<(SecretState, bool)> {
    let started = Instant::now();
    loop {
        let state = secret::read(&clients.secrets, arn, Detail::Labels).await?;
        if done(&state, started.elapsed()) {
            return Ok((state, true));
        }
        if started.elapsed() >= bound {
            return Ok((state, false));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `attach SECRET --function F [rules]`.
pub async fn attach(clients: &Clients, args: &Args) -> Result<Done> {
    let name = args
        .function
        .clone()
        .ok_or_else(|| CtlError::Usage("attach needs --function NAME_OR_ARN".into()))?;
    // RotateSecret takes an ARN; the timeout bounds the waits below.
    let config = Function::new(clients.lambda.clone(), &name)
        .configuration()
        .await?;
    let function = Function::new(clients.lambda.clone(), &config.arn);
    let state = secret::read(&clients.secrets, &args.secret, Detail::Labels).await?;
    let arn = state.arn.clone();
    if let Some(v) = state.pending() {
        return Ok(refused(
            format!("refusing to attach: a rotation is in progress (AWSPENDING on {}); finish it with `rotation-ctl resume {}` or drop it with `rotation-ctl abort {}` first", v.id, args.secret, args.secret),
            json!({"attached": false, "reason": "rotation in progress", "version": v.id}),
        ));
    }
    let rules = if args.schedule.is_empty() {
        match &state.schedule {
            Some(s) => s.clone(),
            None => {
                return Ok(refused(
                    format!("refusing to attach: {} has no rotation schedule: give --days N or --schedule EXPR", args.secret),
                    json!({"attached": false, "reason": "no rotation schedule"}),
                ))
            }
        }
    } else {
        args.schedule.clone()
    };
    let rules_text = secret::rules_text(&rules);
    let mut text = Text::new();
    text.line(format!("attaching {} to {arn} ({rules_text})", config.arn));
    if let Some(old) = state.function.as_deref().filter(|f| *f != config.arn) {
        text.line(format!("  in place of the rotation function {old}"));
    }

    // (a) Attach without rotating.
    let test_version = uuid::Uuid::new_v4().to_string();
    let mut refused_test = None;
    if let Err(e) = secret::rotate(
        &clients.secrets,
        &arn,
        &test_version,
        &config.arn,
        &rules,
        false,
    )
    .await
    {
        // If the service attached the function and only its configuration test failed, the
        // preflight says why; otherwise nothing changed and the error is the answer.
        let now = secret::read(&clients.secrets, &arn, Detail::Labels).await?;
        if now.function.as_deref() != Some(config.arn.as_str()) {
            return Err(e);
        }
        refused_test = Some(e);
    }
    text.line(format!("1. attached without rotating (RotateSecret, RotateImmediately=false); Secrets Manager tests the configuration with testSecret on a temporary AWSPENDING copy of AWSCURRENT (version {test_version})"));
    if let Some(e) = &refused_test {
        text.line(format!(
            "   RotateSecret answered an error, but the function is attached: {e}"
        ));
    }
    // Secrets Manager takes the copy's label off after the test; wait for that (the test is
    // one invocation, within the function's timeout).
    let mut seen = false;
    let (last, _) = with_progress(
        "Secrets Manager's configuration test",
        wait_for(clients, &arn, config.timeout + MARGIN, |s, spent| {
            let there = s.with(AWSPENDING).is_some_and(|v| v.id == test_version);
            seen |= there;
            !there && (seen || spent >= UNSEEN)
        }),
    )
    .await?;
    let gone = last.with(AWSPENDING).is_none_or(|v| v.id != test_version);
    if !gone {
        // Still there after the function's timeout: the test is over. The version was made by
        // this RotateSecret and holds a copy of AWSCURRENT; no step but testSecret ran for
        // it, so taking its label off changes no credentials (and a later RotateSecret would
        // refuse to start while it is there).
        secret::move_label(
            &clients.secrets,
            &arn,
            AWSPENDING,
            None,
            Some(&test_version),
        )
        .await?;
        text.line(format!("   the configuration test's AWSPENDING was still on {test_version} after the function's timeout: taken off (a copy of AWSCURRENT; no credentials change)"));
    }

    // (b) The preflight, now that the function may read the secret.
    let mut json = json!({
        "attached": true,
        "function": config.arn,
        "rules": rules_text,
        "configurationTest": {"version": test_version, "labelTakenOff": !gone,
            "error": refused_test.as_ref().map(ToString::to_string)},
        "rotated": false,
    });
    let stays = |text: &mut Text, next_rotation: Option<&str>| {
        text.blank();
        text.line(format!(
            "Nothing was rotated. Rotation stays attached to {} ({rules_text}){}.",
            config.arn,
            next_rotation
                .map(|n| format!(
                    ": Secrets Manager's next scheduled rotation, {n}, runs it as it is now"
                ))
                .unwrap_or_default()
        ));
        text.line(format!(
            "Next: fix what failed and run `rotation-ctl attach {} --function {name}` again; or turn rotation off: `aws secretsmanager cancel-rotate-secret --secret-id {}`.",
            args.secret, args.secret
        ));
    };
    text.line(format!("2. preflight by {}", config.arn));
    let report = match with_progress("the preflight", function.preflight(&arn, false)).await {
        Ok(report) => report,
        Err(e) => {
            text.line(format!("   the preflight did not answer: {e}"));
            let next = next_rotation(clients, &arn).await;
            stays(&mut text, next.as_deref());
            json["preflight"] = json!({"error": e.to_string()});
            return Ok(Done {
                ok: false,
                text,
                json,
            });
        }
    };
    text.blank();
    text.lines(report_table(&report));
    text.blank();
    json["preflight"] = report.clone();
    if report["ok"] != true {
        let failed: Vec<&str> = report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["ok"] != true)
            .filter_map(|c| c["name"].as_str())
            .collect();
        text.line(format!("some checks FAILED: {}", failed.join(", ")));
        let next = next_rotation(clients, &arn).await;
        stays(&mut text, next.as_deref());
        return Ok(Done {
            ok: false,
            text,
            json,
        });
    }
    text.line("all checks passed");

    // (c) The first rotation: Secrets Manager invokes the function for the four steps.
    let before = secret::read(&clients.secrets, &arn, Detail::Labels).await?;
    let old_current = before.with(AWSCURRENT).map(|v| v.id.clone());
    let token = uuid::Uuid::new_v4().to_string();
    secret::rotate(&clients.secrets, &arn, &token, &config.arn, &rules, true).await?;
    text.line(format!(
        "3. first rotation started (RotateSecret, version {token}); the function runs its steps"
    ));
    json["version"] = json!(token);
    let bound = rotation_bound(config.timeout);
    say(&format!(
        "waiting up to {} s for the rotation {token} to end",
        bound.as_secs()
    ));
    let mut seen = false;
    let (after, ended) = with_progress(
        "the rotation",
        wait_for(clients, &arn, bound, |s, _| {
            let current = s.with(AWSCURRENT).map(|v| v.id.as_str());
            let pending = s.with(AWSPENDING).map(|v| v.id.as_str());
            seen |= pending == Some(token.as_str());
            // Finished: AWSCURRENT on the new version, no rotation in progress. Or ended
            // without it: AWSPENDING seen on the new version and gone, AWSCURRENT elsewhere.
            (current == Some(token.as_str()) && s.pending().is_none())
                || (seen && pending != Some(token.as_str()) && current != Some(token.as_str()))
        }),
    )
    .await?;
    let current = after.with(AWSCURRENT).map(|v| v.id.clone());
    let finished = ended && current.as_deref() == Some(token.as_str());
    json["rotated"] = json!(finished);
    json["current"] = json!(current);
    json["versions"] = after.to_value()["versions"].clone();
    if finished {
        text.line(format!(
            "rotation finished: AWSCURRENT is version {token} (it was {})",
            old_current.as_deref().unwrap_or("none")
        ));
    } else {
        let (stopped, steps) = stopped_at(clients, &config.arn, &token, None).await;
        json["stoppedAt"] = json!(stopped);
        json["steps"] = steps;
        text.line(if ended {
            format!("the rotation {token} ended without moving AWSCURRENT (it is on {}). From the logs: {stopped}.", current.as_deref().unwrap_or("no version"))
        } else {
            format!("the rotation {token} did not end within {} s. From the logs: {stopped}.", bound.as_secs())
        });
        text.line(format!(
            "Rotation stays attached to {}. `rotation-ctl inspect {}` shows where it is; `rotation-ctl resume {}` or `rotation-ctl abort {}` ends it.",
            config.arn, args.secret, args.secret, args.secret
        ));
    }
    text.blank();
    text.lines(versions_table(&after));
    Ok(Done {
        ok: finished,
        text,
        json,
    })
}

/// The secret's next scheduled rotation, when Secrets Manager says.
async fn next_rotation(clients: &Clients, arn: &str) -> Option<String> {
    secret::read(&clients.secrets, arn, Detail::Labels)
        .await
        .ok()?
        .next_rotation
}
