//! What alternating users ask the RDS API, behind a small object-safe trait ([`RdsLookup`]):
//! completing an RDS-managed master secret (which holds only `username` and `password`) from
//! its `aws:rds:primaryDB*Arn` tag, allowing a child on a read replica or an Aurora reader of
//! the superuser's database, and checking `host` against `dbInstanceIdentifier` /
//! `dbClusterIdentifier`. Every host check compares the whole normalised host name with an
//! endpoint address the RDS API returned; a first label only picks which identifier to ask
//! about. The SDK implementation is `SdkRds` (feature `rds`).

use std::future::Future;
use std::pin::Pin;

use super::hosts::normalize_host;
use crate::error::{Result, RotationError, ServiceApi};

/// The RDS API as errors name it: a failed call is an `RdsApiError`.
pub const RDS_API: ServiceApi = ServiceApi {
    name: "RDS",
    error_type: "RdsApiError",
    hint: "Check the function's rds:Describe* permissions and its route to the RDS API (AWS_ENDPOINT_URL_RDS)",
};

/// A boxed future, so [`RdsLookup`] can be a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What DescribeDBInstances says about one instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbInstance {
    /// `DBInstanceIdentifier`.
    pub id: String,
    /// `Endpoint.Address`.
    pub address: Option<String>,
    /// `Endpoint.Port`.
    pub port: Option<u16>,
    /// `Engine`, e.g. `postgres`, `aurora-postgresql`.
    pub engine: Option<String>,
    /// `ReadReplicaSourceDBInstanceIdentifier` (an identifier or an ARN).
    pub replica_source: Option<String>,
    /// `DBClusterIdentifier`, for a cluster member.
    pub cluster_id: Option<String>,
}

/// What DescribeDBClusters (and DescribeDBClusterEndpoints) say about one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbCluster {
    /// `DBClusterIdentifier`.
    pub id: String,
    /// `Endpoint` (the writer).
    pub endpoint: Option<String>,
    /// `ReaderEndpoint`.
    pub reader_endpoint: Option<String>,
    /// `Port`.
    pub port: Option<u16>,
    /// `Engine`.
    pub engine: Option<String>,
    /// `DBClusterMembers`: (instance identifier, is the writer).
    pub members: Vec<(String, bool)>,
}

/// The RDS lookups alternating users make. `Ok(None)`: no such instance or cluster.
pub trait RdsLookup: Send + Sync {
    /// DescribeDBInstances for one identifier or ARN.
    fn instance<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DbInstance>>>;
    /// DescribeDBClusters for one identifier or ARN.
    fn cluster<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DbCluster>>>;
    /// DescribeDBClusterEndpoints: the custom endpoints of a cluster (asked only when no other
    /// endpoint matched).
    fn custom_endpoints<'a>(&'a self, cluster_id: &'a str) -> BoxFuture<'a, Result<Vec<String>>>;
}

/// The tag RDS puts on a managed master secret of an instance.
pub const INSTANCE_TAG: &str = "aws:rds:primaryDBInstanceArn";
/// The tag RDS puts on a managed master secret of a cluster (Aurora or Multi-AZ).
pub const CLUSTER_TAG: &str = "aws:rds:primaryDBClusterArn";

/// The database a managed master secret belongs to, from its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedBy {
    /// An instance ARN.
    Instance(String),
    /// A cluster ARN.
    Cluster(String),
}

/// Reads the `aws:rds:primaryDB*Arn` tag (key compared case-insensitively, as RDS's own
/// tooling does). None when neither is there.
pub fn managed_by(tags: &[(String, String)]) -> Option<ManagedBy> {
    let find = |key: &str| {
        tags.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    find(INSTANCE_TAG)
        .map(ManagedBy::Instance)
        .or_else(|| find(CLUSTER_TAG).map(ManagedBy::Cluster))
}

/// What RDS said about the database a host belongs to: an instance (the host is its endpoint
/// address) or a cluster (Aurora or Multi-AZ; the host is its writer endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdsDatabase {
    /// A DB instance.
    Instance(DbInstance),
    /// A DB cluster.
    Cluster(DbCluster),
}

