//! Preflight of ElastiCache user secrets on moto and the sandbox Redis: a healthy user, AUTH
//! refused, a user the secret misnames, a stale rotation (always safe to abort: the user keeps
//! AWSCURRENT's password beside the pending one), AWSPREVIOUS after a rotation, a user outside
//! `ELASTICACHE_USER_ARNS` and an endpoint the function cannot reach.

use crate::testbed::Bed;
use rotation_core::Step;
use rotation_testkit::event;
use serde_json::json;

use rotation_testkit::report_check as check;

#[tokio::test]
async fn a_healthy_user_passes_and_a_misnamed_or_refused_one_fails() {
    let bed = Bed::new().await;
    let (name, _, arn) = bed
        .user_with_secret("pre", "Initial-Pa55word-0001", true)
        .await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(check(&report, "service").1.contains("active"), "{report:#}");
    assert!(check(&report, "current_login").1.contains(&name));

    // The secret names the user under another name, with a password the cache refuses.
    let (_, user_arn) = bed.user("pre", "Initial-Pa55word-0002").await;
    let wrong = bed.secret_json(
        "someone_else",
        &user_arn,
        "Wrong-Pa55word-0002",
        true,
        json!({}),
    );
    let arn = bed.secret("cache", &wrong).await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], false);
    let (ok, detail) = check(&report, "service");
    assert!(!ok && detail.contains("not someone_else"), "{detail}");
    let (ok, detail) = check(&report, "current_login");
    assert!(!ok && detail.contains("WRONGPASS"), "{detail}");
}

#[tokio::test]
async fn a_stale_rotation_is_always_safe_to_abort_and_previous_still_logs_in() {
    let bed = Bed::new().await;
    let (_, _, arn) = bed
        .user_with_secret("stale", "Initial-Pa55word-0003", true)
        .await;
    let token = bed.start_and_create(&arn).await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["versions"]["pending"]["logsIn"], false, "{report:#}");
    assert_eq!(report["versions"]["pending"]["abortSafe"], true);
    bed.invoke(event(&arn, &token, Step::Set)).await.unwrap();
    // Right after ModifyUser the user is `modifying` (0.3 s on the sandbox): while it is, the
    // service check fails and says so.
    let report = bed.preflight(&arn, false).await;
    let (ok, detail) = check(&report, "service");
    assert!(ok || detail.contains("modifying"), "{detail}");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let report = bed.preflight(&arn, false).await;
    assert!(check(&report, "service").0, "{report:#}");
    assert_eq!(report["versions"]["pending"]["logsIn"], true, "{report:#}");
    assert_eq!(report["versions"]["pending"]["abortSafe"], true);
    assert!(check(&report, "current_login").0, "both passwords are live");
    bed.resume(&arn, &token).await;
    let report = bed.preflight(&arn, true).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["versions"]["previous"]["logsIn"], true, "{report:#}");
}

/// A user outside `ELASTICACHE_USER_ARNS` fails the secret_shape check (the one every rotation
/// step would refuse on), and an endpoint the function cannot reach fails current_login
/// (setSecret refuses to change the user until AUTH with AWSCURRENT succeeds).
#[tokio::test]
async fn a_user_outside_the_list_or_an_unreachable_endpoint_fails() {
    let wide = Bed::new().await;
    let (_, user_arn, arn) = wide
        .user_with_secret("prescope", "Initial-Pa55word-0004", true)
        .await;
    let (_, other_arn) = wide.user("preother", "Other-Pa55word-000004").await;
    let narrow = Bed::with_vars(&[("ELASTICACHE_USER_ARNS", other_arn)]).await;
    let report = narrow.preflight(&arn, false).await;
    assert_eq!(report["ok"], false, "{report:#}");
    let (ok, detail) = check(&report, "secret_shape");
    assert!(
        !ok && detail.starts_with("ConfusedDeputy: ")
            && detail.contains(&user_arn)
            && detail.contains("ELASTICACHE_USER_ARNS"),
        "{detail}"
    );

    let (name, user_arn) = wide.user("preunreach", "Initial-Pa55word-0005").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let json = wide.secret_json(
        &name,
        &user_arn,
        "Initial-Pa55word-0005",
        false,
        json!({"host": "127.0.0.1", "port": closed}),
    );
    let arn = wide.secret("cache", &json).await;
    let report = wide.preflight(&arn, false).await;
    assert_eq!(report["ok"], false, "{report:#}");
    let (ok, detail) = check(&report, "current_login");
    assert!(!ok && detail.contains("remove host"), "{detail}");
}
