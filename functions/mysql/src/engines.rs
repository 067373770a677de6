//! The engines this adapter serves, declared once: what the core, the templates and the type
//! list know about MySQL (and Aurora MySQL) and MariaDB comes from here (a test holds it
//! against `packaging/rotation-types.toml`).

use rotation_core::database::{EngineIdentity, NameLimit, RDS_DOMAIN};
use rotation_core::PasswordDefaults;

/// MySQL and Aurora MySQL: the `mysql` binary; user names up to 32 characters.
pub const MYSQL: EngineIdentity = EngineIdentity {
    binary: "mysql",
    engines: &["mysql", "aurora-mysql"],
    default_port: 3306,
    default_dbname: None,
    username_limit: NameLimit::Chars(32),
    aws_managed_domains: &[RDS_DOMAIN],
    password_defaults: PasswordDefaults::STANDARD,
};

/// MariaDB: the `mariadb` binary; user names up to 80 characters.
pub const MARIADB: EngineIdentity = EngineIdentity {
    binary: "mariadb",
    engines: &["mariadb"],
    default_port: 3306,
    default_dbname: None,
    username_limit: NameLimit::Chars(80),
    aws_managed_domains: &[RDS_DOMAIN],
    password_defaults: PasswordDefaults::STANDARD,
};

/// Every engine of this adapter.
pub const ALL: [&EngineIdentity; 2] = [&MYSQL, &MARIADB];
