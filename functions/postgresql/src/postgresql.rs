//! The `postgresql` binary's function: PostgreSQL's dialect over the PostgreSQL-wire engine,
//! with the RDS API for alternating users (feature `rds`).

use std::sync::Arc;

use rotation_core::database::{ConnectPolicy, RdsLookup, Strategy};
use rotation_core::{Result, Settings};

use crate::{PgEngine, Postgres};

/// The rotation the `postgresql` function serves under `settings`: single user or alternating
/// users, with the RDS API for alternating users (feature `rds`).
#[cfg(feature = "rds")]
pub fn build(settings: &Settings) -> Result<Strategy<PgEngine<Postgres>>> {
    let rds = Arc::new(rotation_core::database::SdkRds::new(
        settings.rds_endpoint.clone(),
    ));
    build_with(settings, ConnectPolicy::from_settings(settings)?, Some(rds))
}

/// The `postgresql` function with the connect policy and RDS API given (tests redirect hosts
/// and use an emulator); `rds: None` rotates without the RDS API.
pub fn build_with(
    settings: &Settings,
    policy: ConnectPolicy,
    rds: Option<Arc<dyn RdsLookup>>,
) -> Result<Strategy<PgEngine<Postgres>>> {
    let dialect = Postgres {
        clone_acts_as_original: settings.clone_acts_as_original,
    };
    let strategy = Strategy::from_settings(settings, PgEngine::new(dialect, policy))?;
    Ok(match rds {
        Some(rds) => strategy.with_rds(rds, settings.verify_rds_identifiers),
        None => strategy,
    })
}
