//! The engine this adapter serves, declared once.

use rotation_core::database::{EngineIdentity, NameLimit, Quirks};
use rotation_core::PasswordDefaults;

/// Amazon DocumentDB and MongoDB: the `mongodb` binary. `engine` is `mongo`, as the DocumentDB
/// console writes it and the official function requires, or `docdb`, the RDS API's name for a
/// DocumentDB cluster (a managed master secret is completed with it). User names: DocumentDB allows 63
/// characters (MongoDB more), so a clone name must fit 63. Passwords: DocumentDB refuses `/`,
/// `"`, `@` and space, so the defaults exclude them with the official set's `'` and `\`.
/// Quirks: a user is `user@db`; a login proves the password, not the access copied with it
/// (roles, authentication restrictions, mechanisms), which the current user may have changed
/// since: the server's records decide (`MongoEngine`'s `change_is_complete`).
pub const MONGODB: EngineIdentity = EngineIdentity {
    binary: "mongodb",
    engines: &["mongo", "docdb"],
    default_port: 27017,
    default_dbname: Some("admin"),
    username_limit: NameLimit::Chars(63),
    aws_managed_domains: &[".docdb.amazonaws.com", ".docdb-elastic.amazonaws.com"],
    password_defaults: PasswordDefaults {
        length: 32,
        exclude_characters: "/@\"'\\ ",
    },
    quirks: Quirks {
        users_are_per_database: true,
        one_login_proves_a_change: false,
        ..Quirks::NONE
    },
};

/// Every engine this adapter serves.
pub const ALL: [&EngineIdentity; 1] = [&MONGODB];
