//! The ElastiCache user rotation function (binary `elasticache`), our counterpart of
//! `SecretsManagerElasticacheUserRotation`: rotates the password of an ElastiCache (Redis OSS /
//! Valkey) RBAC user through the ElastiCache API, with **both** passwords live during the
//! change, so clients on either keep working and no second user is needed.
//!
//! - createSecret (the core): a new password under the policy, every other key kept.
//! - setSecret: the pending secret must name the same user (every key but `password`); the user
//!   must exist under `username` (and `USER_NAME`, when set) and authenticate by password. Done
//!   already when the cache accepts the pending password (a retry, or a concurrent invocation).
//!   Otherwise it waits (bounded) until the user is `active`, then `ModifyUser` with exactly
//!   the pending and the current password. The password no longer `AWSCURRENT` or `AWSPENDING`
//!   (last rotation's old one) is dropped there, so a user never holds more than two.
//! - testSecret: waits for `active` again; when the secret names an endpoint the function can
//!   reach, `AUTH username password` with the pending password over verified TLS must succeed.
//! - finishSecret (the core's guarded label move): first the pending password is proved with
//!   AUTH; without a reachable endpoint nothing can read what ElastiCache holds, so the guard
//!   sets both passwords again (idempotent) rather than promote one it cannot prove.
//!
//! This is also the worked example of a rotation for a service that is not a database: the
//! service behind a trait ([`UserApi`]), the steps in plain functions, the core doing the rest.
#![deny(clippy::all)]
#![warn(missing_docs)]

mod api;
mod auth;
mod sdk;
mod secret;

use std::sync::Arc;
use std::time::Duration;

use rotation_core::database::TrustAnchors;
use rotation_core::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::preflight::names;
use rotation_core::{
    PasswordDefaults, PasswordPolicy, PreflightOptions, Report, Result, Rotation, RotationError,
    SecretStore, SecretValue, Settings, StepContext,
};

pub use api::{not_found, wait_until_active, BoxFuture, CacheUser, UserApi, WaitPolicy};
pub use auth::{authenticate, AuthOutcome, AUTH_TIMEOUT};
pub use sdk::SdkElastiCache;
pub use secret::{Endpoint, UserArn, UserSecret, DEFAULT_PORT, TLS_SERVER_NAME};

/// The password policy defaults: 32 characters, without `/@"'\` (ElastiCache refuses `@`, `"`
/// and `/`).
pub const PASSWORD_DEFAULTS: PasswordDefaults = PasswordDefaults::STANDARD;
/// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` when unset: well inside the default 30 s function
/// timeout (the official 600 s cannot fit it).
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(15);
/// `WAITING_RETRY_INTERVAL_IN_SECONDS` when unset.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// The longest wait allowed: a Lambda function runs 900 s at most.
pub const MAX_WAIT_LIMIT: Duration = Duration::from_secs(840);
/// The characters ElastiCache refuses in a password.
pub const REFUSED_CHARACTERS: &str = "@\"/";

/// The ElastiCache user rotation.
#[derive(Clone)]
pub struct ElastiCacheRotation {
    api: Arc<dyn UserApi>,
    anchors: TrustAnchors,
    wait: WaitPolicy,
    user_name: Option<String>,
}

impl std::fmt::Debug for ElastiCacheRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElastiCacheRotation")
            .field("wait", &self.wait)
            .field("user_name", &self.user_name)
            .finish()
    }
}

/// The rotation the `elasticache` function serves under `settings`, on the SDK.
pub fn elasticache(settings: &Settings) -> Result<ElastiCacheRotation> {
    let anchors = TrustAnchors::new(settings.extra_ca_certs.as_deref(), true)?;
    elasticache_with(settings, Arc::new(SdkElastiCache::new()), anchors)
}

/// [`elasticache`] with the API and trust anchors given (tests use an emulator and the sandbox
/// CA). A password policy ElastiCache would refuse, or a wait that cannot fit in a Lambda
/// invocation, stops start-up.
pub fn elasticache_with(
    settings: &Settings,
    api: Arc<dyn UserApi>,
    anchors: TrustAnchors,
) -> Result<ElastiCacheRotation> {
    check_policy(&settings.password)?;
    let seconds = |v: Option<usize>, default: Duration| {
        v.map(|s| Duration::from_secs(s as u64)).unwrap_or(default)
    };
    let wait = WaitPolicy {
        max_wait: seconds(settings.max_waiting_time_for_active, DEFAULT_MAX_WAIT),
        interval: seconds(settings.waiting_retry_interval, DEFAULT_INTERVAL),
    };
    let bad = |variable: &str, problem: String| RotationError::Configuration {
        variable: variable.into(),
        problem,
    };
    if wait.max_wait > MAX_WAIT_LIMIT {
        return Err(bad(
            rotation_core::MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS,
            format!(
                "is over {} s, longer than a Lambda invocation can wait",
                MAX_WAIT_LIMIT.as_secs()
            ),
        ));
    }
    if wait.interval > wait.max_wait {
        return Err(bad(
            rotation_core::WAITING_RETRY_INTERVAL_IN_SECONDS,
            "is longer than MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS".into(),
        ));
    }
    Ok(ElastiCacheRotation {
        api,
        anchors,
        wait,
        user_name: settings.user_name.clone(),
    })
}

