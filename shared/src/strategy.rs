//! The two database rotation strategies of the SAR functions, written once over a [`Database`]
//! trait that each engine implements with its own SQL:
//! - [`SingleUser`]: the user changes its own password;
//! - [`AlternatingUsers`]: a superuser (the `masterarn` secret) switches between `user` and
//!   `user_clone`, so the previous credentials keep working until the next rotation.

use std::future::Future;

use crate::error::{Result, RotationError};
use crate::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::secret::{DatabaseSecret, SecretValue};
use crate::steps::{Rotation, StepContext};
use crate::store::SecretStore;

/// What the superuser secret is called in messages.
pub const MASTER: &str = "master secret";

/// The suffix alternating users add to the original user name.
pub const CLONE_SUFFIX: &str = "_clone";

/// A database engine as the strategies need it. Engines supply connections and SQL; they do not
/// re-implement the steps.
pub trait Database: Send + Sync {
    /// An open, authenticated session.
    type Session: Send;

    /// The `engine` values this function accepts.
    fn engines(&self) -> &'static [&'static str];

    /// The longest user name the engine accepts (for `_clone` names).
    fn max_username_len(&self) -> usize;

    /// Logs in with `secret`'s credentials. A wrong password must be
    /// [`RotationError::AuthenticationFailed`]; an unreachable host
    /// [`RotationError::DatabaseUnreachable`]; a TLS problem [`RotationError::TlsFailure`].
    /// `which` names the secret version in messages.
    fn connect(
        &self,
        secret: &DatabaseSecret,
        which: &str,
    ) -> impl Future<Output = Result<Self::Session>> + Send;

    /// The user the session authenticated as.
    fn session_user(
        &self,
        session: &mut Self::Session,
    ) -> impl Future<Output = Result<String>> + Send;

    /// Changes the password of the session's own user.
    fn set_own_password(
        &self,
        session: &mut Self::Session,
        user: &str,
        password: &SecretValue,
    ) -> impl Future<Output = Result<()>> + Send;

    /// As superuser: whether `user` exists.
    fn user_exists(
        &self,
        session: &mut Self::Session,
        user: &str,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// As superuser: changes another user's password.
    fn set_password(
        &self,
        session: &mut Self::Session,
        user: &str,
        password: &SecretValue,
    ) -> impl Future<Output = Result<()>> + Send;

    /// As superuser: creates `clone` able to log in with `password` and with the privileges of
    /// `original`. Must tolerate a concurrent creation of the same user (then set its password).
    fn create_clone(
        &self,
        session: &mut Self::Session,
        clone: &str,
        original: &str,
        password: &SecretValue,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Parses a version of a database secret and checks its engine.
fn parse<D: Database>(db: &D, value: &SecretValue, which: &str) -> Result<DatabaseSecret> {
    let secret = DatabaseSecret::parse(value, which)?;
    secret.expect_engine(db.engines(), which)?;
    Ok(secret)
}

/// Logs in. A refused password is `Ok(Err(AuthenticationFailed))`, so callers can try other
/// credentials; anything else (unreachable, TLS) is an error at once.
async fn try_login<D: Database>(
    db: &D,
    secret: &DatabaseSecret,
    which: &str,
) -> Result<Result<D::Session>> {
    match db.connect(secret, which).await {
        Ok(session) => Ok(Ok(session)),
        Err(e @ RotationError::AuthenticationFailed { .. }) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}

/// A password change that failed may have lost a race with a concurrent setSecret making the
/// same change (e.g. PostgreSQL's "tuple concurrently updated"): if AWSPENDING logs in now, the
/// work is done; otherwise the original error stands.
async fn settle<D: Database>(db: &D, pending: &DatabaseSecret, changed: Result<()>) -> Result<()> {
    match changed {
        Ok(()) => Ok(()),
        Err(e) => match try_login(db, pending, AWSPENDING).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(e),
        },
    }
}

/// Adds guidance to an authentication failure.
fn with_hint(e: RotationError, extra: &str) -> RotationError {
    match e {
        RotationError::AuthenticationFailed {
            which,
            user,
            host,
            hint,
        } => RotationError::AuthenticationFailed {
            which,
            user,
            host,
            hint: format!("{hint}; {extra}"),
        },
        other => other,
    }
}

/// The confused-deputy check: `other` must name the user `user` on the host of `pending`.
fn same_target(
    other: &DatabaseSecret,
    other_which: &str,
    pending: &DatabaseSecret,
    user: &str,
) -> Result<()> {
    if pending.username != user {
        return Err(RotationError::ConfusedDeputy(format!(
            "AWSPENDING is for user {} but {other_which} implies user {user}",
            pending.username
        )));
    }
    if pending.host != other.host {
        return Err(RotationError::ConfusedDeputy(format!(
            "AWSPENDING is for host {} but {other_which} is for host {}",
            pending.host, other.host
        )));
    }
    Ok(())
}

/// testSecret for both strategies: log in as AWSPENDING and check who the session is.
async fn test_pending<D: Database, S: SecretStore>(db: &D, ctx: &StepContext<'_, S>) -> Result<()> {
    let pending = parse(db, &ctx.pending().await?, AWSPENDING)?;
    let mut session = db.connect(&pending, AWSPENDING).await?;
    let user = db.session_user(&mut session).await?;
    if user != pending.username {
        return Err(RotationError::TestSecret(format!(
            "logged in as {user}, expected {}",
            pending.username
        )));
    }
    Ok(())
}

/// Single user: the user changes its own password, logging in with AWSCURRENT (or, if that no
/// longer works, AWSPREVIOUS).
#[derive(Debug, Clone)]
pub struct SingleUser<D> {
    db: D,
}

impl<D: Database> SingleUser<D> {
    /// The strategy over `db`.
    pub fn new(db: D) -> Self {
        Self { db }
    }
}

impl<D: Database> Rotation for SingleUser<D> {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        parse(&self.db, value, which).map(|_| ())
    }

    fn pending_value(
        &self,
        current: &SecretValue,
        new_password: &SecretValue,
    ) -> Result<SecretValue> {
        let current = parse(&self.db, current, AWSCURRENT)?;
        Ok(current.json().with_password(new_password).to_secret_value())
    }

    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        let db = &self.db;
        let pending = parse(db, &ctx.pending().await?, AWSPENDING)?;
        let current = parse(db, &ctx.current().await?, AWSCURRENT)?;
        // Already done (a retry, or a concurrent invocation got there first).
        if try_login(db, &pending, AWSPENDING).await?.is_ok() {
            return Ok(());
        }
        same_target(&current, AWSCURRENT, &pending, &current.username)?;
        let login = match try_login(db, &current, AWSCURRENT).await? {
            Ok(session) => Ok(session),
            Err(current_failed) => match ctx.previous().await? {
                None => Err(with_hint(
                    current_failed,
                    "there is no AWSPREVIOUS to fall back on",
                )),
                Some(previous) => {
                    let mut previous = parse(db, &previous, AWSPREVIOUS)?;
                    // Checked before logging in, unlike the official function.
                    same_target(&previous, AWSPREVIOUS, &pending, &previous.username)?;
                    previous.ssl = current.ssl;
                    try_login(db, &previous, AWSPREVIOUS).await?.map_err(|e| {
                        with_hint(
                            e,
                            "AWSCURRENT was refused too, so the password cannot be changed",
                        )
                    })
                }
            },
        };
        let mut session = match login {
            Ok(session) => session,
            Err(refused) => {
                // A concurrent setSecret may have changed the password after our first
                // AWSPENDING login: if AWSPENDING works now, the work is done.
                if try_login(db, &pending, AWSPENDING).await?.is_ok() {
                    return Ok(());
                }
                return Err(refused);
            }
        };
        let changed = db
            .set_own_password(&mut session, &pending.username, &pending.password())
            .await;
        settle(db, &pending, changed).await
    }

    async fn test_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        test_pending(&self.db, ctx).await
    }
}

