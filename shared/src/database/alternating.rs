//! Alternating users: the superuser of the `masterarn` secret sets the password of the other
//! user of the pair (`u` / `u_clone`), creating it on first use, and gives it the privileges of
//! the user AWSCURRENT names (the engine's model of "the same privileges"), so the previous
//! credentials keep working until the next rotation and the two users are interchangeable
//! whichever one is current.

use std::sync::Arc;

use super::login::{
    connect_expected, only_changed, parse, pending_logs_in, prove_login, same_target, settle,
    test_pending, with_hint,
};
use super::managed::ManagedSecretLookup;
use super::preflight;
use super::rds::RdsLookup;
use super::superuser::{masterarn, superuser_secret, Lookups};
use super::{Database, DatabaseSecret, NameLimit, Transport, Which};
use crate::error::{Result, RotationError};
use crate::labels::{AWSCURRENT, AWSPREVIOUS};
use crate::preflight::{names, PreflightOptions, Report};
use crate::secret::SecretValue;
use crate::steps::{Rotation, StepContext};
use crate::store::SecretStore;

/// The suffix alternating users add to the original user name.
pub const CLONE_SUFFIX: &str = "_clone";

/// The other user of an alternating pair: `u` <-> `u_clone`. Fails if the clone name would be
/// over the server's `limit` (PostgreSQL counts bytes and truncates a longer name, which could
/// then name another user; MySQL and MariaDB count characters).
pub fn alternate_username(user: &str, limit: NameLimit) -> Result<String> {
    if let Some(original) = user.strip_suffix(CLONE_SUFFIX).filter(|o| !o.is_empty()) {
        return Ok(original.to_string());
    }
    let clone = format!("{user}{CLONE_SUFFIX}");
    let (len, max, unit) = limit.measure(&clone);
    if len > max {
        return Err(RotationError::malformed(
            AWSCURRENT,
            format!(
                "unable to clone user {user}: with {CLONE_SUFFIX} appended the name would be {len} {unit}, over the limit of {max} {unit} (the server's, or USERNAME_CHARACTER_LIMIT where the function reads it)"
            ),
        ));
    }
    Ok(clone)
}

/// True when `user`'s partner cannot be told from its name alone: `x_clone` pairs with `x`,
/// unless the pair began as `x_clone_clone` / `x_clone` (a user whose name already ends in
/// `_clone`), and stripping the suffix again would drift to an unrelated `x`.
fn name_is_ambiguous(user: &str) -> bool {
    user.strip_suffix(CLONE_SUFFIX)
        .is_some_and(|o| !o.is_empty())
}

/// The other user of `current`'s pair: `previous` (AWSPREVIOUS's user) when it is one suffix
/// away from `current` in either direction (the pair rotated before; this keeps
/// `x_clone_clone` / `x_clone` from drifting to `x`), else [`alternate_username`].
pub fn pair_partner(current: &str, previous: Option<&str>, limit: NameLimit) -> Result<String> {
    if let Some(p) = previous {
        let related =
            p == format!("{current}{CLONE_SUFFIX}") || current == format!("{p}{CLONE_SUFFIX}");
        if related {
            return Ok(p.to_string());
        }
    }
    alternate_username(current, limit)
}

/// AWSCURRENT's value with `user` and `password` in place: the AWSPENDING value.
fn pending_for(current: &DatabaseSecret, user: &str, password: &SecretValue) -> SecretValue {
    current
        .json()
        .with_password(password)
        .with_str("username", user)
        .to_secret_value()
}

/// The alternating-users strategy over an engine.
#[derive(Clone)]
pub struct AlternatingUsers<D> {
    db: D,
    rds: Option<Arc<dyn RdsLookup>>,
    verify_identifiers: bool,
    managed: Option<Arc<dyn ManagedSecretLookup>>,
    /// The superuser secrets `masterarn` may resolve to (None: any, for library use; every
    /// binary sets the list from `MASTER_SECRET_ARNS`, which start-up requires).
    superusers: Option<Arc<[String]>>,
}

impl<D: std::fmt::Debug> std::fmt::Debug for AlternatingUsers<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlternatingUsers")
            .field("db", &self.db)
            .field("rds", &self.rds.is_some())
            .field("verify_identifiers", &self.verify_identifiers)
            .field("managed", &self.managed.as_ref().map(|m| m.service()))
            .field("superusers", &self.superusers)
            .finish()
    }
}

impl<D: Database> AlternatingUsers<D> {
    /// The strategy over `db`, without the RDS API.
    pub fn new(db: D) -> Self {
        Self {
            db,
            rds: None,
            verify_identifiers: false,
            managed: None,
            superusers: None,
        }
    }

