//! Alternating users on MySQL and MariaDB: the pending user is made a copy of the current user
//! (the user AWSCURRENT names, whichever of the pair that is) on every host the current user
//! has, on every rotation and in both directions, and gets the pending password last.
//!
//! Per account, in this order, each statement idempotent so a retry or a concurrent setSecret
//! converges: a missing account is created locked with an unknowable placeholder (so it cannot
//! log in before everything is in place); the authentication plugin, TLS requirement, limits,
//! password options and attributes are copied; privileges the pending account holds and the
//! current one does not are revoked (logged by name) and the current one's grants, roles and
//! default roles are given. Then both accounts are read again and must be equal (else the step
//! fails and nothing about the password changes). Last, each account whose stored hash is not
//! the pending password's gets it, and the lock state is copied. Where any of this carries a
//! plaintext password, the session's logs are checked before the first change
//! (`MySession::guard_plaintext`).
//!
//! [`pair_differences`] is the proof that all this is done, account by account: a login proves
//! only the account matching the function's own address, so it never decides success when a
//! user has several accounts.

use std::collections::{BTreeMap, BTreeSet};

use crate::account::AccountAttributes;
use crate::grants::{atoms_of, revokes, Atom, GrantRow};
use crate::server::Server;
use crate::session::{bytes, text, MySession};
use crate::sql::account;
use crate::statements::{
    carries_plaintext, create_locked_sql, default_roles_sql, identified, out_of_slow_log,
    set_password_sql, Plugin,
};
use crate::stored::stored_matches;
use rotation_core::database::{placeholder_password, DatabaseSecret};
use rotation_core::SecretValue;
use rotation_core::{Result, RotationError};

/// One account of a user, as `mysql.user` lists it.
struct Listed {
    plugin: String,
    stored: Vec<u8>,
}

/// Every account (host -> plugin, stored authentication string) of `user`.
async fn accounts(session: &mut MySession, user: &str) -> Result<BTreeMap<String, Listed>> {
    let rows = session
        .exec_rows(
            "SELECT Host, CAST(plugin AS CHAR), authentication_string FROM mysql.user WHERE User = ? ORDER BY Host",
            (user,),
            "read the user's accounts from mysql.user",
        )
        .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let host = text(&row, 0, "mysql.user.Host")?;
        let plugin = String::from_utf8_lossy(&bytes(&row, 1)).into_owned();
        out.insert(
            host,
            Listed {
                plugin,
                stored: bytes(&row, 2),
            },
        );
    }
    Ok(out)
}

/// What one account is: attributes, grant rows and their atoms, MySQL default roles.
struct AccountState {
    attributes: AccountAttributes,
    rows: Vec<String>,
    atoms: BTreeSet<Atom>,
    default_roles: Vec<(String, String)>,
}

async fn read_account(
    session: &mut MySession,
    server: &Server,
    user: &str,
    host: &str,
) -> Result<AccountState> {
    let who = account(user, host);
    let unsupported = RotationError::UnsupportedServer;
    let row = &session
        .query_row(
            &format!("SHOW CREATE USER {who}"),
            "read an account's attributes",
            &format!("SHOW CREATE USER for {user}@{host}"),
        )
        .await?;
    let attributes = AccountAttributes::parse(
        &text(row, 0, "the SHOW CREATE USER row")?,
        server.backslash_escapes,
    )
    .map_err(unsupported)?;
    let mut rows = Vec::new();
    for row in session
        .query_rows(
            &format!("SHOW GRANTS FOR {who}"),
            "read an account's grants",
            false,
        )
        .await?
    {
        rows.push(text(&row, 0, "a SHOW GRANTS row")?);
    }
    let atoms = atoms_of(&rows, user, host, server.backslash_escapes).map_err(unsupported)?;
    let mut default_roles = Vec::new();
    if server.mysql_at_least((8, 0, 0)) {
        for row in session
            .exec_rows(
                "SELECT DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST FROM mysql.default_roles \
                 WHERE USER = ? AND HOST = ? ORDER BY 1, 2",
                (user, host),
                "read an account's default roles",
            )
            .await?
        {
            default_roles.push((
                text(&row, 0, "a default role's user")?,
                text(&row, 1, "a default role's host")?,
            ));
        }
    }
    Ok(AccountState {
        attributes,
        rows,
        atoms,
        default_roles,
    })
}

