//! Single user: the user changes its own password, logging in with AWSCURRENT (or, if that no
//! longer works, AWSPREVIOUS) after checking the session really is that user, and the change
//! is verified by an AWSPENDING login before setSecret returns; a change whose new password is
//! refused is set back, a verification that fails for any other reason is not (one refused
//! for capacity is reported as `DatabaseAtCapacity`: the server was full, not the password
//! wrong).

use super::login::{
    only_changed, parse, prove_login, refused, same_session_user, same_target, settle,
    test_pending, try_login, with_hint,
};
use super::preflight;
use super::{Database, DatabaseSecret, Need, Which};
use crate::error::{Result, RotationError};
use crate::labels::AWSCURRENT;
use crate::preflight::{names, PreflightOptions, Report};
use crate::secret::SecretValue;
use crate::steps::{Rotation, StepContext};
use crate::store::SecretStore;

/// The single-user strategy over an engine.
#[derive(Debug, Clone)]
pub struct SingleUser<D> {
    db: D,
}

impl<D: Database> SingleUser<D> {
    /// The strategy over `db`.
    pub fn new(db: D) -> Self {
        Self { db }
    }

    /// The database engine.
    pub fn database(&self) -> &D {
        &self.db
    }

    /// A session able to change the password and the secret it logged in with: AWSCURRENT,
    /// else AWSPREVIOUS (checked against AWSPENDING before it is used, unlike the official
    /// function); `None` when AWSCURRENT is refused because AWSPENDING is already the password. AWSCURRENT is
    /// tried first: on a normal rotation it is the one that works, so no login is refused
    /// (servers count refused logins, and some lock the account after a few).
    async fn login_for_change<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &DatabaseSecret,
        pending: &DatabaseSecret,
    ) -> Result<Option<(D::Session, DatabaseSecret, Which)>> {
        let db = &self.db;
        let current_failed = match try_login(db, current, Which::Current).await? {
            Ok(session) => return Ok(Some((session, current.clone(), Which::Current))),
            Err(refused) => refused,
        };
        // A retry, or a concurrent setSecret, may have set the password already.
        if try_login(db, pending, Which::Pending).await?.is_ok() {
            return Ok(None);
        }
        let Some(previous) = ctx.previous().await? else {
            return Err(with_hint(
                current_failed,
                "there is no AWSPREVIOUS to fall back on",
            ));
        };
        let mut previous = parse(db, &previous, Which::Previous)?;
        same_target(db, &previous, Which::Previous, pending, &previous.username)?;
        previous.ssl = current.ssl;
        match try_login(db, &previous, Which::Previous).await? {
            Ok(session) => Ok(Some((session, previous, Which::Previous))),
            Err(e) => Err(with_hint(
                e,
                "AWSCURRENT was refused too, so the password cannot be changed",
            )),
        }
    }

    /// The change was accepted but AWSPENDING does not log in: put the old password back
    /// through the session that is still open, so AWSCURRENT keeps working. Says what happened.
    async fn set_back(
        &self,
        session: &mut D::Session,
        pending: &DatabaseSecret,
        used: &DatabaseSecret,
    ) -> String {
        let db = &self.db;
        let user = &used.username;
        match db.set_own_password(session, pending, used).await {
            Err(e) => format!(
                "setting the old password back failed too ({e}): log in as an administrator and set the AWSCURRENT password of {user} by hand"
            ),
            Ok(()) => match prove_login(db, used, Which::Current).await {
                Ok(()) => "the old password was set back and logs in again; nothing else changed"
                    .to_string(),
                Err(e) => format!(
                    "the old password was set back but does not log in either ({e}): set the AWSCURRENT password of {user} by hand"
                ),
            },
        }
    }
}

