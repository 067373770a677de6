//! The function against each stand-in personality, and the DocumentDB path every deployment
//! takes: secrets naming a `*.docdb.amazonaws.com` endpoint, connected to the stand-in through
//! the test seam (`ConnectPolicy::with_test_host`), so SCRAM-SHA-1 forcing, required TLS and the
//! certificate check run as they do on AWS.

use std::process::Command;

use crate::testbed::{Bed, DOCDB_HOST};
use rotation_core::labels::AWSCURRENT;
use rotation_core::PasswordPolicy;
use rotation_core::Step;
use rotation_mongodb::engines::MONGODB;
use rotation_testkit::mongo::{MongoStandIn, Personality};
use rotation_testkit::{sandbox_var, unique};
use serde_json::json;

const STRATEGIES: [&str; 2] = ["single", "alternating"];

async fn rotates(bed: &Bed, what: &str) {
    let (_, arn) = bed.fresh_pair_for_test("docdb").await;
    for round in 1..=2 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "{what} round {round}: {:?}", run.failure());
        assert!(
            bed.stage_holds(&arn, AWSCURRENT).await,
            "{what} round {round}"
        );
    }
}

#[tokio::test]
async fn a_documentdb_endpoint_logs_in_with_scram_sha_1_over_verified_tls() {
    for personality in [
        Personality::DocumentDb40,
        Personality::DocumentDb40Legacy,
        Personality::DocumentDb50,
    ] {
        for strategy in STRATEGIES {
            let bed =
                Bed::documentdb_endpoint(personality, strategy, MongoStandIn::sandbox_tls()).await;
            rotates(&bed, &format!("{personality:?} {strategy} at {DOCDB_HOST}")).await;
            let counted = bed.server.counters();
            assert!(counted.logins > 0);
            // DocumentDB 5.0 offers SCRAM-SHA-256 too: the endpoint's name forces SHA-1.
            assert_eq!(counted.sha256, 0, "{personality:?} {strategy}: {counted:?}");
        }
    }
    // The same 5.0 server reached as 127.0.0.1 with "engine": "docdb" negotiates SHA-256:
    // the forcing goes by the endpoint's name.
    let bed = Bed::new(Personality::DocumentDb50, "alternating").await;
    rotates(&bed, "DocumentDb50 at 127.0.0.1").await;
    assert!(
        bed.server.counters().sha256 > 0,
        "{:?}",
        bed.server.counters()
    );
}

#[tokio::test]
async fn a_pre_4_4_handshake_falls_back_to_a_plain_sasl_start() {
    // SCRAM-SHA-1 is forced at the endpoint, so the driver speculates it in the handshake.
    let modern = Bed::documentdb_endpoint(
        Personality::DocumentDb40,
        "single",
        MongoStandIn::sandbox_tls(),
    )
    .await;
    rotates(&modern, "DocumentDb40").await;
    assert!(
        modern.server.counters().speculative > 0,
        "{:?}",
        modern.server.counters()
    );
    let legacy = Bed::documentdb_endpoint(
        Personality::DocumentDb40Legacy,
        "single",
        MongoStandIn::sandbox_tls(),
    )
    .await;
    rotates(&legacy, "DocumentDb40Legacy").await;
    let counted = legacy.server.counters();
    assert!(counted.logins > 0);
    assert_eq!(counted.speculative, 0, "{counted:?}");
}

#[tokio::test]
async fn tls_server_name_must_be_the_endpoint() {
    let bed = Bed::documentdb_endpoint(
        Personality::DocumentDb40,
        "single",
        MongoStandIn::sandbox_tls(),
    )
    .await;
    let (_, same) = bed
        .strategy_user(
            "tsn",
            "Initial-Pa55word-7",
            json!({"tlsServerName": DOCDB_HOST}),
        )
        .await;
    let run = bed.rotate(&same).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, other) = bed
        .strategy_user(
            "tsn",
            "Initial-Pa55word-8",
            json!({"tlsServerName": "other.cluster-cxyz0example.us-east-1.docdb.amazonaws.com"}),
        )
        .await;
    let run = bed.rotate(&other).await;
    let (_, error) = run.failure().expect("refused");
    assert!(
        error.starts_with("MalformedSecret") && error.contains("tlsServerName"),
        "{error}"
    );
    assert!(bed.stage_holds(&other, AWSCURRENT).await);
}

/// A certificate signed by the sandbox CA for `db.rotation.test` only, made now with the
/// sandbox's openssl: (certificate, key) paths.
fn certificate_without_the_connected_name() -> (String, String) {
    let ca = sandbox_var("SANDBOX_TLS_CA");
    let ca_key = std::path::Path::new(&ca).with_file_name("ca.key");
    let dir = std::env::temp_dir().join(format!("docdb-cert-{}", unique()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    std::fs::write(
        path("ext.cnf"),
        "subjectAltName=DNS:db.rotation.test\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext.cnf");
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(status.status.success(), "openssl {args:?}: {status:?}");
    };
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=db.rotation.test",
        "-keyout",
        &path("server.key"),
        "-out",
        &path("server.csr"),
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &path("server.csr"),
        "-CA",
        &ca,
        "-CAkey",
        &ca_key.to_string_lossy(),
        "-CAcreateserial",
        "-CAserial",
        &path("ca.srl"),
        "-days",
        "1",
        "-extfile",
        &path("ext.cnf"),
        "-out",
        &path("server.crt"),
    ]);
    (path("server.crt"), path("server.key"))
}

