//! A server that says it does not offer TLS (an answer anyone on the path can forge): with
//! `ssl` absent the function refuses, unless the deployment opts in to the plaintext fallback
//! (then it falls back and logs a warning); with `ssl: true` it always refuses; and the
//! superuser secret never falls back, nor does a secret whose `tlsServerName` names an RDS
//! endpoint (the server is then AWS-managed, whatever `host` says). The sandbox PostgreSQL offers TLS, so a loopback proxy
//! answers the TLS request with "N" (as a server without TLS does) and relays the rest of the
//! session to it. Strict stand-in servers that answer "no TLS" and then ask for the password
//! in clear text show that a fallback connection refuses that (and a `"ssl": false` one does
//! not: that is the user's choice).

use crate::testbed::{Bed, Options};
use rotation_core::database::NO_TLS_ON_SERVER;
use rotation_core::telemetry::json_subscriber;
use rotation_core::PasswordDefaults;
use rotation_postgresql::Postgres;
use rotation_testkit::unique;
use rotation_testkit::{LogCapture, PasswordBait};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The PostgreSQL SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 4, 210, 22, 47];

/// Starts the proxy; returns its port. It serves connections until the test ends.
async fn no_tls_proxy(upstream_port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut first = [0u8; 8];
                if client.read_exact(&mut first).await.is_err() {
                    return;
                }
                let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))
                    .await
                    .unwrap();
                if first == SSL_REQUEST {
                    // "N": this server does not speak TLS. The client either goes on in
                    // plaintext or hangs up.
                    if client.write_all(b"N").await.is_err() {
                        return;
                    }
                } else {
                    upstream.write_all(&first).await.unwrap();
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    port
}

async fn bed_with_fallback(strategy: &str) -> Bed {
    let options = Options {
        plaintext_fallback: true,
        ..Options::default()
    };
    Bed::with_options(
        Postgres::default(),
        strategy,
        PasswordDefaults::POSTGRES,
        options,
    )
    .await
}

#[tokio::test]
async fn without_the_opt_in_a_server_that_offers_no_tls_is_refused() {
    let bed = Bed::single().await;
    let port = no_tls_proxy(bed.pg.port).await;
    let (user, arn) = bed
        .user_with_secret("notls", "NoTls-Pa55", json!({"port": port}))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ") && err.contains(NO_TLS_ON_SERVER),
        "{err}"
    );
    bed.login(&user, "NoTls-Pa55", false)
        .await
        .expect("password unchanged");
}

#[tokio::test]
async fn plaintext_only_when_opted_in_the_server_offers_no_tls_and_ssl_is_absent() {
    // The test runs on one thread (tokio's current-thread runtime), so a thread-local subscriber
    // sees every log line of the rotation.
    let capture = LogCapture::new();
    let _logs = tracing::subscriber::set_default(json_subscriber(
        capture.make_writer(),
        rotation_core::telemetry::filter("warn"),
    ));
    let bed = bed_with_fallback("single").await;
    let port = no_tls_proxy(bed.pg.port).await;
    // ssl absent: plaintext fallback, the rotation works.
    let (user, arn) = bed
        .user_with_secret("notls", "NoTls-Pa55", json!({"port": port}))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, false).await.unwrap();
    let warnings = capture.text();
    assert!(
        warnings.contains("\"level\":\"WARN\"") && warnings.contains("does not offer TLS"),
        "the plaintext fallback is logged as a warning: {warnings}"
    );

    // ssl true: TLS is required, so the same server is refused and nothing changes.
    let arn = bed
        .secret(&bed.secret_json(&user, &new, json!({"port": port, "ssl": true})))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ") && err.contains(NO_TLS_ON_SERVER),
        "{err}"
    );
    bed.login(&user, &new, false)
        .await
        .expect("password unchanged");
}

