//! `verify --rotations 2` through the real function binary of every rotation type the project
//! packages, and a check that the list covers exactly those types.

use super::*;

/// Attaches, then `verify --rotations 2`: both rotations finish through the real binary, each
/// followed by the preflight's login with the new AWSCURRENT; the labels, the report and an
/// independent login agree.
async fn verifies(name: &str) {
    let bed = Bed::new(name).await;
    let (original, _, _) = bed.labels().await;
    let _player = bed.deployed.player(&bed.driver, &bed.arn).await;

    let (code, stdout, stderr) = bed
        .ctl(&["verify", &bed.arn, "--rotations", "2", "--output", "json"])
        .await;
    let done: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout} {stderr}"));
    assert_eq!(code, 0, "{name}: {done:#} {stderr}");
    assert_eq!(
        (&done["ok"], &done["verified"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(done["preflight"]["ok"], true, "{done:#}");
    assert_eq!(done["timeoutSeconds"], TIMEOUT_SECONDS, "{done:#}");
    let rotations = done["rotations"].as_array().unwrap();
    assert_eq!(rotations.len(), 2, "{done:#}");
    let (current, previous, pending) = bed.labels().await;
    assert!(pending.is_empty(), "{name}: {pending:?}");
    let versions: Vec<&str> = rotations
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(current, [versions[1]], "{name}");
    assert_eq!(previous, [versions[0]], "{name}");
    assert_ne!(current, original);
    for r in rotations {
        assert_eq!(r["ok"], true, "{done:#}");
        assert!(r["seconds"].as_f64().unwrap() > 0.0, "{done:#}");
        assert_eq!(r["check"]["ok"], true, "{done:#}");
        assert_eq!(r["check"]["versions"]["current"], r["version"], "{done:#}");
        let after = r["labelsAfter"].as_array().unwrap();
        assert!(
            after
                .iter()
                .any(|v| v["id"] == r["version"] && v["stages"] == json!([AWSCURRENT])),
            "{done:#}"
        );
    }
    assert_eq!(
        rotations[1]["labelsBefore"], rotations[0]["labelsAfter"],
        "{done:#}"
    );
    // Secrets Manager's invocations (played) and the tool's preflights, in order.
    let mut expected = vec!["preflight".to_string()];
    for v in &versions {
        for step in Step::ALL {
            expected.push(format!("{} {v}", step.as_str()));
        }
        expected.push("preflight".into());
    }
    assert_eq!(bed.deployed.seen(), expected, "{name}");
    if let Some(logs_in) = bed.current_logs_in().await {
        assert!(logs_in, "{name}: the new AWSCURRENT logs in");
    }
    // The secret's user, or (alternating users) its clone.
    let current: Value =
        serde_json::from_str(&bed.driver.value(&bed.arn, AWSCURRENT).await).unwrap();
    let user = current["username"].as_str().unwrap();
    assert!(user.starts_with(&bed.user), "{name}: {user}");

    // Text output: the same story, for people.
    let (code, text, stderr) = bed.ctl(&["verify", &bed.arn]).await;
    assert_eq!(code, 0, "{name}: {text} {stderr}");
    assert!(text.contains("all checks passed"), "{text}");
    assert!(text.contains("rotation 1/1"), "{text}");
    assert!(text.contains("verified: 1 rotation of"), "{text}");
    assert!(
        !text.chars().any(|c| c != '\n' && c.is_control()),
        "{text:?}"
    );
}

macro_rules! every_type {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                verifies($name).await;
            }
        )*

        /// The tests above cover exactly the rotation types the project packages.
        #[test]
        fn every_packaged_rotation_type_is_verified() {
            let mut tested = vec![$($name),*];
            let mut packaged: Vec<String> =
                rotation_types().iter().map(|t| t.get("name").to_string()).collect();
            tested.sort_unstable();
            packaged.sort();
            assert_eq!(tested, packaged);
        }
    };
}

every_type! {
    verifies_generic => "Generic",
    verifies_postgresql_single_user => "PostgreSQLSingleUser",
    verifies_postgresql_multi_user => "PostgreSQLMultiUser",
    verifies_redshift_single_user => "RedshiftSingleUser",
    verifies_redshift_multi_user => "RedshiftMultiUser",
    verifies_mysql_single_user => "MySQLSingleUser",
    verifies_mysql_multi_user => "MySQLMultiUser",
    verifies_mariadb_single_user => "MariaDBSingleUser",
    verifies_mariadb_multi_user => "MariaDBMultiUser",
    verifies_mongodb_single_user => "MongoDBSingleUser",
    verifies_mongodb_multi_user => "MongoDBMultiUser",
    verifies_elasticache_user => "ElastiCacheUser",
    verifies_sqlserver_single_user => "SQLServerSingleUser",
    verifies_sqlserver_multi_user => "SQLServerMultiUser",
}