/// What differs between the source account and the pending one, privileges and attributes
/// only (names, never values).
fn differences(source: &AccountState, pending: &AccountState) -> Vec<String> {
    let mut out = Vec::new();
    let (a, b) = (
        source.attributes.comparable(),
        pending.attributes.comparable(),
    );
    if a.plugin != b.plugin {
        out.push("the authentication plugin".to_string());
    }
    if a.require != b.require {
        out.push("the TLS requirement (REQUIRE)".to_string());
    }
    if a.limits != b.limits {
        out.push("the resource limits".to_string());
    }
    if a.password != b.password {
        out.push("the password options".to_string());
    }
    if a.attribute != b.attribute {
        out.push("the ATTRIBUTE / COMMENT".to_string());
    }
    for atom in source.atoms.difference(&pending.atoms) {
        out.push(format!("missing {atom}"));
    }
    for atom in pending.atoms.difference(&source.atoms) {
        out.push(format!("extra {atom}"));
    }
    if source.default_roles != pending.default_roles {
        out.push("the default roles".to_string());
    }
    out
}

/// Makes `pending`'s user a copy of `source` on every host `source` has, then gives it the
/// pending password (see the module documentation).
pub(super) async fn sync_pair(
    session: &mut MySession,
    server: &Server,
    source: &str,
    pending: &DatabaseSecret,
    allow_logged_password: bool,
) -> Result<()> {
    let user = pending.username.as_str();
    let sources = accounts(session, source).await?;
    if sources.is_empty() {
        return Err(RotationError::SetSecret(format!(
            "user {source} (AWSCURRENT) has no account in mysql.user, so there is nothing to copy"
        )));
    }
    let existing = accounts(session, user).await?;
    let extra: Vec<&str> = existing
        .keys()
        .filter(|h| !sources.contains_key(*h))
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        return Err(RotationError::SetSecret(format!(
            "user {user} has accounts on host(s) {} that {source} (AWSCURRENT) does not have; the two users of a pair must have the same hosts to be interchangeable: drop those accounts of {user}, or create them for {source}. Nothing was changed",
            extra.join(", ")
        )));
    }
    // Read everything first, so a row this code does not understand fails before any change.
    let mut plans = Vec::with_capacity(sources.len());
    for (host, listed) in &sources {
        let plugin = Plugin::parse(&listed.plugin, source)?;
        let from = read_account(session, server, source, host).await?;
        let now = match existing.get(host) {
            Some(_) => Some(read_account(session, server, user, host).await?),
            None => None,
        };
        plans.push((host.as_str(), plugin, from, now));
    }
    let password = pending.password();
    // Before the first change: a plaintext password (the placeholder of a new account, the
    // pending password) goes only over a private session, and only when no server log would
    // record it (or the deployer accepted that), so a refusal leaves everything as it was.
    if plans
        .iter()
        .any(|(_, plugin, _, _)| carries_plaintext(server, *plugin))
    {
        session
            .require_private("this server takes the pending user's password only as plaintext")?;
        session
            .guard_plaintext(server, user, &[&password], allow_logged_password)
            .await?;
    }
    let placeholder = placeholder_password()?;
    let none = AccountAttributes::default();
    for (host, plugin, from, now) in &plans {
        let who = account(user, host);
        let unknowable = identified(server, *plugin, &placeholder)?;
        let same_plugin = existing
            .get(*host)
            .is_some_and(|l| Plugin::parse(&l.plugin, user).ok() == Some(*plugin));
        if now.is_none() {
            session
                .execute_secret(
                    &create_locked_sql(user, host, &unknowable),
                    "create the clone account",
                )
                .await?;
        } else if !same_plugin {
            // The pending user is AWSPREVIOUS's: its old password stops working here, as it
            // would at the password change below.
            session
                .execute_secret(
                    &format!("ALTER USER {who} {unknowable}"),
                    "give the pending account the current user's authentication plugin",
                )
                .await?;
        }
        let clauses = from
            .attributes
            .clauses(server, now.as_ref().map_or(&none, |n| &n.attributes))
            .map_err(RotationError::UnsupportedServer)?;
        session
            .execute(
                &format!("ALTER USER {who} {clauses}"),
                "copy the account attributes to the pending user",
            )
            .await?;
        let held = now.as_ref().map(|n| n.atoms.clone()).unwrap_or_default();
        for (statement, atom) in revokes(&from.atoms, &held, &who) {
            session
                .execute(&statement, "revoke what the current user does not hold")
                .await?;
            tracing::info!(
                user,
                host,
                revoked = %atom,
                current_user = source,
                "revoked from the pending user what the current user does not hold, so the two stay interchangeable"
            );
        }
        for row in &from.rows {
            let parsed = GrantRow::parse(row, source, host, server.backslash_escapes)
                .map_err(RotationError::UnsupportedServer)?;
            if let Some(statement) = parsed.for_grantee(&who) {
                session
                    .execute(&statement, "copy a grant to the pending user")
                    .await?;
            }
        }
        if server.mysql_at_least((8, 0, 0)) {
            session
                .execute(
                    &default_roles_sql(&who, &from.default_roles),
                    "copy the default roles",
                )
                .await?;
        }
    }
    // Both accounts must now be equal: anything left over fails the step before the password.
    let mut locked_now = Vec::with_capacity(plans.len());
    for (host, _, from, _) in &plans {
        let now = read_account(session, server, user, host).await?;
        let left = differences(from, &now);
        if !left.is_empty() {
            return Err(RotationError::UnsupportedServer(format!(
                "after copying, {user}@{host} still differs from {source}@{host} in: {}. The new password was not set; AWSCURRENT is untouched",
                left.join("; ")
            )));
        }
        locked_now.push(now.attributes.locked);
    }
    let stored = accounts(session, user).await?;
    for ((host, plugin, from, _), locked) in plans.iter().zip(locked_now) {
        let done = stored
            .get(*host)
            .is_some_and(|l| stored_matches(*plugin, &l.stored, &password));
        if !done {
            set_password(session, server, user, host, *plugin, &password).await?;
        }
        if locked != from.attributes.locked {
            let state = if from.attributes.locked {
                "LOCK"
            } else {
                "UNLOCK"
            };
            session
                .execute(
                    &format!("ALTER USER {} ACCOUNT {state}", account(user, host)),
                    "copy the account's lock state",
                )
                .await?;
        }
    }
    Ok(())
}

