//! MongoDB's privileges: actions on resources (manual: resource-document, privilege-actions),
//! and user-defined roles as the stand-in stores them.

use std::collections::{BTreeMap, BTreeSet};

use super::bson::{Bson, Doc};
use super::failure::{fail, Failure};

/// What a privilege applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// `{db, collection}`; `""` matches any database / any collection.
    Namespace {
        /// The database, `""` for any.
        db: String,
        /// The collection, `""` for any (and for the database itself).
        collection: String,
    },
    /// `{cluster: true}`.
    Cluster,
    /// `{anyResource: true}`.
    Any,
}

impl Resource {
    pub(super) fn database(db: &str) -> Self {
        Resource::Namespace {
            db: db.into(),
            collection: String::new(),
        }
    }

    pub(super) fn any_database() -> Self {
        Self::database("")
    }

    /// The privilege on this resource counts for the database resource `db`
    /// (`ResourcePattern::forDatabaseName`).
    pub(super) fn covers_database(&self, db: &str) -> bool {
        match self {
            Resource::Any => true,
            Resource::Namespace { db: d, collection } => {
                collection.is_empty() && (d.is_empty() || d == db)
            }
            Resource::Cluster => false,
        }
    }

    /// The privilege counts for "any normal resource" (every database).
    pub(super) fn covers_every_database(&self) -> bool {
        match self {
            Resource::Any => true,
            Resource::Namespace { db, collection } => db.is_empty() && collection.is_empty(),
            Resource::Cluster => false,
        }
    }

    pub(super) fn to_bson(&self) -> Bson {
        Bson::Document(match self {
            Resource::Namespace { db, collection } => Doc::new()
                .with("db", Bson::String(db.clone()))
                .with("collection", Bson::String(collection.clone())),
            Resource::Cluster => Doc::new().with("cluster", Bson::Bool(true)),
            Resource::Any => Doc::new().with("anyResource", Bson::Bool(true)),
        })
    }

    pub(super) fn parse(value: &Bson) -> Result<Self, Failure> {
        let bad = || {
            fail(
                2,
                "BadValue",
                "a privilege's resource must be {db, collection}, {cluster: true} or {anyResource: true}",
            )
        };
        let doc = value.as_doc().ok_or_else(bad)?;
        let keys: Vec<&str> = doc.0.iter().map(|(k, _)| k.as_str()).collect();
        match keys.as_slice() {
            ["cluster"] if doc.get("cluster") == Some(&Bson::Bool(true)) => Ok(Resource::Cluster),
            ["anyResource"] if doc.get("anyResource") == Some(&Bson::Bool(true)) => {
                Ok(Resource::Any)
            }
            ["db", "collection"] | ["collection", "db"] => {
                match (doc.str("db"), doc.str("collection")) {
                    (Some(db), Some(collection)) => Ok(Resource::Namespace {
                        db: db.into(),
                        collection: collection.into(),
                    }),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}

/// Actions on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privilege {
    /// Where.
    pub resource: Resource,
    /// What.
    pub actions: BTreeSet<String>,
}

impl Privilege {
    pub(super) fn new(resource: Resource, actions: &[&[&str]]) -> Self {
        Self {
            resource,
            actions: actions
                .iter()
                .flat_map(|a| a.iter().map(|s| s.to_string()))
                .collect(),
        }
    }

    pub(super) fn to_bson(&self) -> Bson {
        Bson::Document(Doc::new().with("resource", self.resource.to_bson()).with(
            "actions",
            Bson::Array(self.actions.iter().cloned().map(Bson::String).collect()),
        ))
    }
}

/// A user-defined role: its own privileges and the roles it inherits from.
#[derive(Debug, Clone, Default)]
pub struct RoleDef {
    /// Granted directly.
    pub privileges: Vec<Privilege>,
    /// Inherited roles, (role, db).
    pub roles: Vec<(String, String)>,
}

/// User-defined roles by (db, role).
pub type CustomRoles = BTreeMap<(String, String), RoleDef>;
