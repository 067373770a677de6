//! Permission names and their `type` codes as sys.server_permissions and
//! sys.database_permissions list them, and what the fixed roles hold [MS Learn
//! sys.server_permissions, sys.database_permissions, Server-level roles, Database-level roles].

/// Server permissions the stand-in knows: (type code, name). Securable: the server (class 100).
pub const SERVER: &[(&str, &str)] = &[
    ("AAES", "ALTER ANY EVENT SESSION"),
    ("ADBO", "ADMINISTER BULK OPERATIONS"),
    ("ALAA", "ALTER ANY SERVER AUDIT"),
    ("ALCD", "ALTER ANY CREDENTIAL"),
    ("ALCO", "ALTER ANY CONNECTION"),
    ("ALDB", "ALTER ANY DATABASE"),
    ("ALHE", "ALTER ANY ENDPOINT"),
    ("ALLG", "ALTER ANY LOGIN"),
    ("ALLS", "ALTER ANY LINKED SERVER"),
    ("ALRS", "ALTER RESOURCES"),
    ("ALSR", "ALTER ANY SERVER ROLE"),
    ("ALSS", "ALTER SERVER STATE"),
    ("ALST", "ALTER SETTINGS"),
    ("ALTR", "ALTER TRACE"),
    ("CL", "CONTROL SERVER"),
    ("COSQ", "CONNECT SQL"),
    ("CRDB", "CREATE ANY DATABASE"),
    ("SHDN", "SHUTDOWN"),
    ("VWAD", "VIEW ANY DEFINITION"),
    ("VWDB", "VIEW ANY DATABASE"),
    ("VWSS", "VIEW SERVER STATE"),
];

/// Database permissions the stand-in knows: (type code, name, whether it applies to a schema
/// or an object as well as to the database).
pub const DATABASE: &[(&str, &str, bool)] = &[
    ("AL", "ALTER", true),
    ("ALRL", "ALTER ANY ROLE", false),
    ("ALSM", "ALTER ANY SCHEMA", false),
    ("ALUS", "ALTER ANY USER", false),
    ("AUTH", "AUTHENTICATE", false),
    ("BADB", "BACKUP DATABASE", false),
    ("BALO", "BACKUP LOG", false),
    ("CL", "CONTROL", true),
    ("CO", "CONNECT", false),
    ("CRFN", "CREATE FUNCTION", false),
    ("CRPR", "CREATE PROCEDURE", false),
    ("CRRL", "CREATE ROLE", false),
    ("CRSM", "CREATE SCHEMA", false),
    ("CRTB", "CREATE TABLE", false),
    ("CRVW", "CREATE VIEW", false),
    ("DL", "DELETE", true),
    ("EX", "EXECUTE", true),
    ("IN", "INSERT", true),
    ("RF", "REFERENCES", true),
    ("SL", "SELECT", true),
    ("SPLN", "SHOWPLAN", false),
    ("TO", "TAKE OWNERSHIP", true),
    ("UP", "UPDATE", true),
    ("VW", "VIEW DEFINITION", true),
    ("VWDS", "VIEW DATABASE STATE", false),
];

/// The server permission's type code.
pub fn server_code(name: &str) -> Option<&'static str> {
    SERVER.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
}

/// The database permission's type code, and whether a schema or object may carry it.
pub fn database_code(name: &str) -> Option<(&'static str, bool)> {
    DATABASE
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|(c, _, s)| (*c, *s))
}

/// What a fixed server role holds without rows in sys.server_permissions [MS Learn
/// Server-level roles]; sysadmin holds everything.
pub fn fixed_server_role(role: &str) -> &'static [&'static str] {
    match role {
        "securityadmin" => &["ALTER ANY LOGIN"],
        "serveradmin" => &[
            "ALTER ANY ENDPOINT",
            "ALTER RESOURCES",
            "ALTER SERVER STATE",
            "ALTER SETTINGS",
            "SHUTDOWN",
            "VIEW SERVER STATE",
        ],
        "setupadmin" => &["ALTER ANY LINKED SERVER"],
        "processadmin" => &["ALTER ANY CONNECTION", "ALTER SERVER STATE"],
        "diskadmin" => &["ALTER RESOURCES"],
        "dbcreator" => &["CREATE ANY DATABASE"],
        "bulkadmin" => &["ADMINISTER BULK OPERATIONS"],
        _ => &[],
    }
}

