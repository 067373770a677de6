//! The preamble every rotation function shares, step dispatch, the per-invocation summary, and
//! the panic-guarded entry the Lambda runtime calls.

use std::time::Instant;

use serde_json::Value;

use crate::error::{ApiErrorCode, Result, RotationError};
use crate::event::{RotationEvent, Step};
use crate::labels::{self, TokenStatus, VersionStages, AWSCURRENT, AWSPENDING};
use crate::password::PasswordPolicy;
use crate::steps::{self, CreateOutcome, Rotation, StepContext};
use crate::store::SecretStore;

/// How an invocation ended, as logged in the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The step ran and did its work.
    Done,
    /// createSecret found the AWSPENDING value already stored.
    AlreadyCreated,
    /// The token is already AWSCURRENT: nothing to do (a finishSecret replay still takes a
    /// leftover AWSPENDING off the token).
    AlreadyCurrent,
}

impl Outcome {
    /// The name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::AlreadyCreated => "already_created",
            Outcome::AlreadyCurrent => "already_current",
        }
    }
}

/// Runs one invocation: parse the event, check rotation and token as the official functions do
/// (testSecret reads its version without DescribeSecret), run the step. Logs one summary line
/// (secret ARN, step, token, outcome, duration) and nothing secret.
pub async fn handle_invocation<S: SecretStore, R: Rotation>(
    store: &S,
    rotation: &R,
    policy: &PasswordPolicy,
    payload: &Value,
) -> Result<Outcome> {
    let started = Instant::now();
    let event = match RotationEvent::from_value(payload) {
        Ok(event) => event,
        Err(e) => {
            let result = Err(e);
            log_summary("", "unknown", "", &result, started);
            return result;
        }
    };
    tracing::trace!(
        secret_id = %event.secret_id,
        step = event.step.as_str(),
        token = %event.token,
        "rotation step started"
    );
    let (arn, result) = match event.step {
        Step::Test => test_pending_version(store, rotation, policy, &event).await,
        _ => check_token_and_run_step(store, rotation, policy, &event).await,
    };
    let secret = arn.as_deref().unwrap_or(&event.secret_id);
    log_summary(secret, event.step.as_str(), &event.token, &result, started);
    result
}

/// [`handle_invocation`] behind the panic guard, as the Lambda entry point runs it: a panic
/// anywhere in the invocation (a bug, or a driver or SDK panicking on what a server sent)
/// answers this invocation with [`RotationError::Internal`], naming the panic's location and
/// never its message, and the process goes on serving. Nothing after the panic ran: the
/// step's work stops there (a database session it held is dropped, so an open transaction
/// rolls back), and every step is idempotent, so Secrets Manager's retry is safe. The
/// location comes from the process panic hook ([`crate::install_panic_hook`]).
pub async fn handle_invocation_guarded<S: SecretStore, R: Rotation>(
    store: &S,
    rotation: &R,
    policy: &PasswordPolicy,
    payload: &Value,
) -> Result<Outcome> {
    let started = Instant::now();
    match crate::guard::catch_panic(handle_invocation(store, rotation, policy, payload)).await {
        Ok(result) => result,
        Err(location) => {
            let result = Err(RotationError::Internal { location });
            // The panic skipped handle_invocation's summary line: this one stands for it.
            let event = RotationEvent::from_value(payload).ok();
            let (secret, step, token) = match &event {
                Some(e) => (e.secret_id.as_str(), e.step.as_str(), e.token.as_str()),
                None => ("", "unknown", ""),
            };
            log_summary(secret, step, token, &result, started);
            result
        }
    }
}

/// With `SECRET_ARN` set (`pin`), the function rotates that secret only: an event for any
/// other `SecretId` is refused here, before any call, with [`RotationError::ConfusedDeputy`]
/// (logged as the invocation's summary line). Secrets Manager names the secret by its full ARN
/// in every event; so must a person invoking the function by hand. The official ElastiCache
/// function pins its secret the same way.
pub fn refuse_unpinned(pin: Option<&str>, payload: &Value) -> Result<()> {
    let Some(pin) = pin else {
        return Ok(());
    };
    let text = |key: &str| payload.get(key).and_then(Value::as_str).unwrap_or("");
    if text("SecretId") == pin {
        return Ok(());
    }
    let error = RotationError::ConfusedDeputy(format!(
        "this function rotates only {pin} (SECRET_ARN); the event names another secret, so nothing was read or changed"
    ));
    let result = Err(error);
    log_summary(
        text("SecretId"),
        text("Step"),
        text("ClientRequestToken"),
        &result,
        Instant::now(),
    );
    result.map(|_: Outcome| ())
}

