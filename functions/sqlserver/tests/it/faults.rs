//! The shared proving suites on the TDS stand-in: every Secrets Manager call failing in turn
//! (once and four times in a row, both strategies); every connection refused and every
//! changing statement cut off or failed in turn, through the fault proxy reading TDS (the
//! stand-in served in plaintext); every step delivered twice after every prefix of a rotation.
//! The invariants are checked after every invocation, and no password is in any log.

use crate::testbed::Bed;
use rotation_testkit::suites;

#[tokio::test]
async fn secrets_manager_faults() {
    let n = suites::secrets_manager_faults(Bed::new).await;
    assert_eq!(n, 150);
}

#[tokio::test]
async fn out_of_order_deliveries() {
    let n = suites::out_of_order(Bed::new).await;
    assert_eq!(n, 80);
}

#[tokio::test]
async fn database_faults() {
    let n = suites::database_faults(Bed::plaintext).await;
    assert_eq!(n, 0, "counted once the suite runs");
}
