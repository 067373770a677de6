//! The ElastiCache user rotation function (binary `elasticache`), our counterpart of
//! `SecretsManagerElasticacheUserRotation`: rotates the password of an ElastiCache (Redis OSS /
//! Valkey) RBAC user through the ElastiCache API, with **both** passwords live during the
//! change, so clients on either keep working and no second user is needed.
//!
//! - Scope, in every step and the preflight, before anything else: the secret's `user_arn`
//!   must match an entry of `ELASTICACHE_USER_ARNS` (the template's `elastiCacheUserArns`;
//!   the function does not start without it), and `username` must be `USER_NAME` when set.
//!   The role may change exactly those users; whoever can write the secret must not be able to
//!   point it at any other (`ConfusedDeputy`).
//! - createSecret (the core): a new password under the policy, every other key kept; refused
//!   before anything is written when AWSCURRENT names a user outside the list ([`Rotation::validate`]).
//! - setSecret: the pending secret must name the same user (every key but `password`). Done
//!   already when the cache accepts the pending password (a retry, or a concurrent invocation;
//!   that changes nothing, and proves its writer knows a live password). Otherwise, when the
//!   secret names an endpoint, the cache must accept `AUTH` with AWSCURRENT first (proof that
//!   the secret holds the user's password; refused or unreachable: nothing is changed). Then it
//!   waits (bounded by the step's deadline) until the user is `active` under `username` with
//!   the ARN the secret names; after a wait it reads the labels again; then `ModifyUser` with
//!   exactly the pending and the current password. The password no longer `AWSCURRENT` or
//!   `AWSPENDING` (last rotation's old one) is dropped there, so a user never holds more than
//!   two.
//! - testSecret: waits for `active` again; when the secret names an endpoint, `AUTH username
//!   password` with the pending password over verified TLS must succeed (an endpoint it cannot
//!   reach proves nothing: refused).
//! - finishSecret (the core's guarded label move): with an endpoint, the pending password is
//!   proved with AUTH (unreachable: refused). Without one, nothing can read what ElastiCache
//!   holds, so the guard sets both passwords again as setSecret does (idempotent, labels read
//!   again after a wait) rather than promote one it cannot prove.
//!
//! Each step has one deadline ([`ElastiCacheRotation::step_deadline`]): the wait never plans a
//! sleep past it, AUTH never waits past it, and ModifyUser is not started without the time for
//! it; every SDK call has operation timeouts ([`API_OPERATION_TIMEOUT`]).
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

use rotation_core::anchors::TrustAnchors;
use rotation_core::labels::{self, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::preflight::names;
use rotation_core::{
    arn_matches, PasswordDefaults, PasswordPolicy, PreflightOptions, Report, Result, Rotation,
    RotationError, SecretStore, SecretValue, ServerError, Settings, StepContext,
    ELASTICACHE_USER_ARNS,
};
use tokio::time::Instant;

use api::time_left_for;
pub use api::{
    elasticache_code, not_found, wait_until_active, Active, BoxFuture, CacheUser, UserApi,
    WaitPolicy, ELASTICACHE_API,
};
pub use auth::{authenticate, AuthOutcome, AUTH_TIMEOUT};
pub use sdk::{SdkElastiCache, API_ATTEMPT_TIMEOUT, API_CONNECT_TIMEOUT, API_OPERATION_TIMEOUT};
pub use secret::{Endpoint, UserArn, UserSecret, DEFAULT_PORT, TLS_SERVER_NAME};

/// The password policy defaults: 32 characters, without `/@"'\,` (ElastiCache refuses `,`, `"`,
/// `/` and `@`: [`REFUSED_CHARACTERS`]). The other functions' default lets `,` in, which
/// ElastiCache's documented rule does not.
pub const PASSWORD_DEFAULTS: PasswordDefaults = PasswordDefaults {
    length: 32,
    exclude_characters: "/@\"'\\,",
};
/// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` when unset: with [`STEP_RESERVE`], well inside the
/// default 30 s function timeout (the official 600 s cannot fit it).
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(15);
/// `WAITING_RETRY_INTERVAL_IN_SECONDS` when unset.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// The longest wait allowed: a Lambda function runs 900 s at most, and a step keeps
/// [`STEP_RESERVE`] beyond its wait.
pub const MAX_WAIT_LIMIT: Duration = Duration::from_secs(840);
/// What a step may take beyond its wait for `active`: a DescribeUsers and a ModifyUser at the
/// SDK's operation timeout, plus 2 s for its AUTHs and the labels read after a wait. A step's
/// deadline is its start plus `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` plus this (27 s by
/// default).
pub const STEP_RESERVE: Duration = Duration::from_secs(2 * API_OPERATION_TIMEOUT.as_secs() + 2);
/// The characters ElastiCache refuses in a password: "The following nonalphanumeric
/// characters are not allowed: `,` `""` `/` `@`" (ElastiCache user guide, Role-Based Access
/// Control, user password constraints:
/// <https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html>).
pub const REFUSED_CHARACTERS: &str = ",\"/@";
/// The template parameter that sets `ELASTICACHE_USER_ARNS`.
pub const USER_ARNS_PARAMETER: &str = "elastiCacheUserArns";

/// The ElastiCache user rotation.
#[derive(Clone)]
pub struct ElastiCacheRotation {
    api: Arc<dyn UserApi>,
    anchors: TrustAnchors,
    wait: WaitPolicy,
    user_name: Option<String>,
    user_arns: Vec<String>,
}

impl std::fmt::Debug for ElastiCacheRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElastiCacheRotation")
            .field("wait", &self.wait)
            .field("user_name", &self.user_name)
            .field("user_arns", &self.user_arns)
            .finish()
    }
}

