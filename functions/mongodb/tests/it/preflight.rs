//! Preflight on the stand-in: a healthy secret of each strategy (single user: the manual's
//! custom role granting the changeOwnPassword action), a single user without that action (the
//! privilege check fails and says why), a superuser without user administration.

use crate::testbed::Bed;
use rotation_testkit::mongo::Personality;
use serde_json::json;

use rotation_testkit::report_check as check;

#[tokio::test]
async fn preflight_of_both_strategies() {
    let bed = Bed::new(Personality::DocumentDb40, "single").await;
    let (_, arn) = bed
        .own_password_user("pre", "Pre-Pa55word-1", json!({}))
        .await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(check(&report, "tls").1.starts_with("verified TLS"));
    let (_, arn) = bed
        .user("pre", "Pre-Pa55word-2", &["readWrite"], json!({}))
        .await;
    let report = bed.preflight(&arn, false).await;
    let (ok, detail) = check(&report, "own_password_privilege");
    assert!(!ok && detail.contains("changeOwnPassword"), "{detail}");

    let bed = Bed::new(Personality::MongoDb, "alternating").await;
    let (user, arn) = bed.pair("pre").await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(check(&report, "clone_name")
        .1
        .contains(&format!("{user}_clone")));
    assert!(check(&report, "manage_users_privilege").0);
    // A superuser that cannot manage users.
    bed.server
        .add_user("admin", "weakroot", "Weak-Pa55word-1", &[("read", "admin")]);
    let weak = json!({"engine": "mongo", "host": "127.0.0.1", "port": bed.server.port(),
        "username": "weakroot", "password": "Weak-Pa55word-1", "dbname": "admin", "ssl": true});
    let weak_arn = bed.secret("mongo-weak", &weak.to_string()).await;
    let (_, arn) = bed
        .user(
            "pre",
            "Pre-Pa55word-3",
            &["readWrite"],
            json!({"masterarn": weak_arn}),
        )
        .await;
    let report = bed.preflight(&arn, false).await;
    let (ok, detail) = check(&report, "manage_users_privilege");
    assert!(!ok && detail.contains("read@admin"), "{detail}");
}
