//! MongoDB's authorization model for the stand-in: privileges are actions on resources, roles
//! grant privileges and other roles, and every user-management command is authorized BEFORE
//! its body runs, in the server's order. Sources (mongodb/mongo, `src/mongo/db/auth/` and
//! `src/mongo/db/commands/`; manual pages under reference/):
//!
//! | Rule | Source |
//! |---|---|
//! | A resource is `{db, collection}` (`""` = any), `{cluster: true}` or `{anyResource: true}`; an action on database D is granted by a privilege on `{db: D, collection: ""}`, on `{db: "", collection: ""}` (any normal resource) or on `anyResource` | manual: resource-document; srv `resource_pattern.h`, `AuthorizationSessionImpl::isAuthorizedForActionsOnResource` |
//! | Built-in roles and their actions; `read`, `readWrite`, `dbAdmin`, `dbOwner`, `userAdmin` on every database, the others only on `admin` | manual: built-in-roles; srv `role_graph_builtin_roles.cpp` |
//! | `userAdmin`: changeCustomData, changePassword, createRole, createUser, dropRole, dropUser, grantRole, revokeRole, setAuthenticationRestriction, viewRole, viewUser (exact); `userAdminAnyDatabase`: the same on any normal resource, plus listDatabases, authSchemaUpgrade, invalidateUserCache, viewUser on the cluster | srv `role_graph_builtin_roles.cpp` |
//! | No built-in role holds `changeOwnPassword`; it is granted by a user-defined role (manual tutorial "Change Your Password and Custom Data": a role in `admin` with it on `{db: "", collection: ""}`) | srv `role_graph_builtin_roles.cpp`; manual: privilege-actions |
//! | `changeAnyPassword` is not an action: refused as an unrecognized action | srv `action_types.txt` |
//! | createUser: `createUser` on the db (13 `Not authorized to create users on db: D`), then `grantRole` on each role's db (13 `Not authorized to grant role: r@D`), then `setAuthenticationRestriction` on the db if restrictions are sent (13 `Unauthorized`) | srv `user_management_commands_common.cpp` |
//! | updateUser: with `pwd`, the session is that user and holds `changeOwnPassword` on its db, or holds `changePassword` on the db (13 `Not authorized to change password of user: u@D`); with `roles`, `revokeRole` on any normal resource (13 `In order to use updateUser to set roles array, ...`) and `grantRole` per role db; restrictions as createUser. Only then 11 for a missing user | srv as above; service_entry_point_common.cpp (auth before the body) |
//! | grantRolesToUser: `grantRole` per role db; revokeRolesFromUser: `revokeRole` per role db; dropUser: `dropUser` on the db (13 `Not authorized to drop users from the D database`) | srv as above |
//! | usersInfo: one's own user always; others need `viewUser` on their db (13 `Not authorized to view users from the D database`) | srv as above |
//! | createRole: `createRole` on the db, `grantRole` on each inherited role's db, and for each privilege `grantRole` on its db (a database or collection resource) or on `admin` (any other resource) | srv as above |
//! | rolesInfo: a role the session holds (directly or inherited) always; others need `viewRole` on their db | srv as above |
//! | dropRole: `dropRole` on the db; the role is taken from every user and role that held it | srv as above; manual: dropRole |
//! | 31 RoleNotFound `Cannot grant nonexistent role r@D` (older servers: `No role named r@D`); 51002 `Role "r@D" already exists`; 49 InvalidRoleModification for a role outside `admin` granted another db's privileges or roles | srv `user_management_commands.cpp`, `error_codes.yml` |
//!
//! Abbreviated (named here, not needed by the function): the data actions of `read`,
//! `readWrite`, `dbAdmin` and the cluster actions of `clusterMonitor` / `clusterAdmin` are the
//! common ones, not every action of the server's lists; `backup` / `restore` hold only their
//! data actions; the system-collection privileges of the built-in roles are left out; an action
//! name outside this module's list is refused (MongoDB knows more).

use std::collections::{BTreeMap, BTreeSet};

