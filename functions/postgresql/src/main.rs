//! The `postgresql` rotation function binary (single user or alternating users, chosen by the
//! `ROTATION_STRATEGY` variable the template sets).

#![recursion_limit = "256"]
use postgresql::config::{flag, CLONE_ACTS_AS_ORIGINAL};
use postgresql::{Connector, Dialect, PgEngine, Postgres};
use rotation_core::strategy::Strategy;
use rotation_core::tls::ALLOW_PLAINTEXT_FALLBACK;
use rotation_core::PasswordDefaults;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::runtime::run(PasswordDefaults::POSTGRES, |_| {
        let dialect = Postgres {
            clone_acts_as_original: flag(CLONE_ACTS_AS_ORIGINAL, false)?,
        };
        let tls = rotation_core::tls::client_config_from_env()?;
        let connector = Connector::new(tls, dialect.default_port(), dialect.default_dbname())
            .with_plaintext_fallback(flag(ALLOW_PLAINTEXT_FALLBACK, false)?);
        Strategy::from_env(PgEngine::new(dialect, connector))
    })
    .await
}
