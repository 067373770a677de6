//! Redshift alternating users whose superuser secret is managed by Redshift (it holds only
//! `username` and `password`, and a tag names the cluster or the Serverless namespace): the
//! function completes it from the Redshift APIs with the real SDK clients (provisioned clusters
//! on moto; Serverless on a loopback stand-in, `serverless_api`, as moto has none) and holds
//! the endpoint found to the same host check as any superuser secret. Cluster endpoints are
//! mapped to the sandbox server by the connector's test seam.

use std::sync::Arc;

use crate::serverless_api::ServerlessApi;
use crate::testbed::{Bed, Options};
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_postgresql::engines::REDSHIFT;
use rotation_postgresql::redshift::Redshift;
use rotation_postgresql::{
    RedshiftLookup, SdkRedshift, REDSHIFT_CLUSTER_TAG, REDSHIFT_SERVERLESS_TAG,
};
use rotation_testkit::{unique, Moto, MOTO_ACCOUNT, REGION};
use serde_json::json;

/// A cluster on moto; returns (endpoint address, port, cluster ARN).
async fn cluster(id: &str) -> (String, u16, String) {
    let config = Moto::from_env().sdk_config().await;
    let out = aws_sdk_redshift::Client::new(&config)
        .create_cluster()
        .cluster_identifier(id)
        .node_type("dc2.large")
        .cluster_type("single-node")
        .master_username("awsuser")
        .master_user_password("Unused-Pa55")
        .send()
        .await
        .expect("CreateCluster on moto");
    let endpoint = out
        .cluster()
        .and_then(|c| c.endpoint())
        .expect("moto gives the cluster an endpoint");
    (
        endpoint.address().expect("an address").to_string(),
        u16::try_from(endpoint.port().expect("a port")).expect("a port number"),
        format!("arn:aws:redshift:{REGION}:{MOTO_ACCOUNT}:cluster:{id}"),
    )
}

/// An alternating-users Redshift bed whose function has `api`, sending `hosts` to the sandbox.
async fn bed(hosts: &[&str], api: SdkRedshift) -> Bed<Redshift> {
    let options = Options {
        sandbox_hosts: hosts.iter().map(|h| h.to_string()).collect(),
        redshift_api: Some(Arc::new(api) as Arc<dyn RedshiftLookup>),
        ..Options::default()
    };
    Bed::with_options(Redshift, "alternating", REDSHIFT.password_defaults, options).await
}

fn api(serverless: Option<&ServerlessApi>) -> SdkRedshift {
    SdkRedshift::with_endpoints(
        Some(Moto::from_env().endpoint().to_string()),
        Some(
            serverless
                .map(|s| s.endpoint.clone())
                .unwrap_or_else(|| "http://127.0.0.1:9".into()),
        ),
    )
}

/// A sandbox superuser and a Redshift-managed secret for it (username and password only) with
/// `tag`; returns the secret's ARN.
async fn managed_admin(bed: &Bed<Redshift>, tag: (&str, &str)) -> String {
    let name = format!("rsadmin_{}", unique());
    bed.pg
        .session("dev")
        .await
        .batch_execute(&format!(
            "CREATE ROLE \"{name}\" LOGIN SUPERUSER PASSWORD 'Admin-Pa55'"
        ))
        .await
        .expect("the admin role");
    bed.driver
        .client()
        .create_secret()
        .name(format!("redshift!{}-admin", unique()))
        .secret_string(json!({"username": name, "password": "Admin-Pa55"}).to_string())
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(tag.0)
                .value(tag.1)
                .build(),
        )
        .send()
        .await
        .expect("CreateSecret with the Redshift tag")
        .arn()
        .expect("an ARN")
        .to_string()
}

/// A child user on `host:port` whose superuser secret is `masterarn`; returns (user, ARN).
async fn child(bed: &Bed<Redshift>, host: &str, port: u16, masterarn: &str) -> (String, String) {
    let user = format!("rschild_{}", unique());
    bed.pg
        .create_login("dev", &user, "Child-Pa55", true, &[])
        .await;
    let mut secret: serde_json::Value =
        serde_json::from_str(&bed.secret_json(&user, "Child-Pa55", json!({}))).unwrap();
    secret["host"] = json!(host);
    secret["port"] = json!(port);
    secret["masterarn"] = json!(masterarn);
    (user, bed.secret(&secret.to_string()).await)
}

