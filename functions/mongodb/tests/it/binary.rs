//! The real `mongodb` binary (its `main` and the shared `serve`), run as Lambda runs it: a
//! child process polling a loopback Lambda Runtime API, moto as Secrets Manager and RDS through
//! `AWS_ENDPOINT_URL`, proxy variables on a dead loopback port, the stand-in (DocumentDB
//! personality) as the server, trusted only through `EXTRA_CA_CERTS`. Both strategies rotate,
//! and a `dbClusterIdentifier` whose cluster does not have the secret's host as an endpoint is
//! refused before anything changes (moto models no `docdb` cluster, so the cluster is an
//! Aurora one: the check compares endpoints, not engines).

use std::path::Path;
use std::time::Duration;

use crate::testbed::Bed;
use rotation_core::labels::{AWSCURRENT, AWSPENDING};
use rotation_core::Step;
use rotation_testkit::mongo::Personality;
use rotation_testkit::{
    deployed_environment, event, rotate_with_binary, sandbox_var, unique, FunctionProcess, Moto,
};
use serde_json::json;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mongodb"))
}

#[tokio::test]
async fn the_mongodb_binary_rotates_both_strategies() {
    let ca = sandbox_var("SANDBOX_TLS_CA");
    for strategy in ["single", "alternating"] {
        let bed = Bed::new(Personality::DocumentDb40, strategy).await;
        let (user, arn) = rotation_testkit::ProvingBed::fresh_pair(&bed, "binary").await;
        rotate_with_binary(binary(), strategy, &ca, &bed.driver, &arn).await;
        assert!(bed.stage_holds(&arn, AWSCURRENT).await, "{strategy}");
        if strategy == "single" {
            assert_eq!(bed.current(&arn).await.0, user);
            assert!(!bed.server.password_is(bed.db, &user, "u-Pa55word"));
        } else {
            assert_eq!(bed.current(&arn).await.0, format!("{user}_clone"));
            assert!(bed.server.password_is(bed.db, &user, "Pair-Pa55word-1"));
        }
    }
}

#[tokio::test]
async fn a_cluster_identifier_the_host_is_not_an_endpoint_of_is_refused() {
    let ca = sandbox_var("SANDBOX_TLS_CA");
    let moto = Moto::from_env();
    let cluster = format!("docdbbin-{}", unique());
    let out = moto
        .rds_client()
        .await
        .create_db_cluster()
        .db_cluster_identifier(&cluster)
        .engine("aurora-postgresql")
        .master_username("admin1")
        .master_user_password("Cluster-Pa55word-1")
        .send()
        .await
        .expect("CreateDBCluster");
    let endpoint = out.db_cluster().and_then(|c| c.endpoint()).unwrap();
    assert_ne!(endpoint, "127.0.0.1");
    let bed = Bed::new(Personality::DocumentDb40, "alternating").await;
    let (user, arn) = bed
        .user(
            "cluster",
            "Initial-Pa55word-3",
            &["readWrite"],
            json!({"masterarn": bed.master_secret().await, "dbClusterIdentifier": cluster}),
        )
        .await;
    let token = bed.driver.start(&arn).await.expect("RotateSecret");
    let env = deployed_environment(moto.endpoint(), &ca, &[]);
    let mut function = FunctionProcess::start(binary(), &env)
        .await
        .expect("the binary starts");
    let wait = Duration::from_secs(30);
    let created = function
        .invoke(event(&arn, &token, Step::Create), wait)
        .await;
    assert!(created.error().is_none(), "createSecret: {created:?}");
    let set = function.invoke(event(&arn, &token, Step::Set), wait).await;
    let error = set.error().unwrap_or_else(|| panic!("setSecret: {set:?}"));
    assert!(
        error.starts_with("ConfusedDeputy: ") && error.contains(&cluster),
        "{error}"
    );
    let output = function.stop().await;
    assert!(!output.contains("Initial-Pa55word-3"), "{output}");
    // Nothing changed: no clone, the user keeps its password, AWSPENDING is only pending.
    assert!(bed
        .server
        .roles_of(bed.db, &format!("{user}_clone"))
        .is_none());
    assert!(bed.server.password_is(bed.db, &user, "Initial-Pa55word-3"));
    let (_, pending) = bed.creds(&arn, AWSPENDING).await;
    assert!(!bed.server.password_is(bed.db, &user, &pending));
}