/// Where a managed master secret's database listens, as the RDS API answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedEndpoint {
    /// The instance's endpoint address, or the cluster's writer endpoint.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Its engine.
    pub engine: String,
    /// What the RDS API said about it, so the replica and reader check need not ask again.
    pub database: RdsDatabase,
}

/// Where a managed master secret's database listens, from the RDS API.
pub async fn managed_endpoint(rds: &dyn RdsLookup, managed: &ManagedBy) -> Result<ManagedEndpoint> {
    let missing = |what: &str, arn: &str| {
        RotationError::malformed(
            super::MASTER,
            format!("the RDS API reports no {what} for {arn}, named by the master secret's tag"),
        )
    };
    match managed {
        ManagedBy::Instance(arn) => {
            let i = rds
                .instance(arn)
                .await?
                .ok_or_else(|| missing("DB instance", arn))?;
            match (i.address.clone(), i.port, i.engine.clone()) {
                (Some(host), Some(port), Some(engine)) => Ok(ManagedEndpoint {
                    host,
                    port,
                    engine,
                    database: RdsDatabase::Instance(i),
                }),
                _ => Err(missing(
                    "endpoint (is the instance still being created?)",
                    arn,
                )),
            }
        }
        ManagedBy::Cluster(arn) => {
            let c = rds
                .cluster(arn)
                .await?
                .ok_or_else(|| missing("DB cluster", arn))?;
            match (c.endpoint.clone(), c.port, c.engine.clone()) {
                (Some(host), Some(port), Some(engine)) => Ok(ManagedEndpoint {
                    host,
                    port,
                    engine,
                    database: RdsDatabase::Cluster(c),
                }),
                _ => Err(missing("writer endpoint", arn)),
            }
        }
    }
}

