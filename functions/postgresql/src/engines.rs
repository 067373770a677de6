//! The engines this adapter serves, declared once: what the core, the templates and the type
//! list know about PostgreSQL and Redshift comes from here (a test holds it against
//! `packaging/rotation-types.toml`).

use rotation_core::database::{EngineIdentity, NameLimit, Quirks, RDS_DOMAIN};
use rotation_core::PasswordDefaults;

/// PostgreSQL (RDS, Aurora, self-managed): the `postgresql` binary. A user is one login,
/// server-wide: no quirk.
pub const POSTGRESQL: EngineIdentity = EngineIdentity {
    binary: "postgresql",
    engines: &["postgres", "aurora-postgresql"],
    default_port: 5432,
    default_dbname: Some("postgres"),
    username_limit: NameLimit::Bytes(63),
    aws_managed_domains: &[RDS_DOMAIN],
    password_defaults: PasswordDefaults::POSTGRES,
    quirks: Quirks::NONE,
};

/// Amazon Redshift (provisioned or Serverless): the `redshift` binary. The official defaults:
/// 32 characters, no `:/@"'\` (PostgreSQL's set). A user is one login: no quirk.
pub const REDSHIFT: EngineIdentity = EngineIdentity {
    binary: "redshift",
    engines: &["redshift"],
    default_port: 5439,
    default_dbname: Some("dev"),
    username_limit: NameLimit::Bytes(127),
    aws_managed_domains: &[
        ".redshift.amazonaws.com",
        ".redshift-serverless.amazonaws.com",
    ],
    password_defaults: PasswordDefaults::POSTGRES,
    quirks: Quirks::NONE,
};

/// Every engine of this adapter.
pub const ALL: [&EngineIdentity; 2] = [&POSTGRESQL, &REDSHIFT];