/// The rotation the `elasticache` function serves under `settings`, on the SDK.
pub fn build(settings: &Settings) -> Result<ElastiCacheRotation> {
    let anchors = TrustAnchors::new(settings.extra_ca_certs.as_deref(), true)?;
    build_with(settings, Arc::new(SdkElastiCache::new()), anchors)
}

/// The `elasticache` function with the API and trust anchors given (tests use an emulator and the sandbox
/// CA). A password policy ElastiCache would refuse, a wait that cannot fit in a Lambda
/// invocation, or no `ELASTICACHE_USER_ARNS` stops start-up.
pub fn build_with(
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
        call_timeout: API_OPERATION_TIMEOUT,
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
    if settings.elasticache_user_arns.is_empty() {
        return Err(bad(
            ELASTICACHE_USER_ARNS,
            format!("is empty: name the ElastiCache users this function may change (the template parameter {USER_ARNS_PARAMETER}, required). Without the list, whoever can write a secret this function rotates could point it at any user the role can change"),
        ));
    }
    Ok(ElastiCacheRotation {
        api,
        anchors,
        wait,
        user_name: settings.user_name.clone(),
        user_arns: settings.elasticache_user_arns.clone(),
    })
}

/// A policy that can only generate passwords ElastiCache accepts: 16 to 128 characters,
/// without `,`, `"`, `/` or `@`.
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
            "must include , \" / and @, which ElastiCache refuses in passwords",
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

/// The error for an endpoint the function cannot connect to, so `which` could not be proved
/// with AUTH; `then` says what that stopped.
fn unreachable(endpoint: &Endpoint, which: &str, why: &str, then: &str) -> RotationError {
    RotationError::DatabaseUnreachable {
        which: which.into(),
        host: endpoint.host.clone(),
        port: endpoint.port,
        detail: format!(
            "{why}; AUTH could not prove the {which} password, so {then}. The function must reach the cache endpoint the secret names; to rotate without one, remove host (and port, {TLS_SERVER_NAME}) from the secret: then only {ELASTICACHE_USER_ARNS} guards which user is changed"
        ),
    }
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
        Some("it has , \" / or @")
    } else {
        None
    }
}

/// Both secrets of a rotation, checked against each other, and the version AWSCURRENT was on
/// when it was read (the password the pair keeps).
struct Pair {
    current: UserSecret,
    current_version: String,
    pending: UserSecret,
}

