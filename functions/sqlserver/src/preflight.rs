//! Preflight on SQL Server: what the session's principal may do, read from the server
//! (`HAS_PERMS_BY_NAME`), changing nothing.

use rotation_core::database::Need;
use rotation_core::preflight::names;
use rotation_core::{Check, PasswordPolicy, Result};

use crate::principals;
use crate::session::{integer, TdsSession};

/// Whether the session holds `permission` on the server (`database` None) or on the session's
/// database.
async fn holds(session: &mut TdsSession, database: bool, permission: &str) -> Result<bool> {
    let sql = if database {
        "SELECT HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', @P1)"
    } else {
        "SELECT HAS_PERMS_BY_NAME(NULL, NULL, @P1)"
    };
    let rows = session
        .rows(sql, &[&permission], "read the session's permissions")
        .await?;
    Ok(match rows.first() {
        Some(row) => integer(row, 0, "HAS_PERMS_BY_NAME()")? == 1,
        None => false,
    })
}

/// The checks for `need`: a user changing its own password needs nothing (it gives
/// `OLD_PASSWORD`); the superuser needs `ALTER ANY LOGIN`, and outside `master` `ALTER ANY
/// USER` in the secret's database (to map the pending login to a user there).
pub async fn checks(
    session: &mut TdsSession,
    need: Need,
    _policy: &PasswordPolicy,
) -> Result<Vec<Check>> {
    match need {
        Need::OwnPassword => {
            let contained = principals::contained(session).await?;
            Ok(vec![Check {
                name: names::OWN_PASSWORD,
                ok: true,
                detail: format!(
                    "{} changes its own password with OLD_PASSWORD, which needs no permission",
                    if contained {
                        "the contained database user (ALTER USER)"
                    } else {
                        "the login (ALTER LOGIN)"
                    }
                ),
            }])
        }
        Need::ManageUsers => {
            let database = principals::current_database(session).await?;
            let mut missing = Vec::new();
            if !holds(session, false, "ALTER ANY LOGIN").await? {
                missing.push("ALTER ANY LOGIN on the server".to_string());
            }
            if !database.eq_ignore_ascii_case("master")
                && !holds(session, true, "ALTER ANY USER").await?
            {
                missing.push(format!("ALTER ANY USER in database {database}"));
            }
            Ok(vec![Check {
                name: names::MANAGE_USERS,
                ok: missing.is_empty(),
                detail: if missing.is_empty() {
                    format!("the superuser holds ALTER ANY LOGIN (and ALTER ANY USER in {database} when it is not master)")
                } else {
                    format!("the superuser lacks {}; setSecret would be refused before the pending login is made", missing.join(" and "))
                },
            }])
        }
    }
}
