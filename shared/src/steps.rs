//! The extension points of a rotation function and the two steps every function shares:
//! createSecret and finishSecret.

use std::future::Future;

use crate::error::Result;
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
    /// The password policy of this function.
    pub policy: &'a PasswordPolicy,
    /// `VersionIdsToStages` as the preamble read it.
    pub versions: &'a VersionStages,
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
    pub async fn previous(&self) -> Result<Option<SecretValue>> {
        if labels::versions_with(self.versions, AWSPREVIOUS).is_empty() {
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
    /// Keep every key you do not change.
    fn pending_value(
        &self,
        current: &SecretValue,
        new_password: &SecretValue,
    ) -> Result<SecretValue>;

    /// setSecret: make the service accept the AWSPENDING credentials. Must be idempotent and safe
    /// to run twice at once; on failure the AWSCURRENT credentials must still work.
    fn set_secret<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// testSecret: prove the AWSPENDING credentials work. Return an error to stop the rotation;
    /// AWSCURRENT then stays where it is.
    fn test_secret<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
    ) -> impl Future<Output = Result<()>> + Send;
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
pub async fn create_secret<S: SecretStore, R: Rotation>(
    ctx: &StepContext<'_, S>,
    rotation: &R,
) -> Result<CreateOutcome> {
    let current = ctx.current().await?;
    rotation.validate(&current, AWSCURRENT)?;
    // A retry after a successful PutSecretValue finds the value: nothing to do.
    match ctx.pending().await {
        Ok(existing) => {
            rotation.validate(&existing, AWSPENDING)?;
            return Ok(CreateOutcome::AlreadyCreated);
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    let password = ctx.store.random_password(ctx.policy).await?;
    let pending = rotation.pending_value(&current, &password)?;
    match ctx.store.put_pending(ctx.arn, ctx.token, &pending).await {
        Ok(()) => Ok(CreateOutcome::Created),
        // Race: another createSecret for the same token stored its own value between our read
        // and our write. The service keeps the first value for a token and refuses a different
        // one; the first value is as good as ours, so adopt it instead of failing the rotation.
        Err(e) if e.is_resource_exists() => {
            let winner = ctx.pending().await?;
            rotation.validate(&winner, AWSPENDING)?;
            Ok(CreateOutcome::AlreadyCreated)
        }
        Err(e) => Err(e),
    }
}

/// finishSecret: move AWSCURRENT to the token's version (the service then puts AWSPREVIOUS on
/// the old one), then take AWSPENDING off it so the next rotation can start. Each move that is
/// already done is skipped; if a move fails because a concurrent finishSecret made it first, the
/// labels are read again and the rotation carries on from where they stand.
pub async fn finish_secret<S: SecretStore>(ctx: &StepContext<'_, S>) -> Result<()> {
    let mut plan = labels::finish_plan(ctx.versions, ctx.token, ctx.arn)?;
    let mut rereads = 0;
    while let Some(step) = plan.first().cloned() {
        match apply(ctx, &step).await {
            Ok(()) => {
                plan.remove(0);
            }
            Err(e) if rereads < 2 => {
                // Another invocation may have made this move already: re-plan from the labels as
                // they are now. If the same move is still needed, the error was real.
                rereads += 1;
                let now = ctx.store.describe(ctx.arn).await?.versions;
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
