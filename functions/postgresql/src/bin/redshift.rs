//! The `redshift` rotation function binary: Redshift's SQL (this crate's library) on the shared
//! PostgreSQL-wire adapter, single user or alternating users as `ROTATION_STRATEGY` says.
#![recursion_limit = "256"]

use redshift::{check_policy, Redshift, PASSWORD_DEFAULTS};
use rotation_core::database::{Strategy, TrustAnchors};
use rotation_core::postgres::{Connector, Dialect, PgEngine};

// `serve` starts the runtime itself, after the process-wide start-up that must run before
// any thread exists (see its documentation).
fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(PASSWORD_DEFAULTS, |settings| {
        check_policy(&settings.password)?;
        let tls = TrustAnchors::new(settings.extra_ca_certs.as_deref(), true)?;
        let connector = Connector::new(tls, Redshift.default_port(), Redshift.default_dbname())
            .with_plaintext_fallback(settings.allow_plaintext_fallback);
        Strategy::new(settings.strategy, PgEngine::new(Redshift, connector))
    })
}