/// A policy that can only generate passwords ElastiCache accepts: 16 to 128 characters,
/// without `@`, `"` or `/`.
pub fn check_policy(policy: &PasswordPolicy) -> Result<()> {
    let bad = |variable: &str, problem: &str| {
        Err(RotationError::Configuration {
            variable: variable.into(),
            problem: problem.into(),
        })
    };
    if !(16..=128).contains(&policy.length) {
        return bad("PASSWORD_LENGTH", "must be 16 to 128 for ElastiCache");
    }
    if !REFUSED_CHARACTERS
        .chars()
        .all(|c| policy.exclude_characters.contains(c))
    {
        return bad(
            "EXCLUDE_CHARACTERS",
            "must include @, \" and /, which ElastiCache refuses in passwords",
        );
    }
    Ok(())
}

/// The error for a cache that answers AUTH with the pending password by `reply` (an error code).
fn pending_refused(reply: &str) -> RotationError {
    RotationError::TestSecret(format!(
        "the cache refuses AUTH with the AWSPENDING password: {reply}"
    ))
}

/// Why ElastiCache would refuse `password`, if it would.
fn refused_password(password: &SecretValue) -> Option<&'static str> {
    let p = password.expose();
    let length = p.chars().count();
    if !(16..=128).contains(&length) {
        Some("it is not 16 to 128 characters long")
    } else if p.chars().any(|c| !c.is_ascii_graphic()) {
        Some("it has a character that is not printable ASCII")
    } else if p.chars().any(|c| REFUSED_CHARACTERS.contains(c)) {
        Some("it has @, \" or /")
    } else {
        None
    }
}

impl ElastiCacheRotation {
    /// How long the steps wait for a user to be `active`, and how often they ask.
    pub fn wait(&self) -> WaitPolicy {
        self.wait
    }

    /// The same rotation with another wait (an emulator settles in less than the whole seconds
    /// the variables take).
    pub fn with_wait(mut self, wait: WaitPolicy) -> Self {
        self.wait = wait;
        self
    }

    /// The pending secret must name the same user, endpoint and everything else as the
    /// current one: only `password` changes.
    fn same_user(current: &UserSecret, pending: &UserSecret) -> Result<()> {
        let differing = current.keys_differing(pending);
        if differing.is_empty() {
            Ok(())
        } else {
            Err(RotationError::ConfusedDeputy(format!(
                "AWSPENDING differs from AWSCURRENT in {}: only the password may change",
                differing.join(", ")
            )))
        }
    }

    /// The user `secret` names, as DescribeUsers has it, once it is `active`: it must carry
    /// the secret's `username` (and `USER_NAME`, when set) and authenticate by password.
    async fn active_user(&self, secret: &UserSecret) -> Result<CacheUser> {
        if let Some(only) = &self.user_name {
            if *only != secret.username {
                return Err(RotationError::ConfusedDeputy(format!(
                    "the secret's username is {}, but this function rotates only {only} (USER_NAME)",
                    secret.username
                )));
            }
        }
        let user = wait_until_active(self.api.as_ref(), &secret.user, self.wait).await?;
        if user.name != secret.username {
            return Err(RotationError::ConfusedDeputy(format!(
                "ElastiCache user {} is named {}, not {} as the secret says",
                user.id, user.name, secret.username
            )));
        }
        match user.authentication.as_deref() {
            Some("password") => Ok(user),
            other => Err(RotationError::SetSecret(format!(
                "ElastiCache user {} authenticates with {}, not a password: there is no password to rotate",
                user.id,
                other.unwrap_or("nothing")
            ))),
        }
    }

    /// ModifyUser with exactly `pending` and `current`; a user that went `modifying` meanwhile
    /// (a concurrent invocation) is waited for once more.
    async fn set_both(&self, current: &UserSecret, pending: &UserSecret) -> Result<()> {
        let passwords = [pending.password(), current.password()];
        match self.api.set_passwords(&current.user, &passwords).await {
            Err(RotationError::ElastiCache { code, .. })
                if code.to_string() == "InvalidUserState" =>
            {
                self.active_user(current).await?;
                self.api.set_passwords(&current.user, &passwords).await
            }
            other => other,
        }
    }

