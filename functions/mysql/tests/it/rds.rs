//! MariaDB alternating users with the RDS API (moto's RDS and Secrets Manager over HTTP, the
//! real SDK clients): an RDS-managed master secret (`{"username","password"}` only) is
//! completed from its tag and DescribeDBInstances, and `dbInstanceIdentifier` is checked. The
//! RDS endpoint name is sent to the sandbox server by the connector's test seam.

use crate::testbed::{Bed, Options};
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_mysql::Flavor;
use rotation_testkit::{unique, Moto};
use serde_json::{json, Value};

/// An instance with an RDS-managed master secret; returns (endpoint, secret ARN). moto has no
/// default version for mariadb (a KeyError without one).
async fn managed_instance(name: &str) -> (String, String) {
    Moto::from_env()
        .managed_instance(name, "mariadb", Some("10.11.6"))
        .await
}

#[tokio::test]
async fn a_managed_instance_secret_rotates_and_a_wrong_identifier_is_refused() {
    let name = format!("maria-{}", unique());
    let (endpoint, managed_arn) = managed_instance(&name).await;
    let options = Options {
        rds: Some(true),
        sandbox_hosts: vec![endpoint.clone()],
        ..Options::default()
    };
    let bed = Bed::with_options(Flavor::MARIADB, "alternating", options).await;
    // The managed secret names a sandbox superuser, as RDS's own value would name the master.
    let admin = format!("rdsadmin_{}", unique());
    bed.superuser_secret(&admin, "Admin-Pa55", json!({})).await;
    bed.driver
        .client()
        .put_secret_value()
        .secret_id(&managed_arn)
        .secret_string(json!({"username": admin, "password": "Admin-Pa55"}).to_string())
        .send()
        .await
        .expect("PutSecretValue on the managed secret");
    let user = format!("rdschild_{}", unique());
    bed.create_user(&user, "%", "Child-Pa55", "").await;
    let mut secret: Value =
        serde_json::from_str(&bed.secret_json(&user, "Child-Pa55", json!({}))).unwrap();
    secret["host"] = json!(endpoint);
    secret["port"] = json!(3306);
    secret["masterarn"] = json!(managed_arn);
    secret["dbInstanceIdentifier"] = json!(name);
    let arn = bed.secret(&secret.to_string()).await;
    for round in 1..=2 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        for stage in [AWSCURRENT, AWSPREVIOUS] {
            let (u, pw) = bed.creds(&arn, stage).await;
            bed.db
                .login(&u, &pw, true)
                .await
                .unwrap_or_else(|e| panic!("round {round} {stage} {u}: {e}"));
        }
    }
    // The same host claimed for another instance: refused before the superuser is used.
    let other = format!("maria-{}", unique());
    managed_instance(&other).await;
    let user = format!("rdschild_{}", unique());
    bed.create_user(&user, "%", "Child-Pa55", "").await;
    secret["username"] = json!(user);
    secret["password"] = json!("Child-Pa55");
    secret["dbInstanceIdentifier"] = json!(other);
    let arn = bed.secret(&secret.to_string()).await;
    let err = bed.failure_of(&arn).await;
    assert!(err.starts_with("ConfusedDeputy: "), "{err}");
    assert!(
        bed.db.hosts(&format!("{user}_clone")).await.is_empty(),
        "no clone made"
    );
}