/// The other user of an alternating pair: `u` <-> `u_clone`. Fails if the clone name would be
/// longer than `max_len`.
pub fn alternate_username(user: &str, max_len: usize) -> Result<String> {
    if let Some(original) = user.strip_suffix(CLONE_SUFFIX).filter(|o| !o.is_empty()) {
        return Ok(original.to_string());
    }
    let clone = format!("{user}{CLONE_SUFFIX}");
    if clone.chars().count() > max_len {
        return Err(RotationError::malformed(
            AWSCURRENT,
            format!(
                "unable to clone user {user}: with {CLONE_SUFFIX} appended the name would exceed {max_len} characters"
            ),
        ));
    }
    Ok(clone)
}

/// Alternating users: the superuser of the `masterarn` secret sets the password of the other
/// user of the pair (`u` / `u_clone`), creating the clone on first use.
#[derive(Debug, Clone)]
pub struct AlternatingUsers<D> {
    db: D,
}

impl<D: Database> AlternatingUsers<D> {
    /// The strategy over `db`.
    pub fn new(db: D) -> Self {
        Self { db }
    }

    /// The superuser secret named by `masterarn`, connected to the child's database.
    async fn master<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &DatabaseSecret,
    ) -> Result<DatabaseSecret> {
        let arn = current.masterarn.as_deref().ok_or_else(|| {
            RotationError::malformed(
                AWSCURRENT,
                "the masterarn key is missing: alternating users needs the ARN of the superuser secret",
            )
        })?;
        let value = ctx.store.get_value(arn, AWSCURRENT, None).await?;
        let mut master = DatabaseSecret::parse(&value, MASTER).map_err(|e| match e {
            RotationError::MalformedSecret { which, problem } if problem.contains("host key") => {
                RotationError::MalformedSecret {
                    which,
                    problem: format!(
                        "{problem} (RDS-managed master secrets without host are not supported yet; use a superuser secret with host, port and engine)"
                    ),
                }
            }
            other => other,
        })?;
        master.expect_engine(self.db.engines(), MASTER)?;
        if master.host != current.host {
            return Err(RotationError::ConfusedDeputy(format!(
                "the current host {} is not the host of the master secret {}",
                current.host, master.host
            )));
        }
        master.dbname = current.dbname.clone();
        Ok(master)
    }
}