/// What [`ElastiCacheRotation::set_pair`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// ModifyUser set the pair.
    Made,
    /// Another delivery finished this rotation while this one waited (its token is AWSCURRENT):
    /// nothing to do.
    Finished,
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

    /// The one deadline of a step starting now: the wait's longest plus [`STEP_RESERVE`].
    /// Every wait, AUTH and ModifyUser of the step plans against it. When the core passes the
    /// invocation's own deadline (Lambda's, less a margin), the earlier of the two is the one.
    pub fn step_deadline(&self) -> Instant {
        Instant::now() + self.wait.max_wait + STEP_RESERVE
    }

    /// The users this function may change (`ELASTICACHE_USER_ARNS`).
    pub fn user_arns(&self) -> &[String] {
        &self.user_arns
    }

    /// The secret's `user_arn`, as written, must match an entry of `ELASTICACHE_USER_ARNS`
    /// (`*` and `?` as in IAM), and its `username` must be `USER_NAME` when that is set.
    fn in_scope(&self, secret: &UserSecret) -> Result<()> {
        if !self
            .user_arns
            .iter()
            .any(|pattern| arn_matches(pattern, &secret.user_arn))
        {
            return Err(RotationError::ConfusedDeputy(format!(
                "the secret's user_arn {} is not a user this function may change ({ELASTICACHE_USER_ARNS}, from the template parameter {USER_ARNS_PARAMETER}); nothing was written or changed. If this function is meant to rotate that user, add its ARN to {USER_ARNS_PARAMETER}",
                secret.user_arn
            )));
        }
        if let Some(only) = &self.user_name {
            if *only != secret.username {
                return Err(RotationError::ConfusedDeputy(format!(
                    "the secret's username is {}, but this function rotates only {only} (USER_NAME)",
                    secret.username
                )));
            }
        }
        Ok(())
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

    /// The user `secret` names, as DescribeUsers has it, once it is `active` (waiting no longer
    /// than `deadline` allows): it must carry the secret's `username` and ARN and authenticate
    /// by password.
    async fn active_user(&self, secret: &UserSecret, deadline: Instant) -> Result<Active> {
        let active =
            wait_until_active(self.api.as_ref(), &secret.user, self.wait, deadline).await?;
        let user = &active.user;
        if user.name != secret.username {
            return Err(RotationError::ConfusedDeputy(format!(
                "ElastiCache user {} is named {}, not {} as the secret says",
                user.id, user.name, secret.username
            )));
        }
        if user.arn.as_deref() != Some(secret.user_arn.as_str()) {
            return Err(RotationError::ConfusedDeputy(format!(
                "the secret's user_arn is {}, but DescribeUsers reports ElastiCache user {} as {}: the user this function would change is not the one the ARN (matched against {ELASTICACHE_USER_ARNS}) names. Write the ARN DescribeUsers reports",
                secret.user_arn,
                user.id,
                user.arn.as_deref().unwrap_or("(no ARN)")
            )));
        }
        match user.authentication.as_deref() {
            Some("password") => Ok(active),
            other => Err(RotationError::SetSecret(format!(
                "ElastiCache user {} authenticates with {}, not a password: there is no password to rotate",
                user.id,
                other.unwrap_or("nothing")
            ))),
        }
    }

    /// Reads the labels again after a wait, just before ModifyUser: the token must still carry
    /// AWSPENDING and AWSCURRENT must still be on `current_version` (the password the pair
    /// keeps), or nothing is written. A token that is AWSCURRENT now was finished by another
    /// delivery ([`Change::Finished`]). One DescribeSecret.
    async fn labels_after_wait<S: SecretStore>(
        ctx: &StepContext<'_, S>,
        current_version: &str,
    ) -> Result<Option<Change>> {
        let now = ctx.store.describe(ctx.arn).await?.versions;
        if labels::has_label(&now, ctx.token, AWSCURRENT) {
            return Ok(Some(Change::Finished));
        }
        if !labels::has_label(&now, ctx.token, AWSPENDING) {
            return Err(RotationError::VersionNotPending {
                secret: ctx.arn.to_string(),
                token: ctx.token.to_string(),
                pending_on: labels::versions_with(&now, AWSPENDING)
                    .first()
                    .map_or_else(|| "no version".to_string(), |v| v.to_string()),
            });
        }
        match labels::version_with(&now, AWSCURRENT, ctx.arn)? {
            Some(found) if found == current_version => Ok(None),
            found => Err(RotationError::ConcurrentLabelChange {
                secret: ctx.arn.to_string(),
                token: ctx.token.to_string(),
                expected: current_version.to_string(),
                found: found.unwrap_or("no version").to_string(),
            }),
        }
    }

    /// Waits for `active`, then ModifyUser with exactly the pending and the current password.
    /// After a wait (or a ModifyUser refused because the user went `modifying` meanwhile: a
    /// concurrent invocation, waited for once more) the labels are read again first; and
    /// ModifyUser starts only with the time for it left before `deadline`.
    async fn set_pair<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pair: &Pair,
        deadline: Instant,
    ) -> Result<Change> {
        let passwords = [pair.pending.password(), pair.current.password()];
        let mut waited = self.active_user(&pair.current, deadline).await?.waited;
        let mut retried = false;
        loop {
            if waited {
                if let Some(done) = Self::labels_after_wait(ctx, &pair.current_version).await? {
                    tracing::info!(user = %pair.current.user.user_id, "this rotation was finished by another invocation while this one waited: nothing to set");
                    return Ok(done);
                }
            }
            time_left_for(deadline, self.wait.call_timeout, "ModifyUser")?;
            match self.api.set_passwords(&pair.current.user, &passwords).await {
                Err(e)
                    if !retried
                        && elasticache_code(&e)
                            .is_some_and(|c| c.to_string() == "InvalidUserState") =>
                {
                    retried = true;
                    self.active_user(&pair.current, deadline).await?;
                    waited = true;
                }
                Err(e) => return Err(e),
                Ok(()) => return Ok(Change::Made),
            }
        }
    }

    /// When `pending` names an endpoint: AUTH with its password must be accepted (true);
    /// refused, or an endpoint that cannot be reached, is an error saying `consequence`.
    /// Without an endpoint nothing can be proved here (false).
    async fn prove_pending(
        &self,
        pending: &UserSecret,
        deadline: Instant,
        consequence: &str,
    ) -> Result<bool> {
        let Some(endpoint) = &pending.endpoint else {
            return Ok(false);
        };
        match self.auth(pending, AWSPENDING, deadline).await? {
            None | Some(AuthOutcome::Accepted) => Ok(true),
            Some(AuthOutcome::Refused(reply)) => Err(pending_refused(&reply)),
            Some(AuthOutcome::Unreachable(why)) => {
                Err(unreachable(endpoint, AWSPENDING, &why, consequence))
            }
        }
    }

    /// AUTH with `secret`'s password (the version `which`) at its endpoint, when it names one.
    async fn auth(
        &self,
        secret: &UserSecret,
        which: &str,
        deadline: Instant,
    ) -> Result<Option<AuthOutcome>> {
        match &secret.endpoint {
            None => Ok(None),
            Some(endpoint) => Ok(Some(
                authenticate(
                    &self.anchors,
                    endpoint,
                    &secret.username,
                    &secret.password(),
                    which,
                    deadline,
                )
                .await?,
            )),
        }
    }

    /// setSecret's proof, when the secret names an endpoint: the cache accepts AUTH with
    /// AWSCURRENT, so the secret holds the user's password (whoever wrote it knew it). Refused
    /// or unreachable: an error, and nothing was changed.
    async fn prove_current(&self, current: &UserSecret, deadline: Instant) -> Result<()> {
        let Some(endpoint) = &current.endpoint else {
            return Ok(());
        };
        match self.auth(current, AWSCURRENT, deadline).await? {
            None | Some(AuthOutcome::Accepted) => Ok(()),
            Some(AuthOutcome::Refused(code)) => Err(RotationError::AuthenticationFailed {
                which: AWSCURRENT.into(),
                user: current.username.clone(),
                host: endpoint.host.clone(),
                server: Some(Box::new(ServerError {
                    scheme: "Redis",
                    code,
                    message: None,
                })),
                hint: "; setSecret proves AWSCURRENT with AUTH before it calls ModifyUser, so nothing was changed. The secret does not hold this user's password (changed elsewhere, another secret naming the same user rotated it, or the secret was written by someone who did not know it): put the user's working password in AWSCURRENT, then rotate".into(),
            }),
            Some(AuthOutcome::Unreachable(why)) => Err(unreachable(
                endpoint,
                AWSCURRENT,
                &why,
                "setSecret changed nothing",
            )),
        }
    }

    /// Both secrets of this rotation, each in scope and checked against the other and the
    /// service's rules. AWSCURRENT is read (and checked) first, with the version it is on.
    async fn pair<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: Option<&SecretValue>,
    ) -> Result<Pair> {
        let version = ctx.store.get_version(ctx.arn, AWSCURRENT, None).await?;
        let current = UserSecret::parse(&version.value, AWSCURRENT)?;
        self.in_scope(&current)?;
        let pending = match pending {
            Some(value) => UserSecret::parse(value, AWSPENDING)?,
            None => UserSecret::parse(&ctx.pending().await?, AWSPENDING)?,
        };
        self.in_scope(&pending)?;
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
        Ok(Pair {
            current,
            current_version: version.version_id,
            pending,
        })
    }
}

