//! What alternating users ask the RDS API, behind a small object-safe trait ([`RdsLookup`]):
//! completing an RDS-managed master secret (which holds only `username` and `password`) from
//! its `aws:rds:primaryDB*Arn` tag, allowing a child on a read replica or an Aurora reader of
//! the superuser's database, and checking `host` against `dbInstanceIdentifier` /
//! `dbClusterIdentifier`. The SDK implementation is `SdkRds` (feature `rds`).

use std::future::Future;
use std::pin::Pin;

use super::tls::normalize_host;
use crate::error::{Result, RotationError};

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

/// Where a managed master secret's database listens: (host, port, engine).
pub async fn managed_endpoint(
    rds: &dyn RdsLookup,
    managed: &ManagedBy,
) -> Result<(String, u16, String)> {
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
            match (i.address, i.port, i.engine) {
                (Some(h), Some(p), Some(e)) => Ok((h, p, e)),
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
            match (c.endpoint, c.port, c.engine) {
                (Some(h), Some(p), Some(e)) => Ok((h, p, e)),
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

/// The identifier at the end of an ARN (`...:db:NAME` / `...:cluster:NAME`), or the value itself.
fn last_segment(id: &str) -> &str {
    id.rsplit(':').next().unwrap_or(id)
}

/// True when `child_host` is a read replica of the superuser's instance, or a reader endpoint,
/// custom endpoint or reader instance of the superuser's Aurora cluster (as the official
/// functions allow). `master_engine` is the superuser secret's engine.
pub async fn is_replica_or_reader(
    rds: &dyn RdsLookup,
    child_host: &str,
    master_host: &str,
    master_engine: &str,
) -> Result<bool> {
    let child = normalize_host(child_host);
    let master_id = first_label(master_host);
    if master_engine.starts_with("aurora") {
        let second_label = normalize_host(master_host)
            .split('.')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let cluster_id = if second_label.starts_with("cluster") {
            Some(master_id)
        } else {
            rds.instance(&master_id).await?.and_then(|i| i.cluster_id)
        };
        let Some(cluster_id) = cluster_id else {
            return Ok(false);
        };
        let Some(cluster) = rds.cluster(&cluster_id).await? else {
            return Ok(false);
        };
        let reader_endpoint = cluster
            .reader_endpoint
            .as_deref()
            .is_some_and(|e| normalize_host(e) == child);
        let reader_member = cluster
            .members
            .iter()
            .any(|(id, writer)| !writer && id.eq_ignore_ascii_case(&first_label(&child)));
        if reader_endpoint || reader_member {
            return Ok(true);
        }
        let custom = rds.custom_endpoints(&cluster.id).await?;
        return Ok(custom.iter().any(|e| normalize_host(e) == child));
    }
    let Some(instance) = rds.instance(&first_label(&child)).await? else {
        return Ok(false);
    };
    Ok(instance
        .replica_source
        .as_deref()
        .is_some_and(|source| last_segment(source).eq_ignore_ascii_case(&master_id)))
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
        if address.map(normalize_host).as_deref() != Some(host.as_str()) {
            return Err(RotationError::ConfusedDeputy(format!(
                "host {host} is not the endpoint of DB instance {id} (dbInstanceIdentifier), which is {}",
                address.unwrap_or("unknown to the RDS API")
            )));
        }
    }
    if let Some(id) = cluster_id {
        let cluster = rds.cluster(id).await?;
        let mut found = false;
        if let Some(c) = &cluster {
            found = c
                .endpoint
                .iter()
                .chain(c.reader_endpoint.iter())
                .any(|e| normalize_host(e) == host);
            for (member, _) in &c.members {
                if found {
                    break;
                }
                let address = rds.instance(member).await?.and_then(|i| i.address);
                found = address.is_some_and(|a| normalize_host(&a) == host);
            }
            if !found {
                let custom = rds.custom_endpoints(&c.id).await?;
                found = custom.iter().any(|e| normalize_host(e) == host);
            }
        }
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
mod tests {
    use super::*;

    #[test]
    fn the_managed_tag_is_found_whatever_its_case() {
        let tags = |k: &str| vec![(k.to_string(), "arn:x".to_string())];
        assert_eq!(
            managed_by(&tags("aws:rds:primaryDBInstanceArn")),
            Some(ManagedBy::Instance("arn:x".into()))
        );
        assert_eq!(
            managed_by(&tags("AWS:RDS:PRIMARYDBCLUSTERARN")),
            Some(ManagedBy::Cluster("arn:x".into()))
        );
        assert_eq!(managed_by(&tags("owner")), None);
    }

    #[test]
    fn labels_and_arn_segments() {
        assert_eq!(
            first_label("Pg-Main.abc.us-east-1.rds.amazonaws.com."),
            "pg-main"
        );
        assert_eq!(
            last_segment("arn:aws:rds:us-east-1:1:db:pg-main"),
            "pg-main"
        );
        assert_eq!(last_segment("pg-main"), "pg-main");
    }
}
