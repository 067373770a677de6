//! The rotation itself: its configuration from the settings, the scope checks, the wait for an
//! `active` user, the password pair ModifyUser sets, and the AUTH proofs.

use std::sync::Arc;
use std::time::Duration;

use rotation_core::anchors::TrustAnchors;
use rotation_core::labels::{self, AWSCURRENT, AWSPENDING};
use rotation_core::{
    arn_matches, Result, RotationError, SecretStore, SecretValue, ServerError, Settings,
    StepContext, ELASTICACHE_USER_ARNS,
};
use tokio::time::Instant;

use crate::api::{elasticache_code, time_left_for, wait_until_active, Active, UserApi, WaitPolicy};
use crate::auth::{authenticate, AuthOutcome};
use crate::policy::{
    check_policy, refused_password, DEFAULT_INTERVAL, DEFAULT_MAX_WAIT, MAX_WAIT_LIMIT,
    STEP_RESERVE, USER_ARNS_PARAMETER,
};
use crate::sdk::{SdkElastiCache, API_OPERATION_TIMEOUT};
use crate::secret::{Endpoint, UserSecret, TLS_SERVER_NAME};

/// The ElastiCache user rotation.
#[derive(Clone)]
pub struct ElastiCacheRotation {
    pub(crate) api: Arc<dyn UserApi>,
    pub(crate) anchors: TrustAnchors,
    pub(crate) wait: WaitPolicy,
    pub(crate) user_name: Option<String>,
    pub(crate) user_arns: Vec<String>,
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

/// The error for a cache that answers AUTH with the pending password by `reply` (an error code).
pub(crate) fn pending_refused(reply: &str) -> RotationError {
    RotationError::TestSecret(format!(
        "the cache refuses AUTH with the AWSPENDING password: {reply}"
    ))
}

/// The error for an endpoint the function cannot connect to, so `which` could not be proved
/// with AUTH; `then` says what that stopped.
pub(crate) fn unreachable(
    endpoint: &Endpoint,
    which: &str,
    why: &str,
    then: &str,
) -> RotationError {
    RotationError::DatabaseUnreachable {
        which: which.into(),
        host: endpoint.host.clone(),
        port: endpoint.port,
        detail: format!(
            "{why}; AUTH could not prove the {which} password, so {then}. The function must reach the cache endpoint the secret names; to rotate without one, remove host (and port, {TLS_SERVER_NAME}) from the secret: then only {ELASTICACHE_USER_ARNS} guards which user is changed"
        ),
    }
}

/// Both secrets of a rotation, checked against each other, and the version AWSCURRENT was on
/// when it was read (the password the pair keeps).
pub(crate) struct Pair {
    pub(crate) current: UserSecret,
    pub(crate) current_version: String,
    pub(crate) pending: UserSecret,
}

/// What [`ElastiCacheRotation::set_pair`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
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
    pub(crate) fn in_scope(&self, secret: &UserSecret) -> Result<()> {
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
    pub(crate) fn same_user(current: &UserSecret, pending: &UserSecret) -> Result<()> {
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
    pub(crate) async fn active_user(
        &self,
        secret: &UserSecret,
        deadline: Instant,
    ) -> Result<Active> {
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
    pub(crate) async fn labels_after_wait<S: SecretStore>(
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
    pub(crate) async fn set_pair<S: SecretStore>(
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
    pub(crate) async fn prove_pending(
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
    pub(crate) async fn auth(
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
    pub(crate) async fn prove_current(
        &self,
        current: &UserSecret,
        deadline: Instant,
    ) -> Result<()> {
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
    pub(crate) async fn pair<S: SecretStore>(
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
