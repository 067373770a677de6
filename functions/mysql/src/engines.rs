//! The engines this adapter serves, declared once: what the core, the templates and the type
//! list know about MySQL (and Aurora MySQL) and MariaDB comes from here (a test holds it
//! against `packaging/rotation-types.toml`).

use rotation_core::database::{EngineIdentity, NameLimit, Quirks, RDS_DOMAIN};
use rotation_core::PasswordDefaults;

/// MySQL and Aurora MySQL: the `mysql` binary; user names up to 32 characters. A user has one
/// account per host pattern: one login proves only the account matching the function's
/// address.
pub const MYSQL: EngineIdentity = EngineIdentity {
    binary: "mysql",
    engines: &["mysql", "aurora-mysql"],
    default_port: 3306,
    default_dbname: None,
    username_limit: NameLimit::Chars(32),
    aws_managed_domains: &[RDS_DOMAIN],
    password_defaults: PasswordDefaults::STANDARD,
    quirks: Quirks {
        one_login_proves_a_change: false,
        ..Quirks::NONE
    },
};

/// MariaDB: the `mariadb` binary; user names up to 80 characters. Accounts per host pattern as
/// MySQL; a refused login that was expected to work is tried once more (the driver misreads 1
/// in 256 `ed25519` challenges).
pub const MARIADB: EngineIdentity = EngineIdentity {
    binary: "mariadb",
    engines: &["mariadb"],
    default_port: 3306,
    default_dbname: None,
    username_limit: NameLimit::Chars(80),
    aws_managed_domains: &[RDS_DOMAIN],
    password_defaults: PasswordDefaults::STANDARD,
    quirks: Quirks {
        retries_refused_logins: true,
        one_login_proves_a_change: false,
        ..Quirks::NONE
    },
};

/// Every engine of this adapter.
pub const ALL: [&EngineIdentity; 2] = [&MYSQL, &MARIADB];
