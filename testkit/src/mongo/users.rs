//! User management commands: `connectionStatus`, `usersInfo`, `createUser`, `updateUser`,
//! `dropUser`.

use super::authz;
use super::bson::{Bson, Doc};
use super::docdb;
use super::failure::{fail, not_valid_argument, wrong_type, Failure};
use super::restriction::Restriction;
use super::scram::Mechanism;
use super::session::{credentials, mechanism_names, role_list, wanted_names, Session};
use super::state::User;

impl Session {
    /// `connectionStatus`: the authenticated user and its roles; with `showPrivileges: true`
    /// also `authenticatedUserPrivileges`, every privilege its roles grant, inherited ones
    /// included (manual: connectionStatus).
    pub(super) fn connection_status(&self, command: &Doc) -> Doc {
        let users = self
            .user
            .iter()
            .map(|(db, u)| {
                Bson::Document(
                    Doc::new()
                        .with("user", Bson::String(u.clone()))
                        .with("db", Bson::String(db.clone())),
                )
            })
            .collect();
        let roles = self
            .roles()
            .into_iter()
            .map(|(r, db)| {
                Bson::Document(
                    Doc::new()
                        .with("role", Bson::String(r))
                        .with("db", Bson::String(db)),
                )
            })
            .collect();
        let mut info = Doc::new()
            .with("authenticatedUsers", Bson::Array(users))
            .with("authenticatedUserRoles", Bson::Array(roles));
        if command.get("showPrivileges").is_some_and(Bson::truthy) {
            info.push(
                "authenticatedUserPrivileges",
                authz::privileges_bson(&self.privileges()),
            );
        }
        Doc::new().with("authInfo", Bson::Document(info))
    }

    /// The `usersInfo` entry of `db`.`name`; with `show_restrictions`, its
    /// `authenticationRestrictions` (an empty array when none, as MongoDB adds one) and
    /// `inheritedAuthenticationRestrictions` (always empty: custom roles are not modelled).
    pub(super) fn user_doc(db: &str, name: &str, user: &User, show_restrictions: bool) -> Bson {
        let roles = user
            .roles
            .iter()
            .map(|(r, on)| {
                Bson::Document(
                    Doc::new()
                        .with("role", Bson::String(r.clone()))
                        .with("db", Bson::String(on.clone())),
                )
            })
            .collect();
        let mut doc = Doc::new()
            .with("_id", Bson::String(format!("{db}.{name}")))
            .with("userId", Bson::Binary(4, user.id.to_vec()))
            .with("user", Bson::String(name.into()))
            .with("db", Bson::String(db.into()))
            .with("roles", Bson::Array(roles))
            .with("mechanisms", mechanism_names(&user.credentials));
        if show_restrictions {
            doc.push(
                "inheritedAuthenticationRestrictions",
                Bson::Array(Vec::new()),
            );
            doc.push(
                "authenticationRestrictions",
                Bson::Array(user.restrictions.iter().map(Restriction::to_bson).collect()),
            );
        }
        for (field, value) in &user.reported {
            doc.0.retain(|(k, _)| k != field);
            if *value != Bson::Null {
                doc.push(field, value.clone());
            }
        }
        Bson::Document(doc)
    }

    pub(super) fn users_info(&self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let (named, all_in_db) = wanted_names(command, "usersInfo", "user", db)?;
        let wanted: Vec<(String, String)> = named.into_iter().map(|(u, on)| (on, u)).collect();
        let show_restrictions = match command.get("showAuthenticationRestrictions") {
            None => false,
            // DocumentDB documents no authentication restrictions and refuses an argument it
            // does not implement with 2 BadValue `"<field>" is not a valid argument to
            // <command>` (seen for createRole's authenticationRestrictions:
            // ansible-collections/community.mongodb#575); the same answer is assumed here.
            Some(_) if self.personality.is_documentdb() => {
                return Err(not_valid_argument(
                    "showAuthenticationRestrictions",
                    "usersInfo",
                ))
            }
            // "If viewing all users, you cannot specify this field" (manual, usersInfo); the
            // server answers IllegalOperation "Privilege or restriction details require
            // exact-match usersInfo queries" (user_management_commands.cpp).
            Some(v) if v.truthy() && all_in_db => {
                return Err(fail(
                    20,
                    "IllegalOperation",
                    "Privilege or restriction details require exact-match usersInfo queries",
                ))
            }
            Some(v) => v.truthy(),
        };
        // One's own user always; any other needs viewUser on its database
        // (user_management_commands_common.cpp, UsersInfoCommand).
        let privileges = self.privileges();
        let mine = |d: &str, u: &str| {
            self.user
                .as_ref()
                .is_some_and(|(sd, su)| sd == d && su == u)
        };
        let visible = if all_in_db {
            authz::may(&privileges, "viewUser", db)
        } else {
            wanted
                .iter()
                .all(|(d, u)| mine(d, u) || authz::may(&privileges, "viewUser", d))
        };
        if !visible {
            return Err(authz::refused(format!(
                "Not authorized to view users from the {db} database"
            )));
        }
        let state = self.lock();
        let users = state
            .users
            .iter()
            .filter(|((d, u), _)| {
                if all_in_db {
                    d == db
                } else {
                    wanted.iter().any(|(wd, wu)| wd == d && wu == u)
                }
            })
            .map(|((d, u), user)| Self::user_doc(d, u, user, show_restrictions))
            .collect();
        Ok(Doc::new().with("users", Bson::Array(users)))
    }

