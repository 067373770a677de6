//! The extension points of a rotation function and the two steps every function shares:
//! createSecret and finishSecret.

use std::future::Future;

use crate::error::{Result, RotationError};
use crate::labels::{self, StageMove, VersionStages, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::password::PasswordPolicy;
use crate::secret::SecretValue;
use crate::store::SecretStore;

/// What a step runs with: the store, the secret's ARN, the token, and the password policy.
/// The value getters always name the stage they read.
pub struct StepContext<'a, S> {
    /// The Secrets Manager client (or fake).
    pub store: &'a S,
    /// The secret ARN (from DescribeSecret).
    pub arn: &'a str,
    /// The ClientRequestToken (the AWSPENDING version id).
    pub token: &'a str,
    /// The event's `RotationToken`, passed to PutSecretValue.
    pub rotation_token: Option<&'a str>,
    /// The password policy of this function.
    pub policy: &'a PasswordPolicy,
    /// `VersionIdsToStages` as the preamble's DescribeSecret read it; `None` in testSecret,
    /// which reads the AWSPENDING version directly and makes no DescribeSecret call.
    pub versions: Option<&'a VersionStages>,
}

impl<S: SecretStore> StepContext<'_, S> {
    /// The AWSCURRENT value.
    pub async fn current(&self) -> Result<SecretValue> {
        self.store.get_value(self.arn, AWSCURRENT, None).await
    }

    /// The AWSPENDING value of this rotation's version.
    pub async fn pending(&self) -> Result<SecretValue> {
        self.store
            .get_value(self.arn, AWSPENDING, Some(self.token))
            .await
    }

    /// The AWSPREVIOUS value, or None when there is no previous version (first rotation).
    /// No call is made when the preamble's labels show no AWSPREVIOUS.
    pub async fn previous(&self) -> Result<Option<SecretValue>> {
        if self
            .versions
            .is_some_and(|v| labels::versions_with(v, AWSPREVIOUS).is_empty())
        {
            return Ok(None);
        }
        match self.store.get_value(self.arn, AWSPREVIOUS, None).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The extension points of a rotation function. createSecret and finishSecret are shared; a
/// function supplies how to validate and derive secret values, and its setSecret and testSecret.
pub trait Rotation: Send + Sync {
    /// Checks that `value` (the version named by `which`) is a secret this function can rotate.
    /// Called on AWSCURRENT and on an existing AWSPENDING in createSecret.
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()>;

    /// Builds the AWSPENDING value from the AWSCURRENT value and a freshly generated password.
    /// Keep every key you do not change. By default: AWSCURRENT's JSON with `password`
    /// replaced, every other key as it was.
    fn pending_value(
        &self,
        current: &SecretValue,
        new_password: &SecretValue,
    ) -> Result<SecretValue> {
        Ok(
            crate::secret::JsonSecret::parse(current, crate::labels::AWSCURRENT)?
                .with_password(new_password)
                .to_secret_value(),
        )
    }

    /// Builds the AWSPENDING value when that needs more than AWSCURRENT (alternating users read
    /// AWSPREVIOUS to keep a pair stable when the user name alone is ambiguous). By default
    /// [`Rotation::pending_value`], with no call.
    fn pending_value_in<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &SecretValue,
        new_password: &SecretValue,
    ) -> impl Future<Output = Result<SecretValue>> + Send {
        let _ = ctx;
        async move { self.pending_value(current, new_password) }
    }

    /// setSecret: make the service accept the AWSPENDING credentials. Must be idempotent and safe
    /// to run twice at once; on failure the AWSCURRENT credentials must still work.
    fn set_secret<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// testSecret: prove that `pending` (the AWSPENDING value, already read and validated)
    /// works. Return an error to stop the rotation; AWSCURRENT then stays where it is. The
    /// context has no labels here (`versions` is `None`): testSecret makes no DescribeSecret
    /// call. By default the same proof as the finishSecret guard ([`Rotation::verify_pending`]).
    fn test_secret<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> impl Future<Output = Result<()>> + Send {
        self.verify_pending(ctx, pending)
    }

    /// The finishSecret guard: prove that `pending` (the AWSPENDING value, already validated)
    /// works, just before AWSCURRENT moves to it. Database functions log in with it and check
    /// the session user. An error stops finishSecret with nothing changed, so a step delivered
    /// out of order (finishSecret before setSecret) can never promote credentials that do not
    /// log in.
    fn verify_pending<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The function's own preflight checks, added to `report` after the shared ones passed
    /// (Secrets Manager answers, `current` is AWSCURRENT and validated). Must change nothing.
    /// `ctx.token` is the id of a version carrying AWSPENDING (`report.pending`), or empty.
    /// By default none: the shared checks say all there is (the generic function's secret
    /// shape).
    fn preflight<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &SecretValue,
        options: crate::report::PreflightOptions,
        report: &mut crate::report::Report,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, current, options, report);
        async {}
    }
}

/// What createSecret did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// A new AWSPENDING value was stored.
    Created,
    /// The token already had a value (a retry, or a concurrent invocation won the race).
    AlreadyCreated,
}

