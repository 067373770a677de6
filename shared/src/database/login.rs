//! The checks and logins both strategies share: parsing a version, the confused-deputy checks
//! (same user, same server), logging in with typed outcomes, proving a login, and settling a
//! failed change that a concurrent invocation may have made.

use super::{Database, DatabaseSecret, Which};
use crate::error::{Result, RotationError};
use crate::secret::SecretValue;

use super::hosts::normalize_host;

/// Parses a version of a database secret and checks its engine.
pub(crate) fn parse<D: Database>(
    db: &D,
    value: &SecretValue,
    which: Which,
) -> Result<DatabaseSecret> {
    let secret = DatabaseSecret::parse(value, which.label())?;
    secret.expect_engine(db.engines(), which.label())?;
    Ok(secret)
}

/// Logs in. A refused password is `Ok(Err(AuthenticationFailed))`, so callers can try other
/// credentials; anything else (unreachable, TLS) is an error at once.
pub(crate) async fn try_login<D: Database>(
    db: &D,
    secret: &DatabaseSecret,
    which: Which,
) -> Result<Result<D::Session>> {
    // AWSCURRENT is expected to work; a probe of AWSPENDING or AWSPREVIOUS is not.
    let result = if which == Which::Current {
        connect_expected(db, secret, which).await
    } else {
        db.connect(secret, which).await
    };
    tracing::debug!(
        which = which.label(),
        user = %secret.username,
        host = %secret.host,
        outcome = match &result {
            Ok(_) => "logged in",
            Err(e) => e.error_type(),
        },
        "login attempt"
    );
    match result {
        Ok(session) => Ok(Ok(session)),
        Err(e @ RotationError::AuthenticationFailed { .. }) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}

/// Logs in with credentials that are expected to work; a refusal is tried once more where the
/// engine declares it ([`Quirks::retries_refused_logins`](super::Quirks::retries_refused_logins)).
pub(crate) async fn connect_expected<D: Database>(
    db: &D,
    secret: &DatabaseSecret,
    which: Which,
) -> Result<D::Session> {
    match db.connect(secret, which).await {
        Err(RotationError::AuthenticationFailed { .. })
            if db.identity().quirks.retries_refused_logins =>
        {
            tracing::debug!(
                which = which.label(),
                user = %secret.username,
                "login refused; trying once more (the driver misreads some ed25519 challenges)"
            );
            db.connect(secret, which).await
        }
        other => other,
    }
}

/// True when AWSPENDING logs in now; any failure (refused, unreachable) is false.
pub(crate) async fn pending_logs_in<D: Database>(db: &D, pending: &DatabaseSecret) -> bool {
    matches!(try_login(db, pending, Which::Pending).await, Ok(Ok(_)))
}

/// Logs in with `secret` and checks that the session is its user.
pub(crate) async fn prove_login<D: Database>(
    db: &D,
    secret: &DatabaseSecret,
    which: Which,
) -> Result<()> {
    let mut session = connect_expected(db, secret, which).await?;
    let user = db.session_user(&mut session).await?;
    if user != secret.username {
        return Err(RotationError::TestSecret(format!(
            "the {which} credentials logged in as {user}, expected {}",
            secret.username
        )));
    }
    Ok(())
}

/// True when `e` says the credentials were refused or logged in as another user: the only
/// verification failures that prove a password change did not take.
/// A login refused for capacity ([`RotationError::DatabaseAtCapacity`]) is never one: the
/// server turned the session away whatever the password.
pub(crate) fn refused(e: &RotationError) -> bool {
    matches!(
        e,
        RotationError::AuthenticationFailed { .. } | RotationError::TestSecret(_)
    )
}

/// Before a user changes its own password: the session must be `secret`'s user. A login can
/// be mapped to another account (MySQL's proxy users and anonymous accounts: `CURRENT_USER()`
/// is then that account, and a password change would change it), and a server that folds case
/// (Redshift) may store the name differently from the secret. Nothing is changed either way.
pub(crate) async fn same_session_user<D: Database>(
    db: &D,
    session: &mut D::Session,
    secret: &DatabaseSecret,
    which: Which,
) -> Result<()> {
    let user = db.session_user(session).await?;
    if user == secret.username {
        return Ok(());
    }
    if user.to_lowercase() == secret.username.to_lowercase() {
        return Err(RotationError::malformed(
            which.label(),
            format!(
                "the server stores user {} as {user}, a name that differs only in case; md5 passwords are salted with the name the client sends, so the new password would not log in. Set username to {user}. Nothing was changed",
                secret.username
            ),
        ));
    }
    Err(RotationError::ConfusedDeputy(format!(
        "the {which} credentials of user {} logged in as {user} (a proxied or anonymous account, or another user); refusing to change that account's password",
        secret.username
    )))
}

/// testSecret and the finishSecret guard for both strategies: log in as AWSPENDING and check
/// who the session is.
pub(crate) async fn test_pending<D: Database>(db: &D, value: &SecretValue) -> Result<()> {
    let pending = parse(db, value, Which::Pending)?;
    prove_login(db, &pending, Which::Pending).await
}

/// A change that failed may have lost a race with a concurrent setSecret making the same
/// change (e.g. PostgreSQL's "tuple concurrently updated"): if AWSPENDING logs in now, the work
/// is done; otherwise the original error stands.
pub(crate) async fn settle<D: Database>(
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

/// Adds guidance to an authentication failure or a login refused for capacity.
pub(crate) fn with_hint(e: RotationError, extra: &str) -> RotationError {
    match e {
        RotationError::DatabaseAtCapacity {
            which,
            user,
            host,
            port,
            server,
            hint,
        } => RotationError::DatabaseAtCapacity {
            which,
            user,
            host,
            port,
            server,
            hint: format!("{hint}; {extra}"),
        },
        RotationError::AuthenticationFailed {
            which,
            user,
            host,
            server,
            hint,
        } => RotationError::AuthenticationFailed {
            which,
            user,
            host,
            server,
            hint: format!("{hint}; {extra}"),
        },
        other => other,
    }
}

/// The port a secret connects to.
pub(crate) fn effective_port<D: Database>(db: &D, secret: &DatabaseSecret) -> u16 {
    secret.port.unwrap_or(db.default_port())
}

/// `host:port` of a secret, as messages show it.
pub(crate) fn server_of<D: Database>(db: &D, secret: &DatabaseSecret) -> String {
    format!("{}:{}", secret.host, effective_port(db, secret))
}

/// True when `a` and `b` name the same server: host (and `tlsServerName`) compared lowercase
/// without a trailing dot, and the effective port.
pub(crate) fn same_server<D: Database>(db: &D, a: &DatabaseSecret, b: &DatabaseSecret) -> bool {
    let tls_name = |s: &DatabaseSecret| s.tls_server_name.as_deref().map(normalize_host);
    normalize_host(&a.host) == normalize_host(&b.host)
        && effective_port(db, a) == effective_port(db, b)
        && tls_name(a) == tls_name(b)
}

/// The name a login to `secret`'s server proves: `tlsServerName` (else `host`) when the login
/// verified the server's certificate (`verified`), else `host`; lowercase, without a trailing
/// dot. A certificate proves the name it carries, so a `host` that is an alias (a CNAME, a
/// Route 53 record) with `tlsServerName` naming the endpoint is that endpoint's server.
pub(crate) fn proven_name(secret: &DatabaseSecret, verified: bool) -> String {
    let name = match &secret.tls_server_name {
        Some(name) if verified => name,
        _ => &secret.host,
    };
    normalize_host(name)
}

/// The confused-deputy check: `other` must name the user `user` on the server of `pending`
/// (and, where users belong to a database, in the same `dbname`).
pub(crate) fn same_target<D: Database>(
    db: &D,
    other: &DatabaseSecret,
    other_which: Which,
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
        let (a, b) = (server_of(db, pending), server_of(db, other));
        return Err(RotationError::ConfusedDeputy(if a != b {
            format!("AWSPENDING is for {a} but {other_which} is for {b}")
        } else {
            format!(
                "AWSPENDING verifies the server certificate as {} but {other_which} as {} (tlsServerName)",
                pending.tls_server_name.as_deref().unwrap_or(&pending.host),
                other.tls_server_name.as_deref().unwrap_or(&other.host)
            )
        }));
    }
    if db.identity().quirks.users_are_per_database {
        let default = db.identity().default_dbname;
        let dbname = |s: &DatabaseSecret| s.dbname.as_deref().or(default).map(str::to_string);
        if dbname(pending) != dbname(other) {
            return Err(RotationError::ConfusedDeputy(format!(
                "AWSPENDING is for user {user} in database {} but {other_which} in {}: a user of another database is another user",
                dbname(pending).unwrap_or_default(),
                dbname(other).unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// createSecret copies AWSCURRENT and changes only `changed` (the password; for alternating
/// users the user name too): an AWSPENDING that differs anywhere else (dbname, engine, ssl,
/// masterarn, any other key) was not made by this function.
pub(crate) fn only_changed(
    current: &DatabaseSecret,
    pending: &DatabaseSecret,
    changed: &[&str],
) -> Result<()> {
    let differing = current.json().keys_differing(pending.json(), changed);
    if differing.is_empty() {
        return Ok(());
    }
    Err(RotationError::ConfusedDeputy(format!(
        "AWSPENDING differs from AWSCURRENT in {}, which rotation never changes",
        differing.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(extra: &str) -> DatabaseSecret {
        let text = format!(
            r#"{{"engine":"postgres","host":"Alias.Example.COM.","username":"u","password":"p"{extra}}}"#
        );
        DatabaseSecret::parse(&crate::SecretValue::new(text), "AWSCURRENT").unwrap()
    }

    #[test]
    fn a_verified_login_proves_the_certificate_name_and_nothing_else_does() {
        let aliased = secret(r#","tlsServerName":"db1.abc.us-east-1.rds.amazonaws.com""#);
        assert_eq!(
            proven_name(&aliased, true),
            "db1.abc.us-east-1.rds.amazonaws.com"
        );
        // Plaintext (ssl false, or a fallback): the certificate name was never checked.
        assert_eq!(proven_name(&aliased, false), "alias.example.com");
        assert_eq!(proven_name(&secret(""), true), "alias.example.com");
    }
}
