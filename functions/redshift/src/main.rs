//! The `redshift` rotation function binary (single user or alternating users, chosen by the
//! `ROTATION_STRATEGY` variable the template sets).
#![recursion_limit = "256"]

use postgresql::{Connector, Dialect, PgEngine};
use redshift::{check_policy, Redshift, PASSWORD_DEFAULTS};
use rotation_core::settings::flag;
use rotation_core::strategy::Strategy;
use rotation_core::tls::ALLOW_PLAINTEXT_FALLBACK;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::runtime::run(PASSWORD_DEFAULTS, |policy| {
        check_policy(policy)?;
        let tls = rotation_core::tls::client_config_from_env()?;
        let connector = Connector::new(tls, Redshift.default_port(), Redshift.default_dbname())
            .with_plaintext_fallback(flag(ALLOW_PLAINTEXT_FALLBACK, false)?);
        Strategy::from_env(PgEngine::new(Redshift, connector))
    })
    .await
}
