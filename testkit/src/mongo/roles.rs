//! Role commands: `grantRolesToUser`, `revokeRolesFromUser`, `createRole`, `rolesInfo`,
//! `dropRole`.

use super::authz;
use super::bson::{Bson, Doc};
use super::failure::{fail, not_valid_argument, Failure};
use super::personality::Personality;
use super::session::{role_list, wanted_names, Session};

impl Session {
    /// grantRolesToUser: `grantRole` on each role's database, then 11, then 31; roles the user
    /// holds already are kept once.
    pub(super) fn grant_roles_to_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("grantRolesToUser")
            .ok_or_else(|| fail(2, "BadValue", "grantRolesToUser needs a user name"))?
            .to_string();
        let roles = role_list(command.get("roles"), db)?;
        authz::check_grant(&self.privileges(), &roles)?;
        let mut state = self.lock();
        authz::check_exist(&state.roles, &roles)?;
        let Some(user) = state.users.get_mut(&(db.to_string(), name.clone())) else {
            return Err(fail(
                11,
                "UserNotFound",
                format!("User {name}@{db} not found"),
            ));
        };
        for role in roles {
            if !user.roles.contains(&role) {
                user.roles.push(role);
            }
        }
        Ok(Doc::new())
    }

    /// revokeRolesFromUser: `revokeRole` on each role's database, then 11.
    pub(super) fn revoke_roles_from_user(
        &mut self,
        command: &Doc,
        db: &str,
    ) -> Result<Doc, Failure> {
        let name = command
            .str("revokeRolesFromUser")
            .ok_or_else(|| fail(2, "BadValue", "revokeRolesFromUser needs a user name"))?
            .to_string();
        let roles = role_list(command.get("roles"), db)?;
        authz::check_revoke(&self.privileges(), &roles)?;
        let mut state = self.lock();
        let Some(user) = state.users.get_mut(&(db.to_string(), name.clone())) else {
            return Err(fail(
                11,
                "UserNotFound",
                format!("User {name}@{db} not found"),
            ));
        };
        user.roles.retain(|r| !roles.contains(r));
        Ok(Doc::new())
    }

    /// createRole `{createRole, privileges, roles}`: authorized first
    /// ([`authz::check_create_role`]), then [`authz::check_new_role`]. DocumentDB keeps its
    /// users in `admin`; its roles are modelled as MongoDB's.
    pub(super) fn create_role(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("createRole")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| fail(2, "BadValue", "createRole needs a role name"))?
            .to_string();
        let def = authz::RoleDef {
            privileges: authz::parse_privileges(command.get("privileges"))?,
            roles: role_list(command.get("roles"), db)?,
        };
        if command.get("authenticationRestrictions").is_some() {
            return Err(if self.personality == Personality::DocumentDb40 {
                not_valid_argument("authenticationRestrictions", "createRole")
            } else {
                fail(
                    2,
                    "BadValue",
                    "authenticationRestrictions on roles are not modelled by the stand-in",
                )
            });
        }
        authz::check_create_role(&self.privileges(), db, &def.roles, &def.privileges)?;
        let mut state = self.lock();
        authz::check_new_role(&state.roles, db, &name, &def)?;
        state.roles.insert((db.to_string(), name), def);
        Ok(Doc::new())
    }

    /// rolesInfo: a name, `{role, db}`, an array of them, or 1 (the database's user-defined
    /// roles; built-in ones too with `showBuiltinRoles`); `showPrivileges` adds `privileges`
    /// and `inheritedPrivileges`. A role the session holds is always visible; any other needs
    /// `viewRole` on its database. Unknown roles are silently absent.
    pub(super) fn roles_info(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let (mut wanted, all_in_db) = wanted_names(command, "rolesInfo", "role", db)?;
        let show_privileges = command.get("showPrivileges").is_some_and(Bson::truthy);
        let privileges = self.privileges();
        let mine = self.roles();
        let held = authz::closure(&self.lock().roles, &mine);
        if all_in_db {
            if !authz::may(&privileges, "viewRole", db) {
                return Err(authz::refused(format!(
                    "Not authorized to view roles from the {db} database"
                )));
            }
        } else if let Some((_, on)) = wanted
            .iter()
            .find(|w| !held.contains(w) && !authz::may(&privileges, "viewRole", &w.1))
        {
            return Err(authz::refused(format!(
                "Not authorized to view roles from the {on} database"
            )));
        }
        let state = self.lock();
        if all_in_db {
            let builtins = command.get("showBuiltinRoles").is_some_and(Bson::truthy);
            wanted = state
                .roles
                .keys()
                .filter(|(d, _)| d == db)
                .map(|(d, r)| (r.clone(), d.clone()))
                .collect();
            if builtins {
                for r in authz::builtin_on(db) {
                    wanted.push((r.to_string(), db.to_string()));
                }
            }
        }
        let roles = wanted
            .iter()
            .filter(|(r, d)| authz::role_exists(&state.roles, r, d))
            .map(|(r, d)| authz::role_doc(&state.roles, r, d, show_privileges))
            .collect();
        Ok(Doc::new().with("roles", Bson::Array(roles)))
    }

    /// dropRole: `dropRole` on the database, then 31 for a missing role; the role is taken
    /// from every user and role holding it (manual: dropRole).
    pub(super) fn drop_role(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("dropRole")
            .ok_or_else(|| fail(2, "BadValue", "dropRole needs a role name"))?
            .to_string();
        if !authz::may(&self.privileges(), "dropRole", db) {
            return Err(authz::refused(format!(
                "Not authorized to drop roles from the {db} database"
            )));
        }
        let mut state = self.lock();
        if state
            .roles
            .remove(&(db.to_string(), name.clone()))
            .is_none()
        {
            return Err(fail(
                31,
                "RoleNotFound",
                format!("Role {name}@{db} not found"),
            ));
        }
        let gone = (name, db.to_string());
        for user in state.users.values_mut() {
            user.roles.retain(|r| *r != gone);
        }
        for role in state.roles.values_mut() {
            role.roles.retain(|r| *r != gone);
        }
        Ok(Doc::new())
    }
}
