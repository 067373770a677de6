//! The generic rotation function, our counterpart of `SecretsManagerRotationTemplate`.
//!
//! Out of the box it rotates the `password` field of a JSON secret (every other key is kept)
//! without calling any external service, so the whole pipeline can be tried end to end. To rotate
//! another service, copy this crate and fill in [`GenericRotation::set_secret`] and
//! [`GenericRotation::test_secret`]: the core already does the preamble, createSecret (new
//! password under the policy, stored as AWSPENDING) and finishSecret (label moves).
#![deny(clippy::all)]
#![warn(missing_docs)]

use rotation_core::labels::{AWSCURRENT, AWSPENDING};
use rotation_core::{
    JsonSecret, PasswordDefaults, Result, Rotation, RotationError, SecretStore, SecretValue,
    StepContext,
};

/// The policy defaults of the official template: 32 characters, no `/@"'\`.
pub const PASSWORD_DEFAULTS: PasswordDefaults = PasswordDefaults::STANDARD;

/// Rotates `{"password": "...", ...}` secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenericRotation;

impl Rotation for GenericRotation {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        JsonSecret::parse(value, which).map(|_| ())
    }

    fn pending_value(
        &self,
        current: &SecretValue,
        new_password: &SecretValue,
    ) -> Result<SecretValue> {
        Ok(JsonSecret::parse(current, AWSCURRENT)?
            .with_password(new_password)
            .to_secret_value())
    }

    /// setSecret hook. This is where a copy for another service makes that service accept the
    /// AWSPENDING password. Rules for that code:
    /// - be idempotent: first check whether the pending credentials already work, and return
    ///   Ok if they do (a retry, or a concurrent invocation, got there first);
    /// - check that the pending secret names the same account and host as AWSCURRENT before
    ///   changing anything (never let a crafted AWSPENDING change someone else's password);
    /// - authenticate with the AWSCURRENT credentials to make the change;
    /// - on any error, return it: AWSCURRENT is left untouched and keeps working.
    ///
    /// The generic function has no external service: it only checks that the pending value is a
    /// JSON secret with a password.
    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        let pending = ctx.pending().await?;
        JsonSecret::parse(&pending, AWSPENDING).map(|_| ())
    }

    /// testSecret hook. A copy for another service logs in with the AWSPENDING credentials and
    /// runs the smallest request that proves they work. Any error stops the rotation before
    /// finishSecret, so AWSCURRENT stays where it is.
    ///
    /// The generic function checks what it can without a service: the pending password obeys the
    /// password policy and differs from the current one.
    async fn test_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        let pending = JsonSecret::parse(&ctx.pending().await?, AWSPENDING)?;
        let current = JsonSecret::parse(&ctx.current().await?, AWSCURRENT)?;
        ctx.policy
            .check(pending.password().expose())
            .map_err(|rule| {
                RotationError::TestSecret(format!(
                    "the AWSPENDING password breaks the password policy: {rule}"
                ))
            })?;
        if pending.password() == current.password() {
            return Err(RotationError::TestSecret(
                "the AWSPENDING password equals the AWSCURRENT password".into(),
            ));
        }
        Ok(())
    }
}
