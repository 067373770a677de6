//! What the server's catalog says about a principal, read over a session: a SQL login and its
//! options, its database user, its role memberships and its permissions, in the form the
//! alternating users compare and copy (`copy.rs`).

use rotation_core::{Result, RotationError};

use crate::session::{bit, bytes, integer, optional_text, text, TdsSession};
use crate::sql::LoginOptions;

/// A SQL login, from `sys.sql_logins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// `principal_id`.
    pub principal_id: i32,
    /// `sid`.
    pub sid: Vec<u8>,
    /// `is_disabled`.
    pub disabled: bool,
    /// Default database, `CHECK_POLICY`, `CHECK_EXPIRATION`.
    pub options: LoginOptions,
}

/// Where a permission applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// The server (`sys.server_permissions` class 100).
    Server,
    /// The database (`sys.database_permissions` class 0).
    Database,
    /// A schema (class 3), by name.
    Schema(String),
    /// An object (class 1, the whole object), by schema and name.
    Object(String, String),
}

/// One row of `sys.server_permissions` / `sys.database_permissions` for a grantee.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Permission {
    /// Where it applies.
    pub scope: Scope,
    /// `permission_name`, e.g. `SELECT`.
    pub name: String,
    /// `state`: `G` grant, `W` grant with grant option, `D` deny.
    pub state: char,
}

/// A database principal, from `sys.database_principals`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUser {
    /// `principal_id` in the database.
    pub principal_id: i32,
    /// `name`.
    pub name: String,
}

fn to_i32(value: i64, what: &str) -> Result<i32> {
    i32::try_from(value)
        .map_err(|_| RotationError::UnsupportedServer(format!("{what} {value} is out of range")))
}

/// The session's database (`DB_NAME()`).
pub async fn current_database(session: &mut TdsSession) -> Result<String> {
    let rows = session
        .rows("SELECT DB_NAME()", &[], "read the current database")
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| RotationError::UnsupportedServer("DB_NAME() returned no row".into()))?;
    text(row, 0, "DB_NAME()")
}

/// Whether the session's database is contained (`sys.databases.containment` 1, PARTIAL):
/// its users may have passwords of their own.
pub async fn contained(session: &mut TdsSession) -> Result<bool> {
    let rows = session
        .rows(
            "SELECT containment FROM sys.databases WHERE name = DB_NAME()",
            &[],
            "read whether the database is contained",
        )
        .await?;
    match rows.first() {
        // SQL Server 2008 has no containment column; it cannot be contained.
        None => Ok(false),
        Some(row) => match integer(row, 0, "sys.databases.containment")? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(RotationError::UnsupportedServer(format!(
                "sys.databases.containment is {other}, which this function does not know"
            ))),
        },
    }
}

