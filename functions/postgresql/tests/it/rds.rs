//! Alternating users with the RDS API, against moto's RDS and Secrets Manager over HTTP with the
//! real SDK clients: RDS-managed master secrets (instance and cluster) are completed from their
//! tag and the RDS API; replica and Aurora reader hosts are allowed; an unrelated host, a host
//! that is not its `dbInstanceIdentifier`'s endpoint, a host (child's or superuser's) that only
//! starts with an RDS identifier, a missing tag and an RDS API error are refused with typed
//! errors and change nothing. RDS endpoint names are mapped to the sandbox
//! server by the connector's test seam (no system file is edited).

use crate::testbed::{Bed, Options};
use aws_sdk_rds::Client as Rds;
use rotation_core::labels::AWSPREVIOUS;
use rotation_core::Step;
use rotation_testkit::{unique, Moto};
use serde_json::{json, Value};

/// A lowercase RDS identifier.
fn id(prefix: &str) -> String {
    format!("{prefix}-{}", unique())
}

async fn rds() -> Rds {
    Moto::from_env().rds_client().await
}

/// An instance with an RDS-managed master secret; returns (endpoint, secret ARN).
async fn managed_instance(name: &str) -> (String, String) {
    Moto::from_env()
        .managed_instance(name, "postgres", None)
        .await
}

/// A bed whose connector sends `hosts` to the sandbox server, with the RDS API.
async fn bed(hosts: &[&str], verify: bool, rds_endpoint: Option<&str>) -> Bed {
    let options = Options {
        rds: Some(verify),
        rds_endpoint: rds_endpoint.map(str::to_string),
        sandbox_hosts: hosts.iter().map(|h| h.to_string()).collect(),
        ..Options::default()
    };
    Bed::with_options(
        rotation_postgresql::Postgres::default(),
        "alternating",
        rotation_core::PasswordDefaults::POSTGRES,
        options,
    )
    .await
}

/// Points the managed secret at a fresh sandbox superuser, as RDS's own value would be.
async fn give_superuser(bed: &Bed, managed_arn: &str) {
    let name = format!("rdsadmin_{}", unique());
    bed.superuser_secret(&name, "Admin-Pa55", json!({})).await;
    bed.driver
        .client()
        .put_secret_value()
        .secret_id(managed_arn)
        .secret_string(json!({"username": name, "password": "Admin-Pa55"}).to_string())
        .send()
        .await
        .expect("PutSecretValue on the managed secret");
}

/// A child user with a secret for `host` (port 5432, the RDS port) and `extra` keys.
async fn child(bed: &Bed, host: &str, masterarn: &str, extra: Value) -> (String, String) {
    let user = format!("rdschild_{}", unique());
    bed.pg
        .create_login("postgres", &user, "Child-Pa55", false, &[])
        .await;
    let mut secret: Value =
        serde_json::from_str(&bed.secret_json(&user, "Child-Pa55", extra)).unwrap();
    secret["host"] = json!(host);
    secret["port"] = json!(5432);
    secret["masterarn"] = json!(masterarn);
    (user, bed.secret(&secret.to_string()).await)
}

