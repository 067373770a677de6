//! Alternating users on SQL Server: the pending login made a copy of the login AWSCURRENT
//! names. The copy is the login's options (default database, `CHECK_POLICY`,
//! `CHECK_EXPIRATION`) and, in the secret's database, its database user's role memberships and
//! permissions; when that database is `master`, the login's server role memberships and server
//! permissions instead (server permissions are granted in `master`). What the pending login
//! has and the current one does not is taken away. The pending password is set last, so the
//! pending credentials log in only once the copy is done.

use rotation_core::database::DatabaseSecret;
use rotation_core::{Result, RotationError, SecretValue};

use crate::principals::{self, Login, Permission, Scope};
use crate::session::TdsSession;
use crate::sql::{
    create_login_sql, create_user_sql, login_options_sql, quote_name, reset_password_sql,
    role_member_sql,
};

/// `dbo`'s `principal_id` in every database: the owner's user (MS Learn, Principals).
const DBO: i32 = 1;

/// SQL Server's error for `CREATE LOGIN` of a name that exists (MS Learn, errors 15000-15999).
const LOGIN_EXISTS: &str = "15025";

/// What a copy compares: the login, and the roles and permissions where they are copied.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Access {
    roles: Vec<String>,
    permissions: Vec<Permission>,
}

/// The grantee a copy applies to, in the scope it is copied in.
struct Grantee {
    /// The login (server scope) or database user (database scope).
    name: String,
    principal_id: i32,
}

fn is_master(database: &str) -> bool {
    database.eq_ignore_ascii_case("master")
}

/// The login AWSCURRENT names, which must exist as a SQL login.
async fn source_login(session: &mut TdsSession, source: &str) -> Result<Login> {
    principals::login(session, source).await?.ok_or_else(|| {
        RotationError::SetSecret(format!(
            "the login {source} that AWSCURRENT names is not on the server"
        ))
    })
}

/// Alternating users are not modelled for contained databases (users with passwords of their
/// own): refused before anything changes.
async fn refuse_contained(session: &mut TdsSession) -> Result<()> {
    if principals::contained(session).await? {
        return Err(RotationError::UnsupportedServer(
            "the secret's database is contained (containment PARTIAL): alternating users copy server logins, and this function does not copy contained database users; use single user".into(),
        ));
    }
    Ok(())
}

/// What `grantee` holds in the scope copied for `database`.
async fn access(
    session: &mut TdsSession,
    server: bool,
    grantee: Option<&Grantee>,
) -> Result<Option<Access>> {
    let Some(grantee) = grantee else {
        return Ok(None);
    };
    Ok(Some(Access {
        roles: principals::roles(session, server, grantee.principal_id).await?,
        permissions: principals::permissions(session, server, grantee.principal_id).await?,
    }))
}

/// The grantee of `login` in the copied scope: the login itself in `master`, else its user in
/// the session's database (None when it has none).
async fn grantee(
    session: &mut TdsSession,
    server: bool,
    login_name: &str,
    login: &Login,
) -> Result<Option<Grantee>> {
    if server {
        return Ok(Some(Grantee {
            name: login_name.to_string(),
            principal_id: login.principal_id,
        }));
    }
    Ok(principals::user_of_login(session, login.principal_id)
        .await?
        .map(|u| Grantee {
            name: u.name,
            principal_id: u.principal_id,
        }))
}

