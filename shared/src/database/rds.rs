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

    /// The RDS API as data, recording every call, for the host checks.
    #[derive(Default)]
    struct FakeRds {
        instances: Vec<DbInstance>,
        clusters: Vec<DbCluster>,
        /// (cluster identifier, custom endpoint).
        custom: Vec<(String, String)>,
        calls: std::sync::Mutex<Vec<String>>,
    }

    impl FakeRds {
        fn record(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }

        /// The calls made since the last time this was asked.
        fn take_calls(&self) -> Vec<String> {
            std::mem::take(&mut *self.calls.lock().unwrap())
        }
    }

    impl RdsLookup for FakeRds {
        fn instance<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DbInstance>>> {
            self.record(format!("instance {id}"));
            let found = self.instances.iter().find(|i| i.id == id).cloned();
            Box::pin(async move { Ok(found) })
        }

        fn cluster<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DbCluster>>> {
            self.record(format!("cluster {id}"));
            let found = self.clusters.iter().find(|c| c.id == id).cloned();
            Box::pin(async move { Ok(found) })
        }

        fn custom_endpoints<'a>(
            &'a self,
            cluster_id: &'a str,
        ) -> BoxFuture<'a, Result<Vec<String>>> {
            self.record(format!("custom {cluster_id}"));
            let found = self
                .custom
                .iter()
                .filter(|(c, _)| c == cluster_id)
                .map(|(_, e)| e.clone())
                .collect();
            Box::pin(async move { Ok(found) })
        }
    }

    const DOMAIN: &str = "abc123.us-east-1.rds.amazonaws.com";
    const CLUSTER_DOMAIN: &str = "cluster-xyz.us-east-1.rds.amazonaws.com";

    fn instance(id: &str, source: Option<&str>, cluster: Option<&str>) -> DbInstance {
        DbInstance {
            id: id.into(),
            address: Some(format!("{id}.{DOMAIN}")),
            port: Some(5432),
            engine: Some("postgres".into()),
            replica_source: source.map(str::to_string),
            cluster_id: cluster.map(str::to_string),
        }
    }

    /// Instance `main` with read replica `rep` and unrelated `other`; Aurora cluster `aur` with
    /// writer `aur-1`, reader `aur-2` and custom endpoint `reports`.
    fn fake() -> FakeRds {
        FakeRds {
            instances: vec![
                instance("main", None, None),
                instance("rep", Some("main"), None),
                instance("other", None, None),
                instance("aur-1", None, Some("aur")),
                instance("aur-2", None, Some("aur")),
            ],
            clusters: vec![DbCluster {
                id: "aur".into(),
                endpoint: Some(format!("aur.{CLUSTER_DOMAIN}")),
                reader_endpoint: Some("aur.cluster-ro-xyz.us-east-1.rds.amazonaws.com".into()),
                port: Some(5432),
                engine: Some("aurora-postgresql".into()),
                members: vec![("aur-1".into(), true), ("aur-2".into(), false)],
            }],
            custom: vec![(
                "aur".into(),
                "reports.cluster-custom-xyz.us-east-1.rds.amazonaws.com".into(),
            )],
            calls: Default::default(),
        }
    }

    async fn allowed(rds: &FakeRds, child: &str, master: &str) -> bool {
        is_replica_or_reader(rds, child, master, None)
            .await
            .expect("the fake answers")
    }

    #[tokio::test]
    async fn a_replica_is_allowed_only_at_the_address_rds_returns_for_it() {
        let rds = fake();
        let main = format!("main.{DOMAIN}");
        assert!(allowed(&rds, &format!("rep.{DOMAIN}"), &main).await);
        // The superuser's host is checked first, then the child's: two calls.
        assert_eq!(rds.take_calls(), ["instance main", "instance rep"]);
        // Case and a trailing dot do not matter, on either side.
        let upper = format!("REP.{}.", DOMAIN.to_uppercase());
        assert!(allowed(&rds, &upper, &format!("Main.{DOMAIN}.")).await);
        // The attacker's host named after the real replica is not the replica.
        assert!(!allowed(&rds, "rep.attacker.example", &main).await);
        assert!(!allowed(&rds, &format!("rep.{DOMAIN}.attacker.example"), &main).await);
        // An instance that is no replica of the superuser's.
        assert!(!allowed(&rds, &format!("other.{DOMAIN}"), &main).await);
        // A superuser host that only starts with the primary's identifier is not the primary.
        rds.take_calls();
        assert!(!allowed(&rds, &format!("rep.{DOMAIN}"), "main.attacker.example").await);
        assert_eq!(
            rds.take_calls(),
            ["instance main"],
            "the child is not looked up"
        );
        // A host whose first label cannot be an identifier costs no call.
        assert!(!allowed(&rds, "10.0.0.7", &main).await);
        assert!(!allowed(&rds, &format!("rep.{DOMAIN}"), "10.0.0.6").await);
        assert_eq!(rds.take_calls(), ["instance main"]);
    }

    #[tokio::test]
    async fn cluster_endpoints_are_allowed_only_at_the_addresses_rds_returns() {
        let rds = fake();
        let writer = format!("aur.{CLUSTER_DOMAIN}");
        for child in [
            "aur.cluster-ro-xyz.us-east-1.rds.amazonaws.com".to_string(),
            "AUR.cluster-ro-xyz.us-east-1.rds.amazonaws.com.".to_string(),
            format!("aur-2.{DOMAIN}"),
            format!("aur-1.{DOMAIN}"),
            "reports.cluster-custom-xyz.us-east-1.rds.amazonaws.com".to_string(),
        ] {
            assert!(allowed(&rds, &child, &writer).await, "{child}");
        }
        for child in [
            "aur-2.attacker.example",
            "aur.cluster-ro-xyz.attacker.example",
            "reports.cluster-custom-xyz.attacker.example",
            "other.cluster-custom-xyz.us-east-1.rds.amazonaws.com",
        ] {
            assert!(!allowed(&rds, child, &writer).await, "{child}");
        }
        // A member is looked up by its first label: one call, then its address must match.
        rds.take_calls();
        assert!(!allowed(&rds, "aur-2.attacker.example", &writer).await);
        assert_eq!(rds.take_calls(), ["cluster aur", "instance aur-2"]);
        // The reader endpoint needs no call beyond the cluster.
        assert!(
            allowed(
                &rds,
                "aur.cluster-ro-xyz.us-east-1.rds.amazonaws.com",
                &writer
            )
            .await
        );
        assert_eq!(rds.take_calls(), ["cluster aur"]);
        // The superuser on a member's instance endpoint: its cluster's endpoints.
        let member = format!("aur-1.{DOMAIN}");
        assert!(
            allowed(
                &rds,
                "aur.cluster-ro-xyz.us-east-1.rds.amazonaws.com",
                &member
            )
            .await
        );
        assert_eq!(rds.take_calls(), ["instance aur-1", "cluster aur"]);
        // A superuser host shaped like the writer endpoint, elsewhere.
        let fake_writer = "aur.cluster-xyz.attacker.example";
        assert!(
            !allowed(
                &rds,
                "aur.cluster-ro-xyz.us-east-1.rds.amazonaws.com",
                fake_writer
            )
            .await
        );
        // The reader endpoint is no writer: not a superuser host.
        let reader = "aur.cluster-ro-xyz.us-east-1.rds.amazonaws.com";
        assert!(!allowed(&rds, &format!("aur-2.{DOMAIN}"), reader).await);
    }

    #[tokio::test]
    async fn a_superuser_completed_from_the_rds_api_is_not_looked_up_again() {
        let rds = fake();
        let main = rds.instances[0].clone();
        let known = RdsDatabase::Instance(main.clone());
        let host = main.address.clone().unwrap();
        let replica = format!("rep.{DOMAIN}");
        let ok = is_replica_or_reader(&rds, &replica, &host, Some(&known));
        assert!(ok.await.unwrap());
        assert_eq!(rds.take_calls(), ["instance rep"]);
        let no = is_replica_or_reader(&rds, "rep.attacker.example", &host, Some(&known));
        assert!(!no.await.unwrap());
        let known = RdsDatabase::Cluster(rds.clusters[0].clone());
        let reader = "aur.cluster-ro-xyz.us-east-1.rds.amazonaws.com";
        let writer = format!("aur.{CLUSTER_DOMAIN}");
        let ok = is_replica_or_reader(&rds, reader, &writer, Some(&known));
        assert!(ok.await.unwrap());
        rds.take_calls();
        let ok = is_replica_or_reader(&rds, reader, &writer, Some(&known));
        assert!(ok.await.unwrap());
        assert!(rds.take_calls().is_empty());
    }

    #[tokio::test]
    async fn identifiers_are_checked_against_whole_hosts() {
        let rds = fake();
        let check =
            |host: String, instance: Option<&'static str>, cluster: Option<&'static str>| {
                let rds = &rds;
                async move { verify_identifiers(rds, &host, instance, cluster).await }
            };
        check(format!("REP.{DOMAIN}."), Some("rep"), None)
            .await
            .unwrap();
        let err = check("rep.attacker.example".into(), Some("rep"), None).await;
        assert_eq!(err.unwrap_err().error_type(), "ConfusedDeputy");
        rds.take_calls();
        check(format!("aur-2.{DOMAIN}"), None, Some("aur"))
            .await
            .unwrap();
        assert_eq!(rds.take_calls(), ["cluster aur", "instance aur-2"]);
        let err = check("aur-2.attacker.example".into(), None, Some("aur")).await;
        assert_eq!(err.unwrap_err().error_type(), "ConfusedDeputy");
        assert_eq!(rds.take_calls(), ["cluster aur", "instance aur-2"]);
        check(
            "reports.cluster-custom-xyz.us-east-1.rds.amazonaws.com".into(),
            None,
            Some("aur"),
        )
        .await
        .unwrap();
    }
}