use super::bson::{Bson, Doc};
use super::builtin_roles::{builtin, is_builtin_name, known_action};
pub use super::builtin_roles::{builtin_on, is_builtin};
use super::failure::{fail, Failure};
pub use super::privilege::{CustomRoles, Privilege, Resource, RoleDef};

/// True when `role`@`db` exists (built in there, or user-defined).
pub fn role_exists(custom: &CustomRoles, role: &str, db: &str) -> bool {
    is_builtin(role, db) || custom.contains_key(&(db.to_string(), role.to_string()))
}

/// Every role `roles` grants, themselves included, each once (a role graph may not hold
/// cycles, but a dropped role leaves nothing behind either way).
pub fn closure(custom: &CustomRoles, roles: &[(String, String)]) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut stack: Vec<(String, String)> = roles.iter().rev().cloned().collect();
    while let Some(r) = stack.pop() {
        if seen.contains(&r) {
            continue;
        }
        if let Some(def) = custom.get(&(r.1.clone(), r.0.clone())) {
            stack.extend(def.roles.iter().rev().cloned());
        }
        seen.push(r);
    }
    seen
}

/// The privileges `roles` grant, directly and inherited, one entry per resource.
pub fn privileges_of(custom: &CustomRoles, roles: &[(String, String)]) -> Vec<Privilege> {
    let mut merged: BTreeMap<Resource, BTreeSet<String>> = BTreeMap::new();
    for (role, db) in closure(custom, roles) {
        let granted = match builtin(&role, &db) {
            Some(p) => p,
            None => custom
                .get(&(db.clone(), role.clone()))
                .map(|d| d.privileges.clone())
                .unwrap_or_default(),
        };
        for p in granted {
            merged.entry(p.resource).or_default().extend(p.actions);
        }
    }
    merged
        .into_iter()
        .map(|(resource, actions)| Privilege { resource, actions })
        .collect()
}

/// The privileges as MongoDB lists them (`connectionStatus`, `rolesInfo`).
pub fn privileges_bson(privileges: &[Privilege]) -> Bson {
    Bson::Array(privileges.iter().map(Privilege::to_bson).collect())
}

/// `privileges` hold `action` on database `db`.
pub fn may(privileges: &[Privilege], action: &str, db: &str) -> bool {
    privileges
        .iter()
        .any(|p| p.resource.covers_database(db) && p.actions.contains(action))
}

/// `privileges` hold `action` on every database (any normal resource).
pub fn may_everywhere(privileges: &[Privilege], action: &str) -> bool {
    privileges
        .iter()
        .any(|p| p.resource.covers_every_database() && p.actions.contains(action))
}

/// 13 Unauthorized with MongoDB's message.
pub fn refused(message: impl Into<String>) -> Failure {
    fail(13, "Unauthorized", message)
}

/// `grantRole` on each role's database, in order (13 `Not authorized to grant role: r@db`).
pub fn check_grant(privileges: &[Privilege], roles: &[(String, String)]) -> Result<(), Failure> {
    match roles
        .iter()
        .find(|(_, db)| !may(privileges, "grantRole", db))
    {
        Some((r, db)) => Err(refused(format!("Not authorized to grant role: {r}@{db}"))),
        None => Ok(()),
    }
}

/// `revokeRole` on each role's database (13 `Not authorized to revoke role: r@db`).
pub fn check_revoke(privileges: &[Privilege], roles: &[(String, String)]) -> Result<(), Failure> {
    match roles
        .iter()
        .find(|(_, db)| !may(privileges, "revokeRole", db))
    {
        Some((r, db)) => Err(refused(format!("Not authorized to revoke role: {r}@{db}"))),
        None => Ok(()),
    }
}

/// 31 for the first of `roles` that does not exist.
pub fn check_exist(custom: &CustomRoles, roles: &[(String, String)]) -> Result<(), Failure> {
    match roles.iter().find(|(r, db)| !role_exists(custom, r, db)) {
        Some((r, db)) => Err(fail(
            31,
            "RoleNotFound",
            format!("Cannot grant nonexistent role {r}@{db}"),
        )),
        None => Ok(()),
    }
}