/// Makes `pending`'s login a copy of the login `source` (AWSCURRENT's user) and sets the
/// pending password last. Creates the login (with a placeholder password) and its database
/// user when they are missing; a concurrent creation of the login is taken as found.
pub async fn copy_login(
    session: &mut TdsSession,
    source: &str,
    pending: &DatabaseSecret,
    placeholder: impl FnOnce() -> Result<SecretValue>,
) -> Result<()> {
    refuse_contained(session).await?;
    let database = principals::current_database(session).await?;
    let server = is_master(&database);
    let clone_name = pending.username.as_str();
    let from = source_login(session, source).await?;
    let mut clone = principals::login(session, clone_name).await?;
    if clone.is_none() {
        let sql = create_login_sql(clone_name, &placeholder()?, &from.options)?;
        match session
            .execute_secret(&sql, "create the pending login")
            .await
        {
            Ok(()) => {}
            // Another setSecret created it at the same time: finish it as an update.
            Err(RotationError::Database {
                server: Some(ref s),
                ..
            }) if s.code.starts_with(LOGIN_EXISTS) => {}
            Err(e) => return Err(e),
        }
        clone = principals::login(session, clone_name).await?;
    }
    let clone = clone.ok_or_else(|| {
        RotationError::SetSecret(format!(
            "the login {clone_name} was created but is not listed"
        ))
    })?;
    if clone.options != from.options {
        session
            .execute(
                &login_options_sql(clone_name, &from.options)?,
                "copy the login options",
            )
            .await?;
    }
    if clone.disabled != from.disabled {
        let action = if from.disabled { "DISABLE" } else { "ENABLE" };
        session
            .execute(
                &format!("ALTER LOGIN {} {action}", quote_name(clone_name)?),
                "copy whether the login is enabled",
            )
            .await?;
    }
    let source_grantee = grantee(session, server, source, &from).await?;
    if let Some(owner) = source_grantee
        .as_ref()
        .filter(|g| !server && g.principal_id == DBO)
    {
        return Err(RotationError::SetSecret(format!(
            "the login {source} owns database {database} (its user is {}): a database has one owner, so the other login of the pair cannot be given the same access; make another login the owner and {source} a member of db_owner",
            owner.name
        )));
    }
    let mut clone_grantee = grantee(session, server, clone_name, &clone).await?;
    if clone_grantee.is_none() && source_grantee.is_some() {
        clone_grantee = Some(create_user(session, clone_name, &clone).await?);
    }
    let want = access(session, server, source_grantee.as_ref()).await?;
    let have = access(session, server, clone_grantee.as_ref()).await?;
    match (want, have, clone_grantee) {
        (Some(want), Some(have), Some(to)) => apply(session, server, &to, &want, &have).await?,
        (None, None, _) => {}
        (None, Some(_), Some(to)) => {
            return Err(RotationError::SetSecret(format!(
                "the login {clone_name} has a user ({}) in database {database} and the login {source} has none: remove that user, or map {source} to a user there",
                to.name
            )))
        }
        _ => {
            return Err(RotationError::SetSecret(format!(
                "could not find the database user of {clone_name} in {database}"
            )))
        }
    }
    session
        .execute_secret(
            &reset_password_sql(clone_name, &pending.password())?,
            "set the pending password",
        )
        .await
}

/// `CREATE USER <clone> FOR LOGIN <clone>`, unless a principal of that name exists: one mapped
/// to another login is refused (it would not be this login's user).
async fn create_user(session: &mut TdsSession, name: &str, login: &Login) -> Result<Grantee> {
    match principals::database_principal(session, name).await? {
        Some((_, sid)) if sid.as_deref() != Some(login.sid.as_slice()) => {
            return Err(RotationError::SetSecret(format!(
                "the database already has a principal named {name} that is not the login {name}'s user; rename or remove it"
            )))
        }
        _ => {}
    }
    session
        .execute(
            &create_user_sql(name, name)?,
            "create the pending login's database user",
        )
        .await?;
    let user = principals::user_of_login(session, login.principal_id)
        .await?
        .ok_or_else(|| {
            RotationError::SetSecret(format!("the user {name} was created but is not mapped"))
        })?;
    Ok(Grantee {
        name: user.name,
        principal_id: user.principal_id,
    })
}

/// `GRANT`, `DENY` or `REVOKE` of `p` for `to`.
fn permission_sql(p: &Permission, to: &str, revoke: bool) -> Result<String> {
    let on = match &p.scope {
        Scope::Server | Scope::Database => String::new(),
        Scope::Schema(s) => format!(" ON SCHEMA::{}", quote_name(s)?),
        Scope::Object(s, o) => format!(" ON OBJECT::{}.{}", quote_name(s)?, quote_name(o)?),
    };
    let to = quote_name(to)?;
    let name = crate::sql::permission_name(&p.name)?;
    Ok(match (revoke, p.state) {
        (true, 'W') => format!("REVOKE {name}{on} FROM {to} CASCADE"),
        (true, _) => format!("REVOKE {name}{on} FROM {to}"),
        (false, 'W') => format!("GRANT {name}{on} TO {to} WITH GRANT OPTION"),
        (false, 'D') => format!("DENY {name}{on} TO {to}"),
        (false, _) => format!("GRANT {name}{on} TO {to}"),
    })
}

