//! What the `mysql` and `mariadb` binaries run: the MySQL-wire engine for a flavor, with the
//! deployment's trust anchors, fallback setting and strategy, and the RDS API for alternating
//! users.

use std::sync::Arc;

use super::{Connector, Flavor, MyEngine, DEFAULT_PORT};
use crate::database::{SdkRds, Strategy, TrustAnchors};
use crate::error::Result;
use crate::settings::Settings;

/// The rotation a `mysql` or `mariadb` function serves under `settings`.
pub fn strategy(flavor: Flavor, settings: &Settings) -> Result<Strategy<MyEngine>> {
    let anchors = TrustAnchors::new(settings.extra_ca_certs.as_deref(), true)?;
    let connector = Connector::new(anchors, DEFAULT_PORT)
        .with_plaintext_fallback(settings.allow_plaintext_fallback);
    let rds = Arc::new(SdkRds::new(settings.rds_endpoint.clone()));
    Ok(
        Strategy::new(settings.strategy, MyEngine::new(flavor, connector))?
            .with_rds(rds, settings.verify_rds_identifiers),
    )
}