async fn rotates_twice(bed: &Bed, arn: &str) {
    for round in 1..=2 {
        let run = bed.rotate(arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        for stage in [rotation_core::labels::AWSCURRENT, AWSPREVIOUS] {
            let (u, pw) = bed.creds(arn, stage).await;
            bed.login(&u, &pw, false)
                .await
                .unwrap_or_else(|e| panic!("round {round} {stage} {u}: {e}"));
        }
    }
}

#[tokio::test]
async fn a_managed_instance_secret_and_a_replica_host_rotate() {
    let rds = rds().await;
    let main = id("rdsmain");
    let (host, managed) = managed_instance(&main).await;
    let replica = id("rdsrep");
    let replica_host = rds
        .create_db_instance_read_replica()
        .db_instance_identifier(&replica)
        .source_db_instance_identifier(&main)
        .send()
        .await
        .unwrap()
        .db_instance()
        .unwrap()
        .endpoint()
        .unwrap()
        .address()
        .unwrap()
        .to_string();
    let bed = bed(&[&host, &replica_host], true, None).await;
    give_superuser(&bed, &managed).await;
    // The child on the instance itself, with its identifier checked.
    let (_, arn) = child(&bed, &host, &managed, json!({"dbInstanceIdentifier": main})).await;
    rotates_twice(&bed, &arn).await;
    // The child on a read replica of the superuser's instance.
    let (_, arn) = child(&bed, &replica_host, &managed, json!({})).await;
    rotates_twice(&bed, &arn).await;
}

#[tokio::test]
async fn a_managed_cluster_secret_and_aurora_reader_hosts_rotate() {
    let rds = rds().await;
    let cluster = id("aur");
    let out = rds
        .create_db_cluster()
        .db_cluster_identifier(&cluster)
        .engine("aurora-postgresql")
        .master_username("admin1")
        .manage_master_user_password(true)
        .send()
        .await
        .expect("CreateDBCluster");
    let c = out.db_cluster().unwrap();
    let writer = c.endpoint().unwrap().to_string();
    let reader = c.reader_endpoint().unwrap().to_string();
    let managed = c
        .master_user_secret()
        .unwrap()
        .secret_arn()
        .unwrap()
        .to_string();
    let mut member_hosts = Vec::new();
    for n in 1..=2 {
        let member = format!("{cluster}-{n}");
        let i = rds
            .create_db_instance()
            .db_instance_identifier(&member)
            .engine("aurora-postgresql")
            .db_instance_class("db.r5.large")
            .db_cluster_identifier(&cluster)
            .send()
            .await
            .expect("CreateDBInstance in the cluster");
        member_hosts.push(
            i.db_instance()
                .unwrap()
                .endpoint()
                .unwrap()
                .address()
                .unwrap()
                .to_string(),
        );
    }
    let hosts = [writer.as_str(), reader.as_str(), &member_hosts[1]];
    let bed = bed(&hosts, true, None).await;
    give_superuser(&bed, &managed).await;
    for host in hosts {
        let (_, arn) = child(
            &bed,
            host,
            &managed,
            json!({"dbClusterIdentifier": cluster}),
        )
        .await;
        rotates_twice(&bed, &arn).await;
    }
}

#[tokio::test]
async fn unrelated_or_mismatched_hosts_a_missing_tag_and_api_errors_change_nothing() {
    let main = id("rdsmain");
    let other = id("rdsother");
    let (host, managed) = managed_instance(&main).await;
    let (other_host, _) = managed_instance(&other).await;
    let bed = bed(&[&host, &other_host], true, None).await;
    give_superuser(&bed, &managed).await;

    // A child on another instance (not a replica) is refused.
    let (user, arn) = child(&bed, &other_host, &managed, json!({})).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains("nor a replica or reader"),
        "{err}"
    );
    assert!(!bed.clone_exists(&user).await);

    // A host that is not its dbInstanceIdentifier's endpoint is refused...
    let extra = json!({"dbInstanceIdentifier": other});
    let (user, arn) = child(&bed, &host, &managed, extra.clone()).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains("dbInstanceIdentifier"),
        "{err}"
    );
    assert!(!bed.clone_exists(&user).await);
    // ...unless the check is turned off.
    let unchecked = bed_unchecked(&host, &other_host).await;
    let (_, arn) = child(&unchecked, &host, &managed, extra).await;
    rotates_twice(&unchecked, &arn).await;

    // A master secret without host and without the RDS tag.
    let bare = bed
        .secret(&json!({"username": "x", "password": "y"}).to_string())
        .await;
    let (user, arn) = child(&bed, &host, &bare, json!({})).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("MalformedSecret: ") && err.contains("aws:rds:primaryDBInstanceArn"),
        "{err}"
    );
    assert!(!bed.clone_exists(&user).await);

    // The RDS API does not answer.
    let dead = bed_with_dead_rds(&host).await;
    let (user, arn) = child(&dead, &host, &managed, json!({})).await;
    let err = dead.failure_of(&arn).await;
    assert!(err.starts_with("RdsApiError: "), "{err}");
    assert!(!dead.clone_exists(&user).await);
}

