//! The shared proving suites: every Secrets Manager call failing in turn (once and four times
//! in a row, both strategies) on the DocumentDB personality; every connection (the driver's
//! monitoring connection and the authenticated one of each login) refused and every user
//! command cut off or failed in turn, through the fault proxy reading OP_MSG, on the DocumentDB
//! personality served in plaintext; and every step delivered twice
//! after every prefix of a rotation on the MongoDB one; the invariants checked after every
//! invocation, no password in any log. (Each suite exercises the steps, which do not depend on
//! the personality; the two personalities' logins are each run through one of them.)

use crate::testbed::Bed;
use rotation_testkit::mongo::Personality;
use rotation_testkit::suites;

#[tokio::test]
async fn secrets_manager_faults_on_documentdb() {
    let n = suites::secrets_manager_faults(|s| Bed::new(Personality::DocumentDb40, s)).await;
    assert_eq!(n, 150);
}

#[tokio::test]
async fn out_of_order_deliveries_on_mongodb() {
    let n = suites::out_of_order(|s| Bed::new(Personality::MongoDb, s)).await;
    assert_eq!(n, 80);
}

#[tokio::test]
async fn database_faults_on_documentdb() {
    let n = suites::database_faults(|s| Bed::plaintext(Personality::DocumentDb40, s)).await;
    // Single user: 4 logins x 2 connections, one updateUser, on a fresh and a rotated secret:
    // (8 + 2 x 1) x 2 times x 2 rounds = 40; alternating: (12 + 2 x 1) x 2 x 2 = 56.
    assert_eq!(n, 96);
}
