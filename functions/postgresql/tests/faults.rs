//! Faults at every external action of a PostgreSQL rotation (single user and alternating
//! users). Each Secrets Manager call of the function's real SDK client fails in turn, as an
//! error answer, a throttling answer or no answer at all; each database connection is refused
//! in turn, and the password statement is cut off after it was sent or fails (a loopback proxy
//! in front of the server). Each fault happens once (Secrets Manager's retry carries on) or
//! several times in a row (the rotation fails; RotateSecret is refused while its AWSPENDING
//! remains, as on AWS, so the failed rotation is resumed). After every invocation: each label sits on at most
//! one version, and AWSCURRENT logs in (single user: or AWSPENDING, between setSecret and
//! finishSecret). Every scenario ends with a completed rotation whose AWSCURRENT logs in and
//! whose old password (single user) is refused.

use std::future::Future;
use std::pin::Pin;

use rotation_core::labels::{self, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_testkit::pg::{Bed, Trust};
use rotation_testkit::{unique, DbFault, PgFaultProxy, SmFault, SmFaults};
use serde_json::json;

/// Calls of the function's client in one clean rotation.
const CALLS: [(&str, usize); 2] = [("single", 14), ("alternating", 15)];

/// The invariants that must hold after any invocation.
async fn invariants(bed: &Bed, arn: &str, single: bool) {
    let stages = bed.driver.stages(arn).await;
    for label in [AWSCURRENT, AWSPENDING, AWSPREVIOUS] {
        assert!(
            labels::versions_with(&stages, label).len() <= 1,
            "{label} on several versions: {stages:?}"
        );
    }
    let (user, password) = bed.current(arn).await;
    if bed.login(&user, &password, false).await.is_ok() {
        return;
    }
    assert!(
        single,
        "alternating users: AWSCURRENT {user} must always log in"
    );
    let (pending_user, pending_password) = bed.creds(arn, AWSPENDING).await;
    bed.login(&pending_user, &pending_password, false)
        .await
        .unwrap_or_else(|e| panic!("neither AWSCURRENT nor AWSPENDING logs in: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secrets_manager_call_can_fail_and_awscurrent_keeps_working() {
    let mut scenarios = 0;
    for (strategy, calls) in CALLS {
        let faults = SmFaults::new();
        let bed = Bed::new(strategy, Trust::SandboxCa, false)
            .await
            .with_faults(&faults)
            .await;
        let single = strategy == "single";
        for kind in SmFault::ALL {
            for at in 1..=calls {
                for times in [1, 4] {
                    let (user, _, arn, _) = bed.alternating_pair("fault").await;
                    let old = bed.current(&arn).await;
                    faults.fail(at, kind, times);
                    eprintln!("scenario {strategy} {kind:?} at call {at} x{times}");
                    let check = || -> Pin<Box<dyn Future<Output = ()> + '_>> {
                        Box::pin(invariants(&bed, &arn, single))
                    };
                    let token = bed.rotate_as_the_service_does(&arn, 2, &check).await;
                    let name = format!("{strategy} {kind:?} at call {at} x{times}");
                    assert!(faults.injected() > 0, "{name}: the fault was not reached");
                    let token = token.unwrap_or_else(|| panic!("{name}: no rotation completed"));
                    let stages = bed.driver.stages(&arn).await;
                    assert_eq!(
                        labels::versions_with(&stages, AWSCURRENT),
                        vec![token.as_str()],
                        "{name}"
                    );
                    assert!(
                        labels::versions_with(&stages, AWSPENDING).is_empty(),
                        "{name}: {stages:?}"
                    );
                    let (u, pw) = bed.current(&arn).await;
                    bed.login(&u, &pw, false)
                        .await
                        .unwrap_or_else(|e| panic!("{name}: AWSCURRENT: {e}"));
                    if single {
                        assert_eq!(u, user);
                        assert_eq!(
                            bed.login(&user, &old.1, false).await,
                            Err("28P01".into()),
                            "{name}"
                        );
                    }
                    scenarios += 1;
                }
            }
        }
    }
    // 3 kinds x (14 + 15) calls x 2 (once, four times).
    assert_eq!(scenarios, 174);
}

/// Connections the function opens in one clean rotation (through the proxy).
const CONNECTIONS: [(&str, usize); 2] = [("single", 5), ("alternating", 6)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_database_action_can_fail_and_awscurrent_keeps_working() {
    let mut scenarios = 0;
    for (strategy, connections) in CONNECTIONS {
        let bed = Bed::new(strategy, Trust::SandboxCa, false).await;
        let proxy = PgFaultProxy::start(bed.pg.port).await;
        let single = strategy == "single";
        let mut plans = Vec::new();
        for at in 1..=connections {
            plans.push((DbFault::RefuseConnection, at));
        }
        plans.push((DbFault::DropAfterStatement, 1));
        plans.push((DbFault::FailStatement, 1));
        for (kind, at) in plans {
            for times in [1, 4] {
                let name = format!("{strategy} {kind:?} #{at} x{times}");
                eprintln!("scenario {name}");
                let via_proxy = json!({"port": proxy.port, "ssl": false});
                let (user, arn) = if single {
                    bed.user_with_secret("dbfault", "DbFault-Pa55", via_proxy)
                        .await
                } else {
                    let master = bed
                        .superuser_secret(
                            &format!("dbfault_master_{}", unique()),
                            "Master-Pa55",
                            via_proxy.clone(),
                        )
                        .await;
                    let mut extra = via_proxy.clone();
                    extra["masterarn"] = json!(master);
                    bed.user_with_secret("dbfault", "DbFault-Pa55", extra).await
                };
                proxy.fail(kind, at, times);
                let check = || -> Pin<Box<dyn Future<Output = ()> + '_>> {
                    Box::pin(invariants(&bed, &arn, single))
                };
                let token = bed.rotate_as_the_service_does(&arn, 3, &check).await;
                assert!(proxy.injected() > 0, "{name}: the fault was not reached");
                let token = token.unwrap_or_else(|| panic!("{name}: no rotation completed"));
                let stages = bed.driver.stages(&arn).await;
                assert_eq!(
                    labels::versions_with(&stages, AWSCURRENT),
                    vec![token.as_str()],
                    "{name}"
                );
                assert!(
                    labels::versions_with(&stages, AWSPENDING).is_empty(),
                    "{name}: {stages:?}"
                );
                let (u, pw) = bed.current(&arn).await;
                bed.login(&u, &pw, false)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: AWSCURRENT: {e}"));
                if single {
                    assert_eq!(
                        bed.login(&user, "DbFault-Pa55", false).await,
                        Err("28P01".into()),
                        "{name}"
                    );
                }
                scenarios += 1;
            }
        }
    }
    // 2 x (5 + 2) + 2 x (6 + 2).
    assert_eq!(scenarios, 30);
}
