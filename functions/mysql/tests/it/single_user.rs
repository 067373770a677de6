//! Single-user MariaDB rotation against the sandbox MariaDB 10.11, driven through the rotation
//! driver and moto: hashed password changes, TLS requirements and failures, ed25519 accounts,
//! replays, and confused-deputy refusals.

use crate::testbed::{Bed, Options, Trust};
use rotation_core::labels::AWSCURRENT;
use rotation_core::{SecretValue, Step};
use rotation_mysql::{account, native_password_hash, Flavor};
use rotation_testkit::{assert_rotated, unique};
use serde_json::{json, Value};

#[tokio::test]
async fn three_rotations_old_password_refused_new_accepted_hash_stored() {
    let bed = Bed::new("single").await;
    let (user, arn) = bed
        .user_with_secret(
            "single",
            "initial-Pa55",
            json!({"ssl": true, "team": "payments"}),
        )
        .await;
    let mut old = "initial-Pa55".to_string();
    for round in 1..=3 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        assert_rotated(&bed.driver.stages(&arn).await, &run);
        let (u, new) = bed.current(&arn).await;
        assert_eq!(u, user);
        assert_eq!(
            bed.db.login(&user, &old, true).await,
            Err("1045".into()),
            "round {round}"
        );
        bed.db
            .login(&user, &new, true)
            .await
            .expect("new password accepted");
        let v: Value = serde_json::from_str(&bed.driver.value(&arn, AWSCURRENT).await).unwrap();
        assert_eq!(v["team"], "payments", "unknown keys kept");
        assert!(
            !contains(&bed.db.logs(), new.as_bytes()),
            "round {round}: the password reached the general or binary log"
        );
        old = new;
    }
    // The statement carried the hash, and the logs never saw the plaintext.
    let logs = bed.db.logs();
    let hash = native_password_hash(&SecretValue::new(old.clone()));
    assert!(
        contains(&logs, hash.as_bytes()),
        "the hashed statement is in the general log"
    );
    for password in bed.driver.passwords_of(&arn).await {
        assert!(
            !contains(&logs, password.as_bytes()),
            "a password reached the server logs"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_require_ssl_user_rotates_over_verified_tls() {
    let bed = Bed::new("single").await;
    let user = format!("tls_{}", unique());
    bed.create_user(&user, "%", "tls-Pa55word", "REQUIRE SSL")
        .await;
    assert_eq!(
        bed.db.login(&user, "tls-Pa55word", false).await,
        Err("1045".into()),
        "plaintext refused"
    );
    let arn = bed
        .secret(&bed.secret_json(&user, "tls-Pa55word", json!({})))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.db
        .login(&user, &new, true)
        .await
        .expect("the new password logs in over TLS");
}

#[tokio::test]
async fn an_untrusted_ca_is_a_tls_failure_with_no_plaintext_attempt() {
    // The fallback is even allowed: a certificate failure must still never fall back, and the
    // user would accept plaintext, so a fallback would show as a successful rotation.
    let options = Options {
        trust: Trust::OtherCa,
        plaintext_fallback: true,
        ..Options::default()
    };
    let bed = Bed::with_options(Flavor::MARIADB, "single", options).await;
    let (user, arn) = bed
        .user_with_secret("untrusted", "tls-Pa55word", json!({}))
        .await;
    bed.db
        .login(&user, "tls-Pa55word", false)
        .await
        .expect("the user accepts plaintext");
    let run = bed.rotate(&arn).await;
    let (step, error) = run.failure().expect("the rotation fails");
    assert_eq!(step, Step::Set);
    assert!(error.starts_with("TlsFailure"), "{error}");
    bed.db
        .login(&user, "tls-Pa55word", true)
        .await
        .expect("the password did not change");
}

#[tokio::test]
async fn an_ed25519_account_rotates_with_its_own_hash() {
    let bed = Bed::new("single").await;
    let user = format!("ed_{}", unique());
    bed.db
        .run(&format!(
            "CREATE USER {} IDENTIFIED VIA ed25519 USING PASSWORD('ed-Pa55word')",
            account(&user, "%")
        ))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "ed-Pa55word", json!({"ssl": true})))
        .await;
    for round in 1..=2 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
    }
    let (_, new) = bed.current(&arn).await;
    bed.db
        .login(&user, &new, true)
        .await
        .expect("the new password logs in");
    let mut root = bed.db.root().await;
    let plugin: Option<String> = mysql_async::prelude::Queryable::exec_first(
        &mut root,
        "SELECT plugin FROM mysql.user WHERE User = ?",
        (&user,),
    )
    .await
    .unwrap();
    assert_eq!(
        plugin.as_deref(),
        Some("ed25519"),
        "still an ed25519 account"
    );
}