/// The instance or cluster identifier RDS puts first in an endpoint name.
pub fn first_label(host: &str) -> String {
    normalize_host(host)
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The first label of `host` when it can be an RDS identifier (a letter, then letters, digits
/// and hyphens, at most 63), else None: RDS puts the identifier first in every endpoint it
/// makes, so a host whose first label cannot be one (an IP address, say) is no RDS endpoint,
/// and asking the API about it would only cost a call and an `InvalidParameterValue`.
fn identifier_label(host: &str) -> Option<String> {
    let label = first_label(host);
    let mut chars = label.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && label.len() <= 63;
    valid.then_some(label)
}

/// The second label of `host` (normalised), e.g. `cluster-ro-abc` in a reader endpoint.
fn second_label(host: &str) -> String {
    normalize_host(host)
        .split('.')
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// True when the address RDS returned is `host` (both normalised). This whole-name comparison
/// is the check; a first label only ever picks which identifier to ask about.
fn is_address(address: Option<&str>, host: &str) -> bool {
    address.is_some_and(|a| normalize_host(a) == normalize_host(host))
}

/// The identifier at the end of an ARN (`...:db:NAME` / `...:cluster:NAME`), or the value itself.
fn last_segment(id: &str) -> &str {
    id.rsplit(':').next().unwrap_or(id)
}

/// The instance or cluster whose endpoint `host` is, per the RDS API; None when `host` is no
/// endpoint RDS returns. A cluster writer endpoint (`NAME.cluster-...`) is looked up as
/// cluster NAME, anything else as instance NAME (one call); the address RDS answers must be
/// `host` itself, so `NAME.anything.example` is not NAME.
async fn database_at(rds: &dyn RdsLookup, host: &str) -> Result<Option<RdsDatabase>> {
    let Some(id) = identifier_label(host) else {
        return Ok(None);
    };
    if second_label(host).starts_with("cluster-") {
        let cluster = rds.cluster(&id).await?;
        return Ok(cluster
            .filter(|c| is_address(c.endpoint.as_deref(), host))
            .map(RdsDatabase::Cluster));
    }
    let instance = rds.instance(&id).await?;
    Ok(instance
        .filter(|i| is_address(i.address.as_deref(), host))
        .map(RdsDatabase::Instance))
}

/// True when `host` is an endpoint of `cluster`: its writer or reader endpoint, the endpoint
/// address of a member instance (the member is picked by the host's first label, then its
/// address must be `host`: one call), or a custom endpoint (asked only for a host shaped like
/// one, `NAME.cluster-custom-...`, so a host that matches nothing costs no further call).
async fn is_cluster_endpoint(rds: &dyn RdsLookup, cluster: &DbCluster, host: &str) -> Result<bool> {
    if is_address(cluster.endpoint.as_deref(), host)
        || is_address(cluster.reader_endpoint.as_deref(), host)
    {
        return Ok(true);
    }
    if let Some(label) = identifier_label(host) {
        let member = cluster
            .members
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(&label));
        if let Some((id, _)) = member {
            let instance = rds.instance(id).await?;
            if is_address(instance.and_then(|i| i.address).as_deref(), host) {
                return Ok(true);
            }
        }
    }
    if !second_label(host).starts_with("cluster-custom-") {
        return Ok(false);
    }
    let custom = rds.custom_endpoints(&cluster.id).await?;
    Ok(custom.iter().any(|e| is_address(Some(e), host)))
}

/// True when `child_host` may stand for the superuser's database at `master_host`: it is the
/// endpoint of a read replica of the superuser's instance, or an endpoint of the superuser's
/// cluster (writer, reader, custom, or a member instance's), as the official functions allow.
/// Every comparison is of whole host names with the addresses the RDS API returns (the
/// official functions compare first labels, so `REPLICA.attacker.example` would pass):
/// first the superuser's host must be the endpoint of the instance or cluster it is taken for,
/// then the child's must be one of the endpoints above. `master` is what the RDS API already
/// said about the superuser's database when its secret was completed from the API (its host
/// is then RDS's own answer); when None, the database is found from `master_host`.
pub async fn is_replica_or_reader(
    rds: &dyn RdsLookup,
    child_host: &str,
    master_host: &str,
    master: Option<&RdsDatabase>,
) -> Result<bool> {
    let found;
    let master = match master {
        Some(known) => known,
        None => match database_at(rds, master_host).await? {
            Some(database) => {
                found = database;
                &found
            }
            None => return Ok(false),
        },
    };
    match master {
        RdsDatabase::Cluster(cluster) => is_cluster_endpoint(rds, cluster, child_host).await,
        // An instance in a cluster (Aurora, Multi-AZ): the cluster's endpoints.
        RdsDatabase::Instance(DbInstance {
            cluster_id: Some(cluster_id),
            ..
        }) => match rds.cluster(cluster_id).await? {
            Some(cluster) => is_cluster_endpoint(rds, &cluster, child_host).await,
            None => Ok(false),
        },
        RdsDatabase::Instance(source) => {
            let Some(id) = identifier_label(child_host) else {
                return Ok(false);
            };
            let Some(replica) = rds.instance(&id).await? else {
                return Ok(false);
            };
            Ok(is_address(replica.address.as_deref(), child_host)
                && replica
                    .replica_source
                    .as_deref()
                    .is_some_and(|s| last_segment(s).eq_ignore_ascii_case(&source.id)))
        }
    }
}

/// Checks that `host` is an endpoint of the instance `dbInstanceIdentifier` or of the cluster
/// `dbClusterIdentifier` named in the secret (the official functions write these keys but never
/// check them). A mismatch is a [`RotationError::ConfusedDeputy`].
pub async fn verify_identifiers(
    rds: &dyn RdsLookup,
    host: &str,
    instance_id: Option<&str>,
    cluster_id: Option<&str>,
) -> Result<()> {
    let host = normalize_host(host);
    if let Some(id) = instance_id {
        let instance = rds.instance(id).await?;
        let address = instance.as_ref().and_then(|i| i.address.as_deref());
        if !is_address(address, &host) {
            return Err(RotationError::ConfusedDeputy(format!(
                "host {host} is not the endpoint of DB instance {id} (dbInstanceIdentifier), which is {}",
                address.unwrap_or("unknown to the RDS API")
            )));
        }
    }
    if let Some(id) = cluster_id {
        let cluster = rds.cluster(id).await?;
        let found = match &cluster {
            Some(c) => is_cluster_endpoint(rds, c, &host).await?,
            None => false,
        };
        if !found {
            return Err(RotationError::ConfusedDeputy(format!(
                "host {host} is not an endpoint of DB cluster {id} (dbClusterIdentifier){}",
                if cluster.is_none() {
                    ", which the RDS API does not know"
                } else {
                    ""
                }
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