    /// AUTH with `secret`'s password at its endpoint, when it names one.
    async fn auth(&self, secret: &UserSecret) -> Result<Option<AuthOutcome>> {
        match &secret.endpoint {
            None => Ok(None),
            Some(endpoint) => Ok(Some(
                authenticate(
                    &self.anchors,
                    endpoint,
                    &secret.username,
                    &secret.password(),
                )
                .await?,
            )),
        }
    }

    /// Both secrets of this rotation, checked against each other and the service's rules.
    async fn pair<S: SecretStore>(
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<(UserSecret, UserSecret)> {
        let current = UserSecret::parse(&ctx.current().await?, AWSCURRENT)?;
        let pending = UserSecret::parse(pending, AWSPENDING)?;
        Self::same_user(&current, &pending)?;
        if let Some(why) = refused_password(&pending.password()) {
            return Err(RotationError::SetSecret(format!(
                "ElastiCache would refuse the AWSPENDING password: {why}"
            )));
        }
        if pending.password() == current.password() {
            return Err(RotationError::SetSecret(
                "the AWSPENDING password equals the AWSCURRENT password".into(),
            ));
        }
        Ok((current, pending))
    }
}

impl Rotation for ElastiCacheRotation {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        UserSecret::parse(value, which).map(|_| ())
    }

    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        let (current, pending) = Self::pair(ctx, &ctx.pending().await?).await?;
        if let Some(AuthOutcome::Accepted) = self.auth(&pending).await? {
            tracing::info!(user = %pending.user.user_id, "the cache accepts AWSPENDING already: setSecret has nothing to do");
            return Ok(());
        }
        self.active_user(&current).await?;
        self.set_both(&current, &pending).await?;
        tracing::info!(user = %current.user.user_id, "ModifyUser: the user's passwords are now AWSPENDING's and AWSCURRENT's");
        Ok(())
    }

    async fn test_secret<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        let (_, pending) = Self::pair(ctx, pending).await?;
        self.active_user(&pending).await?;
        match self.auth(&pending).await? {
            None => Ok(()),
            Some(AuthOutcome::Accepted) => Ok(()),
            Some(AuthOutcome::Refused(reply)) => Err(pending_refused(&reply)),
            Some(AuthOutcome::Unreachable(why)) => {
                tracing::warn!(%why, "the cache endpoint named by the secret cannot be reached from the function; the AWSPENDING password was not proved with AUTH");
                Ok(())
            }
        }
    }

    async fn verify_pending<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        let (current, pending) = Self::pair(ctx, pending).await?;
        match self.auth(&pending).await? {
            Some(AuthOutcome::Accepted) => return Ok(()),
            Some(AuthOutcome::Refused(reply)) => return Err(pending_refused(&reply)),
            Some(AuthOutcome::Unreachable(_)) | None => {}
        }
        // Nothing can read what ElastiCache holds: set both passwords again (what setSecret
        // does; idempotent) instead of promoting one that may never have been set, and promote
        // only once the user is active again (the new password is in effect).
        self.active_user(&current).await?;
        self.set_both(&current, &pending).await?;
        self.active_user(&current).await.map(|_| ())
    }

    /// One DescribeUsers (no wait): the user exists under the secret's name, authenticates by
    /// password, and is `active`; AUTH with AWSCURRENT (and a stale AWSPENDING, and AWSPREVIOUS
    /// when asked) where the secret names an endpoint. Aborting a rotation is always safe here:
    /// the user keeps AWSCURRENT's password beside AWSPENDING's until the next rotation.
    async fn preflight<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &SecretValue,
        options: PreflightOptions,
        report: &mut Report,
    ) {
        let current = match UserSecret::parse(current, AWSCURRENT) {
            Ok(c) => c,
            Err(e) => return report.fail_with(names::SECRET_SHAPE, &e),
        };
        match self.api.describe(&current.user).await {
            Ok(Some(user)) => {
                let mut problems = Vec::new();
                if user.name != current.username {
                    problems.push(format!(
                        "it is named {}, not {} as the secret says",
                        user.name, current.username
                    ));
                }
                if let Some(only) = self.user_name.as_ref().filter(|o| **o != current.username) {
                    problems.push(format!("this function rotates only {only} (USER_NAME)"));
                }
                if user.authentication.as_deref() != Some("password") {
                    problems.push(format!(
                        "it authenticates with {}, not a password",
                        user.authentication.as_deref().unwrap_or("nothing")
                    ));
                }
                if user.status != "active" {
                    problems.push(format!("its status is {} (setSecret waits up to MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS for active)", user.status));
                }
                let detail = format!("ElastiCache user {} (DescribeUsers answered)", user.id);
                if problems.is_empty() {
                    report.pass(
                        names::SERVICE,
                        format!(
                            "{detail}: named {}, password authentication, active",
                            user.name
                        ),
                    );
                } else {
                    report.fail(names::SERVICE, format!("{detail}: {}", problems.join("; ")));
                }
            }
            Ok(None) => report.fail_with(names::SERVICE, &not_found(&current.user)),
            Err(e) => report.fail_with(names::SERVICE, &e),
        }
        match self.auth(&current).await {
            Ok(None) => report.pass(names::CURRENT_LOGIN, "the secret names no endpoint (host): AUTH is not tried, as testSecret does not"),
            Ok(Some(AuthOutcome::Accepted)) => report.pass(names::CURRENT_LOGIN, format!("AUTH as {} with AWSCURRENT accepted over verified TLS", current.username)),
            Ok(Some(AuthOutcome::Refused(code))) => report.fail(names::CURRENT_LOGIN, format!("AUTH as {} with AWSCURRENT refused ({code})", current.username)),
            Ok(Some(AuthOutcome::Unreachable(why))) => report.pass(names::CURRENT_LOGIN, format!("the endpoint cannot be reached from the function ({why}); testSecret then proves nothing with AUTH")),
            Err(e) => report.fail_with(names::CURRENT_LOGIN, &e),
        }
        let stages = [
            (
                AWSPENDING,
                report.pending.as_ref().map(|p| p.version.clone()),
                names::PENDING_LOGIN,
            ),
            (
                AWSPREVIOUS,
                report
                    .previous
                    .as_ref()
                    .filter(|_| options.previous)
                    .map(|p| p.version.clone()),
                names::PREVIOUS_LOGIN,
            ),
        ];
        for (stage, version, name) in stages {
            let Some(version) = version else { continue };
            let logs_in = match ctx.store.get_value(ctx.arn, stage, Some(&version)).await {
                Err(e) => {
                    report.fail_with(name, &e);
                    None
                }
                Ok(value) => match UserSecret::parse(&value, stage)
                    .and_then(|other| Self::same_user(&current, &other).map(|()| other))
                {
                    Err(e) => {
                        report.fail_with(name, &e);
                        None
                    }
                    Ok(other) => match self.auth(&other).await {
                        Ok(Some(AuthOutcome::Accepted)) => {
                            report.pass(
                                name,
                                format!("AUTH with {stage} (version {version}) accepted"),
                            );
                            Some(true)
                        }
                        Ok(Some(AuthOutcome::Refused(code))) => {
                            report.pass(
                                name,
                                format!("AUTH with {stage} (version {version}) refused ({code})"),
                            );
                            Some(false)
                        }
                        Ok(_) => {
                            report.pass(name, format!("{stage} (version {version}) was not tried: no reachable endpoint"));
                            None
                        }
                        Err(e) => {
                            report.fail_with(name, &e);
                            None
                        }
                    },
                },
            };
            let state = if stage == AWSPENDING {
                report.pending.as_mut()
            } else {
                report.previous.as_mut()
            };
            if let Some(state) = state {
                state.logs_in = logs_in;
                if stage == AWSPENDING {
                    state.abort_safe = Some(true);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(vars: &[(&str, &str)]) -> PasswordPolicy {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PasswordPolicy::from_lookup(PASSWORD_DEFAULTS, move |k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .unwrap()
    }

    #[test]
    fn the_policy_must_only_make_passwords_elasticache_accepts() {
        check_policy(&policy(&[])).unwrap();
        check_policy(&policy(&[("PASSWORD_LENGTH", "16")])).unwrap();
        for (vars, variable) in [
            (vec![("PASSWORD_LENGTH", "15")], "PASSWORD_LENGTH"),
            (vec![("PASSWORD_LENGTH", "129")], "PASSWORD_LENGTH"),
            (vec![("EXCLUDE_CHARACTERS", "@/")], "EXCLUDE_CHARACTERS"),
        ] {
            let err = check_policy(&policy(&vars)).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError");
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn passwords_elasticache_refuses_are_named() {
        let ok = SecretValue::new("Abcdefgh12345678!#");
        assert_eq!(refused_password(&ok), None);
        for bad in [
            "short",
            "Abcdefgh12345678@",
            "Abcdefgh 12345678",
            "Abcdefgh12345678é",
        ] {
            assert!(refused_password(&SecretValue::new(bad)).is_some(), "{bad}");
        }
        assert!(refused_password(&SecretValue::new("x".repeat(129))).is_some());
    }
}
