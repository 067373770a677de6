//! The shared proving suites: every Secrets Manager call failing in turn (once and four times
//! in a row, both strategies) on the DocumentDB personality, and every step delivered twice
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
