//! Unit tests of `rds.rs` (kept apart so the module stays small).
use super::*;
use crate::error::ApiErrorCode;

#[test]
fn an_rds_api_failure_keeps_its_error_type_and_message() {
    let err = RDS_API.error(
        "DescribeDBInstances",
        ApiErrorCode::from_code(Some("AccessDenied")),
        "not authorized".into(),
    );
    assert_eq!(err.error_type(), "RdsApiError");
    assert_eq!(
        err.to_string(),
        "RDS DescribeDBInstances failed with AccessDenied: not authorized. Check the function's rds:Describe* permissions and its route to the RDS API (AWS_ENDPOINT_URL_RDS)"
    );
}

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

    fn custom_endpoints<'a>(&'a self, cluster_id: &'a str) -> BoxFuture<'a, Result<Vec<String>>> {
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
    let check = |host: String, instance: Option<&'static str>, cluster: Option<&'static str>| {
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

/// Alternating users with the RDS lookup: a child on replica `rep` and a superuser secret at
/// its source `main`, on the fake engine and the in-memory store; `master_port` is the
/// superuser secret's port (the child's is 5432). Answers setSecret's result.
#[cfg(feature = "test-support")]
async fn set_secret_with_replica_superuser(master_port: u16) -> crate::Result<()> {
    use crate::database::{AlternatingUsers, FakeDatabase};
    use crate::{
        handle_invocation, MemoryStore, PasswordDefaults, PasswordPolicy, RotationEvent, Step,
    };
    let db = FakeDatabase::new()
        .with_user("app", "app-Pa55")
        .with_user("admin", "admin-Pa55");
    let store = MemoryStore::new();
    let secret = |user: &str, password: &str, host: String, port: u16| {
        serde_json::json!({
            "engine": FakeDatabase::ENGINE, "host": host, "port": port,
            "username": user, "password": password,
        })
    };
    let master = store.create_secret(
        "admin",
        &secret("admin", "admin-Pa55", format!("main.{DOMAIN}"), master_port).to_string(),
    );
    let mut child = secret("app", "app-Pa55", format!("rep.{DOMAIN}"), 5432);
    child["masterarn"] = serde_json::json!(master);
    store.create_secret("s", &child.to_string());
    let token = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee";
    store.start_rotation("s", token).unwrap();
    let strategy = AlternatingUsers::new(db).with_rds(std::sync::Arc::new(fake()), false);
    let policy = PasswordPolicy::from_lookup(PasswordDefaults::POSTGRES, |_| None).unwrap();
    for step in [Step::Create, Step::Set] {
        let event = RotationEvent {
            step,
            secret_id: MemoryStore::arn("s"),
            token: token.into(),
            rotation_token: None,
        };
        handle_invocation(&store, &strategy, &policy, &event.to_value()).await?;
    }
    Ok(())
}

#[cfg(feature = "test-support")]
#[tokio::test]
async fn a_superuser_of_the_replicas_source_is_allowed_only_on_the_same_port() {
    set_secret_with_replica_superuser(5432).await.unwrap();
    let err = set_secret_with_replica_superuser(5433).await.unwrap_err();
    assert_eq!(err.error_type(), "ConfusedDeputy", "{err}");
}