impl<D: Database> Rotation for SingleUser<D> {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        let secret = DatabaseSecret::parse(value, which)?;
        secret.expect_engine(self.db.engines(), which)
    }

    fn pending_value(
        &self,
        current: &SecretValue,
        new_password: &SecretValue,
    ) -> Result<SecretValue> {
        let current = DatabaseSecret::parse(current, AWSCURRENT)?;
        Ok(current.json().with_password(new_password).to_secret_value())
    }

    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        let db = &self.db;
        let pending = parse(db, &ctx.pending().await?, Which::Pending)?;
        let current = parse(db, &ctx.current().await?, Which::Current)?;
        // Checked before any login, so a crafted AWSPENDING never reaches another server.
        same_target(db, &current, Which::Current, &pending, &current.username)?;
        only_changed(&current, &pending, &["password"])?;
        tracing::debug!(user = %current.username, "checked: AWSPENDING is the same user on the same server; only the password differs");
        let (mut session, used, which) = match self.login_for_change(ctx, &current, &pending).await
        {
            Ok(Some(found)) => found,
            // AWSPENDING logs in already: nothing to change.
            Ok(None) => {
                tracing::debug!("AWSPENDING logs in already: nothing to change");
                return Ok(());
            }
            // Whatever failed, a concurrent setSecret may have changed the password after
            // our AWSPENDING login was refused: if AWSPENDING works now, the work is done
            // and a duplicate delivery must not fail the rotation.
            Err(e) => return settle(db, &pending, e).await,
        };
        // The statement changes the session's own account: make sure that is the secret's
        // user, not a proxied or anonymous account the login was mapped to.
        same_session_user(db, &mut session, &used, which).await?;
        tracing::debug!(
            logged_in_as = which.label(),
            "checked: the session is the secret's user; changing its own password"
        );
        if let Err(e) = db.set_own_password(&mut session, &used, &pending).await {
            return settle(db, &pending, e).await;
        }
        let cause = match prove_login(db, &pending, Which::Pending).await {
            Ok(()) => {
                tracing::debug!("verified: AWSPENDING logs in");
                return Ok(());
            }
            Err(cause) => cause,
        };
        if refused(&cause) {
            // The server took the change but the new password does not log in: set the old
            // one back while the changing session is still open.
            let outcome = self.set_back(&mut session, &pending, &used).await;
            return Err(RotationError::PasswordChangeUnverified {
                user: pending.username.clone(),
                outcome,
                source: Box::new(cause),
            });
        }
        // Not a refusal (no answer, no connection slot, TLS): the change may well be right,
        // and setting the old password back could fail on its own (MySQL PASSWORD HISTORY) or
        // undo a good change. Close the changing session (it may hold the user's last
        // connection slot) and try again. A server frees a closed session's slot a moment
        // after the client leaves (MariaDB counts max_user_connections until the session's
        // thread ends), so up to five attempts, 0.1 to 0.8 s apart (1.5 s in all), while
        // nothing refuses the password.
        drop(session);
        let mut verified = prove_login(db, &pending, Which::Pending).await;
        let mut pause = std::time::Duration::from_millis(100);
        for _ in 0..4 {
            match &verified {
                Err(e) if !refused(e) => {}
                _ => break,
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            verified = prove_login(db, &pending, Which::Pending).await;
        }
        match verified {
            Ok(()) => Ok(()),
            // The server is full (or not accepting connections): the change is unverified, not
            // refused, so nothing was set back. A set-back here would undo a change that most
            // likely took, could itself be refused (MySQL PASSWORD HISTORY or REUSE INTERVAL
            // refuse the old password), and, had it worked, would leave the new password in
            // that history, so the next delivery could not set it again; proving it would also
            // need a login the full server refuses. As it is, the next setSecret finds that
            // AWSCURRENT is refused and AWSPENDING logs in, and ends there; AWSCURRENT moves
            // only once testSecret and finishSecret have logged in with AWSPENDING.
            Err(again) if again.is_at_capacity() => Err(with_hint(
                again,
                &format!(
                    "this was the check of the new password of user {}, which the server accepted: the old password was not set back, AWSPENDING is most likely the password now, and the next setSecret finds that it logs in and ends there",
                    pending.username
                ),
            )),
            Err(again) => Err(RotationError::PasswordChangeUnverified {
                user: pending.username.clone(),
                outcome: format!(
                    "the old password was not set back, because the first verification failed for a reason other than a refused password ({cause}); AWSPENDING is probably the password now, and the next setSecret checks that first{}",
                    if refused(&again) {
                        format!("; the second verification was refused, so log in as an administrator and set the AWSCURRENT password of {} by hand", used.username)
                    } else {
                        String::new()
                    }
                ),
                source: Box::new(again),
            }),
        }
    }

    async fn verify_pending<S: SecretStore>(
        &self,
        _ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        test_pending(&self.db, pending).await
    }

    /// AWSCURRENT logs in over the transport it will use and is its own user; the user may
    /// change its own password; a stale AWSPENDING's password is (or is not) the server's
    /// already, which decides whether aborting is safe; AWSPREVIOUS when asked.
    async fn preflight<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &SecretValue,
        options: PreflightOptions,
        report: &mut Report,
    ) {
        let db = &self.db;
        let current = match parse(db, current, Which::Current) {
            Ok(c) => c,
            Err(e) => return report.fail_with(names::SECRET_SHAPE, &e),
        };
        let logged =
            preflight::login(db, &current, Which::Current, names::CURRENT_LOGIN, report).await;
        if let Some(mut session) = logged.session {
            preflight::privileges(db, ctx, &mut session, Need::OwnPassword, report).await;
        }
        // Single user: once the server holds the pending password, AWSCURRENT's is gone, so
        // removing AWSPENDING is safe only while AWSCURRENT still logs in.
        let user = current.username.clone();
        preflight::other_versions(
            db,
            ctx,
            &current,
            &user,
            options,
            logged.logs_in,
            true,
            report,
        )
        .await;
    }
}
