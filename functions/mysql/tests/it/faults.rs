//! Faults at every external action of a MariaDB rotation (single user and alternating
//! users), and any step delivered at any point (`rotation_testkit::suites`). Each Secrets
//! Manager call of the function's real SDK client fails in turn (an error answer, a throttling
//! answer, no answer); each database connection is refused in turn, and each statement that
//! changes a user, a password or a privilege is cut off after it was sent or fails (a loopback
//! proxy that reads the MySQL protocol, in front of the server), on a fresh secret and on one
//! rotated once already; alternating users have a second account (192.0.2.%), and after every
//! scenario the pair must be interchangeable with every account holding its password. Each fault happens once (Secrets Manager's retry carries on) or four
//! times in a row (the rotation fails; RotateSecret is refused while its AWSPENDING remains, as
//! on AWS, so the failed rotation is resumed). The invariants are checked after every invocation, and no password
//! reaches the logs.

use crate::testbed::Bed;
use rotation_testkit::suites;

async fn bed(strategy: &'static str) -> Bed {
    Bed::new(strategy).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secrets_manager_call_can_fail_and_awscurrent_keeps_working() {
    // 3 kinds x (12 + 13) calls x (once, four times).
    assert_eq!(suites::secrets_manager_faults(bed).await, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_database_action_can_fail_and_awscurrent_keeps_working() {
    // (connections + 2 kinds x changing statements) x (once, four times), fresh and rotated:
    // single user 4 connections and 1 statement (SET PASSWORD), fresh and rotated:
    // 2 x (4 + 2) x 2 = 24; alternating users 6 connections, and on two accounts 8 statements
    // fresh (CREATE, attributes, password, unlock, each twice) and 4 rotated (attributes and
    // password twice): (6 + 16) x 2 + (6 + 8) x 2 = 72.
    assert_eq!(suites::database_faults(bed).await, 24 + 72);
}

#[tokio::test]
async fn any_step_delivered_at_any_point_twice_changes_nothing_it_should_not() {
    assert_eq!(suites::out_of_order(bed).await, 2 * 5 * 4 * 2);
}
