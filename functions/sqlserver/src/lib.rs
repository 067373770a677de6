//! Amazon RDS for SQL Server rotation (binary `sqlserver`): the [`TdsEngine`] over tiberius
//! (0.13, rustls, SQL Server authentication only), logging in through the core's connect
//! policy ([`TdsDriver`]) with the whole session in verified TLS, and the core's strategies.
//! Single user changes its own password with `OLD_PASSWORD`; alternating users copy the
//! current login (options, role memberships, permissions) to the other of the pair. The binary
//! only calls [`build`].
#![deny(clippy::all)]
#![warn(missing_docs)]

mod connect;
mod copy;
mod engine;
pub mod engines;
mod preflight;
mod principals;
mod session;
pub mod sql;

use std::sync::Arc;

use rotation_core::database::{ConnectPolicy, RdsLookup, SdkRds, Strategy};
use rotation_core::{Result, Settings};

pub use connect::{server_error, TdsClient, TdsDriver, ACCOUNT_STATE, AT_CAPACITY, LOGIN_FAILED};
pub use engine::TdsEngine;
pub use session::TdsSession;

/// The function, as the binary builds it from `settings`: the strategy `ROTATION_STRATEGY`
/// names over the engine with the deployed connect policy, with the RDS API for alternating
/// users (an RDS-managed master secret is completed from DescribeDBInstances).
pub fn build(settings: &Settings) -> Result<Strategy<TdsEngine>> {
    let rds = Arc::new(SdkRds::new(settings.rds_endpoint.clone())) as Arc<dyn RdsLookup>;
    build_with(settings, ConnectPolicy::from_settings(settings)?, Some(rds))
}

/// [`build`] with the given connect policy and RDS API (tests give the sandbox's trust anchors
/// and redirect hosts).
pub fn build_with(
    settings: &Settings,
    policy: ConnectPolicy,
    rds: Option<Arc<dyn RdsLookup>>,
) -> Result<Strategy<TdsEngine>> {
    let strategy = Strategy::from_settings(settings, TdsEngine::new(policy))?;
    Ok(match rds {
        Some(rds) => strategy.with_rds(rds, settings.verify_rds_identifiers),
        None => strategy,
    })
}
