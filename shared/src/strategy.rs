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
use crate::tls::normalize_host;

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

    /// The port used when a secret has no `port` key.
    fn default_port(&self) -> u16;

    /// The longest user name the engine accepts, in bytes (for `_clone` names).
    fn max_username_len(&self) -> usize;

    /// Logs in with `secret`'s credentials. A wrong password must be
    /// [`RotationError::AuthenticationFailed`]; an unreachable host
    /// [`RotationError::DatabaseUnreachable`]; a TLS problem [`RotationError::TlsFailure`].
    /// `which` names the secret version in messages ([`MASTER`] for the superuser secret,
    /// which is never allowed a plaintext fallback).
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

/// True when AWSPENDING logs in now; any failure (refused, unreachable) is false.
async fn pending_logs_in<D: Database>(db: &D, pending: &DatabaseSecret) -> bool {
    matches!(try_login(db, pending, AWSPENDING).await, Ok(Ok(_)))
}

/// Logs in with `secret` and checks that the session is its user.
async fn prove_login<D: Database>(db: &D, secret: &DatabaseSecret, which: &str) -> Result<()> {
    let mut session = db.connect(secret, which).await?;
    let user = db.session_user(&mut session).await?;
    if user != secret.username {
        return Err(RotationError::TestSecret(format!(
            "the {which} credentials logged in as {user}, expected {}",
            secret.username
        )));
    }
    Ok(())
}

/// A password change that failed may have lost a race with a concurrent setSecret making the
/// same change (e.g. PostgreSQL's "tuple concurrently updated"): if AWSPENDING logs in now, the
/// work is done; otherwise the original error stands.
async fn settle<D: Database>(
    db: &D,
    pending: &DatabaseSecret,
    failed: RotationError,
) -> Result<()> {
    if pending_logs_in(db, pending).await {
        Ok(())
    } else {
        Err(failed)
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

/// The port a secret connects to.
fn effective_port<D: Database>(db: &D, secret: &DatabaseSecret) -> u16 {
    secret.port.unwrap_or(db.default_port())
}

/// True when `a` and `b` name the same server: host compared lowercase without a trailing dot,
/// and the effective port.
fn same_server<D: Database>(db: &D, a: &DatabaseSecret, b: &DatabaseSecret) -> bool {
    normalize_host(&a.host) == normalize_host(&b.host)
        && effective_port(db, a) == effective_port(db, b)
}

/// The confused-deputy check: `other` must name the user `user` on the server of `pending`.
fn same_target<D: Database>(
    db: &D,
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
    if !same_server(db, other, pending) {
        return Err(RotationError::ConfusedDeputy(format!(
            "AWSPENDING is for {}:{} but {other_which} is for {}:{}",
            pending.host,
            effective_port(db, pending),
            other.host,
            effective_port(db, other)
        )));
    }
    Ok(())
}

/// testSecret and the finishSecret guard for both strategies: log in as AWSPENDING and check
/// who the session is.
async fn test_pending<D: Database>(db: &D, value: &SecretValue) -> Result<()> {
    let pending = parse(db, value, AWSPENDING)?;
    prove_login(db, &pending, AWSPENDING).await
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

    /// The database engine.
    pub fn database(&self) -> &D {
        &self.db
    }

    /// A session able to change the password: AWSCURRENT, else AWSPREVIOUS (checked against
    /// AWSPENDING before it is used, unlike the official function). Returns the session and
    /// the secret it logged in with.
    async fn login_for_change<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &DatabaseSecret,
        pending: &DatabaseSecret,
    ) -> Result<(D::Session, DatabaseSecret)> {
        let db = &self.db;
        let current_failed = match try_login(db, current, AWSCURRENT).await? {
            Ok(session) => return Ok((session, current.clone())),
            Err(refused) => refused,
        };
        let Some(previous) = ctx.previous().await? else {
            return Err(with_hint(
                current_failed,
                "there is no AWSPREVIOUS to fall back on",
            ));
        };
        let mut previous = parse(db, &previous, AWSPREVIOUS)?;
        same_target(db, &previous, AWSPREVIOUS, pending, &previous.username)?;
        previous.ssl = current.ssl;
        match try_login(db, &previous, AWSPREVIOUS).await? {
            Ok(session) => Ok((session, previous)),
            Err(e) => Err(with_hint(
                e,
                "AWSCURRENT was refused too, so the password cannot be changed",
            )),
        }
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
        // Checked before any login, so a crafted AWSPENDING never reaches another server.
        same_target(db, &current, AWSCURRENT, &pending, &current.username)?;
        // Already done (a retry, or a concurrent invocation got there first).
        if try_login(db, &pending, AWSPENDING).await?.is_ok() {
            return Ok(());
        }
        let (mut session, used) = match self.login_for_change(ctx, &current, &pending).await {
            Ok(found) => found,
            // Whatever failed, a concurrent setSecret may have changed the password after our
            // first AWSPENDING login (so AWSCURRENT is refused now): if AWSPENDING works, the
            // work is done and a duplicate delivery must not fail the rotation.
            Err(e) => return settle(db, &pending, e).await,
        };
        let user = &pending.username;
        if let Err(e) = db
            .set_own_password(&mut session, user, &pending.password())
            .await
        {
            return settle(db, &pending, e).await;
        }
        let Err(cause) = prove_login(db, &pending, AWSPENDING).await else {
            return Ok(());
        };
        // The server took the change but the new password does not log in: put the old one
        // back through the session that is still open, so AWSCURRENT keeps working.
        let outcome = match db.set_own_password(&mut session, user, &used.password()).await {
            Err(e) => format!(
                "setting the old password back failed too ({e}): log in as an administrator and set the AWSCURRENT password of {user} by hand"
            ),
            Ok(()) => match prove_login(db, &used, AWSCURRENT).await {
                Ok(()) => "the old password was set back and logs in again; nothing else changed".to_string(),
                Err(e) => format!(
                    "the old password was set back but does not log in either ({e}): set the AWSCURRENT password of {user} by hand"
                ),
            },
        };
        Err(RotationError::PasswordChangeUnverified {
            user: user.clone(),
            outcome,
            source: Box::new(cause),
        })
    }

    async fn test_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        test_pending(&self.db, &ctx.pending().await?).await
    }

    async fn verify_pending<S: SecretStore>(
        &self,
        _ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        test_pending(&self.db, pending).await
    }
}

