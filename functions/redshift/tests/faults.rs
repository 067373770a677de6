//! The Redshift function on the PostgreSQL stand-in through the same proving scenarios as the
//! PostgreSQL function: faults at every Secrets Manager call and every database action, and
//! any step delivered at any point, with the invariants checked after every invocation.

use redshift::{Redshift, PASSWORD_DEFAULTS};
use rotation_testkit::pg::{Bed, Trust};
use rotation_testkit::{LogCapture, PgFaultProxy, SmFaults};

/// (strategy, Secrets Manager calls, database connections) of one clean rotation.
const SHAPES: [(&str, usize, usize); 2] = [("single", 14, 5), ("alternating", 15, 6)];

async fn bed(strategy: &str) -> Bed<Redshift> {
    Bed::with_dialect(Redshift, strategy, Trust::SandboxCa, PASSWORD_DEFAULTS).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secrets_manager_call_can_fail_and_awscurrent_keeps_working() {
    let logs = LogCapture::global();
    let mut passwords = Vec::new();
    let mut scenarios = 0;
    for (strategy, calls, _) in SHAPES {
        let faults = SmFaults::new();
        let bed = bed(strategy).await.with_faults(&faults).await;
        scenarios += bed
            .prove_sm_faults(&faults, calls, strategy == "single")
            .await;
        passwords.extend(bed.created_passwords().await);
    }
    logs.assert_none_of(&passwords);
    assert_eq!(scenarios, 174);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_database_action_can_fail_and_awscurrent_keeps_working() {
    let logs = LogCapture::global();
    let mut passwords = Vec::new();
    let mut scenarios = 0;
    for (strategy, _, connections) in SHAPES {
        let bed = bed(strategy).await;
        let proxy = PgFaultProxy::start(bed.pg.port).await;
        scenarios += bed
            .prove_db_faults(&proxy, connections, strategy == "single")
            .await;
        passwords.extend(bed.created_passwords().await);
    }
    logs.assert_none_of(&passwords);
    assert_eq!(scenarios, 30);
}

#[tokio::test]
async fn any_step_delivered_at_any_point_twice_changes_nothing_it_should_not() {
    let logs = LogCapture::global();
    let mut passwords = Vec::new();
    let mut deliveries = 0;
    for (strategy, _, _) in SHAPES {
        let bed = bed(strategy).await;
        deliveries += bed.prove_out_of_order(strategy == "single").await;
        passwords.extend(bed.created_passwords().await);
    }
    logs.assert_none_of(&passwords);
    assert_eq!(deliveries, 2 * 5 * 4 * 2);
}
