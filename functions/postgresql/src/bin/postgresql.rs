//! The `postgresql` rotation function binary: the shared PostgreSQL-wire adapter with
//! PostgreSQL's SQL, single user or alternating users as `ROTATION_STRATEGY` says, with the
//! RDS API for alternating users (managed master secrets, replicas and readers, host checks).
#![recursion_limit = "256"]

use std::sync::Arc;

use rotation_core::database::{SdkRds, Strategy, TrustAnchors};
use rotation_core::postgres::{Connector, Dialect, PgEngine, Postgres};
use rotation_core::PasswordDefaults;

// `serve` starts the runtime itself, after the process-wide start-up that must run before
// any thread exists (see its documentation).
fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(PasswordDefaults::POSTGRES, |settings| {
        let dialect = Postgres {
            clone_acts_as_original: settings.clone_acts_as_original,
        };
        let tls = TrustAnchors::new(settings.extra_ca_certs.as_deref(), true)?;
        let connector = Connector::new(tls, dialect.default_port(), dialect.default_dbname())
            .with_plaintext_fallback(settings.allow_plaintext_fallback);
        let rds = Arc::new(SdkRds::new(settings.rds_endpoint.clone()));
        Ok(
            Strategy::new(settings.strategy, PgEngine::new(dialect, connector))?
                .with_rds(rds, settings.verify_rds_identifiers),
        )
    })
}
