//! The engines this adapter serves, declared once: what the core, the templates and the type
//! list know about Amazon RDS for SQL Server comes from here.

use rotation_core::database::{EngineIdentity, NameLimit, Quirks, RDS_DOMAIN};
use rotation_core::PasswordDefaults;

/// Amazon RDS for SQL Server: the `sqlserver` binary. The secret's `engine` is `sqlserver` (what
/// the official functions require) or one of RDS's engine names for the editions; port 1433;
/// `dbname` defaults to `master`. Names are `sysname` (128 characters). One login does not
/// prove an alternating user finished: its login options, role memberships and permissions are
/// copied beside the password, and a login shows none of them.
pub const SQLSERVER: EngineIdentity = EngineIdentity {
    binary: "sqlserver",
    engines: &[
        "sqlserver",
        "sqlserver-ee",
        "sqlserver-se",
        "sqlserver-ex",
        "sqlserver-web",
    ],
    default_port: 1433,
    default_dbname: Some("master"),
    username_limit: NameLimit::Chars(128),
    aws_managed_domains: &[RDS_DOMAIN],
    password_defaults: PasswordDefaults::STANDARD,
    quirks: Quirks {
        one_login_proves_a_change: false,
        ..Quirks::NONE
    },
};

/// Every engine of this adapter.
pub const ALL: [&EngineIdentity; 1] = [&SQLSERVER];
