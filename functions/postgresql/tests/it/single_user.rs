//! Single-user PostgreSQL rotation against the sandbox PostgreSQL 15 (scram-sha-256), driven
//! through the rotation driver and moto.

use crate::testbed::{Bed, Trust};
use rotation_core::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::{PasswordDefaults, PasswordPolicy, Step};
use rotation_testkit::assert_rotated;
use rotation_testkit::unique;
use serde_json::{json, Value};

#[tokio::test]
async fn three_rotations_old_password_refused_new_accepted() {
    let bed = Bed::single().await;
    let user = format!("single_{}", unique());
    bed.pg
        .create_login("postgres", &user, "initial-Pa55", false, &[])
        .await;
    let arn = bed
        .secret(&bed.secret_json(
            &user,
            "initial-Pa55",
            json!({"ssl": true, "team": "payments"}),
        ))
        .await;
    let mut old = "initial-Pa55".to_string();
    for round in 1..=3 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        assert_rotated(&bed.driver.stages(&arn).await, &run);
        let (u, new) = bed.current(&arn).await;
        assert_eq!(u, user);
        assert_eq!(
            bed.login(&user, &old, false).await,
            Err("28P01".into()),
            "old password refused"
        );
        bed.login(&user, &new, false)
            .await
            .expect("new password accepted");
        assert!(bed
            .pg
            .stored_password(&user)
            .await
            .starts_with("SCRAM-SHA-256$"));
        let v: Value = serde_json::from_str(&bed.driver.value(&arn, AWSCURRENT).await).unwrap();
        assert_eq!(v["team"], "payments", "unknown keys kept");
        old = new;
    }
}

#[tokio::test]
async fn a_user_with_only_an_md5_password_rotates() {
    let bed = Bed::single().await;
    let user = format!("md5_{}", unique());
    bed.pg
        .create_login("postgres", &user, "md5-Pa55word", true, &["md5_auth"])
        .await;
    assert!(bed.pg.stored_password(&user).await.starts_with("md5"));
    bed.login(&user, "md5-Pa55word", false)
        .await
        .expect("md5 login before");
    let arn = bed
        .secret(&bed.secret_json(&user, "md5-Pa55word", json!({})))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, false).await.unwrap();
    assert_eq!(
        bed.login(&user, "md5-Pa55word", false).await,
        Err("28P01".into())
    );
    assert!(
        bed.pg
            .stored_password(&user)
            .await
            .starts_with("SCRAM-SHA-256$"),
        "now a SCRAM verifier"
    );
}

#[tokio::test]
async fn a_tls_only_user_rotates_over_verified_tls() {
    let bed = Bed::single().await;
    for ssl in [json!(true), json!("true"), Value::Null] {
        let user = format!("tls_{}", unique());
        bed.pg
            .create_login("postgres", &user, "tls-Pa55word", false, &["tls_only"])
            .await;
        assert!(
            bed.login(&user, "tls-Pa55word", false).await.is_err(),
            "plaintext is refused for this user"
        );
        let extra = if ssl.is_null() {
            json!({})
        } else {
            json!({"ssl": ssl})
        };
        let arn = bed
            .secret(&bed.secret_json(&user, "tls-Pa55word", extra))
            .await;
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "ssl={ssl}: {:?}", run.failure());
        let (_, new) = bed.current(&arn).await;
        bed.login(&user, &new, true).await.unwrap();
    }
}

