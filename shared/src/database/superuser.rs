//! Resolving the superuser secret of alternating users: the `masterarn` secret, read as
//! AWSCURRENT, completed from the RDS API when it is an RDS-managed master secret, or through
//! the adapter's [`ManagedSecretLookup`] when another service manages it (both hold only
//! `username` and `password`), checked to be for the child's server (or, through the RDS API,
//! a server the child's is a replica or reader of, every host compared whole with the endpoint
//! addresses RDS returns), and connected to the child's database.

use super::login::{effective_port, proven_name, server_of};
use super::managed::ManagedSecretLookup;
use super::rds::{
    is_replica_or_reader, managed_by, managed_endpoint, verify_identifiers, RdsLookup, CLUSTER_TAG,
    INSTANCE_TAG, RDS_API,
};
use super::{Database, DatabaseSecret, Which};
use crate::error::{Result, RotationError};
use crate::labels::AWSCURRENT;
use crate::secret::JsonSecret;
use crate::settings::{arn_matches, MASTER_SECRET_ARNS};
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

/// Refuses a superuser secret (`resolved`: the full ARN Secrets Manager returned for
/// `masterarn`) that is the rotated secret itself (`rotated`, also a full ARN), or that is not
/// among the secrets this function was deployed to use (`allowed`: None allows any). Nothing
/// is read from the refused secret's value; the message names its ARN (not secret) and where
/// the list comes from.
pub(crate) fn check_superuser_arn(
    resolved: &str,
    rotated: &str,
    allowed: Option<&[String]>,
) -> Result<()> {
    if resolved == rotated {
        return Err(RotationError::ConfusedDeputy(
            "masterarn resolves to the rotated secret itself, not a superuser secret".into(),
        ));
    }
    match allowed {
        Some(list) if !list.iter().any(|pattern| arn_matches(pattern, resolved)) => {
            Err(RotationError::ConfusedDeputy(format!(
                "masterarn resolves to {resolved}, which is not a superuser secret this function was deployed to use ({MASTER_SECRET_ARNS}: the stack's masterSecretArn and additionalMasterSecretArns); nothing was done with it"
            )))
        }
        _ => Ok(()),
    }
}

/// What superuser-secret resolution may ask the AWS APIs.
#[derive(Clone, Copy)]
pub(crate) struct Lookups<'a> {
    /// The RDS API, when this function has it.
    pub rds: Option<&'a dyn RdsLookup>,
    /// Check `host` against `dbInstanceIdentifier` / `dbClusterIdentifier` first.
    pub verify_identifiers: bool,
    /// Another service's managed-secret lookup, when the adapter supplies one.
    pub managed: Option<&'a dyn ManagedSecretLookup>,
    /// The superuser secrets `masterarn` may resolve to (None: any).
    pub superusers: Option<&'a [String]>,
}

impl Lookups<'_> {
    /// The tags of managed secrets this function can complete, for messages.
    fn known_tags(&self) -> String {
        let mut tags = Vec::new();
        if self.rds.is_some() {
            tags.extend([INSTANCE_TAG, CLUSTER_TAG]);
        }
        if let Some(managed) = self.managed {
            tags.extend(managed.tags());
        }
        tags.join(" or ")
    }

    /// The services these lookups ask, for messages ("RDS", "RDS and" another); None without
    /// any.
    pub fn services(&self) -> Option<String> {
        let names: Vec<&str> = self
            .rds
            .map(|_| RDS_API.name)
            .into_iter()
            .chain(self.managed.map(|m| m.service()))
            .collect();
        (!names.is_empty()).then(|| names.join(" and "))
    }
}

