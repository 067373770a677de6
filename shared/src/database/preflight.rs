//! The preflight checks both database strategies share: a login that says how it reached the
//! server, the user's privileges, and whether a stale AWSPENDING (or, when asked, AWSPREVIOUS)
//! logs in. Every login goes only to the server AWSCURRENT names, with the confused-deputy
//! checks of the steps; nothing is changed.

use super::login::{connect_expected, parse, same_session_user, same_target, server_of, try_login};
use super::{Database, DatabaseSecret, Need, Transport, Which};
use crate::labels::{AWSPENDING, AWSPREVIOUS};
use crate::preflight::{names, PreflightOptions, Report};
use crate::steps::StepContext;
use crate::store::SecretStore;

/// What `transport` means, for a session logged in with `secret`.
fn describe_transport(transport: Transport, secret: &DatabaseSecret) -> String {
    match transport {
        Transport::VerifiedTls => format!(
            "verified TLS: the certificate chain was checked against the trust anchors and the certificate carries the name {}",
            secret.tls_server_name.as_deref().unwrap_or(&secret.host)
        ),
        Transport::Plaintext { fallback: false } => {
            "no TLS: the secret sets \"ssl\": false (remove it, or set it to true, to require verified TLS)".into()
        }
        Transport::Plaintext { fallback: true } => {
            "no TLS: the server offered none and ALLOW_PLAINTEXT_FALLBACK is on, an answer anyone on the path can forge (set \"ssl\": true in the secret to forbid it)".into()
        }
    }
}

/// How a preflight login ended: the session when it logged in as the secret's user, and
/// `Some(true)` then, `Some(false)` when the server refused the credentials, `None` for any
/// other failure.
pub(crate) struct Logged<S> {
    /// The session.
    pub session: Option<S>,
    /// The outcome.
    pub logs_in: Option<bool>,
}

/// Logs in with AWSCURRENT (`which` Current) or the superuser (`Superuser`) and records the
/// login check (`name`), and for AWSCURRENT the TLS check and that the session is the
/// secret's own user.
pub(crate) async fn login<D: Database>(
    db: &D,
    secret: &DatabaseSecret,
    which: Which,
    name: &'static str,
    report: &mut Report,
) -> Logged<D::Session> {
    let mut session = match connect_expected(db, secret, which).await {
        Ok(session) => session,
        Err(e) => {
            report.fail_with(name, &e);
            let refused = matches!(e, crate::RotationError::AuthenticationFailed { .. });
            return Logged {
                session: None,
                logs_in: refused.then_some(false),
            };
        }
    };
    let transport = describe_transport(db.transport(&session), secret);
    if which == Which::Current {
        report.pass(names::TLS, transport.clone());
        if let Err(e) = same_session_user(db, &mut session, secret, which).await {
            report.fail_with(name, &e);
            return Logged {
                session: None,
                logs_in: None,
            };
        }
    }
    report.pass(
        name,
        format!(
            "{which} logs in as {} on {} ({transport})",
            secret.username,
            server_of(db, secret)
        ),
    );
    Logged {
        session: Some(session),
        logs_in: Some(true),
    }
}

/// Records what the server says `session`'s user may do for `need`.
pub(crate) async fn privileges<D: Database, S: SecretStore>(
    db: &D,
    ctx: &StepContext<'_, S>,
    session: &mut D::Session,
    need: Need,
    report: &mut Report,
) {
    let name = match need {
        Need::OwnPassword => names::OWN_PASSWORD,
        Need::ManageUsers => names::MANAGE_USERS,
    };
    let checks = db.privileges(session, need, ctx.policy).await;
    record(report, name, checks);
}

/// The checks an engine's privilege reading gave, or its failure as the failed check `name`.
fn record(report: &mut Report, name: &'static str, checks: crate::Result<Vec<crate::Check>>) {
    match checks {
        Ok(checks) => report.checks.extend(checks),
        Err(e) => report.fail_with(name, &e),
    }
}

/// Records what the server says the superuser's `session` may do to make `clone` a copy of
/// `source` ([`Database::clone_privileges`]).
pub(crate) async fn clone_privileges<D: Database, S: SecretStore>(
    db: &D,
    ctx: &StepContext<'_, S>,
    session: &mut D::Session,
    source: &str,
    clone: &str,
    report: &mut Report,
) {
    let checks = db
        .clone_privileges(session, source, clone, ctx.policy)
        .await;
    record(report, names::MANAGE_USERS, checks);
}

