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
    // Single user: 4 logins, one ALTER LOGIN, on a fresh and a rotated secret:
    // (4 + 2 x 1) x 2 times x 2 rounds = 24. Alternating: 6 logins; fresh, CREATE LOGIN and
    // the password set last (2), rotated, the password only (1): (6 + 2 x 2) x 2 + (6 + 2 x 1)
    // x 2 = 36.
    assert_eq!(n, 60);
}