impl<D: Database> Rotation for AlternatingUsers<D> {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        parse(&self.db, value, which).map(|_| ())
    }

    fn pending_value(
        &self,
        current: &SecretValue,
        new_password: &SecretValue,
    ) -> Result<SecretValue> {
        let current = parse(&self.db, current, AWSCURRENT)?;
        let other = alternate_username(&current.username, self.db.max_username_len())?;
        Ok(current
            .json()
            .with_password(new_password)
            .with_str("username", &other)
            .to_secret_value())
    }

    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        let db = &self.db;
        let pending = parse(db, &ctx.pending().await?, AWSPENDING)?;
        let current = parse(db, &ctx.current().await?, AWSCURRENT)?;
        if try_login(db, &pending, AWSPENDING).await?.is_ok() {
            return Ok(());
        }
        let other = alternate_username(&current.username, db.max_username_len())?;
        same_target(&current, AWSCURRENT, &pending, &other)?;
        // Prove the current credentials are real before the superuser is used for anything.
        db.connect(&current, AWSCURRENT)
            .await
            .map_err(|e| with_hint(e, "the superuser secret was not used"))?;
        let master = self.master(ctx, &current).await?;
        let mut session = db.connect(&master, MASTER).await?;
        let changed = if db.user_exists(&mut session, &pending.username).await? {
            db.set_password(&mut session, &pending.username, &pending.password())
                .await
        } else if let Some(original) = pending.username.strip_suffix(CLONE_SUFFIX) {
            db.create_clone(
                &mut session,
                &pending.username,
                original,
                &pending.password(),
            )
            .await
        } else {
            return Err(RotationError::SetSecret(format!(
                "user {} does not exist; only the {CLONE_SUFFIX} user is created by rotation",
                pending.username
            )));
        };
        settle(db, &pending, changed).await
    }

    async fn test_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        test_pending(&self.db, ctx).await
    }
}

/// The variable that picks the strategy: `single` (default) or `alternating` (alias `multi`).
pub const ROTATION_STRATEGY: &str = "ROTATION_STRATEGY";

/// The strategy a deployment chose (the template sets [`ROTATION_STRATEGY`] per function; the
/// secret never decides).
#[derive(Debug, Clone)]
pub enum Strategy<D> {
    /// See [`SingleUser`].
    SingleUser(SingleUser<D>),
    /// See [`AlternatingUsers`].
    AlternatingUsers(AlternatingUsers<D>),
}

impl<D: Database> Strategy<D> {
    /// The strategy named by `value` (None or empty: single user).
    pub fn from_name(value: Option<&str>, db: D) -> Result<Self> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("single") | Some("single-user") => {
                Ok(Self::SingleUser(SingleUser::new(db)))
            }
            Some("alternating")
            | Some("alternating-users")
            | Some("multi")
            | Some("multi-user") => Ok(Self::AlternatingUsers(AlternatingUsers::new(db))),
            Some(other) => Err(RotationError::Configuration {
                variable: ROTATION_STRATEGY.into(),
                problem: format!("is '{other}'; use single or alternating"),
            }),
        }
    }

    /// The strategy named by the [`ROTATION_STRATEGY`] variable.
    pub fn from_env(db: D) -> Result<Self> {
        Self::from_name(std::env::var(ROTATION_STRATEGY).ok().as_deref(), db)
    }
}

impl<D: Database> Rotation for Strategy<D> {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        match self {
            Self::SingleUser(s) => s.validate(value, which),
            Self::AlternatingUsers(s) => s.validate(value, which),
        }
    }

    fn pending_value(&self, current: &SecretValue, pw: &SecretValue) -> Result<SecretValue> {
        match self {
            Self::SingleUser(s) => s.pending_value(current, pw),
            Self::AlternatingUsers(s) => s.pending_value(current, pw),
        }
    }

    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        match self {
            Self::SingleUser(s) => s.set_secret(ctx).await,
            Self::AlternatingUsers(s) => s.set_secret(ctx).await,
        }
    }

    async fn test_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        match self {
            Self::SingleUser(s) => s.test_secret(ctx).await,
            Self::AlternatingUsers(s) => s.test_secret(ctx).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_username_switches_both_ways_and_limits_length() {
        assert_eq!(alternate_username("app", 63).unwrap(), "app_clone");
        assert_eq!(alternate_username("app_clone", 63).unwrap(), "app");
        assert_eq!(alternate_username("_clone", 63).unwrap(), "_clone_clone");
        let fits = "u".repeat(57);
        assert_eq!(alternate_username(&fits, 63).unwrap().len(), 63);
        let too_long = "u".repeat(58);
        let err = alternate_username(&too_long, 63).unwrap_err();
        assert!(err.to_string().contains("exceed 63 characters"), "{err}");
        assert_eq!(
            alternate_username("Üser \"x\"", 63).unwrap(),
            "Üser \"x\"_clone"
        );
    }
}