    /// The same strategy allowed to use only the superuser secrets `arns` name (ARNs, `*` and
    /// `?` as in an IAM resource): a `masterarn` that resolves (by the ARN Secrets Manager
    /// returns) to any other secret is refused before that secret's value is used. An empty
    /// list refuses every superuser secret.
    pub fn with_superusers(mut self, arns: &[String]) -> Self {
        self.superusers = Some(arns.into());
        self
    }

    /// The same strategy with the RDS API: RDS-managed master secrets, replica and reader
    /// hosts, and (when `verify_identifiers`) `host` checked against `dbInstanceIdentifier` /
    /// `dbClusterIdentifier`.
    pub fn with_rds(mut self, rds: Arc<dyn RdsLookup>, verify_identifiers: bool) -> Self {
        self.rds = Some(rds);
        self.verify_identifiers = verify_identifiers;
        self
    }

    /// The same strategy with another service's managed-secret lookup: a superuser secret that
    /// service manages (only `username` and `password`, a tag naming its server) is completed
    /// through it. The adapter for that service supplies it (the PostgreSQL-wire crate: the
    /// Redshift APIs).
    pub fn with_managed_secrets(mut self, lookup: Arc<dyn ManagedSecretLookup>) -> Self {
        self.managed = Some(lookup);
        self
    }

    /// The database engine.
    pub fn database(&self) -> &D {
        &self.db
    }

    /// What superuser-secret resolution may use and must check.
    fn lookups(&self) -> Lookups<'_> {
        Lookups {
            rds: self.rds.as_deref(),
            verify_identifiers: self.verify_identifiers,
            managed: self.managed.as_deref(),
            superusers: self.superusers.as_deref(),
        }
    }

    /// AWSPREVIOUS's user name, when it has one this code can read (one call, made only when
    /// the preamble saw an AWSPREVIOUS).
    async fn previous_user<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
    ) -> Result<Option<String>> {
        Ok(ctx
            .previous()
            .await?
            .and_then(|v| DatabaseSecret::parse(&v, AWSPREVIOUS).ok())
            .map(|s| s.username))
    }

    /// The pending user for `current`: by name, or, when the name is ambiguous, from the pair's
    /// history (AWSPREVIOUS).
    async fn partner<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &DatabaseSecret,
    ) -> Result<String> {
        let limit = self.db.username_limit();
        if !name_is_ambiguous(&current.username) {
            return alternate_username(&current.username, limit);
        }
        let previous = self.previous_user(ctx).await?;
        pair_partner(&current.username, previous.as_deref(), limit)
    }

    /// A change that failed may have lost a race with a concurrent setSecret making the same
    /// change: if the change is now complete, the work is done; otherwise `failed` stands.
    /// Where one login proves a change (one account per user), an AWSPENDING login decides;
    /// otherwise the server's records of every account do, read in a new superuser session
    /// (the failed one may be cut off). Never accepts a change that is done on one account
    /// only.
    async fn settle(
        &self,
        master: &DatabaseSecret,
        source: &str,
        pending: &DatabaseSecret,
        failed: RotationError,
    ) -> Result<()> {
        let db = &self.db;
        if db.identity().quirks.one_login_proves_a_change {
            return settle(db, pending, failed).await;
        }
        let Ok(mut session) = db.connect(master, Which::Superuser).await else {
            return Err(failed);
        };
        match db.change_is_complete(&mut session, source, pending).await {
            Ok(true) => Ok(()),
            _ => Err(failed),
        }
    }
}

