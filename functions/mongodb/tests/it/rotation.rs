//! Rotations as Secrets Manager runs them, on both personalities and both strategies.

use crate::testbed::Bed;
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_testkit::assert_rotated;
use rotation_testkit::mongo::Personality;
use serde_json::json;

const BOTH: [Personality; 2] = [Personality::DocumentDb40, Personality::MongoDb];

#[tokio::test]
async fn single_user_rotates_its_own_password_with_change_own_password() {
    for personality in BOTH {
        let bed = Bed::new(personality, "single").await;
        let (user, arn) = bed
            .own_password_user("single", "Initial-Pa55word-1", json!({}))
            .await;
        for round in 1..=2 {
            let run = bed.rotate(&arn).await;
            assert!(
                run.succeeded(),
                "{personality:?} round {round}: {:?}",
                run.failure()
            );
            assert_rotated(&bed.driver.stages(&arn).await, &run);
            assert!(
                bed.stage_holds(&arn, AWSCURRENT).await,
                "{personality:?} round {round}"
            );
            assert!(
                !bed.stage_holds(&arn, AWSPREVIOUS).await,
                "{personality:?}: one password per user"
            );
        }
        assert_eq!(bed.current(&arn).await.0, user);
    }
}

#[tokio::test]
async fn single_user_without_change_own_password_fails_clearly_and_changes_nothing() {
    for personality in BOTH {
        let bed = Bed::new(personality, "single").await;
        let (_, arn) = bed
            .user("nochange", "Initial-Pa55word-2", &["readWrite"], json!({}))
            .await;
        let run = bed.rotate(&arn).await;
        let (step, error) = run.failure().expect("must fail");
        assert_eq!(step, rotation_core::Step::Set, "{personality:?}");
        assert!(
            error.starts_with("SetSecretFailed") && error.contains("changeOwnPassword"),
            "{error}"
        );
        assert!(
            bed.stage_holds(&arn, AWSCURRENT).await,
            "AWSCURRENT still works"
        );
    }
}

#[tokio::test]
async fn alternating_users_keep_both_working_and_the_roles_follow_the_current_user() {
    for personality in BOTH {
        let bed = Bed::new(personality, "alternating").await;
        let (user, arn) = bed.pair("alt").await;
        let clone = format!("{user}_clone");
        for round in 1..=3 {
            let run = bed.rotate(&arn).await;
            assert!(
                run.succeeded(),
                "{personality:?} round {round}: {:?}",
                run.failure()
            );
            assert!(
                bed.stage_holds(&arn, AWSCURRENT).await,
                "{personality:?} round {round}"
            );
            assert!(
                bed.stage_holds(&arn, AWSPREVIOUS).await,
                "{personality:?} round {round}"
            );
            let expected = if round % 2 == 1 { &clone } else { &user };
            assert_eq!(&bed.current(&arn).await.0, expected);
            assert_eq!(
                bed.server.roles_of(bed.db, &user),
                bed.server.roles_of(bed.db, &clone),
                "the pair is interchangeable"
            );
        }
        assert_eq!(
            bed.server.mechanisms_of(bed.db, &clone),
            bed.server.personality().mechanisms().to_vec()
        );
        // The current user (the clone after round 3) gains a role: the next rotation gives
        // it to the other user of the pair, whichever that is.
        let (current, _) = bed.current(&arn).await;
        let mut roles = bed.server.roles_of(bed.db, &current).unwrap();
        roles.push(("read".into(), bed.db.into()));
        let roles: Vec<(&str, &str)> = roles
            .iter()
            .map(|(r, d)| (r.as_str(), d.as_str()))
            .collect();
        let (_, password) = bed.creds(&arn, AWSCURRENT).await;
        bed.server.add_user(bed.db, &current, &password, &roles);
        assert!(bed.rotate(&arn).await.succeeded());
        assert_eq!(
            bed.server.roles_of(bed.db, &user),
            bed.server.roles_of(bed.db, &clone)
        );
    }
}

/// The driver sends a SCRAM user name as it is, where RFC 5802 requires `,` and `=` escaped: a
/// user whose name holds either could never log in, so the function refuses it by name before
/// any login, and nothing changes (the stand-in, like MongoDB, reads the escaped form; pymongo
/// logs such users in, `scripts/mongo_standin_check.py`).
#[tokio::test]
async fn a_user_name_the_driver_cannot_send_is_refused_before_anything_changes() {
    for (strategy, name) in [("single", "a,b"), ("alternating", "a=b")] {
        let bed = Bed::new(Personality::MongoDb, strategy).await;
        let (user, arn) = bed
            .strategy_user(name, "Initial-Pa55word-4", json!({}))
            .await;
        let before = bed.server.counters();
        let token = bed.start_and_create(&arn).await;
        let err = bed
            .fails_changing_no_label(&arn, &token, rotation_core::Step::Set)
            .await;
        assert!(
            err.starts_with("MalformedSecret: ") && err.contains("RFC 5802"),
            "{err}"
        );
        assert!(!err.contains("Initial-Pa55word-4"), "{err}");
        assert_eq!(bed.server.counters().logins, before.logins, "{strategy}");
        assert!(bed.server.password_is(bed.db, &user, "Initial-Pa55word-4"));
        assert!(bed
            .server
            .roles_of(bed.db, &format!("{user}_clone"))
            .is_none());
    }
}

