//! The Redshift function on the PostgreSQL stand-in through the same proving suites as the
//! PostgreSQL function (`rotation_testkit::suites`): faults at every Secrets Manager call and
//! every database action, and any step delivered at any point, with the invariants checked
//! after every invocation and no password in the logs.

use crate::testbed::{Bed, Trust};
use rotation_postgresql::engines::REDSHIFT;
use rotation_postgresql::redshift::Redshift;
use rotation_testkit::suites;

/// A Redshift bed, with a table in `dev`'s `public` schema: a clone is given the privileges
/// the catalog lists (USAGE on a schema is listed only for schemas holding tables), so the
/// number of statements a rotation makes, and with it the number of scenarios, must not depend
/// on what other tests created before.
async fn bed(strategy: &'static str) -> Bed<Redshift> {
    let bed = Bed::with_dialect(
        Redshift,
        strategy,
        Trust::SandboxCa,
        REDSHIFT.password_defaults,
    )
    .await;
    // Two beds may race to create it; either way it exists afterwards.
    let _ = bed
        .pg
        .session("dev")
        .await
        .batch_execute("CREATE TABLE IF NOT EXISTS public.fault_fixture (v int)")
        .await;
    bed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secrets_manager_call_can_fail_and_awscurrent_keeps_working() {
    // 3 kinds x (12 + 13) calls x (once, four times).
    assert_eq!(suites::secrets_manager_faults(bed).await, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_database_action_can_fail_and_awscurrent_keeps_working() {
    // (connections + 2 kinds x changing statements) x (once, four times), fresh and rotated.
    // Single user: 4 connections, 1 statement (ALTER USER): 2 x (4 + 2) x 2 = 24. Alternating
    // users: 6 connections; fresh, 4 statements (CREATE USER and the grants the catalog lists
    // for a new user: TEMPORARY where PUBLIC has it, USAGE on public), rotated 1 (ALTER USER;
    // the privileges match already): (6 + 8) x 2 + (6 + 2) x 2 = 44.
    assert_eq!(suites::database_faults(bed).await, 24 + 44);
}

#[tokio::test]
async fn any_step_delivered_at_any_point_twice_changes_nothing_it_should_not() {
    assert_eq!(suites::out_of_order(bed).await, 2 * 5 * 4 * 2);
}
