//! The shared proving suites on the ElastiCache function: every Secrets Manager call fails in
//! turn (each kind, once and four times in a row), and every step is delivered twice after
//! every prefix of a rotation; the invariants hold after every invocation (AWSCURRENT always
//! authenticates: ElastiCache keeps the old password live, so the function is proved as
//! strictly as alternating users), and no password reaches the logs.

use crate::testbed::Bed;
use rotation_testkit::{prove_out_of_order, prove_sm_faults, LogCapture, SmFaults};

/// Secrets Manager calls of one clean rotation with an endpoint.
const CALLS: usize = 14;

#[tokio::test]
async fn every_secrets_manager_call_fails_in_turn() {
    let logs = LogCapture::global();
    let faults = SmFaults::new();
    let bed = Bed::new().await.with_faults(&faults).await;
    let scenarios = prove_sm_faults(&bed, &faults, CALLS, false).await;
    assert_eq!(scenarios, 3 * CALLS * 2);
    logs.assert_none_of(&bed.created_passwords().await);
}

#[tokio::test]
async fn every_step_twice_after_every_prefix() {
    let logs = LogCapture::global();
    let bed = Bed::new().await;
    assert_eq!(prove_out_of_order(&bed, false).await, 40);
    logs.assert_none_of(&bed.created_passwords().await);
}