/// A managed master secret (ManageMasterUserPassword: only `username` and `password`, and the
/// `aws:rds:primaryDBClusterArn` tag) is completed from DescribeDBClusters, which answers for a
/// DocumentDB cluster with engine `docdb`; the child names the cluster (`dbClusterIdentifier`,
/// checked against its endpoint). The pair rotates both ways.
#[tokio::test]
async fn a_managed_documentdb_master_secret_is_completed_from_the_rds_api() {
    use aws_sdk_secretsmanager::types::Tag;
    let bed = Bed::new(Personality::DocumentDb40, "alternating").await;
    let cluster = format!("docdb-{}", rotation_testkit::unique());
    bed.rds
        .add_cluster(&cluster, "127.0.0.1", bed.server.port());
    let managed = json!({"username": "root", "password": crate::testbed::ROOT_PASSWORD});
    let master_arn = bed.secret("rds!cluster", &managed.to_string()).await;
    let tag = Tag::builder()
        .key("aws:rds:primaryDBClusterArn")
        .value(format!(
            "arn:aws:rds:us-east-1:123456789012:cluster:{cluster}"
        ))
        .build();
    bed.driver
        .client()
        .tag_resource()
        .secret_id(&master_arn)
        .tags(tag)
        .send()
        .await
        .expect("TagResource");
    let (user, arn) = bed
        .user(
            "managed",
            "Initial-Pa55word-5",
            &["readWrite"],
            json!({"masterarn": master_arn, "dbClusterIdentifier": cluster}),
        )
        .await;
    for round in 1..=2 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        assert!(bed.stage_holds(&arn, AWSCURRENT).await);
        assert!(bed.stage_holds(&arn, AWSPREVIOUS).await);
    }
    assert_eq!(bed.current(&arn).await.0, user);

    // The same child naming a cluster the host is not an endpoint of: refused, nothing changed.
    let other = format!("docdb-{}", rotation_testkit::unique());
    bed.rds.add_cluster(
        &other,
        "other.cluster-x.us-east-1.docdb.amazonaws.com",
        27017,
    );
    let (_, arn) = bed
        .user(
            "managed",
            "Initial-Pa55word-6",
            &["readWrite"],
            json!({"masterarn": master_arn, "dbClusterIdentifier": other}),
        )
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains(&other),
        "{err}"
    );
}

/// Every step delivered twice in a row, and twice at once (two invocations racing), for both
/// strategies on both personalities: one rotation completes, AWSCURRENT logs in, and single
/// user's old password is refused.
#[tokio::test]
async fn every_step_twice_in_a_row_and_twice_at_once() {
    use rotation_core::labels::{versions_with, AWSPENDING};
    use rotation_testkit::ProvingBed;
    for personality in BOTH {
        for strategy in ["single", "alternating"] {
            let bed = Bed::new(personality, strategy).await;
            for at_once in [false, true] {
                let (user, arn) = bed.fresh_pair("twice").await;
                let (_, old) = bed.current(&arn).await;
                let token = bed.rotate_each_step_twice(&arn, at_once).await;
                let stages = bed.driver.stages(&arn).await;
                let name = format!("{personality:?} {strategy} at once {at_once}");
                assert_eq!(
                    versions_with(&stages, AWSCURRENT),
                    vec![token.as_str()],
                    "{name}"
                );
                assert!(versions_with(&stages, AWSPENDING).is_empty(), "{name}");
                assert!(bed.stage_holds(&arn, AWSCURRENT).await, "{name}");
                if strategy == "single" {
                    assert!(!bed.server.password_is(bed.db, &user, &old), "{name}");
                } else {
                    assert!(bed.stage_holds(&arn, AWSPREVIOUS).await, "{name}");
                    bed.check_pair(&arn).await;
                }
            }
        }
    }
}

/// A MongoDB user is `user@db`: when AWSCURRENT is refused, single user falls back to
/// AWSPREVIOUS only if it names the same database, or it would change the password of a
/// namesake in another database.
#[tokio::test]
async fn single_user_never_falls_back_to_a_namesake_in_another_database() {
    let bed = Bed::new(Personality::MongoDb, "single").await;
    let user = format!("namesake_{}", rotation_testkit::unique());
    for db in ["appdb", "otherdb"] {
        bed.server.add_user(
            db,
            &user,
            "Other-Pa55word-0",
            &[("readWrite", db), bed.server.own_password_role()],
        );
    }
    let value = |db: &str, password: &str| {
        json!({"engine": "mongo", "host": "127.0.0.1", "port": bed.server.port(),
            "username": user, "password": password, "dbname": db, "ssl": true})
        .to_string()
    };
    let arn = bed
        .secret("namesake", &value("otherdb", "Other-Pa55word-0"))
        .await;
    assert!(bed.rotate(&arn).await.succeeded());
    let (_, rotated) = bed.current(&arn).await;
    // AWSCURRENT edited by hand to the namesake in appdb, with a password that is refused;
    // AWSPREVIOUS (the rotated otherdb version) still logs in.
    bed.driver
        .client()
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(value("appdb", "Wrong-Pa55word-1"))
        .version_stages(AWSCURRENT)
        .send()
        .await
        .expect("PutSecretValue");
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains("otherdb") && err.contains("appdb"),
        "{err}"
    );
    assert!(bed.server.password_is("otherdb", &user, &rotated));
    assert!(bed.server.password_is("appdb", &user, "Other-Pa55word-0"));
}