/// The `privileges` array of a `createRole`: each `{resource, actions}`; an action this module
/// does not know is refused as the server refuses an unrecognized one.
pub fn parse_privileges(value: Option<&Bson>) -> Result<Vec<Privilege>, Failure> {
    let Some(Bson::Array(items)) = value else {
        return Err(fail(2, "BadValue", "privileges must be an array"));
    };
    let mut out = Vec::new();
    for item in items {
        let doc = item
            .as_doc()
            .ok_or_else(|| fail(2, "BadValue", "a privilege must be a document"))?;
        let resource = Resource::parse(doc.get("resource").unwrap_or(&Bson::Null))?;
        let Some(Bson::Array(actions)) = doc.get("actions") else {
            return Err(fail(2, "BadValue", "a privilege needs an actions array"));
        };
        let mut set = BTreeSet::new();
        for a in actions {
            let name = a
                .as_str()
                .ok_or_else(|| fail(2, "BadValue", "an action must be a string"))?;
            if !known_action(name) {
                return Err(fail(
                    9,
                    "FailedToParse",
                    format!("Unrecognized action privilege string: {name}"),
                ));
            }
            set.insert(name.to_string());
        }
        out.push(Privilege {
            resource,
            actions: set,
        });
    }
    Ok(out)
}

/// createRole's authorization: `createRole` on `db`, `grantRole` for inherited roles, and per
/// privilege `grantRole` on its database (database or collection resources) or on `admin`.
pub fn check_create_role(
    privileges: &[Privilege],
    db: &str,
    roles: &[(String, String)],
    granted: &[Privilege],
) -> Result<(), Failure> {
    if !may(privileges, "createRole", db) {
        return Err(refused(format!(
            "Not authorized to create roles on db: {db}"
        )));
    }
    check_grant(privileges, roles)?;
    for p in granted {
        match &p.resource {
            Resource::Namespace { db: target, .. } if !target.is_empty() => {
                if !may(privileges, "grantRole", target) {
                    return Err(refused(format!(
                        "Not authorized to grant privileges on the {target}database"
                    )));
                }
            }
            _ => {
                if !may(privileges, "grantRole", "admin") {
                    return Err(refused("To grant privileges affecting multiple databases or the cluster, must be authorized to grant roles from the admin database"));
                }
            }
        }
    }
    Ok(())
}

/// createRole's body checks: not a built-in name, not existing (51002), inherited roles exist
/// (31), and a role outside `admin` holds only its own database's privileges and roles (49).
pub fn check_new_role(
    custom: &CustomRoles,
    db: &str,
    role: &str,
    def: &RoleDef,
) -> Result<(), Failure> {
    if is_builtin_name(role) {
        return Err(fail(
            2,
            "BadValue",
            format!("Cannot create roles with the same name as a built-in role: {role}"),
        ));
    }
    if custom.contains_key(&(db.to_string(), role.to_string())) {
        return Err(fail(
            51002,
            "Location51002",
            format!("Role \"{role}@{db}\" already exists"),
        ));
    }
    check_exist(custom, &def.roles)?;
    if db != "admin" {
        let foreign = |p: &Privilege| match &p.resource {
            Resource::Namespace { db: target, .. } => target != db,
            _ => true,
        };
        if def.privileges.iter().any(foreign) {
            return Err(fail(49, "InvalidRoleModification", format!("Roles on the '{db}' database cannot be granted privileges that target other databases or the cluster")));
        }
        if def.roles.iter().any(|(_, on)| on != db) {
            return Err(fail(
                49,
                "InvalidRoleModification",
                format!(
                    "Roles on the '{db}' database cannot be granted roles from other databases"
                ),
            ));
        }
    }
    Ok(())
}