#[tokio::test]
async fn the_certificate_is_verified_for_the_name_connected_to() {
    let (cert, key) = certificate_without_the_connected_name();
    let bed = Bed::documentdb_endpoint(
        Personality::DocumentDb40,
        "single",
        MongoStandIn::tls_from_files(&cert, &key),
    )
    .await;
    let (_, arn) = bed
        .strategy_user("cert", "Initial-Pa55word-9", json!({}))
        .await;
    let run = bed.rotate(&arn).await;
    let (step, error) = run
        .failure()
        .expect("the certificate does not name localhost");
    assert_eq!(step, Step::Set);
    assert!(error.starts_with("TlsFailure"), "{error}");
    assert_eq!(bed.server.counters().logins, 0);
}

#[tokio::test]
async fn a_policy_allowing_what_documentdb_refuses_is_stopped_before_any_change() {
    // 101 characters: DocumentDB takes 8 to 100 (the characters are unit-tested in the engine).
    let policy = PasswordPolicy::from_lookup(MONGODB.password_defaults, |name| {
        (name == "PASSWORD_LENGTH").then(|| "101".to_string())
    })
    .expect("a policy");
    for strategy in STRATEGIES {
        let bed = Bed::documentdb_endpoint(
            Personality::DocumentDb50,
            strategy,
            MongoStandIn::sandbox_tls(),
        )
        .await
        .with_policy(policy.clone());
        let (user, arn) = bed.fresh_pair_for_test("policy").await;
        let commands = bed.server.counters().commands;
        let run = bed.rotate(&arn).await;
        let (step, error) = run.failure().expect("refused");
        assert_eq!(step, Step::Set, "{error}");
        assert!(
            error.starts_with("ConfigurationError") && error.contains("PASSWORD_LENGTH"),
            "{strategy}: {error}"
        );
        assert!(bed.stage_holds(&arn, AWSCURRENT).await, "{strategy}");
        assert_eq!(bed.server.roles_of(bed.db, &format!("{user}_clone")), None);
        assert!(
            bed.server.counters().commands > commands,
            "it logged in first"
        );
    }
}

#[tokio::test]
async fn the_replica_set_primary_rotates_and_a_secondary_changes_nothing() {
    for strategy in STRATEGIES {
        let bed = Bed::new(Personality::MongoDbReplicaSet, strategy).await;
        rotates(&bed, &format!("primary {strategy}")).await;
        let secondary = bed.secondary.as_ref().expect("a secondary").port();
        let mut extra = json!({"port": secondary});
        if strategy == "alternating" {
            let master = bed
                .new_superuser_secret_for_test(&format!("root{}", unique()), extra.clone())
                .await;
            extra["masterarn"] = json!(master);
        }
        let (user, arn) = bed
            .strategy_user("onsecondary", "Initial-Pa55word-3", extra)
            .await;
        let before = bed.server.roles_of(bed.db, &format!("{user}_clone"));
        let run = bed.rotate(&arn).await;
        let (step, error) = run.failure().expect("a secondary takes no user change");
        assert_eq!(step, Step::Set, "{strategy}");
        assert!(
            error.starts_with("SetSecretFailed") && error.contains("not the replica set's primary"),
            "{strategy}: {error}"
        );
        assert!(bed.stage_holds(&arn, AWSCURRENT).await, "{strategy}");
        assert_eq!(
            bed.server.roles_of(bed.db, &format!("{user}_clone")),
            before,
            "{strategy}: no clone was made"
        );
    }
}

/// The connections the driver opens per login, with and without `topologyVersion` in the
/// server's `hello` (printed; the figure for the report).
#[tokio::test]
async fn connections_per_login_with_and_without_topology_version() {
    let mut figures = Vec::new();
    for personality in [Personality::MongoDb, Personality::MongoDbReplicaSet] {
        let bed = Bed::new(personality, "single").await;
        let (_, arn) = bed.fresh_pair_for_test("conns").await;
        let before = bed.server.counters();
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "{:?}", run.failure());
        let after = bed.server.counters();
        let logins = after.logins - before.logins;
        let connections = after.connections - before.connections;
        figures.push((personality, logins, connections));
        assert!(logins > 0);
        // Each login opens its pool connection and a monitoring connection; with
        // topologyVersion the driver streams, and adds a round-trip-time monitor.
        let per_login = match personality {
            Personality::MongoDbReplicaSet => 3,
            _ => 2,
        };
        assert_eq!(
            connections,
            per_login * logins,
            "{personality:?}: {connections} for {logins}"
        );
    }
    for (personality, logins, connections) in &figures {
        println!("{personality:?}: {connections} connections for {logins} logins");
    }
}
