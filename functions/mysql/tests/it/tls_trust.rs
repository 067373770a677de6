//! What the MariaDB function trusts and which name it verifies: mysql_async's own rustls set
//! is the Mozilla roots only, so the function gives it the OS store, the RDS bundle and
//! `EXTRA_CA_CERTS`. The built-in set does not trust the sandbox's throwaway CA; added as
//! `EXTRA_CA_CERTS` it does; `tlsServerName` is the name verified while `host` is where the
//! connection goes.

use crate::testbed::{Bed, Options, Trust};
use rotation_core::Step;
use rotation_mysql::Flavor;
use serde_json::json;

async fn bed(trust: Trust) -> Bed {
    let options = Options {
        trust,
        ..Options::default()
    };
    Bed::with_options(Flavor::MARIADB, "single", options).await
}

#[tokio::test]
async fn an_extra_ca_beside_the_built_in_roots_verifies_and_the_built_in_roots_alone_do_not() {
    let bed = bed(Trust::BuiltInAndSandboxCa).await;
    let (user, arn) = bed
        .user_with_secret("trust", "Trust-Pa55", json!({"ssl": true}))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.db.login(&user, &new, true).await.unwrap();

    let bed = self::bed(Trust::BuiltInOnly).await;
    let (user, arn) = bed
        .user_with_secret("trust", "Trust-Pa55", json!({"ssl": true}))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(err.starts_with("TlsFailure: "), "{err}");
    bed.db
        .login(&user, "Trust-Pa55", true)
        .await
        .expect("password unchanged");
}

#[tokio::test]
async fn tls_server_name_is_the_name_verified_while_host_is_where_the_connection_goes() {
    let bed = bed(Trust::SandboxCa).await;
    let (user, arn) = bed
        .user_with_secret(
            "sni",
            "Trust-Pa55",
            json!({"ssl": true, "tlsServerName": "db.rotation.test"}),
        )
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.db.login(&user, &new, true).await.unwrap();

    // A name the certificate does not carry fails, although host alone would verify.
    let (user, arn) = bed
        .user_with_secret(
            "sni",
            "Trust-Pa55",
            json!({"ssl": true, "tlsServerName": "db.other.test"}),
        )
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(err.starts_with("TlsFailure: "), "{err}");
    bed.db.login(&user, "Trust-Pa55", true).await.unwrap();

    // A tampered AWSPENDING naming another certificate name is a confused deputy.
    let (_, arn) = bed
        .user_with_secret(
            "sni",
            "Trust-Pa55",
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