    pub(super) fn password(&self, command: &Doc) -> Result<Option<String>, Failure> {
        match command.get("pwd") {
            None => Ok(None),
            Some(Bson::String(p)) if !p.is_empty() => match self
                .personality
                .is_documentdb()
                .then(|| docdb::password_refusal(p))
                .flatten()
            {
                Some(why) => Err(fail(2, "BadValue", why)),
                None => Ok(Some(p.clone())),
            },
            Some(_) => Err(fail(2, "BadValue", "pwd must be a non-empty string")),
        }
    }

    pub(super) fn mechanisms(
        &self,
        command: &Doc,
        current: Option<Vec<Mechanism>>,
    ) -> Result<Vec<Mechanism>, Failure> {
        match command.get("mechanisms") {
            None => Ok(current.unwrap_or_else(|| self.personality.mechanisms().to_vec())),
            Some(Bson::Array(items)) if !items.is_empty() => {
                let asked = items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .and_then(Mechanism::parse)
                            .filter(|m| self.personality.mechanisms().contains(m))
                            .ok_or_else(|| fail(2, "BadValue", "Unknown auth mechanism"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                // A set: the server makes each credential once, in its own order, whatever
                // the order asked (user_management_commands.cpp, buildCredentials).
                Ok(self
                    .personality
                    .mechanisms()
                    .iter()
                    .copied()
                    .filter(|m| asked.contains(m))
                    .collect())
            }
            Some(_) => Err(fail(2, "BadValue", "mechanisms field must not be empty")),
        }
    }

    /// The `authenticationRestrictions` of a `createUser` / `updateUser`, if given. MongoDB
    /// parses them as the IDL type `array<address_restriction>` (user_management_commands.idl;
    /// address_restriction.idl: `strict`, optional `clientSource` and `serverAddress`, each
    /// `array<string>`): a wrong type is 14 TypeMismatch, another field 40415 IDLUnknownField
    /// (the manual: "if the server does not recognize a field ... it throws an error"). The
    /// strings are stored as given, not checked as addresses (SERVER-128184: an entry that is
    /// not an address is accepted); such an entry never matches at login here. DocumentDB
    /// refuses the field as an argument it does not implement (see `users_info`).
    pub(super) fn restrictions(
        &self,
        command: &Doc,
        name: &str,
    ) -> Result<Option<Vec<Restriction>>, Failure> {
        let Some(value) = command.get("authenticationRestrictions") else {
            return Ok(None);
        };
        if self.personality.is_documentdb() {
            return Err(not_valid_argument("authenticationRestrictions", name));
        }
        let path = format!("{name}.authenticationRestrictions");
        let Bson::Array(items) = value else {
            return Err(wrong_type(&path, value, "array"));
        };
        let mut restrictions = Vec::new();
        for item in items {
            let Bson::Document(doc) = item else {
                return Err(wrong_type(&path, item, "object"));
            };
            let mut restriction = Restriction::default();
            for (key, list) in &doc.0 {
                let slot = match key.as_str() {
                    "clientSource" => &mut restriction.client_source,
                    "serverAddress" => &mut restriction.server_address,
                    _ => {
                        return Err(fail(
                            40415,
                            "IDLUnknownField",
                            format!("BSON field '{path}.{key}' is an unknown field."),
                        ))
                    }
                };
                let field = format!("{path}.{key}");
                let Bson::Array(ranges) = list else {
                    return Err(wrong_type(&field, list, "array"));
                };
                let ranges = ranges
                    .iter()
                    .map(|r| match r {
                        Bson::String(s) => Ok(s.clone()),
                        other => Err(wrong_type(&field, other, "string")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                *slot = Some(ranges);
            }
            restrictions.push(restriction);
        }
        Ok(Some(restrictions))
    }

    /// createUser, authorized first (user_management_commands_common.cpp): `createUser` on the
    /// database, `grantRole` on each role's database, `setAuthenticationRestriction` when
    /// restrictions are sent; then the body: DocumentDB's admin-only rule, the password, the
    /// roles' existence (31), the duplicate (51003).
    pub(super) fn create_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("createUser")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| fail(2, "BadValue", "createUser needs a user name"))?
            .to_string();
        let roles = role_list(command.get("roles"), db)?;
        let restrictions = self.restrictions(command, "createUser")?;
        let privileges = self.privileges();
        if !authz::may(&privileges, "createUser", db) {
            return Err(authz::refused(format!(
                "Not authorized to create users on db: {db}"
            )));
        }
        authz::check_grant(&privileges, &roles)?;
        if restrictions.is_some() && !authz::may(&privileges, "setAuthenticationRestriction", db) {
            return Err(authz::refused("Unauthorized"));
        }
        if let Some(why) = self
            .personality
            .is_documentdb()
            .then(|| docdb::user_name_refusal(&name))
            .flatten()
        {
            return Err(fail(2, "BadValue", why));
        }
        if self.personality.is_documentdb() && db != "admin" {
            return Err(fail(
                2,
                "BadValue",
                "DocumentDB users are created in the admin database",
            ));
        }
        let password = self.password(command)?.ok_or_else(|| fail(2, "BadValue", "Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db"))?;
        let mechanisms = self.mechanisms(command, None)?;
        let credentials = credentials(&mechanisms, &name, &password)
            .ok_or_else(|| fail(2, "BadValue", "the password fails SASLprep"))?;
        let mut state = self.lock();
        authz::check_exist(&state.roles, &roles)?;
        let key = (db.to_string(), name.clone());
        if state.users.contains_key(&key) {
            return Err(fail(
                51003,
                "Location51003",
                format!("User \"{name}@{db}\" already exists"),
            ));
        }
        let mut user = User::new(roles, credentials);
        user.restrictions = restrictions.unwrap_or_default();
        state.users.insert(key, user);
        Ok(Doc::new())
    }

    /// updateUser, authorized field by field before the user is looked up
    /// (user_management_commands_common.cpp): `pwd` needs this very session's user holding
    /// `changeOwnPassword` on its database, or `changePassword` on the database; `roles` needs
    /// `revokeRole` on every database and `grantRole` on each role's; restrictions need
    /// `setAuthenticationRestriction`. Only then 11 for a missing user.
    pub(super) fn update_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("updateUser")
            .ok_or_else(|| fail(2, "BadValue", "updateUser needs a user name"))?
            .to_string();
        let key = (db.to_string(), name.clone());
        let password = self.password(command)?;
        let roles = match command.get("roles") {
            Some(value) => Some(role_list(Some(value), db)?),
            None => None,
        };
        let restrictions = self.restrictions(command, "updateUser")?;
        let privileges = self.privileges();
        if password.is_some() {
            let as_self = self.user.as_ref() == Some(&key)
                && authz::may(&privileges, "changeOwnPassword", db);
            if !(as_self || authz::may(&privileges, "changePassword", db)) {
                return Err(authz::refused(format!(
                    "Not authorized to change password of user: {name}@{db}"
                )));
            }
        }
        if let Some(roles) = &roles {
            if !authz::may_everywhere(&privileges, "revokeRole") {
                return Err(authz::refused("In order to use updateUser to set roles array, must be authorized to revoke any role in the system"));
            }
            authz::check_grant(&privileges, roles)?;
        }
        if restrictions.is_some() && !authz::may(&privileges, "setAuthenticationRestriction", db) {
            return Err(authz::refused("Unauthorized"));
        }
        if password.is_none()
            && roles.is_none()
            && restrictions.is_none()
            && command.get("mechanisms").is_none()
        {
            return Err(fail(
                2,
                "BadValue",
                "Must specify at least one field to update in updateUser",
            ));
        }
        let Some(existing) = self.lock().users.get(&key).cloned() else {
            return Err(fail(
                11,
                "UserNotFound",
                format!("User {name}@{db} not found"),
            ));
        };
        let current: Vec<Mechanism> = existing.credentials.iter().map(|(m, _)| *m).collect();
        let mechanisms = self.mechanisms(command, Some(current))?;
        let mut user = existing;
        match password {
            Some(p) => {
                user.credentials = credentials(&mechanisms, &name, &p)
                    .ok_or_else(|| fail(2, "BadValue", "the password fails SASLprep"))?;
            }
            None if command.get("mechanisms").is_some() => {
                // Only narrowing is possible without a password.
                if mechanisms
                    .iter()
                    .any(|m| !user.credentials.iter().any(|(c, _)| c == m))
                {
                    return Err(fail(
                        2,
                        "BadValue",
                        "mechanisms field must be a subset of previously set mechanisms",
                    ));
                }
                user.credentials.retain(|(m, _)| mechanisms.contains(m));
            }
            None => {}
        }
        let mut state = self.lock();
        if let Some(roles) = roles {
            authz::check_exist(&state.roles, &roles)?;
            user.roles = roles;
        }
        // "An update to a field completely replaces the previous field's values, including
        // updates to the user's roles and authenticationRestrictions arrays" (manual,
        // updateUser); an empty array removes them.
        if let Some(restrictions) = restrictions {
            user.restrictions = restrictions;
        }
        state.users.insert(key, user);
        Ok(Doc::new())
    }

    /// dropUser: `dropUser` on the database first, then 11 for a missing user.
    pub(super) fn drop_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("dropUser")
            .ok_or_else(|| fail(2, "BadValue", "dropUser needs a user name"))?
            .to_string();
        if !authz::may(&self.privileges(), "dropUser", db) {
            return Err(authz::refused(format!(
                "Not authorized to drop users from the {db} database"
            )));
        }
        match self.lock().users.remove(&(db.to_string(), name.clone())) {
            Some(_) => Ok(Doc::new()),
            None => Err(fail(
                11,
                "UserNotFound",
                format!("User '{name}@{db}' not found"),
            )),
        }
    }
}