#[tokio::test]
async fn the_superuser_secret_never_falls_back_to_plaintext() {
    let bed = bed_with_fallback("alternating").await;
    let port = no_tls_proxy(bed.pg.port).await;
    let tag = unique();
    let user = format!("notls_alt_{tag}");
    let master = format!("notls_master_{tag}");
    bed.pg
        .create_login("postgres", &user, "NoTls-Pa55", false, &[])
        .await;
    // Both secrets name the proxy and leave ssl out; the child may fall back, the superuser not.
    let master_arn = bed
        .superuser_secret(&master, "Master-Pa55", json!({"port": port}))
        .await;
    let arn = bed
        .secret(&bed.secret_json(
            &user,
            "NoTls-Pa55",
            json!({"port": port, "masterarn": master_arn}),
        ))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ")
            && err.contains("master secret")
            && err.contains(NO_TLS_ON_SERVER),
        "{err}"
    );
    assert!(!bed.clone_exists(&user).await, "nothing was created");
}

/// The password of the baited secrets: long enough for `LogCapture::assert_none_of`.
const BAIT_PASSWORD: &str = "Bait-Cleartext-Pa55word";

#[tokio::test]
async fn a_fallback_connection_refuses_a_request_for_the_password_in_clear_text() {
    let capture = LogCapture::global();
    let bed = bed_with_fallback("single").await;
    let bait = PasswordBait::postgres_cleartext().await;
    let arn = bed
        .secret(&bed.secret_json("bait_user", BAIT_PASSWORD, json!({"port": bait.port()})))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ")
            && err.contains("offered no TLS")
            && err.contains("clear text")
            && err.contains("\"ssl\": true"),
        "{err}"
    );
    let passwords = bed.created_passwords().await;
    assert!(passwords.len() >= 2, "AWSCURRENT and AWSPENDING");
    // Nothing after the request: no 'p' message (PostgreSQL), no 0x02 key request (MySQL).
    bait.assert_nothing_given_away(&passwords);
    capture.assert_none_of(&passwords);
}

#[tokio::test]
async fn an_explicit_ssl_false_is_the_users_choice_and_is_not_screened() {
    let capture = LogCapture::global();
    let bed = bed_with_fallback("single").await;
    let bait = PasswordBait::postgres_cleartext().await;
    let arn = bed
        .secret(&bed.secret_json(
            "bait_user",
            BAIT_PASSWORD,
            json!({"port": bait.port(), "ssl": false}),
        ))
        .await;
    let err = bed.failure_of(&arn).await;
    // The fake refuses the password it was sent (28P01), as a server would.
    assert!(err.starts_with("AuthenticationFailed: "), "{err}");
    assert!(bait.violations().is_empty(), "{:?}", bait.violations());
    let first = &bait.connections()[0];
    assert_eq!(
        first.after_request.first(),
        Some(&b'p'),
        "with \"ssl\": false the driver answers the request as before"
    );
    capture.assert_none_of(&bed.created_passwords().await);
}

#[tokio::test]
async fn a_fallback_connection_answers_an_md5_challenge() {
    // Members of md5_auth log in with AuthenticationMD5Password (a salted proof), which the
    // fallback's screen lets through; the sandbox's other users use SCRAM (the test above).
    let bed = bed_with_fallback("single").await;
    let port = no_tls_proxy(bed.pg.port).await;
    let user = format!("notls_md5_{}", unique());
    bed.pg
        .create_login(bed.dbname, &user, "NoTls-Md5-Pa55", true, &["md5_auth"])
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "NoTls-Md5-Pa55", json!({"port": port})))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, false).await.unwrap();
}

#[tokio::test]
async fn a_tls_server_name_under_an_rds_domain_never_falls_back_to_plaintext() {
    let bed = bed_with_fallback("single").await;
    let port = no_tls_proxy(bed.pg.port).await;
    // host is an alias (here the proxy's address); tlsServerName says the server is an RDS
    // instance, which always offers TLS: a "no TLS" answer is an attack, even with the opt-in.
    let extra = json!({"port": port, "tlsServerName": "mydb.abc123.us-east-1.rds.amazonaws.com"});
    let (user, arn) = bed.user_with_secret("notls", "NoTls-Pa55", extra).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ") && err.contains(NO_TLS_ON_SERVER),
        "{err}"
    );
    bed.login(&user, "NoTls-Pa55", false)
        .await
        .expect("password unchanged");
}
