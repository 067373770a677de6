//! The Redshift function on the PostgreSQL stand-in through the same proving suites as the
//! PostgreSQL function (`rotation_testkit::suites`): faults at every Secrets Manager call and
//! every database action, and any step delivered at any point, with the invariants checked
//! after every invocation and no password in the logs.

use redshift::{Redshift, PASSWORD_DEFAULTS};
use rotation_testkit::pg::{Bed, Trust};
use rotation_testkit::suites;

async fn bed(strategy: &'static str) -> Bed<Redshift> {
    Bed::with_dialect(Redshift, strategy, Trust::SandboxCa, PASSWORD_DEFAULTS).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secrets_manager_call_can_fail_and_awscurrent_keeps_working() {
    assert_eq!(suites::secrets_manager_faults(bed).await, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_database_action_can_fail_and_awscurrent_keeps_working() {
    assert_eq!(suites::database_faults(bed).await, 28);
}

#[tokio::test]
async fn any_step_delivered_at_any_point_twice_changes_nothing_it_should_not() {
    assert_eq!(suites::out_of_order(bed).await, 2 * 5 * 4 * 2);
}
