//! Preflight on the stand-in: a healthy secret of each strategy, and a superuser that cannot
//! manage logins (the privilege check fails and says what is missing).

use crate::testbed::{Bed, MASTER_PASSWORD};
use rotation_testkit::report_check as check;
use rotation_testkit::tds::LoginKind;
use serde_json::json;

#[tokio::test]
async fn preflight_of_both_strategies() {
    let bed = Bed::new("single").await;
    let (_, arn) = bed.strategy_login("pre", "Pre-Pa55word-1", json!({})).await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(check(&report, "tls").1.starts_with("verified TLS"));
    assert!(check(&report, "own_password_privilege")
        .1
        .contains("OLD_PASSWORD"));

    let bed = Bed::new("alternating").await;
    let (login, arn) = bed.strategy_login("pre", "Pre-Pa55word-2", json!({})).await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(check(&report, "clone_name")
        .1
        .contains(&format!("{login}_clone")));
    assert!(check(&report, "manage_users_privilege").0);
    // A superuser without ALTER ANY LOGIN.
    let weak = format!("weak_{}", rotation_testkit::unique());
    bed.server
        .add_login(&weak, MASTER_PASSWORD, LoginKind::Plain);
    let weak_arn = bed
        .secret(
            "sqlserver-weak",
            &bed.secret_json(&weak, MASTER_PASSWORD, json!({})),
        )
        .await;
    let (_, arn) = bed
        .login("pre", "Pre-Pa55word-3", json!({"masterarn": weak_arn}))
        .await;
    let report = bed.preflight(&arn, false).await;
    let (ok, detail) = check(&report, "manage_users_privilege");
    assert!(!ok && detail.contains("ALTER ANY LOGIN"), "{detail}");
}