/// Sets `password` on `user`@`host`, over a private session when it travels as plaintext.
async fn set_password(
    session: &mut MySession,
    server: &Server,
    user: &str,
    host: &str,
    plugin: Plugin,
    password: &SecretValue,
) -> Result<()> {
    // The session was checked before the first change (`sync_pair`); checked again here, as
    // this is where the password itself goes.
    if carries_plaintext(server, plugin) {
        session
            .require_private("this server takes the pending user's password only as plaintext")?;
    }
    let sql = out_of_slow_log(
        server,
        set_password_sql(server, user, host, plugin, password)?,
    );
    session
        .execute_secret(&sql, "set the pending user's password")
        .await
}

/// What keeps the pair from being done: every host of `source` must have an account of
/// `pending`'s user with the same attributes, privileges, default roles and lock state, and
/// the pending password stored. Empty when the change is complete.
pub(super) async fn pair_differences(
    session: &mut MySession,
    server: &Server,
    source: &str,
    pending: &DatabaseSecret,
) -> Result<Vec<String>> {
    let user = pending.username.as_str();
    let sources = accounts(session, source).await?;
    let targets = accounts(session, user).await?;
    let mut out = Vec::new();
    for host in targets.keys().filter(|h| !sources.contains_key(*h)) {
        out.push(format!("{user}@{host} has no counterpart"));
    }
    let password = pending.password();
    for (host, listed) in &sources {
        let Some(target) = targets.get(host) else {
            out.push(format!("{user}@{host} is missing"));
            continue;
        };
        let plugin = Plugin::parse(&listed.plugin, source)?;
        let same_plugin = Plugin::parse(&target.plugin, user).ok() == Some(plugin);
        if !same_plugin || !stored_matches(plugin, &target.stored, &password) {
            out.push(format!("{user}@{host} does not hold the pending password"));
        }
        let from = read_account(session, server, source, host).await?;
        let now = read_account(session, server, user, host).await?;
        out.extend(
            differences(&from, &now)
                .into_iter()
                .map(|d| format!("{user}@{host}: {d}")),
        );
        if from.attributes.locked != now.attributes.locked {
            out.push(format!("{user}@{host}: the lock state"));
        }
    }
    Ok(out)
}