#[tokio::test]
async fn an_unknown_ca_fails_without_falling_back_to_plaintext() {
    let bed = Bed::new("single", Trust::OtherCa, false).await;
    // This user may log in without TLS: a fallback to plaintext would succeed, so a failure
    // proves there was none. ssl absent is the mode that falls back in the official function.
    let user = format!("pref_{}", unique());
    bed.pg
        .create_login("postgres", &user, "pref-Pa55word", false, &[])
        .await;
    for ssl in [Value::Null, json!(true)] {
        let extra = if ssl.is_null() {
            json!({})
        } else {
            json!({"ssl": ssl})
        };
        let arn = bed
            .secret(&bed.secret_json(&user, "pref-Pa55word", extra))
            .await;
        let run = bed.rotate(&arn).await;
        let (step, err) = run.failure().expect("must fail");
        assert_eq!(step, Step::Set);
        assert!(err.starts_with("TlsFailure: "), "{err}");
        assert!(
            err.contains("UnknownIssuer")
                || err.contains("unknown issuer")
                || err.contains("certificate"),
            "{err}"
        );
        assert_eq!(
            bed.current(&arn).await.1,
            "pref-Pa55word",
            "AWSCURRENT unchanged"
        );
        bed.login(&user, "pref-Pa55word", false)
            .await
            .expect("password unchanged");
    }
    // And "ssl": false really is plaintext (and works).
    let arn = bed
        .secret(&bed.secret_json(&user, "pref-Pa55word", json!({"ssl": false})))
        .await;
    assert!(bed.rotate(&arn).await.succeeded());
}

#[tokio::test]
async fn wrong_password_unreachable_and_tls_failures_are_distinct() {
    let bed = Bed::single().await;
    let user = format!("errs_{}", unique());
    bed.pg
        .create_login("postgres", &user, "right-Pa55", false, &[])
        .await;
    // Wrong password in AWSCURRENT (and no AWSPREVIOUS).
    let arn = bed
        .secret(&bed.secret_json(&user, "wrong-Pa55", json!({})))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("AuthenticationFailed: ") && err.contains("28P01"),
        "{err}"
    );
    assert!(!err.contains("wrong-Pa55"));
    // Unreachable: a closed port.
    let arn = bed
        .secret(&bed.secret_json(&user, "right-Pa55", json!({"port": 9})))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("DatabaseUnreachable: ") && err.contains(":9"),
        "{err}"
    );
    assert!(!err.contains("right-Pa55"));
    // TLS: the server's certificate does not chain to a CA the function trusts.
    let untrusting = Bed::new("single", Trust::OtherCa, false).await;
    let arn = untrusting
        .secret(&untrusting.secret_json(&user, "right-Pa55", json!({"ssl": true})))
        .await;
    let err = untrusting.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ") && err.contains("No plaintext fallback"),
        "{err}"
    );
    assert!(!err.contains("right-Pa55"));
}

#[tokio::test]
async fn previous_credentials_are_the_fallback_login() {
    let bed = Bed::single().await;
    let user = format!("prev_{}", unique());
    bed.pg
        .create_login("postgres", &user, "p0-Pa55word", false, &[])
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "p0-Pa55word", json!({})))
        .await;
    assert!(bed.rotate(&arn).await.succeeded());
    // The database is restored to the old password: AWSCURRENT no longer works, AWSPREVIOUS does.
    let admin = bed.pg.session("postgres").await;
    admin
        .batch_execute(&format!("ALTER ROLE \"{user}\" PASSWORD 'p0-Pa55word'"))
        .await
        .unwrap();
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, false).await.unwrap();
}

#[tokio::test]
async fn a_pending_secret_for_another_user_or_host_is_refused_and_nothing_changes() {
    let bed = Bed::single().await;
    let victim = format!("victim_{}", unique());
    let user = format!("deputy_{}", unique());
    bed.pg
        .create_login("postgres", &victim, "victim-Pa55", false, &[])
        .await;
    bed.pg
        .create_login("postgres", &user, "user-Pa55", false, &[])
        .await;
    for (field, value) in [("username", json!(victim)), ("host", json!("localhost"))] {
        let arn = bed
            .secret(&bed.secret_json(&user, "user-Pa55", json!({})))
            .await;
        let token = bed.driver.start(&arn).await.unwrap();
        let ev = |step| rotation_testkit::event(&arn, &token, step);
        bed.invoke(ev(Step::Create)).await.unwrap();
        let tampered = bed.tamper_pending(&arn, &token, field, value).await;
        let before = bed.driver.stages(&arn).await;
        let err = bed
            .invoke(rotation_testkit::event(&arn, &tampered, Step::Set))
            .await
            .unwrap_err();
        assert!(err.starts_with("ConfusedDeputy: "), "{field}: {err}");
        assert_eq!(bed.driver.stages(&arn).await, before);
        bed.login(&victim, "victim-Pa55", false)
            .await
            .expect("victim untouched");
        bed.login(&user, "user-Pa55", false)
            .await
            .expect("user untouched");
    }
}

