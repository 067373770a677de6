//! What the function trusts and which name it verifies: the built-in roots (OS store, Mozilla
//! roots, the vendored RDS CA bundle) do not trust the sandbox's throwaway CA, a CA added the
//! way the bundle is added does, and `tlsServerName` makes the certificate be checked against
//! that name while the connection goes to `host`.

use crate::testbed::{Bed, Trust};
use rotation_core::Step;
use rotation_testkit::unique;
use serde_json::json;

async fn tls_user(bed: &Bed, extra: serde_json::Value) -> (String, String) {
    let user = format!("trust_{}", unique());
    bed.pg
        .create_login("postgres", &user, "Trust-Pa55", false, &["tls_only"])
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "Trust-Pa55", extra))
        .await;
    (user, arn)
}

#[tokio::test]
async fn a_ca_added_like_the_rds_bundle_verifies_and_the_built_in_roots_alone_do_not() {
    let bed = Bed::new("single", Trust::BuiltInAndSandboxCa, false).await;
    let (user, arn) = tls_user(&bed, json!({"ssl": true})).await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, true).await.unwrap();

    let bed = Bed::new("single", Trust::BuiltInOnly, false).await;
    let (user, arn) = tls_user(&bed, json!({"ssl": true})).await;
    let err = bed.failure_of(&arn).await;
    assert!(err.starts_with("TlsFailure: "), "{err}");
    bed.login(&user, "Trust-Pa55", true)
        .await
        .expect("password unchanged");
}

#[tokio::test]
async fn tls_server_name_is_the_name_verified_while_host_is_where_the_connection_goes() {
    let bed = Bed::single().await;
    // host is 127.0.0.1 (in the certificate too); the certificate also carries
    // db.rotation.test, which resolves nowhere: only the name to verify comes from the key.
    let (user, arn) = tls_user(
        &bed,
        json!({"ssl": true, "tlsServerName": "db.rotation.test"}),
    )
    .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, true).await.unwrap();

    // A name the certificate does not carry fails, although host alone would verify.
    let (user, arn) = tls_user(&bed, json!({"ssl": true, "tlsServerName": "db.other.test"})).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ") && err.contains("not valid for name \"db.other.test\""),
        "{err}"
    );
    bed.login(&user, "Trust-Pa55", true).await.unwrap();

    // A tampered AWSPENDING naming another certificate name is a confused deputy.
    let (_, arn) = tls_user(
        &bed,
        json!({"ssl": true, "tlsServerName": "db.rotation.test"}),
    )
    .await;
    let token = bed.start_and_create(&arn).await;
    let token = bed
        .tamper_pending(&arn, &token, "tlsServerName", json!("evil.example"))
        .await;
    let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
    assert!(err.starts_with("ConfusedDeputy: "), "{err}");
}