impl<D: Database> Rotation for AlternatingUsers<D> {
    /// Also checks what setSecret will need (`masterarn`, a clone name the server accepts), so
    /// createSecret stores nothing that setSecret would refuse.
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        let secret = DatabaseSecret::parse(value, which)?;
        secret.expect_engine(self.db.engines(), which)?;
        masterarn(&secret, which)?;
        alternate_username(&secret.username, self.db.username_limit())?;
        Ok(())
    }

    fn pending_value(
        &self,
        current: &SecretValue,
        new_password: &SecretValue,
    ) -> Result<SecretValue> {
        let current = DatabaseSecret::parse(current, AWSCURRENT)?;
        let other = alternate_username(&current.username, self.db.username_limit())?;
        Ok(pending_for(&current, &other, new_password))
    }

    async fn pending_value_in<S: SecretStore>(
        &self,
        ctx: &StepContext<'_, S>,
        current: &SecretValue,
        new_password: &SecretValue,
    ) -> Result<SecretValue> {
        let parsed = DatabaseSecret::parse(current, AWSCURRENT)?;
        let other = self.partner(ctx, &parsed).await?;
        Ok(pending_for(&parsed, &other, new_password))
    }

    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        let db = &self.db;
        let pending = parse(db, &ctx.pending().await?, Which::Pending)?;
        let current = parse(db, &ctx.current().await?, Which::Current)?;
        // The name rule first (no call); the pair's history only when AWSPENDING names the other
        // candidate of an ambiguous name.
        let mut other = alternate_username(&current.username, db.username_limit())?;
        if pending.username != other && name_is_ambiguous(&current.username) {
            other = self.partner(ctx, &current).await?;
        }
        same_target(db, &current, Which::Current, &pending, &other)?;
        only_changed(&current, &pending, &["password", "username"])?;
        tracing::debug!(current = %current.username, pending = %pending.username, "checked: AWSPENDING is the other user of the pair on the same server");
        // Privileges come from the user AWSCURRENT names, never from a name derived from the
        // pending one (`x_clone_clone` -> `x_clone` must not receive an unrelated `x`'s).
        let source = current.username.as_str();
        // Any failure counts as "not yet": a half-made account may be locked, or refuse.
        let pending_logs_in = pending_logs_in(db, &pending).await;
        if pending_logs_in && db.identity().quirks.one_login_proves_a_change {
            tracing::debug!("AWSPENDING logs in already: nothing to change");
            return Ok(());
        }
        // Prove the current credentials are real before the superuser is used for anything.
        let current_session = connect_expected(db, &current, Which::Current)
            .await
            .map_err(|e| with_hint(e, "the superuser secret was not used"))?;
        let verified = matches!(db.transport(&current_session), Transport::VerifiedTls);
        drop(current_session);
        let master = superuser_secret(db, ctx, &current, verified, self.lookups()).await?;
        tracing::debug!(superuser = %master.username, "checked: AWSCURRENT logs in, and the superuser secret is for its server");
        let mut session = connect_expected(db, &master, Which::Superuser).await?;
        // Several accounts per user: a login proved one of them; the server's records of all
        // of them decide.
        if pending_logs_in
            && db
                .change_is_complete(&mut session, source, &pending)
                .await?
        {
            tracing::debug!("the server's records show the change complete: nothing to change");
            return Ok(());
        }
        let exists = db.user_exists(&mut session, &pending.username).await?;
        tracing::debug!(
            user = %pending.username,
            action = if exists { "update" } else { "create" },
            "copying the current user to the pending one"
        );
        let changed = if exists {
            db.update_clone(&mut session, source, &pending).await
        } else {
            db.create_clone(&mut session, source, &pending).await
        };
        drop(session);
        if let Err(e) = changed {
            return self.settle(&master, source, &pending, e).await;
        }
        // AWSCURRENT is another user, untouched: a failure here leaves it working.
        tracing::debug!("proving the change: AWSPENDING logs in");
        // A login refused for capacity says nothing about the change: the server was full.
        // Nothing is undone (there is nothing to undo: AWSCURRENT is another user), and the
        // next setSecret checks AWSPENDING before it changes anything.
        prove_login(db, &pending, Which::Pending)
            .await
            .map_err(|cause| {
                if cause.is_at_capacity() {
                    return with_hint(
                        cause,
                        &format!("this was the check of the change of user {}, which the server accepted: AWSCURRENT is another user and keeps working, and the next setSecret checks AWSPENDING before it changes anything", pending.username),
                    );
                }
                RotationError::PasswordChangeUnverified {
                    user: pending.username.clone(),
                    outcome: "AWSCURRENT is another user and keeps working; the next setSecret sets this password again".into(),
                    source: Box::new(cause),
                }
            })
    }

    async fn verify_pending<S: SecretStore>(
        &self,
        _ctx: &StepContext<'_, S>,
        pending: &SecretValue,
    ) -> Result<()> {
        test_pending(&self.db, pending).await
    }

    /// AWSCURRENT logs in over the transport it will use and is its own user; the pair's other
    /// name fits; `masterarn` is readable and names the same server (with the RDS and
    /// managed-secret lookups setSecret would make); the superuser logs in and may manage users; a stale
    /// AWSPENDING logs in or not (aborting is safe either way: AWSCURRENT is the other user);
    /// AWSPREVIOUS when asked.
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
        let current_login = logged.logs_in;
        let verified = logged
            .session
            .as_ref()
            .is_some_and(|session| matches!(db.transport(session), Transport::VerifiedTls));
        drop(logged);
        let partner = match self.partner(ctx, &current).await {
            Ok(partner) => {
                let (len, max, unit) = db.username_limit().measure(&partner);
                report.pass(
                    names::CLONE_NAME,
                    format!(
                        "the other user of the pair is {partner} ({len} of at most {max} {unit})"
                    ),
                );
                partner
            }
            Err(e) => {
                report.fail_with(names::CLONE_NAME, &e);
                alternate_username(&current.username, NameLimit::Chars(usize::MAX))
                    .unwrap_or_default()
            }
        };
        let lookups = self.lookups();
        match superuser_secret(db, ctx, &current, verified, lookups).await {
            Ok(master) => {
                report.pass(
                    names::SUPERUSER_SECRET,
                    format!(
                        "masterarn is readable and names user {} on the server of AWSCURRENT{}",
                        master.username,
                        lookups
                            .services()
                            .map(|s| format!(" (checked with the {s} lookups this function makes)"))
                            .unwrap_or_default()
                    ),
                );
                if current_login != Some(true) {
                    // As setSecret: the superuser is used only once AWSCURRENT is proved.
                    report.fail(
                        names::SUPERUSER_LOGIN,
                        "not tried: AWSCURRENT does not log in, and setSecret would not use the superuser either",
                    );
                } else if let Some(mut session) = preflight::login(
                    db,
                    &master,
                    Which::Superuser,
                    names::SUPERUSER_LOGIN,
                    report,
                )
                .await
                .session
                {
                    preflight::clone_privileges(
                        db,
                        ctx,
                        &mut session,
                        &current.username,
                        &partner,
                        report,
                    )
                    .await;
                }
            }
            Err(e) => report.fail_with(names::SUPERUSER_SECRET, &e),
        }
        // The pending user is the pair's other one: AWSCURRENT's login alone decides whether
        // removing AWSPENDING leaves clients working.
        preflight::other_versions(
            db,
            ctx,
            &current,
            &partner,
            options,
            current_login,
            false,
            report,
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B63: NameLimit = NameLimit::Bytes(63);

    #[test]
    fn a_pair_keeps_its_partner_when_the_name_alone_would_drift() {
        // Begun as x_clone_clone: x_clone's partner is x_clone_clone (its AWSPREVIOUS), not x.
        assert_eq!(
            pair_partner("x_clone", Some("x_clone_clone"), B63).unwrap(),
            "x_clone_clone"
        );
        assert_eq!(
            pair_partner("x_clone_clone", Some("x_clone"), B63).unwrap(),
            "x_clone"
        );
        // An ordinary pair, or no history: the name rule.
        assert_eq!(pair_partner("app_clone", Some("app"), B63).unwrap(), "app");
        assert_eq!(pair_partner("app_clone", None, B63).unwrap(), "app");
        assert_eq!(pair_partner("x_clone_clone", None, B63).unwrap(), "x_clone");
        // An unrelated AWSPREVIOUS user is never taken for the partner.
        assert_eq!(
            pair_partner("app_clone", Some("victim"), B63).unwrap(),
            "app"
        );
        assert_eq!(
            pair_partner("app", Some("app_clone_clone"), B63).unwrap(),
            "app_clone"
        );
        assert!(
            name_is_ambiguous("x_clone") && !name_is_ambiguous("x") && !name_is_ambiguous("_clone")
        );
    }

    #[test]
    fn character_limits_count_characters() {
        let c32 = NameLimit::Chars(32);
        assert_eq!(
            alternate_username(&"Ü".repeat(26), c32)
                .unwrap()
                .chars()
                .count(),
            32
        );
        let err = alternate_username(&"Ü".repeat(27), c32).unwrap_err();
        assert!(
            err.to_string()
                .contains("33 characters, over the limit of 32 characters"),
            "{err}"
        );
    }

    #[test]
    fn alternate_username_switches_both_ways_and_limits_length() {
        assert_eq!(alternate_username("app", B63).unwrap(), "app_clone");
        assert_eq!(alternate_username("app_clone", B63).unwrap(), "app");
        assert_eq!(alternate_username("_clone", B63).unwrap(), "_clone_clone");
        let fits = "u".repeat(57);
        assert_eq!(alternate_username(&fits, B63).unwrap().len(), 63);
        let too_long = "u".repeat(58);
        let err = alternate_username(&too_long, B63).unwrap_err();
        assert!(err.to_string().contains("limit of 63 bytes"), "{err}");
        // Servers count bytes: 28 two-byte letters + "_clone" is 62 bytes and fits; 29 would be
        // 64 bytes (35 characters) and does not.
        assert_eq!(alternate_username(&"Ü".repeat(28), B63).unwrap().len(), 62);
        let err = alternate_username(&"Ü".repeat(29), B63).unwrap_err();
        assert!(err.to_string().contains("64 bytes"), "{err}");
        assert_eq!(
            alternate_username("Üser \"x\"", B63).unwrap(),
            "Üser \"x\"_clone"
        );
    }
}
