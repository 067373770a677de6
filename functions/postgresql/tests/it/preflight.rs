//! Preflight (`{"Step": "preflight", "SecretId": ...}`) against the sandbox PostgreSQL and
//! moto: what it reports for a healthy secret of each strategy, a stale rotation before and
//! after setSecret, a superuser that cannot manage users, wrong current credentials, and
//! AWSPREVIOUS; and that it changes nothing.

use crate::testbed::Bed;
use rotation_core::Step;
use rotation_testkit::{event, unique};
use serde_json::json;

use rotation_testkit::report_check as check;

#[tokio::test]
async fn a_healthy_single_user_secret_passes_every_check() {
    let bed = Bed::single().await;
    let (user, arn) = bed
        .user_with_secret("pre", "pre-Pa55word", json!({"ssl": true}))
        .await;
    let stages = bed.driver.stages(&arn).await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    for name in [
        "secrets_manager",
        "no_rotation_in_progress",
        "secret_shape",
        "tls",
        "current_login",
        "own_password_privilege",
        "password_policy",
    ] {
        assert!(check(&report, name).0, "{name}: {report:#}");
    }
    let (_, tls) = check(&report, "tls");
    assert!(tls.starts_with("verified TLS"), "{tls}");
    assert!(check(&report, "current_login").1.contains(&user));
    assert!(report["versions"]["pending"].is_null());
    assert_eq!(bed.driver.stages(&arn).await, stages, "nothing changed");
    assert_eq!(bed.current(&arn).await.1, "pre-Pa55word");
}

#[tokio::test]
async fn a_stale_single_user_rotation_is_safe_to_abort_only_before_set_secret() {
    let bed = Bed::single().await;
    let (_, arn) = bed
        .user_with_secret("stale", "stale-Pa55word", json!({"ssl": true}))
        .await;
    let token = bed.start_and_create(&arn).await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], false);
    let (ok, detail) = check(&report, "no_rotation_in_progress");
    assert!(!ok && detail.contains(&token), "{detail}");
    assert_eq!(report["versions"]["pending"]["version"], token.as_str());
    assert_eq!(report["versions"]["pending"]["logsIn"], false);
    assert_eq!(report["versions"]["pending"]["abortSafe"], true);
    // Everything else still passes: only the rotation in progress stops it.
    let failed: Vec<_> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(failed, vec![json!("no_rotation_in_progress")]);

    bed.invoke(event(&arn, &token, Step::Set)).await.unwrap();
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["versions"]["pending"]["logsIn"], true);
    assert_eq!(
        report["versions"]["pending"]["abortSafe"], false,
        "the server holds the pending password: an abort would lock clients out"
    );
    // AWSCURRENT's password is gone from the server: its login check says so.
    let (ok, detail) = check(&report, "current_login");
    assert!(
        !ok && detail.starts_with("AuthenticationFailed"),
        "{detail}"
    );
}

#[tokio::test]
async fn alternating_users_check_the_superuser_and_its_privileges() {
    let bed = Bed::alternating().await;
    let (user, master, arn, _) = bed.alternating_pair("pre").await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(check(&report, "clone_name")
        .1
        .contains(&format!("{user}_clone")));
    assert!(check(&report, "superuser_secret").1.contains(&master));
    assert!(check(&report, "superuser_login").0);
    let (ok, detail) = check(&report, "manage_users_privilege");
    assert!(ok && detail.contains("SUPERUSER"), "{detail}");
    assert!(!bed.clone_exists(&format!("{user}_clone")).await);

    // After a rotation AWSPREVIOUS (the original user) still logs in: a rollback is possible.
    assert!(bed.rotate(&arn).await.succeeded());
    let report = bed.preflight(&arn, true).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["versions"]["previous"]["logsIn"], true);
    assert!(check(&report, "previous_login").1.contains(&user));
}

#[tokio::test]
async fn a_superuser_without_createrole_fails_the_privilege_check() {
    let bed = Bed::alternating().await;
    let (user, _) = bed
        .user_with_secret("weak", "weak-Pa55word", json!({}))
        .await;
    let weak = format!("notsuper_{}", unique());
    bed.pg
        .create_login(bed.dbname, &weak, "weak-Ma5ter", false, &[])
        .await;
    let master_arn = bed
        .secret(&bed.secret_json(&weak, "weak-Ma5ter", json!({})))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "weak-Pa55word", json!({"masterarn": master_arn})))
        .await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], false);
    let (ok, detail) = check(&report, "manage_users_privilege");
    assert!(
        !ok && detail.contains("neither SUPERUSER nor CREATEROLE"),
        "{detail}"
    );
    assert!(check(&report, "superuser_login").0);
}

#[tokio::test]
async fn wrong_current_credentials_and_a_foreign_master_are_reported_not_raised() {
    let bed = Bed::single().await;
    let arn = bed
        .secret(&bed.secret_json("nobody_at_all", "wrong-Pa55word", json!({})))
        .await;
    let report = bed.preflight(&arn, true).await;
    assert_eq!(report["ok"], false);
    let (ok, detail) = check(&report, "current_login");
    assert!(
        !ok && detail.starts_with("AuthenticationFailed"),
        "{detail}"
    );
    assert!(!detail.contains("wrong-Pa55word"));

    // A single-user secret with AWSPREVIOUS: after a rotation the old password is refused.
    let (_, arn) = bed
        .user_with_secret("prev", "prev-Pa55word", json!({}))
        .await;
    assert!(bed.rotate(&arn).await.succeeded());
    let report = bed.preflight(&arn, true).await;
    assert_eq!(
        report["versions"]["previous"]["logsIn"], false,
        "{report:#}"
    );
    assert_eq!(report["ok"], true, "{report:#}");

    // An unknown secret: Secrets Manager's answer is the report.
    let report = bed.preflight("no-such-secret-here", false).await;
    let (ok, detail) = check(&report, "secrets_manager");
    assert!(
        !ok && detail.contains("ResourceNotFoundException"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_malformed_preflight_event_is_a_typed_error() {
    let bed = Bed::single().await;
    for (payload, needle) in [
        (json!({"Step": "preflight"}), "SecretId is missing"),
        (
            json!({"Step": "preflight", "SecretId": 7}),
            "SecretId must be a string",
        ),
        (
            json!({"Step": "preflight", "SecretId": "x", "Previous": "yes"}),
            "Previous must be a boolean",
        ),
    ] {
        let e = rotation_core::handle_preflight(&bed.store, &bed.function, &bed.policy, &payload)
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "InvalidEvent");
        assert!(e.to_string().contains(needle), "{e}");
    }
}