/// The superuser secret for `current` (the child's AWSCURRENT), ready to connect.
/// `current_verified`: AWSCURRENT's login verified the server's certificate, so the name it
/// carries (`tlsServerName`, else `host`) is the child's server in every comparison (the RDS
/// identifiers, replicas and readers, a managed secret's endpoints, the superuser's server); without
/// TLS, `host`.
pub(crate) async fn superuser_secret<D: Database, S: SecretStore>(
    db: &D,
    ctx: &StepContext<'_, S>,
    current: &DatabaseSecret,
    current_verified: bool,
    options: Lookups<'_>,
) -> Result<DatabaseSecret> {
    let child = proven_name(current, current_verified);
    let which = Which::Superuser.label();
    let arn = masterarn(current, AWSCURRENT)?;
    if arn == ctx.arn {
        return Err(RotationError::ConfusedDeputy(
            "masterarn names the rotated secret itself, not a superuser secret".into(),
        ));
    }
    if options.superusers.is_some_and(|allowed| allowed.is_empty()) {
        return Err(RotationError::ConfusedDeputy(format!(
            "this function was deployed with no superuser secret it may use ({MASTER_SECRET_ARNS} is empty), so masterarn is refused: give the stack masterSecretArn"
        )));
    }
    if let (Some(rds), true) = (options.rds, options.verify_identifiers) {
        verify_identifiers(
            rds,
            &child,
            current.db_instance_identifier.as_deref(),
            current.db_cluster_identifier.as_deref(),
        )
        .await?;
    }
    let version = ctx.store.get_version(arn, AWSCURRENT, None).await?;
    // By the ARN Secrets Manager resolved masterarn to (a name or a partial ARN resolves to
    // the full one), before anything in the value is used.
    check_superuser_arn(&version.arn, ctx.arn, options.superusers)?;
    let value = version.value;
    let mut json = JsonSecret::parse(&value, which)?;
    // What the RDS API said about the superuser's database, when its host came from there.
    let mut known = None;
    if json.optional_str("host", which)?.is_none() {
        // A managed master or admin secret holds only username and password: where its
        // database listens is in its tag and the service's API.
        if options.rds.is_none() && options.managed.is_none() {
            return Err(RotationError::malformed(
                which,
                "the host key is missing from the secret JSON (this function has no API lookup for managed master secrets; use a superuser secret with host, port and engine)",
            ));
        }
        let tags = ctx.store.describe(arn).await?.tags;
        let unknown = || {
            RotationError::malformed(
                which,
                format!(
                    "the host key is missing from the secret JSON, and the secret has no {} tag to find it with",
                    options.known_tags()
                ),
            )
        };
        if let (Some(managed), Some(rds)) = (managed_by(&tags), options.rds) {
            let endpoint = managed_endpoint(rds, &managed).await?;
            json = json
                .with_str("host", &endpoint.host)
                .with_str("port", &endpoint.port.to_string())
                .with_str("engine", &endpoint.engine);
            known = Some(endpoint.database);
        } else if let Some(server) = match options.managed {
            Some(managed) => managed.server(&tags, &child).await?,
            None => None,
        } {
            json = json
                .with_str("host", &server.host)
                .with_str("port", &server.port.to_string())
                .with_str("engine", &server.engine);
        } else {
            return Err(unknown());
        }
    }
    let mut master = DatabaseSecret::parse(&json.to_secret_value(), which)?;
    master.expect_engine(db.engines(), which)?;
    // The superuser's login always verifies TLS unless its secret says "ssl": false (it never
    // falls back), so its certificate name is its server's.
    let superuser = proven_name(&master, master.ssl != Some(false));
    let same_port = effective_port(db, &master) == effective_port(db, current);
    if !(same_port && superuser == child) {
        let replica = match options.rds {
            Some(rds) if same_port => {
                is_replica_or_reader(rds, &child, &superuser, known.as_ref()).await?
            }
            _ => false,
        };
        if !replica {
            return Err(RotationError::ConfusedDeputy(format!(
                "the current server {} ({child}) is not the server of the master secret {} ({superuser}), nor a replica or reader of it",
                server_of(db, current),
                server_of(db, &master)
            )));
        }
    }
    master.dbname = current.dbname.clone();
    Ok(master)
}