async fn bed_unchecked(host: &str, other_host: &str) -> Bed {
    bed(&[host, other_host], false, None).await
}

async fn bed_with_dead_rds(host: &str) -> Bed {
    bed(&[host], true, Some("http://127.0.0.1:9")).await
}

/// A read replica of `source` named `name`; returns its endpoint address.
async fn replica_of(source: &str, name: &str) -> String {
    rds()
        .await
        .create_db_instance_read_replica()
        .db_instance_identifier(name)
        .source_db_instance_identifier(source)
        .send()
        .await
        .expect("CreateDBInstanceReadReplica")
        .db_instance()
        .and_then(|i| i.endpoint())
        .and_then(|e| e.address())
        .expect("an endpoint")
        .to_string()
}

/// setSecret of a fresh rotation of `arn` must fail with `ConfusedDeputy` naming the replica
/// rule, moving no label and creating no clone of `user`, whose AWSCURRENT still logs in.
async fn refused_changing_nothing(bed: &Bed, arn: &str, user: &str) {
    let token = bed.start_and_create(arn).await;
    let err = bed.fails_changing_no_label(arn, &token, Step::Set).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains("nor a replica or reader"),
        "{err}"
    );
    assert!(!bed.clone_exists(user).await, "a clone was created");
    let (u, pw) = bed.current(arn).await;
    bed.login(&u, &pw, false)
        .await
        .expect("AWSCURRENT still logs in");
}

#[tokio::test]
async fn a_host_that_only_starts_with_an_rds_identifier_is_refused() {
    let main = id("rdsmain");
    let (host, managed) = managed_instance(&main).await;
    let replica = id("rdsrep");
    let replica_host = replica_of(&main, &replica).await;
    // The attacker's server, named after the real replica's identifier; the test seam sends it
    // to the sandbox so that the child's AWSCURRENT login works, as it would on their server.
    let attacker = format!("{replica}.attacker.example");
    let lookalike_master = format!("{main}.attacker.example");
    let bed = bed(
        &[&host, &replica_host, &attacker, &lookalike_master],
        true,
        None,
    )
    .await;
    give_superuser(&bed, &managed).await;

    // Child side: masterarn is the production managed master secret, host is not the replica.
    let (user, arn) = child(&bed, &attacker, &managed, json!({})).await;
    refused_changing_nothing(&bed, &arn, &user).await;

    // Superuser side: a master secret whose host only starts with the primary's identifier is
    // not that primary, so the real replica is no replica of it.
    let name = format!("rdsadmin_{}", unique());
    let master = bed
        .superuser_secret(
            &name,
            "Admin-Pa55",
            json!({"host": lookalike_master, "port": 5432}),
        )
        .await;
    let (user, arn) = child(&bed, &replica_host, &master, json!({})).await;
    refused_changing_nothing(&bed, &arn, &user).await;
}

/// A child whose `host` is an alias of the instance (a CNAME or Route 53 record) and whose
/// `tlsServerName` names the instance's endpoint: its verified login proves that name, so the
/// identifier check and the superuser's server compare the endpoint, not the alias, and it
/// rotates (it was refused: the alias is no RDS endpoint). Without `tlsServerName`, the same
/// alias is still refused.
#[tokio::test]
async fn an_alias_host_counts_as_the_endpoint_its_certificate_name_proves() {
    let main = id("rdsalias");
    let (endpoint, managed) = managed_instance(&main).await;
    let alias = format!("db-{}.example.com", unique());
    let bed = bed(&[&alias, &endpoint], true, None).await;
    give_superuser(&bed, &managed).await;
    let extra = json!({"tlsServerName": endpoint, "ssl": true, "dbInstanceIdentifier": main});
    let (_, arn) = child(&bed, &alias, &managed, extra).await;
    rotates_twice(&bed, &arn).await;
    // The alias alone proves nothing about which server it is.
    let (user, arn) = child(&bed, &alias, &managed, json!({"ssl": true})).await;
    let err = bed.failure_of(&arn).await;
    assert!(err.starts_with("ConfusedDeputy: "), "{err}");
    assert!(!bed.clone_exists(&user).await);
}