async fn rotates_twice(bed: &Bed<Redshift>, arn: &str) {
    for round in 1..=2 {
        let run = bed.rotate(arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        for stage in [AWSCURRENT, AWSPREVIOUS] {
            let (u, pw) = bed.creds(arn, stage).await;
            bed.login(&u, &pw, false)
                .await
                .unwrap_or_else(|e| panic!("round {round} {stage} {u}: {e}"));
        }
    }
}

#[tokio::test]
async fn a_cluster_managed_admin_secret_is_completed_from_describe_clusters() {
    let id = format!("rs-{}", unique());
    let (host, port, cluster_arn) = cluster(&id).await;
    let bed = bed(&[&host], api(None)).await;
    let admin = managed_admin(&bed, (REDSHIFT_CLUSTER_TAG, &cluster_arn)).await;
    let (_, arn) = child(&bed, &host, port, &admin).await;
    rotates_twice(&bed, &arn).await;
}

#[tokio::test]
async fn a_serverless_managed_admin_secret_is_completed_from_every_page_of_the_lists() {
    let tag = unique();
    let host = format!("wg-{tag}.{MOTO_ACCOUNT}.{REGION}.redshift-serverless.amazonaws.com");
    let namespace_arn =
        format!("arn:aws:redshift-serverless:{REGION}:{MOTO_ACCOUNT}:namespace/{tag}");
    // The namespace and its workgroup are not on the first page of either list.
    let serverless = ServerlessApi::start(
        vec![
            (
                "arn:aws:redshift-serverless:x:1:namespace/other".into(),
                "other".into(),
            ),
            (namespace_arn.clone(), format!("ns-{tag}")),
        ],
        vec![
            (
                "wg-other".into(),
                "other".into(),
                "wg-other.example".into(),
                5439,
            ),
            (format!("wg-{tag}"), format!("ns-{tag}"), host.clone(), 5439),
        ],
    )
    .await;
    let bed = bed(&[&host], api(Some(&serverless))).await;
    let admin = managed_admin(&bed, (REDSHIFT_SERVERLESS_TAG, &namespace_arn)).await;
    let (_, arn) = child(&bed, &host, 5439, &admin).await;
    rotates_twice(&bed, &arn).await;
    assert!(
        serverless.calls() >= 4,
        "both lists were read past their first page"
    );
}

#[tokio::test]
async fn another_cluster_a_missing_cluster_and_api_errors_change_nothing() {
    let (host, port, _) = cluster(&format!("rs-{}", unique())).await;
    let (other_host, _, other_arn) = cluster(&format!("rs-{}", unique())).await;
    let serverless = ServerlessApi::start(Vec::new(), Vec::new()).await;
    let bed = bed(&[&host, &other_host], api(Some(&serverless))).await;

    // The admin secret belongs to another cluster: the host check refuses it.
    let admin = managed_admin(&bed, (REDSHIFT_CLUSTER_TAG, &other_arn)).await;
    let (user, arn) = child(&bed, &host, port, &admin).await;
    let err = bed.failure_of(&arn).await;
    assert!(err.starts_with("ConfusedDeputy: "), "{err}");
    assert!(!bed.clone_exists(&user).await);

    // The tag names a cluster Redshift does not know.
    let missing = format!(
        "arn:aws:redshift:{REGION}:{MOTO_ACCOUNT}:cluster:gone-{}",
        unique()
    );
    let admin = managed_admin(&bed, (REDSHIFT_CLUSTER_TAG, &missing)).await;
    let (user, arn) = child(&bed, &host, port, &admin).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("MalformedSecret: ") && err.contains("no cluster"),
        "{err}"
    );
    assert!(!bed.clone_exists(&user).await);

    // No Redshift tag: the message names the tags this function reads.
    let bare = bed
        .secret(&json!({"username": "x", "password": "y"}).to_string())
        .await;
    let (user, arn) = child(&bed, &host, port, &bare).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("MalformedSecret: ") && err.contains(REDSHIFT_SERVERLESS_TAG),
        "{err}"
    );
    assert!(!bed.clone_exists(&user).await);

    // Redshift Serverless refuses the call.
    serverless.deny();
    let namespace = format!("arn:aws:redshift-serverless:{REGION}:{MOTO_ACCOUNT}:namespace/n");
    let admin = managed_admin(&bed, (REDSHIFT_SERVERLESS_TAG, &namespace)).await;
    let (user, arn) = child(&bed, &host, port, &admin).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("RedshiftApiError: ") && err.contains("AccessDeniedException"),
        "{err}"
    );
    assert!(!bed.clone_exists(&user).await);
}