/// What a step keeps back from Lambda's deadline to send its answer: 1 s, or half the time
/// left when less than 2 s is.
pub fn deadline_margin(left: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(1).min(left / 2)
}

/// Runs `work` (one invocation: a step, or the preflight) within the invocation's time: `left`
/// until Lambda's deadline, less [`deadline_margin`]. When the time runs out the work is
/// dropped where it stands (as Lambda would stop it) and the answer is
/// [`RotationError::TimedOut`], logged as the invocation's summary line, instead of no answer.
/// A deadline already past when the work starts (never on Lambda; a local emulator) is
/// ignored, with a warning.
pub async fn within_deadline<T>(
    left: std::time::Duration,
    payload: &Value,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    if left.is_zero() {
        // Lambda never hands out an event whose deadline has passed; a local emulator can
        // (cargo lambda watch counts from the request, and compiles the function first).
        tracing::warn!("the invocation's deadline had passed when it started (a local emulator?); running it without one");
        return work.await;
    }
    let margin = deadline_margin(left);
    let budget = left.saturating_sub(margin);
    match tokio::time::timeout(budget, work).await {
        Ok(result) => result,
        Err(_) => {
            let text = |key: &str| payload.get(key).and_then(Value::as_str).unwrap_or("");
            let step = Some(text("Step"))
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown");
            let error = || RotationError::TimedOut {
                step: step.chars().take(40).collect(),
                budget_ms: budget.as_millis() as u64,
                margin_ms: margin.as_millis() as u64,
            };
            let logged: Result<Outcome> = Err(error());
            log_summary(
                text("SecretId"),
                step,
                text("ClientRequestToken"),
                &logged,
                started,
            );
            Err(error())
        }
    }
}

fn log_summary(secret: &str, step: &str, token: &str, result: &Result<Outcome>, started: Instant) {
    let duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    match result {
        Ok(outcome) => tracing::info!(
            secret_arn = secret,
            step,
            token,
            outcome = outcome.as_str(),
            duration_ms,
            "rotation step finished"
        ),
        Err(e) => tracing::error!(
            secret_arn = secret,
            step,
            token,
            outcome = "error",
            error_type = e.error_type(),
            error = %e,
            duration_ms,
            "rotation step failed"
        ),
    }
}

/// testSecret without DescribeSecret: one GetSecretValue by token *and* stage answers only when
/// the token's version carries AWSPENDING and has a value, which is what the preamble's token
/// check asks, and its `VersionStages` show whether the token is AWSCURRENT already (a replay:
/// nothing to do). When the read is refused, the full preamble runs, so a stray testSecret
/// gets the same typed error as any other step. `RotationEnabled` is not read on the
/// successful path: testSecret changes nothing, and the steps that do (createSecret,
/// setSecret, finishSecret) still check it.
async fn test_pending_version<S: SecretStore, R: Rotation>(
    store: &S,
    rotation: &R,
    policy: &PasswordPolicy,
    event: &RotationEvent,
) -> (Option<String>, Result<Outcome>) {
    let version = match store
        .get_version(&event.secret_id, AWSPENDING, Some(&event.token))
        .await
    {
        Ok(version) => version,
        Err(e) if e.is_not_found() || e.api_code() == Some(&ApiErrorCode::InvalidRequest) => {
            return check_token_and_run_step(store, rotation, policy, event).await;
        }
        Err(e) => return (None, Err(e)),
    };
    if version.stages.iter().any(|s| s == AWSCURRENT) {
        return (Some(version.arn), Ok(Outcome::AlreadyCurrent));
    }
    let ctx = StepContext {
        store,
        arn: &version.arn,
        token: &event.token,
        rotation_token: event.rotation_token.as_deref(),
        policy,
        versions: None,
    };
    let result = steps::test_secret(&ctx, rotation, &version.value).await;
    (Some(version.arn.clone()), result.map(|()| Outcome::Done))
}

