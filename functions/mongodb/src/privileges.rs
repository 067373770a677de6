//! What a session may do, as MongoDB decides it: privileges (actions on resources), read from
//! `connectionStatus` with `showPrivileges: true` (`authInfo.authenticatedUserPrivileges`:
//! every privilege of the session's roles, inherited ones included; manual:
//! connectionStatus), never guessed from role names, since a user-defined role can grant any
//! action (the manual's recipe for changing one's own password is such a role). Pure: no I/O.
//!
//! An action on database D is granted by a privilege on `{db: D, collection: ""}`, on
//! `{db: "", collection: ""}` (every database) or on `{anyResource: true}` (server:
//! `AuthorizationSessionImpl::isAuthorizedForActionsOnResource`). A resource form this module
//! does not know grants nothing here, so the function may refuse what the server would allow,
//! never the reverse.

use mongodb::bson::{Bson, Document};

/// One privilege: where, and which actions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Privilege {
    resource: Resource,
    actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource {
    /// A database (`collection` empty); `""` for every database.
    Database(String),
    /// `{anyResource: true}`.
    Any,
    /// A collection, the cluster, or a form not known here: grants no database action.
    Other,
}

/// The privileges of a session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Privileges(Vec<Privilege>);

impl Privileges {
    /// Reads `authInfo.authenticatedUserPrivileges` from a `connectionStatus` answer; `None`
    /// when the server did not list it (a server that ignores `showPrivileges`).
    pub fn from_connection_status(status: &Document) -> Option<Self> {
        let list = status
            .get_document("authInfo")
            .ok()?
            .get_array("authenticatedUserPrivileges")
            .ok()?;
        Some(Self(list.iter().filter_map(privilege).collect()))
    }

    /// The session may do `action` on database `db`.
    pub fn may(&self, action: &str, db: &str) -> bool {
        self.granted(action, Some(db))
    }

    /// The session may do `action` on every database (MongoDB's "any normal resource").
    pub fn may_everywhere(&self, action: &str) -> bool {
        self.granted(action, None)
    }

    /// A privilege holds `action` on a resource covering `db` (`None`: every database, which
    /// only `anyResource` and `{db: "", collection: ""}` cover).
    fn granted(&self, action: &str, db: Option<&str>) -> bool {
        self.0.iter().any(|p| {
            let covers = match &p.resource {
                Resource::Any => true,
                Resource::Database(d) => d.is_empty() || Some(d.as_str()) == db,
                Resource::Other => false,
            };
            covers && p.actions.iter().any(|a| a == action)
        })
    }
}

fn privilege(item: &Bson) -> Option<Privilege> {
    let doc = item.as_document()?;
    let resource = doc.get_document("resource").ok()?;
    let resource = if resource.get_bool("anyResource") == Ok(true) {
        Resource::Any
    } else {
        match (resource.get_str("db"), resource.get_str("collection")) {
            (Ok(db), Ok("")) if resource.len() == 2 => Resource::Database(db.to_string()),
            _ => Resource::Other,
        }
    };
    let actions = doc
        .get_array("actions")
        .ok()?
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    Some(Privilege { resource, actions })
}

/// One thing a step needs: an action on a database (`None`: on every database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The action, as MongoDB names it.
    pub action: &'static str,
    /// The database, or `None` for every database.
    pub db: Option<String>,
    /// What it is needed for, for messages.
    pub why: &'static str,
}

impl Need {
    /// `action` on `db`, for `why`.
    pub fn on(action: &'static str, db: &str, why: &'static str) -> Self {
        Self {
            action,
            db: Some(db.to_string()),
            why,
        }
    }

    /// `action` on every database, for `why`.
    pub fn everywhere(action: &'static str, why: &'static str) -> Self {
        Self {
            action,
            db: None,
            why,
        }
    }

    /// Where, for messages: `database D` or `every database`.
    pub fn place(&self) -> String {
        match &self.db {
            Some(db) => format!("database {db}"),
            None => "every database ({db: \"\", collection: \"\"})".to_string(),
        }
    }
}

impl Privileges {
    /// The needs of `needs` these privileges do not meet, in order.
    pub fn missing<'a>(&self, needs: &'a [Need]) -> Vec<&'a Need> {
        needs
            .iter()
            .filter(|n| match &n.db {
                Some(db) => !self.may(n.action, db),
                None => !self.may_everywhere(n.action),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    fn status(privileges: Bson) -> Document {
        doc! {"authInfo": {"authenticatedUsers": [], "authenticatedUserRoles": [],
        "authenticatedUserPrivileges": privileges}}
    }

    #[test]
    fn database_wildcard_and_any_resource() {
        let p = Privileges::from_connection_status(&status(Bson::Array(vec![
            Bson::Document(
                doc! {"resource": {"db": "appdb", "collection": ""}, "actions": ["createUser", "grantRole"]},
            ),
            Bson::Document(
                doc! {"resource": {"db": "", "collection": ""}, "actions": ["changeOwnPassword"]},
            ),
            Bson::Document(doc! {"resource": {"anyResource": true}, "actions": ["viewUser"]}),
            Bson::Document(
                doc! {"resource": {"db": "appdb", "collection": "c"}, "actions": ["changePassword"]},
            ),
            Bson::Document(doc! {"resource": {"cluster": true}, "actions": ["revokeRole"]}),
        ])))
        .unwrap();
        assert!(p.may("createUser", "appdb") && !p.may("createUser", "other"));
        assert!(p.may("changeOwnPassword", "any") && p.may_everywhere("changeOwnPassword"));
        assert!(p.may("viewUser", "x") && p.may_everywhere("viewUser"));
        assert!(
            !p.may("changePassword", "appdb"),
            "a collection grants no database action"
        );
        assert!(
            !p.may_everywhere("revokeRole"),
            "the cluster is not every database"
        );
        assert!(!p.may_everywhere("grantRole"));
        let needs = [
            Need::on("grantRole", "appdb", "t"),
            Need::on("grantRole", "otherdb", "t"),
            Need::everywhere("revokeRole", "t"),
        ];
        let missing: Vec<_> = p.missing(&needs).into_iter().map(|n| n.place()).collect();
        assert_eq!(
            missing,
            vec![
                "database otherdb".to_string(),
                "every database ({db: \"\", collection: \"\"})".to_string()
            ]
        );
    }

    #[test]
    fn not_listed_is_none_and_junk_grants_nothing() {
        assert_eq!(
            Privileges::from_connection_status(&doc! {"authInfo": {"authenticatedUsers": []}}),
            None
        );
        let p = Privileges::from_connection_status(&status(Bson::Array(vec![
            Bson::Int32(1),
            Bson::Document(doc! {"resource": "appdb", "actions": ["createUser"]}),
            Bson::Document(
                doc! {"resource": {"db": "appdb", "collection": "", "extra": 1}, "actions": ["createUser"]},
            ),
        ])))
        .unwrap();
        assert!(!p.may("createUser", "appdb"));
    }
}
