//! Amazon DocumentDB and MongoDB rotation (binary `mongodb`): the [`MongoEngine`] over the
//! official `mongodb` driver (3.2, the newest that reaches DocumentDB 4.0's wire version 7),
//! rustls only, logging in through the core's connect policy ([`MongoDriver`]), and the core's
//! strategies. The binary only calls [`build`].
#![deny(clippy::all)]
#![warn(missing_docs)]

mod access;
mod ca;
mod commands;
mod connect;
mod documentdb;
mod engine;
pub mod engines;
mod error;
mod needs;
mod privileges;
mod session;

use std::sync::Arc;

use rotation_core::database::{ConnectPolicy, RdsLookup, SdkRds, Strategy};
use rotation_core::{Result, Settings};

pub use ca::pem;
pub use connect::{MongoDriver, DRIVER_TIMEOUT};
pub use engine::MongoEngine;
pub use error::MongoError;
pub use session::MongoSession;

/// The function, as the binary builds it from `settings`: the strategy `ROTATION_STRATEGY`
/// names over the engine with the deployed connect policy (trust anchors: OS store, RDS CA
/// bundle, `EXTRA_CA_CERTS`), with the RDS API for alternating users (DocumentDB clusters
/// answer DescribeDBClusters).
pub fn build(settings: &Settings) -> Result<Strategy<MongoEngine>> {
    let rds = Arc::new(SdkRds::new(settings.rds_endpoint.clone())) as Arc<dyn RdsLookup>;
    build_with(settings, ConnectPolicy::from_settings(settings)?, Some(rds))
}

/// [`build`] with the given connect policy and RDS API (tests give the sandbox's trust
/// anchors and redirect hosts, as the SQL adapters' tests do).
pub fn build_with(
    settings: &Settings,
    policy: ConnectPolicy,
    rds: Option<Arc<dyn RdsLookup>>,
) -> Result<Strategy<MongoEngine>> {
    build_with_engine(settings, MongoEngine::new(policy), rds)
}

/// The function over `engine` and the RDS API.
pub fn build_with_engine(
    settings: &Settings,
    engine: MongoEngine,
    rds: Option<Arc<dyn RdsLookup>>,
) -> Result<Strategy<MongoEngine>> {
    let strategy = Strategy::from_settings(settings, engine)?;
    Ok(match rds {
        Some(rds) => strategy.with_rds(rds, settings.verify_rds_identifiers),
        None => strategy,
    })
}
