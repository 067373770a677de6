//! The generic rotation function, our counterpart of `SecretsManagerRotationTemplate`.
//!
//! Out of the box it rotates the `password` field of a JSON secret (every other key is kept)
//! without calling any external service, so the whole pipeline can be tried end to end. To rotate
//! another service, copy this crate and fill in [`GenericRotation::set_secret`] and
//! [`GenericRotation::test_secret`]: the core already does the preamble, createSecret (new
//! password under the policy, stored as AWSPENDING) and finishSecret (checks, then label moves).
//! A copy outside this workspace drops `build.rs` and [`DATABASE_ROTATION_TYPES`] (generated
//! from the registry, which only this function needs: it points database secrets to their
//! rotation types).
//!
//! A secret with an `engine` key is refused unless the deployment opts in
//! ([`ALLOW_ENGINE_KEY`]): it is a database secret, and changing its password here without
//! changing the database's would lock every client out.
#![deny(clippy::all)]
#![warn(missing_docs)]

use rotation_core::labels::{AWSCURRENT, AWSPENDING};
use rotation_core::{
    JsonSecret, PasswordDefaults, PasswordPolicy, Result, Rotation, RotationError, SecretStore,
    SecretValue, Settings, StepContext,
};

/// The policy defaults of the official template: 32 characters, no `/@"'\`.
pub const PASSWORD_DEFAULTS: PasswordDefaults = PasswordDefaults::STANDARD;

pub use rotation_core::ALLOW_ENGINE_KEY;

/// The rotation the `generic` function serves under `settings`.
pub fn build(settings: &Settings) -> Result<GenericRotation> {
    Ok(GenericRotation {
        allow_engine_key: settings.allow_engine_key,
    })
}

/// Rotates `{"password": "...", ...}` secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenericRotation {
    /// Rotate secrets that have an `engine` key too ([`ALLOW_ENGINE_KEY`]).
    pub allow_engine_key: bool,
}

/// The rotation types (`rotationType` values) of each database engine this project ships a
/// function for. The generic function links no database crate and no registry reader, so this
/// table is compiled in: `build.rs` writes it from `packaging/rotation-types.toml` (each engine
/// list in file order, with its single-user and multi-user types), and a test holds it there.
pub const DATABASE_ROTATION_TYPES: &[(&[&str], [&str; 2])] =
    include!(concat!(env!("OUT_DIR"), "/database_rotation_types.rs"));

/// The rotation type(s) that rotate secrets of `engine`.
fn rotation_types_for(engine: &str) -> String {
    match DATABASE_ROTATION_TYPES
        .iter()
        .find(|(engines, _)| engines.contains(&engine))
    {
        Some((_, [single, multi])) => format!("rotationType {single} or {multi}"),
        None => format!(
            "the rotation function for engine '{engine}' (this project does not ship one yet; see the README's support table)"
        ),
    }
}

/// The pending password obeys the password policy.
fn check_policy(policy: &PasswordPolicy, pending: &JsonSecret) -> Result<()> {
    policy.check(pending.password().expose()).map_err(|rule| {
        RotationError::TestSecret(format!(
            "the AWSPENDING password breaks the password policy: {rule}"
        ))
    })
}

impl Rotation for GenericRotation {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        let secret = JsonSecret::parse(value, which)?;
        match secret.get("engine") {
            Some(engine) if !self.allow_engine_key => {
                let engine = engine.as_str().unwrap_or("(not a string)");
                Err(RotationError::EngineKeyRefused {
                    which: which.to_string(),
                    engine: engine.to_string(),
                    use_instead: rotation_types_for(engine),
                })
            }
            _ => Ok(()),
        }
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
    async fn test_secret<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        let pending = JsonSecret::parse(pending, AWSPENDING)?;
        let current = JsonSecret::parse(&ctx.current().await?, AWSCURRENT)?;
        check_policy(ctx.policy, &pending)?;
        if pending.password() == current.password() {
            return Err(RotationError::TestSecret(
                "the AWSPENDING password equals the AWSCURRENT password".into(),
            ));
        }
        Ok(())
    }

    /// finishSecret guard hook. A copy for another service proves here, once more, that the
    /// AWSPENDING credentials work, just before they become AWSCURRENT (usually the same login
    /// as testSecret). The generic function has no service to log in to: it checks the policy
    /// again, which needs no API call.
    async fn verify_pending<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        check_policy(ctx.policy, &JsonSecret::parse(pending, AWSPENDING)?)
    }

    /// The shared checks (Secrets Manager, no rotation in progress, the secret's shape) say
    /// it all; a stale AWSPENDING was never applied to any service, so aborting it is safe.
    /// A copy for another service adds its login and privilege checks here.
    async fn preflight<S: SecretStore>(
        &self,
        _ctx: &StepContext<'_, S>,
        _current: &SecretValue,
        _options: rotation_core::PreflightOptions,
        report: &mut rotation_core::Report,
    ) {
        if let Some(pending) = report.pending.as_mut() {
            pending.abort_safe = Some(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_packaged_database_engine_is_pointed_to_its_rotation_types() {
        let types = rotation_testkit::rotation_types();
        for t in &types {
            for engine in t.list("engines") {
                let told = rotation_types_for(engine);
                assert!(told.contains(t.get("name")), "{engine}: {told}");
            }
        }
        assert!(rotation_types_for("oracle").contains("does not ship one yet"));
    }

    /// The table is the registry's (`packaging/rotation-types.toml`): each engine list, in
    /// file order, with its single-user and multi-user types; nothing more, nothing less.
    #[test]
    fn the_table_is_the_registrys() {
        let mut expected: Vec<(Vec<String>, [String; 2])> = Vec::new();
        for t in rotation_testkit::rotation_types() {
            if t.list("engines").is_empty() {
                continue;
            }
            let slot = match t.get("strategy") {
                "single" => 0,
                "alternating" => 1,
                other => panic!("{}: a database type with strategy {other:?}", t.get("name")),
            };
            let engines = t.list("engines").to_vec();
            let i = match expected.iter().position(|(e, _)| *e == engines) {
                Some(i) => i,
                None => {
                    expected.push((engines, Default::default()));
                    expected.len() - 1
                }
            };
            assert!(
                expected[i].1[slot].is_empty(),
                "{}: two types",
                t.get("name")
            );
            expected[i].1[slot] = t.get("name").to_string();
        }
        for (engines, names) in &expected {
            assert!(
                names.iter().all(|n| !n.is_empty()),
                "{engines:?}: each engine is packaged single and multi user"
            );
        }
        let table: Vec<(Vec<String>, [String; 2])> = DATABASE_ROTATION_TYPES
            .iter()
            .map(|(engines, names)| {
                (
                    engines.iter().map(|e| e.to_string()).collect(),
                    names.map(str::to_string),
                )
            })
            .collect();
        assert_eq!(
            table, expected,
            "DATABASE_ROTATION_TYPES differs from packaging/rotation-types.toml"
        );
    }
}