impl Rotation for ElastiCacheRotation {
    /// Parses the secret and checks its scope: createSecret calls this on AWSCURRENT before it
    /// writes anything, testSecret and finishSecret on AWSPENDING.
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        self.in_scope(&UserSecret::parse(value, which)?)
    }

    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        let deadline = self.step_deadline();
        let pair = self.pair(ctx, None).await?;
        if let Some(endpoint) = &pair.pending.endpoint {
            // The cache accepting AWSPENDING already is a proof too: whoever wrote it knows a
            // live password, and nothing is changed.
            match self.auth(&pair.pending, AWSPENDING, deadline).await? {
                Some(AuthOutcome::Accepted) => {
                    tracing::info!(user = %pair.pending.user.user_id, "the cache accepts AWSPENDING already: setSecret has nothing to do");
                    return Ok(());
                }
                Some(AuthOutcome::Unreachable(why)) => {
                    return Err(unreachable(
                        endpoint,
                        AWSCURRENT,
                        &why,
                        "setSecret changed nothing",
                    ))
                }
                Some(AuthOutcome::Refused(_)) | None => {}
            }
        }
        self.prove_current(&pair.current, deadline).await?;
        if self.set_pair(ctx, &pair, deadline).await? == Change::Made {
            tracing::info!(user = %pair.current.user.user_id, "ModifyUser: the user's passwords are now AWSPENDING's and AWSCURRENT's");
        }
        Ok(())
    }

    async fn test_secret<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        let deadline = self.step_deadline();
        let pair = self.pair(ctx, Some(pending)).await?;
        self.active_user(&pair.pending, deadline).await?;
        self.prove_pending(&pair.pending, deadline, "testSecret cannot pass it")
            .await
            .map(|_| ())
    }

    async fn verify_pending<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        let deadline = self.step_deadline();
        let pair = self.pair(ctx, Some(pending)).await?;
        let proved = self
            .prove_pending(
                &pair.pending,
                deadline,
                "finishSecret did not move AWSCURRENT",
            )
            .await?;
        if proved {
            return Ok(());
        }
        // No endpoint: nothing can read what ElastiCache holds. Set both passwords again (what
        // setSecret does; idempotent) instead of promoting one that may never have been set,
        // and promote only once the user is active again (the new password is in effect).
        if self.set_pair(ctx, &pair, deadline).await? == Change::Made {
            self.active_user(&pair.current, deadline).await?;
        }
        Ok(())
    }

    /// One DescribeUsers (no wait): the user exists under the secret's name and ARN,
    /// authenticates by password, and is `active`; AUTH with AWSCURRENT (and a stale
    /// AWSPENDING, and AWSPREVIOUS when asked) where the secret names an endpoint, which must
    /// be reachable (setSecret refuses otherwise). The scope (`ELASTICACHE_USER_ARNS`,
    /// `USER_NAME`) is the core's secret_shape check ([`Rotation::validate`]). Aborting a
    /// rotation is always safe here: the user keeps AWSCURRENT's password beside AWSPENDING's
    /// until the next rotation.
    async fn preflight<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &SecretValue,
        options: PreflightOptions,
        report: &mut Report,
    ) {
        let deadline = self.step_deadline();
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
                if user.arn.as_deref() != Some(current.user_arn.as_str()) {
                    problems.push(format!(
                        "DescribeUsers reports its ARN as {}, not {} as the secret says",
                        user.arn.as_deref().unwrap_or("(no ARN)"),
                        current.user_arn
                    ));
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
        let address = current
            .endpoint
            .as_ref()
            .map(|e| format!("{}:{}", e.host, e.port))
            .unwrap_or_default();
        match self.auth(&current, AWSCURRENT, deadline).await {
            Ok(None) => report.pass(names::CURRENT_LOGIN, format!("the secret names no endpoint (host): AUTH is not tried, and nothing proves the secret holds the user's password; {ELASTICACHE_USER_ARNS} alone guards which user setSecret changes")),
            Ok(Some(AuthOutcome::Accepted)) => report.pass(names::CURRENT_LOGIN, format!("AUTH as {} with AWSCURRENT accepted over verified TLS", current.username)),
            Ok(Some(AuthOutcome::Refused(code))) => report.fail(names::CURRENT_LOGIN, format!("AUTH as {} with AWSCURRENT refused ({code}): setSecret would refuse to change the user", current.username)),
            Ok(Some(AuthOutcome::Unreachable(why))) => report.fail(names::CURRENT_LOGIN, format!("the endpoint {address} cannot be reached from the function ({why}): setSecret would refuse to change the user, as AUTH cannot prove AWSCURRENT. Let the function reach it, or remove host (and port, {TLS_SERVER_NAME}) from the secret to rotate without an endpoint")),
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
                    Ok(other) => match self.auth(&other, stage, deadline).await {
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
            // The other functions' default: lets `,` in.
            (
                vec![("EXCLUDE_CHARACTERS", "/@\"'\\")],
                "EXCLUDE_CHARACTERS",
            ),
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
            "Abcdefgh12345678,",
            "Abcdefgh 12345678",
            "Abcdefgh12345678é",
        ] {
            assert!(refused_password(&SecretValue::new(bad)).is_some(), "{bad}");
        }
        assert!(refused_password(&SecretValue::new("x".repeat(129))).is_some());
    }
}