/// What a fixed database role holds on its database [MS Learn Database-level roles]; db_owner
/// holds everything. The deny roles are in [`fixed_database_denies`].
pub fn fixed_database_role(role: &str) -> &'static [&'static str] {
    match role {
        "db_accessadmin" => &["ALTER ANY USER", "CONNECT", "CREATE SCHEMA"],
        "db_securityadmin" => &["ALTER ANY ROLE", "CREATE SCHEMA", "VIEW DEFINITION"],
        "db_ddladmin" => &[
            "ALTER ANY SCHEMA",
            "CREATE FUNCTION",
            "CREATE PROCEDURE",
            "CREATE SCHEMA",
            "CREATE TABLE",
            "CREATE VIEW",
            "REFERENCES",
        ],
        "db_backupoperator" => &["BACKUP DATABASE", "BACKUP LOG"],
        "db_datareader" => &["SELECT"],
        "db_datawriter" => &["DELETE", "INSERT", "UPDATE"],
        _ => &[],
    }
}

/// What the deny roles deny.
pub fn fixed_database_denies(role: &str) -> &'static [&'static str] {
    match role {
        "db_denydatareader" => &["SELECT"],
        "db_denydatawriter" => &["DELETE", "INSERT", "UPDATE"],
        _ => &[],
    }
}

/// The fixed server roles and their principal ids (public is 2, sysadmin 3, ...).
pub const SERVER_ROLES: &[(i32, &str)] = &[
    (2, "public"),
    (3, "sysadmin"),
    (4, "securityadmin"),
    (5, "serveradmin"),
    (6, "setupadmin"),
    (7, "processadmin"),
    (8, "diskadmin"),
    (9, "dbcreator"),
    (10, "bulkadmin"),
];

/// The fixed database roles and their principal ids (public is 0).
pub const DATABASE_ROLES: &[(i32, &str)] = &[
    (16384, "db_owner"),
    (16385, "db_accessadmin"),
    (16386, "db_securityadmin"),
    (16387, "db_ddladmin"),
    (16389, "db_backupoperator"),
    (16390, "db_datareader"),
    (16391, "db_datawriter"),
    (16392, "db_denydatareader"),
    (16393, "db_denydatawriter"),
];

/// A row of sys.server_permissions or sys.database_permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Perm {
    /// 100 server; 0 database, 1 object, 3 schema.
    pub class: u8,
    /// The securable's id (0 for the server and the database).
    pub major: i32,
    /// The grantee's principal id.
    pub grantee: i32,
    /// The grantor's principal id.
    pub grantor: i32,
    /// The permission's name.
    pub name: String,
    /// 'G', 'W' (with grant option) or 'D'.
    pub state: char,
}

impl Perm {
    /// `state_desc`.
    pub fn state_desc(&self) -> &'static str {
        match self.state {
            'W' => "GRANT_WITH_GRANT_OPTION",
            'D' => "DENY",
            _ => "GRANT",
        }
    }

    /// `class_desc`.
    pub fn class_desc(&self) -> &'static str {
        match self.class {
            100 => "SERVER",
            1 => "OBJECT_OR_COLUMN",
            3 => "SCHEMA",
            _ => "DATABASE",
        }
    }

    /// The type code.
    pub fn code(&self) -> &'static str {
        if self.class == 100 {
            server_code(&self.name).unwrap_or("")
        } else {
            database_code(&self.name).map_or("", |(c, _)| c)
        }
    }
}

/// A grant, deny or revoke on a permission list: the rows change as SQL Server's do. GRANT over
/// a DENY replaces it; DENY over a grant replaces it; REVOKE removes; REVOKE GRANT OPTION FOR
/// turns W into G. Returns false when a grantable permission would be denied or revoked
/// without CASCADE (4611).
pub fn apply(
    rows: &mut Vec<Perm>,
    new: Perm,
    revoke: bool,
    option_only: bool,
    cascade: bool,
) -> bool {
    let same = |p: &Perm| {
        p.class == new.class
            && p.major == new.major
            && p.grantee == new.grantee
            && p.name == new.name
    };
    let existing = rows.iter().position(same);
    if (revoke || new.state == 'D') && !cascade {
        if let Some(i) = existing {
            if rows[i].state == 'W' {
                return false;
            }
        }
    }
    match (existing, revoke) {
        (Some(i), true) if option_only => {
            if rows[i].state == 'W' {
                rows[i].state = 'G';
            }
        }
        (Some(i), true) => {
            rows.remove(i);
        }
        (None, true) => {}
        (Some(i), false) => {
            // A plain GRANT keeps an existing grant option.
            if !(new.state == 'G' && rows[i].state == 'W') {
                rows[i] = new;
            }
        }
        (None, false) => rows.push(new),
    }
    true
}