#[tokio::test]
async fn each_step_twice_and_twice_at_once() {
    let bed = Bed::new("single").await;
    for at_once in [false, true] {
        let (user, arn) = bed
            .user_with_secret("replay", "replay-Pa55", json!({"ssl": true}))
            .await;
        let token = bed.rotate_each_step_twice(&arn, at_once).await;
        let stages = bed.driver.stages(&arn).await;
        assert_eq!(
            rotation_core::labels::versions_with(&stages, AWSCURRENT),
            vec![token.as_str()]
        );
        let (_, new) = bed.current(&arn).await;
        bed.db
            .login(&user, &new, true)
            .await
            .expect("AWSCURRENT logs in");
        // A replay after the end is a no-op.
        for step in Step::ALL {
            bed.invoke(rotation_testkit::event(&arn, &token, step))
                .await
                .expect("replay");
        }
    }
}

#[tokio::test]
async fn a_pending_version_pointing_elsewhere_is_refused_before_any_login() {
    let bed = Bed::new("single").await;
    for (field, value) in [
        ("port", json!(1)),
        ("host", json!("db.elsewhere.example")),
        ("username", json!("root")),
    ] {
        let (user, arn) = bed
            .user_with_secret("deputy", "deputy-Pa55", json!({"ssl": true}))
            .await;
        let token = bed.start_and_create(&arn).await;
        let token = bed.tamper_pending(&arn, &token, field, value).await;
        let error = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
        assert!(error.starts_with("ConfusedDeputy"), "{field}: {error}");
        bed.db
            .login(&user, "deputy-Pa55", true)
            .await
            .expect("unchanged");
    }
}

#[tokio::test]
async fn a_secret_for_another_engine_is_refused() {
    let bed = Bed::new("single").await;
    let (_, arn) = bed
        .user_with_secret("engine", "engine-Pa55", json!({}))
        .await;
    let mut v: Value = serde_json::from_str(&bed.driver.value(&arn, AWSCURRENT).await).unwrap();
    v["engine"] = json!("postgres");
    let arn = bed.secret(&v.to_string()).await;
    let run = bed.rotate(&arn).await;
    let (step, error) = run.failure().expect("refused");
    assert_eq!(step, Step::Create);
    assert!(error.starts_with("WrongEngine"), "{error}");
}

#[tokio::test]
async fn login_failures_are_typed_and_name_no_secret() {
    let bed = Bed::new("single").await;
    // A wrong AWSCURRENT password (and no AWSPREVIOUS): 1045, named.
    let (user, _) = bed
        .user_with_secret("typed", "Right-Pa55word", json!({}))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "Wrong-Pa55word", json!({"ssl": true})))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("AuthenticationFailed: ")
            && err.contains("MySQL error 1045")
            && err.contains("AWSCURRENT"),
        "{err}"
    );
    assert!(
        !err.contains("Wrong-Pa55word") && !err.contains("Right-Pa55word"),
        "{err}"
    );
    // Nothing listens on port 1.
    let arn = bed
        .secret(&bed.secret_json(&user, "Right-Pa55word", json!({"ssl": true, "port": 1})))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(err.starts_with("DatabaseUnreachable: "), "{err}");
    bed.db
        .login(&user, "Right-Pa55word", true)
        .await
        .expect("unchanged");
}

#[tokio::test]
async fn a_verification_that_cannot_get_a_connection_is_not_undone() {
    // The user may hold one connection: the changing session holds it, so the verification
    // login is refused for the limit (error 1203), not for the password. The change is right;
    // setting the old password back would be wrong (and the rotation could never finish).
    let bed = Bed::new("single").await;
    let (user, arn) = bed
        .user_with_secret("onelimit", "initial-Pa55", json!({"ssl": true}))
        .await;
    bed.db
        .run(&format!(
            "ALTER USER {} WITH MAX_USER_CONNECTIONS 1",
            account(&user, "%")
        ))
        .await;
    for round in 1..=2 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        let (_, new) = bed.current(&arn).await;
        bed.db.login(&user, &new, true).await.expect("AWSCURRENT");
    }
}
