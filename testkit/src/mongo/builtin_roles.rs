//! The built-in roles the stand-in knows, with their actions (srv `role_graph_builtin_roles.cpp`;
//! manual: built-in-roles), and which databases each exists on. Abbreviations are named in
//! [`super::authz`].

use super::privilege::{Privilege, Resource};

/// The user-management actions, exactly as `userAdmin` holds them.
pub(super) const USER_ADMIN: &[&str] = &[
    "changeCustomData",
    "changePassword",
    "createRole",
    "createUser",
    "dropRole",
    "dropUser",
    "grantRole",
    "revokeRole",
    "setAuthenticationRestriction",
    "viewRole",
    "viewUser",
];

/// `read` (abbreviated).
pub(super) const READ: &[&str] = &[
    "changeStream",
    "collStats",
    "dbHash",
    "dbStats",
    "find",
    "killCursors",
    "listCollections",
    "listIndexes",
];

/// What `readWrite` adds to `read` (abbreviated).
pub(super) const WRITE: &[&str] = &[
    "convertToCapped",
    "createCollection",
    "createIndex",
    "dropCollection",
    "dropIndex",
    "insert",
    "remove",
    "renameCollectionSameDB",
    "update",
];

/// `dbAdmin` (abbreviated).
pub(super) const DB_ADMIN: &[&str] = &[
    "bypassDocumentValidation",
    "collMod",
    "collStats",
    "compact",
    "convertToCapped",
    "createCollection",
    "createIndex",
    "dbStats",
    "dropCollection",
    "dropDatabase",
    "dropIndex",
    "enableProfiler",
    "listCollections",
    "listIndexes",
    "validate",
];

/// `clusterMonitor` on the cluster (abbreviated).
pub(super) const CLUSTER_MONITOR: &[&str] = &[
    "connPoolStats",
    "getCmdLineOpts",
    "getLog",
    "getParameter",
    "hostInfo",
    "inprog",
    "listDatabases",
    "replSetGetConfig",
    "replSetGetStatus",
    "serverStatus",
    "top",
];

/// What `clusterAdmin` adds on the cluster (abbreviated).
pub(super) const CLUSTER_ADMIN: &[&str] = &[
    "fsync",
    "invalidateUserCache",
    "killop",
    "logRotate",
    "replSetConfigure",
    "replSetStateChange",
    "setParameter",
    "shutdown",
];

/// Actions only user-defined roles grant.
pub(super) const OWN: &[&str] = &["changeOwnCustomData", "changeOwnPassword"];

/// Cluster actions of `userAdminAnyDatabase`.
pub(super) const USER_ADMIN_ANY_CLUSTER: &[&str] = &[
    "authSchemaUpgrade",
    "invalidateUserCache",
    "listDatabases",
    "viewUser",
];

/// The built-in roles that exist on every database.
pub(super) const EVERY_DB: &[&str] = &["read", "readWrite", "dbAdmin", "dbOwner", "userAdmin"];

/// The built-in roles that exist only on `admin`.
pub(super) const ADMIN_ONLY: &[&str] = &[
    "readAnyDatabase",
    "readWriteAnyDatabase",
    "userAdminAnyDatabase",
    "dbAdminAnyDatabase",
    "clusterMonitor",
    "clusterAdmin",
    "backup",
    "restore",
    "root",
];

/// True when `role` is a built-in role on `db`.
pub fn is_builtin(role: &str, db: &str) -> bool {
    EVERY_DB.contains(&role) || (db == "admin" && ADMIN_ONLY.contains(&role))
}

/// The built-in roles `db` has, in the order this module lists them.
pub fn builtin_on(db: &str) -> impl Iterator<Item = &'static str> {
    let admin: &[&'static str] = if db == "admin" { ADMIN_ONLY } else { &[] };
    EVERY_DB.iter().chain(admin).copied()
}

/// True when a role of that name is built in on some database (a user-defined role may not
/// take the name).
pub(super) fn is_builtin_name(role: &str) -> bool {
    EVERY_DB.contains(&role) || ADMIN_ONLY.contains(&role)
}

/// The privileges of the built-in `role` on `db`, if it exists there.
pub(super) fn builtin(role: &str, db: &str) -> Option<Vec<Privilege>> {
    if !is_builtin(role, db) {
        return None;
    }
    let on = || Resource::database(db);
    let any = Resource::any_database;
    let read_any = || {
        vec![
            Privilege::new(any(), &[READ]),
            Privilege::new(Resource::Cluster, &[&["listDatabases"]]),
        ]
    };
    let write_any = || {
        let mut p = read_any();
        p.push(Privilege::new(any(), &[READ, WRITE]));
        p
    };
    let user_admin_any = || {
        vec![
            Privilege::new(any(), &[USER_ADMIN]),
            Privilege::new(Resource::Cluster, &[USER_ADMIN_ANY_CLUSTER]),
        ]
    };
    let db_admin_any = || {
        vec![
            Privilege::new(any(), &[DB_ADMIN]),
            Privilege::new(Resource::Cluster, &[&["listDatabases"]]),
        ]
    };
    let cluster_monitor = || {
        vec![
            Privilege::new(Resource::Cluster, &[CLUSTER_MONITOR]),
            Privilege::new(any(), &[&["collStats", "dbStats"]]),
        ]
    };
    let cluster_admin = || {
        let mut p = cluster_monitor();
        p.push(Privilege::new(Resource::Cluster, &[CLUSTER_ADMIN]));
        p.push(Privilege::new(any(), &[&["dropDatabase"]]));
        p
    };
    Some(match role {
        "read" => vec![Privilege::new(on(), &[READ])],
        "readWrite" => vec![Privilege::new(on(), &[READ, WRITE])],
        "dbAdmin" => vec![Privilege::new(on(), &[DB_ADMIN])],
        "userAdmin" => vec![Privilege::new(on(), &[USER_ADMIN])],
        "dbOwner" => vec![Privilege::new(on(), &[READ, WRITE, DB_ADMIN, USER_ADMIN])],
        "readAnyDatabase" => read_any(),
        "readWriteAnyDatabase" => write_any(),
        "userAdminAnyDatabase" => user_admin_any(),
        "dbAdminAnyDatabase" => db_admin_any(),
        "clusterMonitor" => cluster_monitor(),
        "clusterAdmin" => cluster_admin(),
        "backup" => vec![
            Privilege::new(any(), &[&["find"]]),
            Privilege::new(Resource::Any, &[&["collStats"]]),
            Privilege::new(Resource::Cluster, &[&["listDatabases"]]),
        ],
        "restore" => vec![Privilege::new(
            any(),
            &[&[
                "bypassDocumentValidation",
                "collMod",
                "convertToCapped",
                "createCollection",
                "createIndex",
                "dropCollection",
                "insert",
            ]],
        )],
        "root" => {
            let mut p = write_any();
            p.extend(db_admin_any());
            p.extend(user_admin_any());
            p.extend(cluster_admin());
            p.push(Privilege::new(Resource::Any, &[&["validate"]]));
            p
        }
        _ => return None,
    })
}

/// Every action name this module knows.
pub(super) fn known_action(action: &str) -> bool {
    [
        USER_ADMIN,
        READ,
        WRITE,
        DB_ADMIN,
        CLUSTER_MONITOR,
        CLUSTER_ADMIN,
        OWN,
        USER_ADMIN_ANY_CLUSTER,
    ]
    .iter()
    .any(|set| set.contains(&action))
}