/// The other user of an alternating pair: `u` <-> `u_clone`. Fails if the clone name would be
/// longer than `max_len` bytes (servers count bytes: PostgreSQL truncates a longer name, which
/// could then name another user).
pub fn alternate_username(user: &str, max_len: usize) -> Result<String> {
    if let Some(original) = user.strip_suffix(CLONE_SUFFIX).filter(|o| !o.is_empty()) {
        return Ok(original.to_string());
    }
    let clone = format!("{user}{CLONE_SUFFIX}");
    if clone.len() > max_len {
        return Err(RotationError::malformed(
            AWSCURRENT,
            format!(
                "unable to clone user {user}: with {CLONE_SUFFIX} appended the name would be {} bytes, over the server's limit of {max_len} bytes",
                clone.len()
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

    /// The database engine.
    pub fn database(&self) -> &D {
        &self.db
    }

    /// The superuser secret named by `masterarn`, connected to the child's database.
    async fn master<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &DatabaseSecret,
    ) -> Result<DatabaseSecret> {
        let arn = masterarn(current, AWSCURRENT)?;
        if arn == ctx.arn {
            return Err(RotationError::ConfusedDeputy(
                "masterarn names the rotated secret itself, not a superuser secret".into(),
            ));
        }
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
        if !same_server(&self.db, &master, current) {
            return Err(RotationError::ConfusedDeputy(format!(
                "the current server {}:{} is not the server of the master secret {}:{}",
                current.host,
                effective_port(&self.db, current),
                master.host,
                effective_port(&self.db, &master)
            )));
        }
        master.dbname = current.dbname.clone();
        Ok(master)
    }
}

/// The `masterarn` key, required by alternating users.
fn masterarn<'a>(secret: &'a DatabaseSecret, which: &str) -> Result<&'a str> {
    secret.masterarn.as_deref().ok_or_else(|| {
        RotationError::malformed(
            which,
            "the masterarn key is missing: alternating users needs the ARN of the superuser secret (add it to the secret, or deploy the single-user rotation type)",
        )
    })
}

impl<D: Database> Rotation for AlternatingUsers<D> {
    /// Also checks what setSecret will need (`masterarn`, a clone name the server accepts), so
    /// createSecret stores nothing that setSecret would refuse.
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        let secret = parse(&self.db, value, which)?;
        masterarn(&secret, which)?;
        alternate_username(&secret.username, self.db.max_username_len())?;
        Ok(())
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
        let other = alternate_username(&current.username, db.max_username_len())?;
        same_target(db, &current, AWSCURRENT, &pending, &other)?;
        if try_login(db, &pending, AWSPENDING).await?.is_ok() {
            return Ok(());
        }
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
        if let Err(e) = changed {
            return settle(db, &pending, e).await;
        }
        // AWSCURRENT is another user, untouched: a failure here leaves it working.
        prove_login(db, &pending, AWSPENDING)
            .await
            .map_err(|cause| RotationError::PasswordChangeUnverified {
                user: pending.username.clone(),
                outcome: "AWSCURRENT is another user and keeps working; the next setSecret sets this password again".into(),
                source: Box::new(cause),
            })
    }

    async fn test_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        test_pending(&self.db, &ctx.pending().await?).await
    }

    async fn verify_pending<S: SecretStore>(
        &self,
        _ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        test_pending(&self.db, pending).await
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

    async fn verify_pending<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        match self {
            Self::SingleUser(s) => s.verify_pending(ctx, pending).await,
            Self::AlternatingUsers(s) => s.verify_pending(ctx, pending).await,
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
        assert!(err.to_string().contains("limit of 63 bytes"), "{err}");
        // Servers count bytes: 28 two-byte letters + "_clone" is 62 bytes and fits; 29 would be
        // 64 bytes (35 characters) and does not.
        assert_eq!(alternate_username(&"Ü".repeat(28), 63).unwrap().len(), 62);
        let err = alternate_username(&"Ü".repeat(29), 63).unwrap_err();
        assert!(err.to_string().contains("64 bytes"), "{err}");
        assert_eq!(
            alternate_username("Üser \"x\"", 63).unwrap(),
            "Üser \"x\"_clone"
        );
    }
}
