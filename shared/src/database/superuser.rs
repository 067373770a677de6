//! Resolving the superuser secret of alternating users: the `masterarn` secret, read as
//! AWSCURRENT, checked to be for the child's server and connected to the child's database.
//! (The RDS lookups for managed master secrets and replicas will live here.)

use super::login::{same_server, server_of};
use super::{Database, DatabaseSecret, Which};
use crate::error::{Result, RotationError};
use crate::labels::AWSCURRENT;
use crate::secret::JsonSecret;
use crate::steps::StepContext;
use crate::store::SecretStore;

/// The `masterarn` key, required by alternating users.
pub(crate) fn masterarn<'a>(secret: &'a DatabaseSecret, which: &str) -> Result<&'a str> {
    secret.masterarn.as_deref().ok_or_else(|| {
        RotationError::malformed(
            which,
            "the masterarn key is missing: alternating users needs the ARN of the superuser secret (add it to the secret, or deploy the single-user rotation type)",
        )
    })
}

/// The superuser secret for `current` (the child's AWSCURRENT), ready to connect.
pub(crate) async fn superuser_secret<D: Database, S: SecretStore>(
    db: &D,
    ctx: &StepContext<'_, S>,
    current: &DatabaseSecret,
) -> Result<DatabaseSecret> {
    let which = Which::Superuser.label();
    let arn = masterarn(current, AWSCURRENT)?;
    if arn == ctx.arn {
        return Err(RotationError::ConfusedDeputy(
            "masterarn names the rotated secret itself, not a superuser secret".into(),
        ));
    }
    let value = ctx.store.get_value(arn, AWSCURRENT, None).await?;
    // An RDS-managed master secret holds only username and password: say so, rather than
    // only that host is missing.
    if JsonSecret::parse(&value, which)?
        .optional_str("host", which)?
        .is_none()
    {
        return Err(RotationError::malformed(
            which,
            "the host key is missing from the secret JSON (RDS-managed master secrets without host are not supported yet; use a superuser secret with host, port and engine)",
        ));
    }
    let mut master = DatabaseSecret::parse(&value, which)?;
    master.expect_engine(db.engines(), which)?;
    if !same_server(db, &master, current) {
        return Err(RotationError::ConfusedDeputy(format!(
            "the current server {} is not the server of the master secret {}",
            server_of(db, current),
            server_of(db, &master)
        )));
    }
    master.dbname = current.dbname.clone();
    Ok(master)
}