/// DescribeSecret, the official token checks, then the step. Returns the ARN when
/// DescribeSecret answered.
async fn check_token_and_run_step<S: SecretStore, R: Rotation>(
    store: &S,
    rotation: &R,
    policy: &PasswordPolicy,
    event: &RotationEvent,
) -> (Option<String>, Result<Outcome>) {
    let metadata = match store.describe(&event.secret_id).await {
        Ok(m) => m,
        Err(e) => return (None, Err(e)),
    };
    let arn = metadata.arn.clone();
    let ctx = StepContext {
        store,
        arn: &metadata.arn,
        token: &event.token,
        rotation_token: event.rotation_token.as_deref(),
        policy,
        versions: Some(&metadata.versions),
    };
    let result = async {
        if metadata.rotation_enabled == Some(false) {
            return Err(RotationError::RotationNotEnabled {
                secret: metadata.arn.clone(),
            });
        }
        match labels::token_status(&metadata.versions, &event.token) {
            TokenStatus::Unknown => Err(RotationError::UnknownVersion {
                secret: metadata.arn.clone(),
                token: event.token.clone(),
            }),
            TokenStatus::NotPending { pending_on } => Err(RotationError::VersionNotPending {
                secret: metadata.arn.clone(),
                token: event.token.clone(),
                pending_on: pending_on.unwrap_or_else(|| "no version".into()),
            }),
            TokenStatus::Current { also_pending } => {
                // A finishSecret that moved AWSCURRENT but failed before removing AWSPENDING is
                // completed by its retry; every other replay does nothing.
                if event.step == Step::Finish && also_pending {
                    steps::move_labels(&ctx, &metadata.versions).await?;
                }
                Ok(Outcome::AlreadyCurrent)
            }
            TokenStatus::Pending => run_step(&ctx, rotation, event.step, &metadata.versions).await,
        }
    }
    .await;
    (Some(arn), result)
}

async fn run_step<S: SecretStore, R: Rotation>(
    ctx: &StepContext<'_, S>,
    rotation: &R,
    step: Step,
    versions: &VersionStages,
) -> Result<Outcome> {
    match step {
        Step::Create => Ok(match steps::create_secret(ctx, rotation).await? {
            CreateOutcome::Created => Outcome::Done,
            CreateOutcome::AlreadyCreated => Outcome::AlreadyCreated,
        }),
        Step::Set => rotation.set_secret(ctx).await.map(|()| Outcome::Done),
        // Reached only when testSecret's own read was refused: this read fails the same way.
        Step::Test => {
            let pending = ctx.pending().await?;
            steps::test_secret(ctx, rotation, &pending)
                .await
                .map(|()| Outcome::Done)
        }
        Step::Finish => steps::finish_secret(ctx, rotation, versions)
            .await
            .map(|()| Outcome::Done),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn payload() -> Value {
        serde_json::json!({"Step": "setSecret", "SecretId": "s", "ClientRequestToken": "t"})
    }

    #[test]
    fn with_secret_arn_set_only_events_for_that_secret_pass() {
        let pin = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app-AbCdEf";
        let event = |id: &str| serde_json::json!({"Step": "setSecret", "SecretId": id, "ClientRequestToken": "t"});
        refuse_unpinned(None, &event("anything")).unwrap();
        refuse_unpinned(Some(pin), &event(pin)).unwrap();
        for other in [
            serde_json::json!({"Step": "setSecret", "SecretId": "app", "ClientRequestToken": "t"}),
            event(&format!("{pin}x")),
            event("arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf"),
            serde_json::json!({"Step": "setSecret", "ClientRequestToken": "t"}),
            serde_json::json!({"Step": "setSecret", "SecretId": 7}),
        ] {
            let err = refuse_unpinned(Some(pin), &other).unwrap_err();
            assert_eq!(err.error_type(), "ConfusedDeputy", "{other}");
            assert!(err.to_string().contains(pin), "{err}");
        }
    }

    #[tokio::test]
    async fn work_that_outlives_the_deadline_answers_timed_out_before_it() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(Outcome::Done)
        };
        let started = Instant::now();
        let err = within_deadline(Duration::from_millis(400), &payload(), slow)
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(400));
        assert_eq!(err.error_type(), "StepTimedOut");
        assert!(err.to_string().contains("setSecret"), "{err}");
        let quick = async { Ok(Outcome::Done) };
        let done = within_deadline(Duration::from_secs(5), &payload(), quick).await;
        assert_eq!(done.unwrap(), Outcome::Done);
    }

    #[tokio::test]
    async fn a_deadline_already_past_is_an_emulators_and_is_ignored() {
        let work = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(Outcome::Done)
        };
        let done = within_deadline(Duration::ZERO, &payload(), work).await;
        assert_eq!(done.unwrap(), Outcome::Done);
        assert_eq!(
            deadline_margin(Duration::from_secs(30)),
            Duration::from_secs(1)
        );
        assert_eq!(
            deadline_margin(Duration::from_millis(800)),
            Duration::from_millis(400)
        );
    }
}