/// A `rolesInfo` entry.
pub fn role_doc(custom: &CustomRoles, role: &str, db: &str, show_privileges: bool) -> Bson {
    let direct: Vec<(String, String)> = custom
        .get(&(db.to_string(), role.to_string()))
        .map(|d| d.roles.clone())
        .unwrap_or_default();
    let pairs = |list: &[(String, String)]| {
        Bson::Array(
            list.iter()
                .map(|(r, d)| {
                    Bson::Document(
                        Doc::new()
                            .with("role", Bson::String(r.clone()))
                            .with("db", Bson::String(d.clone())),
                    )
                })
                .collect(),
        )
    };
    let inherited: Vec<(String, String)> = closure(custom, &direct);
    let mut doc = Doc::new()
        .with("_id", Bson::String(format!("{db}.{role}")))
        .with("role", Bson::String(role.into()))
        .with("db", Bson::String(db.into()))
        .with("isBuiltin", Bson::Bool(is_builtin(role, db)))
        .with("roles", pairs(&direct))
        .with("inheritedRoles", pairs(&inherited));
    if show_privileges {
        let own = match builtin(role, db) {
            Some(p) => p,
            None => custom
                .get(&(db.to_string(), role.to_string()))
                .map(|d| d.privileges.clone())
                .unwrap_or_default(),
        };
        doc.push("privileges", privileges_bson(&own));
        let all = privileges_of(custom, &[(role.to_string(), db.to_string())]);
        doc.push("inheritedPrivileges", privileges_bson(&all));
    }
    Bson::Document(doc)
}

#[cfg(test)]
mod tests {
    use super::super::builtin_roles::{ADMIN_ONLY, EVERY_DB, USER_ADMIN};
    use super::*;

    fn pair(r: &str, d: &str) -> (String, String) {
        (r.into(), d.into())
    }

    #[test]
    fn user_admin_is_user_management_on_its_database_only() {
        let p = privileges_of(&CustomRoles::new(), &[pair("userAdmin", "appdb")]);
        for action in USER_ADMIN {
            assert!(may(&p, action, "appdb"), "{action}");
            assert!(!may(&p, action, "otherdb"), "{action}");
        }
        assert!(!may(&p, "changeOwnPassword", "appdb"));
        assert!(!may_everywhere(&p, "revokeRole"));
    }

    #[test]
    fn admin_only_roles_exist_only_on_admin() {
        for role in ADMIN_ONLY {
            assert!(role_exists(&CustomRoles::new(), role, "admin"));
            assert!(!role_exists(&CustomRoles::new(), role, "app"), "{role}");
        }
        for role in EVERY_DB {
            assert!(role_exists(&CustomRoles::new(), role, "app"));
        }
        assert!(!role_exists(
            &CustomRoles::new(),
            "changeOwnPassword",
            "app"
        ));
    }

    #[test]
    fn root_and_user_admin_any_database_hold_it_everywhere_but_no_own_password() {
        for role in ["root", "userAdminAnyDatabase"] {
            let p = privileges_of(&CustomRoles::new(), &[pair(role, "admin")]);
            assert!(may(&p, "changePassword", "x") && may_everywhere(&p, "revokeRole"));
            assert!(!may(&p, "changeOwnPassword", "x"));
        }
    }

    #[test]
    fn a_custom_role_grants_through_the_wildcard_and_inheritance() {
        let mut custom = CustomRoles::new();
        custom.insert(
            pair("admin", "own"),
            RoleDef {
                privileges: vec![Privilege::new(
                    Resource::any_database(),
                    &[&["changeOwnPassword"]],
                )],
                roles: vec![pair("read", "app")],
            },
        );
        custom.insert(
            pair("admin", "outer"),
            RoleDef {
                privileges: Vec::new(),
                roles: vec![pair("own", "admin")],
            },
        );
        let p = privileges_of(&custom, &[pair("outer", "admin")]);
        assert!(may(&p, "changeOwnPassword", "anydb"));
        assert!(may(&p, "find", "app") && !may(&p, "find", "other"));
        assert!(!may(&p, "changePassword", "anydb"));
    }

    #[test]
    fn change_any_password_is_not_an_action() {
        let v = Bson::Array(vec![Bson::Document(
            Doc::new()
                .with("resource", Resource::any_database().to_bson())
                .with(
                    "actions",
                    Bson::Array(vec![Bson::String("changeAnyPassword".into())]),
                ),
        )]);
        assert_eq!(parse_privileges(Some(&v)).err().map(|f| f.code), Some(9));
    }
}