/// The AWSPENDING (stale rotation) and, when asked, AWSPREVIOUS logins, each only when the
/// version names user `expected` (AWSPENDING; AWSPREVIOUS may also name `current`'s user) on
/// `current`'s server. `current_login`: how the AWSCURRENT login of this preflight ended
/// (`Some(true)` logged in, `Some(false)` refused, `None` another failure or not tried).
///
/// Aborting (taking AWSPENDING off) is safe exactly when AWSCURRENT logs in: that is what
/// clients are left with. For single user (`one_account`: AWSPENDING is AWSCURRENT's own
/// account), an AWSCURRENT that logs in also means the server does not hold the pending
/// password, so AWSPENDING is not tried (a refused login counts against the account on
/// servers that lock accounts); when AWSCURRENT is refused, AWSPENDING is tried as a login
/// expected to work (with the engine's retry).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn other_versions<D: Database, S: SecretStore>(
    db: &D,
    ctx: &StepContext<'_, S>,
    current: &DatabaseSecret,
    expected: &str,
    options: PreflightOptions,
    current_login: Option<bool>,
    one_account: bool,
    report: &mut Report,
) {
    if let Some(version) = report.pending.as_ref().map(|p| p.version.clone()) {
        let logs_in = if one_account && current_login == Some(true) {
            report.pass(
                names::PENDING_LOGIN,
                format!("not tried: AWSCURRENT logs in, so the server does not hold the pending password of version {version} (setSecret has not changed it)"),
            );
            Some(false)
        } else {
            version_logs_in(
                db,
                ctx,
                current,
                &[expected],
                AWSPENDING,
                &version,
                names::PENDING_LOGIN,
                one_account,
                report,
            )
            .await
        };
        if let Some(state) = report.pending.as_mut() {
            state.logs_in = logs_in;
            state.abort_safe = current_login;
        }
    }
    if !options.previous {
        return;
    }
    let Some(version) = report.previous.as_ref().map(|p| p.version.clone()) else {
        report.pass(names::PREVIOUS_LOGIN, "there is no AWSPREVIOUS version");
        return;
    };
    let users = [expected, current.username.as_str()];
    let logs_in = version_logs_in(
        db,
        ctx,
        current,
        &users,
        AWSPREVIOUS,
        &version,
        names::PREVIOUS_LOGIN,
        false,
        report,
    )
    .await;
    if let Some(state) = report.previous.as_mut() {
        state.logs_in = logs_in;
    }
}

/// Whether the `stage` version `version` logs in; `None` (and a failed check) when it was not
/// tried or the attempt failed for another reason than a refused password. `expected`: the
/// login is expected to work (a refusal is tried again where the engine asks for it).
#[allow(clippy::too_many_arguments)]
async fn version_logs_in<D: Database, S: SecretStore>(
    db: &D,
    ctx: &StepContext<'_, S>,
    current: &DatabaseSecret,
    users: &[&str],
    stage: &'static str,
    version: &str,
    name: &'static str,
    expected: bool,
    report: &mut Report,
) -> Option<bool> {
    let which = if stage == AWSPENDING {
        Which::Pending
    } else {
        Which::Previous
    };
    let value = match ctx.store.get_value(ctx.arn, stage, Some(version)).await {
        Ok(value) => value,
        Err(e) if e.is_not_found() => {
            report.pass(
                name,
                format!("the {stage} version {version} has no value (createSecret did not store one), so nothing can have used it"),
            );
            return Some(false);
        }
        Err(e) => {
            report.fail_with(name, &e);
            return None;
        }
    };
    let mut secret = match parse(db, &value, which) {
        Ok(secret) => secret,
        Err(e) => {
            report.fail_with(name, &e);
            return None;
        }
    };
    // Never send another version's credentials anywhere but AWSCURRENT's server and users.
    let user = users
        .iter()
        .find(|u| **u == secret.username)
        .copied()
        .unwrap_or(users[0]);
    if let Err(e) = same_target(db, current, Which::Current, &secret, user) {
        report.fail_with(name, &e);
        return None;
    }
    // The TLS decision is AWSCURRENT's (the key may differ only when edited by hand).
    secret.ssl = current.ssl;
    let attempt = if expected {
        match connect_expected(db, &secret, which).await {
            Ok(session) => Ok(Ok(session)),
            Err(e @ crate::RotationError::AuthenticationFailed { .. }) => Ok(Err(e)),
            Err(e) => Err(e),
        }
    } else {
        try_login(db, &secret, which).await
    };
    match attempt {
        Ok(Ok(_session)) => {
            report.pass(
                name,
                format!(
                    "{stage} (version {version}, user {}) logs in",
                    secret.username
                ),
            );
            Some(true)
        }
        Ok(Err(_refused)) => {
            report.pass(
                name,
                format!(
                    "{stage} (version {version}, user {}) is refused by the server",
                    secret.username
                ),
            );
            Some(false)
        }
        Err(e) => {
            report.fail_with(name, &e);
            None
        }
    }
}
