//! The `redshift` rotation function binary: Redshift's SQL (this crate's library) on the shared
//! PostgreSQL-wire adapter, single user or alternating users as `ROTATION_STRATEGY` says.
#![recursion_limit = "256"]

use redshift::{check_policy, Redshift, PASSWORD_DEFAULTS};
use rotation_core::database::{Strategy, TrustAnchors};
use rotation_core::postgres::{Connector, Dialect, PgEngine};

// Lambda sends one invocation at a time: one thread is enough, and uses less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(PASSWORD_DEFAULTS, |settings| {
        check_policy(&settings.password)?;
        let tls = TrustAnchors::new(settings.extra_ca_certs.as_deref(), true)?;
        let connector = Connector::new(tls, Redshift.default_port(), Redshift.default_dbname())
            .with_plaintext_fallback(settings.allow_plaintext_fallback);
        Strategy::new(settings.strategy, PgEngine::new(Redshift, connector))
    })
    .await
}