/// createSecret: copy AWSCURRENT, give it a new password, store it as AWSPENDING under the token.
///
/// It writes first and reads only when the write is refused: the service keeps the first value
/// stored under a token, accepts the same value again, and refuses a different one with
/// `ResourceExistsException`. A refusal means a retry after a successful PutSecretValue, or a
/// concurrent createSecret for the same token that stored its value first; either way that
/// value stands (setSecret may already have used it), so it is read, validated and adopted.
/// This costs one call fewer than reading first on every rotation, and the same calls plus a
/// GetRandomPassword on a retry.
pub async fn create_secret<S: SecretStore, R: Rotation>(
    ctx: &StepContext<'_, S>,
    rotation: &R,
) -> Result<CreateOutcome> {
    let current = ctx.current().await?;
    rotation.validate(&current, AWSCURRENT)?;
    let password = ctx.store.random_password(ctx.policy).await?;
    let pending = rotation.pending_value_in(ctx, &current, &password).await?;
    match ctx
        .store
        .put_pending(ctx.arn, ctx.token, ctx.rotation_token, &pending)
        .await
    {
        Ok(()) => Ok(CreateOutcome::Created),
        Err(e) if e.is_resource_exists() => {
            let stored = ctx.pending().await?;
            rotation.validate(&stored, AWSPENDING)?;
            Ok(CreateOutcome::AlreadyCreated)
        }
        Err(e) => Err(e),
    }
}

/// testSecret: validate `pending` (the AWSPENDING value), then [`Rotation::test_secret`].
pub async fn test_secret<S: SecretStore, R: Rotation>(
    ctx: &StepContext<'_, S>,
    rotation: &R,
    pending: &SecretValue,
) -> Result<()> {
    rotation.validate(pending, AWSPENDING)?;
    rotation.test_secret(ctx, pending).await
}

/// finishSecret: check the pending version, then move the labels ([`move_labels`]).
///
/// Unlike the official functions, AWSCURRENT only moves to a version that has a value, whose
/// value validates as a secret of this function, and whose credentials work
/// ([`Rotation::verify_pending`]). A failed check is [`RotationError::FinishRefused`] and
/// changes nothing. This costs one GetSecretValue, plus whatever the hook does (one login for
/// the database functions).
pub async fn finish_secret<S: SecretStore, R: Rotation>(
    ctx: &StepContext<'_, S>,
    rotation: &R,
    versions: &VersionStages,
) -> Result<()> {
    let refused = |check: &'static str, source: RotationError| RotationError::FinishRefused {
        token: ctx.token.to_string(),
        check,
        source: Box::new(source),
    };
    let pending = match ctx.pending().await {
        Ok(value) => value,
        Err(e) if e.is_not_found() => {
            return Err(refused(
                "the AWSPENDING version has no value (createSecret did not run)",
                e,
            ))
        }
        Err(e) => return Err(e),
    };
    rotation.validate(&pending, AWSPENDING).map_err(|e| {
        refused(
            "the AWSPENDING value is not a valid secret for this function",
            e,
        )
    })?;
    match rotation.verify_pending(ctx, &pending).await {
        Ok(()) => {}
        // A network or service failure, or a login the server turned away for capacity, is
        // reported as it is (retrying may help; the credentials were not judged); a refusal
        // of the credentials themselves is a refusal to promote. Either way nothing moved.
        Err(
            e @ (RotationError::DatabaseUnreachable { .. }
            | RotationError::DatabaseAtCapacity { .. }
            | RotationError::SecretsManager { .. }),
        ) => return Err(e),
        Err(e) => return Err(refused("the AWSPENDING credentials do not work", e)),
    }
    move_labels(ctx, versions).await
}

/// Moves AWSCURRENT to the token's version (the service then puts AWSPREVIOUS on the old one),
/// then takes AWSPENDING off it so the next rotation can start; `versions` are the labels the
/// preamble read. Each move that is already done is skipped. If a move fails, the labels are read again: when AWSCURRENT is on the token
/// (a concurrent finishSecret made the move) or still where this step first saw it, the rest of
/// the plan is made from the labels as they are now; when it is anywhere else, someone else is
/// moving labels, and the step stops with [`RotationError::ConcurrentLabelChange`].
pub async fn move_labels<S: SecretStore>(
    ctx: &StepContext<'_, S>,
    versions: &VersionStages,
) -> Result<()> {
    let first_current = labels::version_with(versions, AWSCURRENT, ctx.arn)?;
    let mut plan = labels::finish_plan(versions, ctx.token, ctx.arn)?;
    let mut rereads = 0;
    while let Some(step) = plan.first().cloned() {
        match apply(ctx, &step).await {
            Ok(()) => {
                plan.remove(0);
            }
            Err(e) if rereads < 2 => {
                rereads += 1;
                let now = ctx.store.describe(ctx.arn).await?.versions;
                let now_current = labels::version_with(&now, AWSCURRENT, ctx.arn)?;
                if now_current != Some(ctx.token) && now_current != first_current {
                    return Err(RotationError::ConcurrentLabelChange {
                        secret: ctx.arn.to_string(),
                        token: ctx.token.to_string(),
                        expected: first_current.unwrap_or("no version").to_string(),
                        found: now_current.unwrap_or("no version").to_string(),
                    });
                }
                // If the same move is still needed, the error was real.
                let replanned = labels::finish_plan(&now, ctx.token, ctx.arn)?;
                if replanned.first() == Some(&step) {
                    return Err(e);
                }
                plan = replanned;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn apply<S: SecretStore>(ctx: &StepContext<'_, S>, step: &StageMove) -> Result<()> {
    ctx.store
        .update_stage(
            ctx.arn,
            step.stage,
            step.move_to.as_deref(),
            step.remove_from.as_deref(),
        )
        .await
}
