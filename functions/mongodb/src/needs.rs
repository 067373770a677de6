//! What each user command of the alternating-users strategy needs (MongoDB's actions on which
//! databases), and what the session holds: read once from `connectionStatus`, checked before a
//! command is sent so a refusal names the missing action instead of a bare 13 Unauthorized.

use rotation_core::Check;

use crate::access::{Access, Server};
use crate::privileges::{Need as Action, Privileges};

/// The session's user, its roles and its privileges, from `connectionStatus` with
/// `showPrivileges: true`.
pub(crate) struct SessionAuth {
    pub(crate) user: String,
    pub(crate) roles: Vec<(String, String)>,
    /// `None`: the server did not list privileges.
    pub(crate) privileges: Option<Privileges>,
}

impl SessionAuth {
    pub(crate) fn roles_listed(&self) -> String {
        if self.roles.is_empty() {
            return "none".into();
        }
        self.roles
            .iter()
            .map(|(r, on)| format!("{r}@{on}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A check of `needs` as preflight reports it: ok with what was found, or every missing
    /// action with its database and purpose.
    pub(crate) fn check(&self, name: &'static str, needs: &[Action], ok_text: &str) -> Check {
        let Some(privileges) = &self.privileges else {
            return Check {
                name,
                ok: true,
                detail: format!("not checked: the server does not list the privileges of {} (connectionStatus showPrivileges); it decides when setSecret runs, and refuses with 13 Unauthorized before changing anything", self.user),
            };
        };
        let missing = privileges.missing(needs);
        if missing.is_empty() {
            return Check {
                name,
                ok: true,
                detail: format!("{} (roles: {}) {ok_text}", self.user, self.roles_listed()),
            };
        }
        let listed = missing
            .iter()
            .map(|n| format!("{} on {} (to {})", n.action, n.place(), n.why))
            .collect::<Vec<_>>()
            .join("; ");
        Check {
            name,
            ok: false,
            detail: format!(
                "{} (roles: {}) lacks the privilege actions: {listed}. Without them setSecret is refused before any change",
                self.user,
                self.roles_listed()
            ),
        }
    }
}

pub(crate) const WHY_CREATE: &str = "create the clone";
pub(crate) const WHY_PASSWORD: &str = "set the clone's password";
const WHY_GRANT: &str = "give the clone the current user's roles on it";
const WHY_REVOKE: &str = "replace the roles of a clone whose roles differ";
pub(crate) const WHY_RESTRICT: &str =
    "give the clone the current user's authentication restrictions";
pub(crate) const WHY_VIEW: &str = "read the current user and the clone (usersInfo)";

/// What `createUser` of a clone of `access` in `db` needs (MongoDB: createUser on the
/// database, grantRole on each role's database, setAuthenticationRestriction when restrictions
/// are sent; server `user_management_commands_common.cpp`).
pub(crate) fn create_needs(db: &str, access: &Access, server: Server) -> Vec<Action> {
    let mut needs = vec![Action::on("createUser", db, WHY_CREATE)];
    needs.extend(grant_needs(access));
    if access.sends_restrictions(server) {
        needs.push(Action::on("setAuthenticationRestriction", db, WHY_RESTRICT));
    }
    needs
}

/// `grantRole` on each database the roles `access` copies live on.
fn grant_needs(access: &Access) -> Vec<Action> {
    access
        .role_databases()
        .iter()
        .map(|on| Action::on("grantRole", on, WHY_GRANT))
        .collect()
}

/// What `updateUser` of a clone with the password (and the roles, when `with_roles`) needs:
/// changePassword on the database (another user's password); with roles, revokeRole on every
/// database and grantRole on each role's; setAuthenticationRestriction when restrictions are
/// sent.
pub(crate) fn update_needs(
    db: &str,
    access: &Access,
    server: Server,
    with_roles: bool,
) -> Vec<Action> {
    let mut needs = vec![Action::on("changePassword", db, WHY_PASSWORD)];
    if with_roles {
        needs.push(Action::everywhere("revokeRole", WHY_REVOKE));
        needs.extend(grant_needs(access));
    }
    if access.sends_restrictions(server) {
        needs.push(Action::on("setAuthenticationRestriction", db, WHY_RESTRICT));
    }
    needs
}

/// Each need once, in order.
pub(crate) fn dedup(needs: Vec<Action>) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::new();
    for n in needs {
        if !out.iter().any(|o| o.action == n.action && o.db == n.db) {
            out.push(n);
        }
    }
    out
}
