//! Faults at every external action of a PostgreSQL rotation (single user and alternating
//! users), and any step delivered at any point. Each Secrets Manager call of the function's
//! real SDK client fails in turn (an error answer, a throttling answer, no answer); each
//! database connection is refused in turn, and the password statement is cut off after it was
//! sent or fails (a loopback proxy in front of the server). Each fault happens once (Secrets
//! Manager's retry carries on) or four times in a row (the rotation fails; RotateSecret is
//! refused while its AWSPENDING remains, as on AWS, so the failed rotation is resumed). The
//! invariants are checked after every invocation (see `rotation_testkit::pg::Bed::invariants`).

use rotation_testkit::pg::{Bed, Trust};
use rotation_testkit::{LogCapture, PgFaultProxy, SmFaults};

/// (strategy, Secrets Manager calls, database connections) of one clean rotation.
const SHAPES: [(&str, usize, usize); 2] = [("single", 14, 5), ("alternating", 15, 6)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secrets_manager_call_can_fail_and_awscurrent_keeps_working() {
    let logs = LogCapture::global();
    let mut passwords = Vec::new();
    let mut scenarios = 0;
    for (strategy, calls, _) in SHAPES {
        let faults = SmFaults::new();
        let bed = Bed::new(strategy, Trust::SandboxCa, false)
            .await
            .with_faults(&faults)
            .await;
        scenarios += bed
            .prove_sm_faults(&faults, calls, strategy == "single")
            .await;
        passwords.extend(bed.created_passwords().await);
    }
    logs.assert_none_of(&passwords);
    // 3 kinds x (14 + 15) calls x (once, four times).
    assert_eq!(scenarios, 174);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_database_action_can_fail_and_awscurrent_keeps_working() {
    let logs = LogCapture::global();
    let mut passwords = Vec::new();
    let mut scenarios = 0;
    for (strategy, _, connections) in SHAPES {
        let bed = Bed::new(strategy, Trust::SandboxCa, false).await;
        let proxy = PgFaultProxy::start(bed.pg.port).await;
        scenarios += bed
            .prove_db_faults(&proxy, connections, strategy == "single")
            .await;
        passwords.extend(bed.created_passwords().await);
    }
    logs.assert_none_of(&passwords);
    // ((5 + 6) connections + 2 x 2 statement faults) x (once, four times).
    assert_eq!(scenarios, 30);
}

#[tokio::test]
async fn any_step_delivered_at_any_point_twice_changes_nothing_it_should_not() {
    let logs = LogCapture::global();
    let mut passwords = Vec::new();
    let mut deliveries = 0;
    for (strategy, _, _) in SHAPES {
        let bed = Bed::new(strategy, Trust::SandboxCa, false).await;
        deliveries += bed.prove_out_of_order(strategy == "single").await;
        passwords.extend(bed.created_passwords().await);
    }
    logs.assert_none_of(&passwords);
    assert_eq!(deliveries, 2 * 5 * 4 * 2);
}