/// Makes `have` (the clone's) equal to `want` (the source's): roles added and dropped,
/// permissions revoked where they differ, then granted or denied as the source has them.
async fn apply(
    session: &mut TdsSession,
    server: bool,
    to: &Grantee,
    want: &Access,
    have: &Access,
) -> Result<()> {
    for role in want.roles.iter().filter(|r| !have.roles.contains(r)) {
        session
            .execute(
                &role_member_sql(server, role, &to.name, true)?,
                "add a role membership",
            )
            .await?;
    }
    for role in have.roles.iter().filter(|r| !want.roles.contains(r)) {
        session
            .execute(
                &role_member_sql(server, role, &to.name, false)?,
                "drop a role membership",
            )
            .await?;
    }
    for p in have
        .permissions
        .iter()
        .filter(|p| !want.permissions.contains(p))
    {
        session
            .execute(&permission_sql(p, &to.name, true)?, "revoke a permission")
            .await?;
    }
    for p in want
        .permissions
        .iter()
        .filter(|p| !have.permissions.contains(p))
    {
        session
            .execute(
                &permission_sql(p, &to.name, false)?,
                "grant or deny a permission",
            )
            .await?;
    }
    Ok(())
}

/// What still differs between the login `source` and `pending`'s login (empty: a finished
/// copy, the password aside, which the caller proves by logging in).
pub async fn differences(
    session: &mut TdsSession,
    source: &str,
    pending: &DatabaseSecret,
) -> Result<Vec<String>> {
    let database = principals::current_database(session).await?;
    let server = is_master(&database);
    let from = source_login(session, source).await?;
    let Some(clone) = principals::login(session, &pending.username).await? else {
        return Ok(vec![format!(
            "the login {} does not exist",
            pending.username
        )]);
    };
    let mut left = Vec::new();
    if clone.options != from.options {
        left.push("login options".to_string());
    }
    if clone.disabled != from.disabled {
        left.push("enabled or disabled".to_string());
    }
    let source_grantee = grantee(session, server, source, &from).await?;
    let clone_grantee = grantee(session, server, &pending.username, &clone).await?;
    let want = access(session, server, source_grantee.as_ref()).await?;
    let have = access(session, server, clone_grantee.as_ref()).await?;
    match (want, have) {
        (None, None) => {}
        (Some(want), Some(have)) => {
            if want.roles != have.roles {
                left.push("role memberships".into());
            }
            if want.permissions != have.permissions {
                left.push("permissions".into());
            }
        }
        (Some(_), None) => left.push(format!("no database user in {database}")),
        (None, Some(_)) => left.push(format!("a database user in {database} the source lacks")),
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(scope: Scope, name: &str, state: char) -> Permission {
        Permission {
            scope,
            name: name.into(),
            state,
        }
    }

    #[test]
    fn permission_statements() {
        assert_eq!(
            permission_sql(&p(Scope::Database, "CONNECT", 'G'), "u]x", false).unwrap(),
            "GRANT CONNECT TO [u]]x]"
        );
        assert_eq!(
            permission_sql(&p(Scope::Schema("s".into()), "SELECT", 'W'), "u", false).unwrap(),
            "GRANT SELECT ON SCHEMA::[s] TO [u] WITH GRANT OPTION"
        );
        assert_eq!(
            permission_sql(
                &p(Scope::Object("dbo".into(), "t".into()), "INSERT", 'D'),
                "u",
                false
            )
            .unwrap(),
            "DENY INSERT ON OBJECT::[dbo].[t] TO [u]"
        );
        assert_eq!(
            permission_sql(&p(Scope::Server, "VIEW SERVER STATE", 'W'), "l", true).unwrap(),
            "REVOKE VIEW SERVER STATE FROM [l] CASCADE"
        );
        assert_eq!(
            permission_sql(&p(Scope::Database, "SELECT", 'D'), "u", true).unwrap(),
            "REVOKE SELECT FROM [u]"
        );
        assert!(permission_sql(&p(Scope::Database, "SELECT; DROP", 'G'), "u", false).is_err());
    }
}