/// The SQL login `name`, if there is one. A server principal of that name that is not a SQL
/// login (a Windows login, a role, a certificate) is refused: it is not one this function
/// rotates or may overwrite.
pub async fn login(session: &mut TdsSession, name: &str) -> Result<Option<Login>> {
    let rows = session
        .rows(
            "SELECT type FROM sys.server_principals WHERE name = @P1",
            &[&name],
            "look the login up",
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let kind = text(row, 0, "sys.server_principals.type")?;
    if kind.trim() != "S" {
        return Err(RotationError::UnsupportedServer(format!(
            "the server principal {name} is of type {} , not a SQL login (S): this function rotates SQL logins only",
            kind.trim()
        )));
    }
    let rows = session
        .rows(
            "SELECT principal_id, sid, is_disabled, default_database_name, is_policy_checked, is_expiration_checked FROM sys.sql_logins WHERE name = @P1",
            &[&name],
            "read the login",
        )
        .await?;
    let row = rows.first().ok_or_else(|| {
        RotationError::UnsupportedServer(format!(
            "the login {name} is in sys.server_principals but not in sys.sql_logins"
        ))
    })?;
    Ok(Some(Login {
        principal_id: to_i32(integer(row, 0, "principal_id")?, "principal_id")?,
        sid: bytes(row, 1, "sid")?.unwrap_or_default(),
        // sys.server_principals.is_disabled is an int (MS Learn), unlike the bits beside it.
        disabled: integer(row, 2, "is_disabled")? != 0,
        options: LoginOptions {
            default_database: optional_text(row, 3, "default_database_name")?
                .unwrap_or_else(|| "master".into()),
            check_policy: bit(row, 4, "is_policy_checked")?,
            check_expiration: bit(row, 5, "is_expiration_checked")?,
        },
    }))
}

/// The user the login `principal_id` maps to in the session's database (by `sid`), if any.
pub async fn user_of_login(session: &mut TdsSession, principal_id: i32) -> Result<Option<DbUser>> {
    let rows = session
        .rows(
            "SELECT dp.principal_id, dp.name FROM sys.database_principals AS dp JOIN sys.server_principals AS sp ON sp.sid = dp.sid WHERE sp.principal_id = @P1",
            &[&principal_id],
            "find the login's database user",
        )
        .await?;
    match rows.as_slice() {
        [] => Ok(None),
        [row] => Ok(Some(DbUser {
            principal_id: to_i32(integer(row, 0, "principal_id")?, "principal_id")?,
            name: text(row, 1, "sys.database_principals.name")?,
        })),
        _ => Err(RotationError::UnsupportedServer(
            "a login maps to more than one database user".into(),
        )),
    }
}

/// The database principal named `name`, with its `sid` (None for principals without one).
pub async fn database_principal(
    session: &mut TdsSession,
    name: &str,
) -> Result<Option<(i32, Option<Vec<u8>>)>> {
    let rows = session
        .rows(
            "SELECT principal_id, sid FROM sys.database_principals WHERE name = @P1",
            &[&name],
            "look the database user up",
        )
        .await?;
    rows.first()
        .map(|row| {
            Ok((
                to_i32(integer(row, 0, "principal_id")?, "principal_id")?,
                bytes(row, 1, "sid")?,
            ))
        })
        .transpose()
}

/// The roles `principal_id` is a member of: server roles (`server`) or the session database's.
pub async fn roles(
    session: &mut TdsSession,
    server: bool,
    principal_id: i32,
) -> Result<Vec<String>> {
    let sql = if server {
        "SELECT r.name FROM sys.server_role_members AS m JOIN sys.server_principals AS r ON r.principal_id = m.role_principal_id WHERE m.member_principal_id = @P1"
    } else {
        "SELECT r.name FROM sys.database_role_members AS m JOIN sys.database_principals AS r ON r.principal_id = m.role_principal_id WHERE m.member_principal_id = @P1"
    };
    let rows = session
        .rows(sql, &[&principal_id], "read the role memberships")
        .await?;
    let mut names = rows
        .iter()
        .map(|row| text(row, 0, "a role name"))
        .collect::<Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

/// The permissions granted or denied to `principal_id`: server permissions (`server`) or the
/// session database's. Any class or column permission this function does not copy is refused:
/// a copy that silently left one out would not be the same user.
pub async fn permissions(
    session: &mut TdsSession,
    server: bool,
    principal_id: i32,
) -> Result<Vec<Permission>> {
    let sql = if server {
        "SELECT class, major_id, minor_id, permission_name, state FROM sys.server_permissions WHERE grantee_principal_id = @P1"
    } else {
        "SELECT class, major_id, minor_id, permission_name, state FROM sys.database_permissions WHERE grantee_principal_id = @P1"
    };
    let rows = session
        .rows(sql, &[&principal_id], "read the permissions")
        .await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let class = integer(row, 0, "permission class")?;
        let major = to_i32(integer(row, 1, "major_id")?, "major_id")?;
        let minor = integer(row, 2, "minor_id")?;
        let name = crate::sql::permission_name(&text(row, 3, "permission_name")?)?.to_string();
        let state = text(row, 4, "permission state")?;
        let state = match state.trim() {
            "G" => 'G',
            "W" => 'W',
            "D" => 'D',
            other => {
                return Err(RotationError::UnsupportedServer(format!(
                    "permission {name} has state {other:?}, which this function does not copy"
                )))
            }
        };
        let scope = match (server, class, minor) {
            (true, 100, _) => Scope::Server,
            (false, 0, _) => Scope::Database,
            (false, 3, _) => Scope::Schema(schema_name(session, major).await?),
            (false, 1, 0) => {
                let (schema, object) = object_name(session, major).await?;
                Scope::Object(schema, object)
            }
            _ => {
                return Err(RotationError::UnsupportedServer(format!(
                    "permission {name} of class {class} (minor_id {minor}) is not one this function copies (server: class 100; database: 0, 1 on a whole object, 3); copy it by hand or remove it"
                )))
            }
        };
        found.push(Permission { scope, name, state });
    }
    found.sort();
    Ok(found)
}

async fn schema_name(session: &mut TdsSession, id: i32) -> Result<String> {
    let rows = session
        .rows("SELECT SCHEMA_NAME(@P1)", &[&id], "read a schema's name")
        .await?;
    rows.first()
        .map(|row| text(row, 0, "SCHEMA_NAME()"))
        .unwrap_or_else(|| Err(RotationError::UnsupportedServer("no schema name".into())))
}

async fn object_name(session: &mut TdsSession, id: i32) -> Result<(String, String)> {
    let rows = session
        .rows(
            "SELECT OBJECT_SCHEMA_NAME(@P1), OBJECT_NAME(@P1)",
            &[&id],
            "read an object's name",
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| RotationError::UnsupportedServer("no object name".into()))?;
    Ok((
        text(row, 0, "OBJECT_SCHEMA_NAME()")?,
        text(row, 1, "OBJECT_NAME()")?,
    ))
}
