//! The steps Secrets Manager delivers, over [`ElastiCacheRotation`]: setSecret, testSecret,
//! the guard of finishSecret, and the preflight.

use rotation_core::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::preflight::names;
use rotation_core::{
    PreflightOptions, Report, Result, Rotation, SecretStore, SecretValue, StepContext,
    ELASTICACHE_USER_ARNS,
};

use crate::api::not_found;
use crate::auth::AuthOutcome;

use crate::rotation::*;
use crate::secret::{UserSecret, TLS_SERVER_NAME};
use crate::ElastiCacheRotation;

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