#[tokio::test]
async fn every_step_twice_in_a_row_and_twice_at_once() {
    let bed = Bed::single().await;
    for at_once in [false, true] {
        let user = format!("replay_{}", unique());
        bed.pg
            .create_login("postgres", &user, "replay-Pa55", false, &[])
            .await;
        let arn = bed
            .secret(&bed.secret_json(&user, "replay-Pa55", json!({})))
            .await;
        let token = bed.rotate_each_step_twice(&arn, at_once).await;
        let stages = bed.driver.stages(&arn).await;
        assert_eq!(
            rotation_core::labels::versions_with(&stages, AWSCURRENT),
            vec![token.as_str()]
        );
        assert!(rotation_core::labels::versions_with(&stages, AWSPENDING).is_empty());
        assert_eq!(
            rotation_core::labels::versions_with(&stages, AWSPREVIOUS).len(),
            1
        );
        let (_, new) = bed.current(&arn).await;
        bed.login(&user, &new, false).await.unwrap();
        assert_eq!(
            bed.login(&user, "replay-Pa55", false).await,
            Err("28P01".into())
        );
    }
}

#[tokio::test]
async fn odd_user_names_and_a_password_of_every_allowed_character_round_trip() {
    let everything = PasswordPolicy::from_lookup(PasswordDefaults::POSTGRES, |k| match k {
        "EXCLUDE_CHARACTERS" => Some(" ".into()),
        "PASSWORD_LENGTH" => Some("120".into()),
        _ => None,
    })
    .unwrap();
    let bed = Bed::single().await.with_policy(everything.clone());
    let tag = unique();
    for name in [
        format!("Upper \"Quoted\" 'Name' {tag}"),
        format!("ÜnïCødé user {tag}"),
        format!("MixedCase{tag}"),
    ] {
        bed.pg
            .create_login("postgres", &name, "start-Pa55", false, &[])
            .await;
        let arn = bed
            .secret(&bed.secret_json(&name, "start-Pa55", json!({})))
            .await;
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "{name}: {:?}", run.failure());
        let (u, new) = bed.current(&arn).await;
        assert_eq!(u, name);
        for c in ['\'', '"', '\\', '$', ':', '@', '/'] {
            assert!(everything
                .alphabet_of(rotation_core::CharClass::Punctuation)
                .contains(&c));
        }
        bed.login(&name, &new, false)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[tokio::test]
async fn the_server_never_sees_a_plaintext_password() {
    let bed = Bed::single().await;
    let user = format!("logged_{}", unique());
    bed.pg
        .create_login("postgres", &user, "logged-Pa55", false, &[])
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "logged-Pa55", json!({})))
        .await;
    let mut passwords = Vec::new();
    for _ in 0..2 {
        assert!(bed.rotate(&arn).await.succeeded());
        passwords.push(bed.current(&arn).await.1);
    }
    let log = bed.pg.log_text();
    assert!(
        log.contains(&format!(
            "ALTER ROLE \"{user}\" WITH PASSWORD 'SCRAM-SHA-256$"
        )),
        "statements are logged"
    );
    let statements = bed.pg.recorded_statements().await;
    for pw in &passwords {
        assert!(
            !log.contains(pw.as_str()),
            "plaintext password in the server log"
        );
        assert!(
            !statements.contains(pw.as_str()),
            "plaintext password in pg_stat_statements"
        );
    }
}
