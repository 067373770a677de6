//! Faults at every external action of a MariaDB rotation (single user and alternating
//! users), and any step delivered at any point (`rotation_testkit::suites`). Each Secrets
//! Manager call of the function's real SDK client fails in turn (an error answer, a throttling
//! answer, no answer); each database connection is refused in turn, and the password statement
//! is cut off after it was sent or fails (a loopback proxy that reads the MySQL protocol, in
//! front of the server). Each fault happens once (Secrets Manager's retry carries on) or four
//! times in a row (the rotation fails; RotateSecret is refused while its AWSPENDING remains, as
//! on AWS, so the failed rotation is resumed). The invariants are checked after every invocation, and no password
//! reaches the logs.

use rotation_testkit::maria::Bed;
use rotation_testkit::suites;

async fn bed(strategy: &'static str) -> Bed {
    Bed::new(strategy).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secrets_manager_call_can_fail_and_awscurrent_keeps_working() {
    // 3 kinds x (14 + 15) calls x (once, four times).
    assert_eq!(suites::secrets_manager_faults(bed).await, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_database_action_can_fail_and_awscurrent_keeps_working() {
    // ((5 + 6) connections + 2 x 2 statement faults) x (once, four times).
    assert_eq!(suites::database_faults(bed).await, 28);
}

#[tokio::test]
async fn any_step_delivered_at_any_point_twice_changes_nothing_it_should_not() {
    assert_eq!(suites::out_of_order(bed).await, 2 * 5 * 4 * 2);
}
