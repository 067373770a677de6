//! A server that says it does not offer TLS (an answer anyone on the path can forge): with
//! `ssl` absent the MariaDB function refuses, unless the deployment opts in to the plaintext
//! fallback (then it falls back and logs a warning); with `ssl: true` it always refuses; and
//! the superuser secret never falls back. The sandbox MariaDB offers TLS, so a loopback proxy
//! clears the SSL capability in the server's greeting (as a server without TLS sends it) and
//! relays the rest of the session. Strict stand-in servers that offer no TLS and then ask for
//! caching_sha2_password full authentication (which a client on plaintext answers by fetching
//! the server's RSA key and encrypting the password to it) show that a fallback connection
//! refuses that (and a `"ssl": false` one does not: that is the user's choice).

use crate::testbed::{Bed, Options};
use rotation_core::database::NO_TLS_ON_SERVER;
use rotation_core::telemetry::json_subscriber;
use rotation_mysql::Flavor;
use rotation_testkit::{unique, LogCapture, PasswordBait};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// CLIENT_SSL in the capability flags' lower two bytes (little-endian: bit 3 of the second).
const SSL_BIT_IN_SECOND_BYTE: u8 = 0x08;

/// Starts the proxy; returns its port. It serves connections until the test ends.
async fn no_tls_proxy(upstream_port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))
                    .await
                    .unwrap();
                // The greeting: 3-byte length, sequence, then protocol version 10, the server
                // version (NUL-terminated), a 4-byte connection id, 8 bytes of scramble, a
                // filler byte, and the capability flags' lower two bytes.
                let mut head = [0u8; 4];
                if upstream.read_exact(&mut head).await.is_err() {
                    return;
                }
                let n = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
                let mut greeting = vec![0u8; n];
                if upstream.read_exact(&mut greeting).await.is_err() {
                    return;
                }
                if let Some(nul) = greeting.iter().skip(1).position(|b| *b == 0) {
                    let flags = 1 + nul + 1 + 4 + 8 + 1;
                    if let Some(second) = greeting.get_mut(flags + 1) {
                        *second &= !SSL_BIT_IN_SECOND_BYTE;
                    }
                }
                if client.write_all(&head).await.is_err()
                    || client.write_all(&greeting).await.is_err()
                {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    port
}

async fn bed(strategy: &str, plaintext_fallback: bool) -> Bed {
    let options = Options {
        plaintext_fallback,
        ..Options::default()
    };
    Bed::with_options(Flavor::MARIADB, strategy, options).await
}

#[tokio::test]
async fn without_the_opt_in_a_server_that_offers_no_tls_is_refused() {
    let bed = bed("single", false).await;
    let port = no_tls_proxy(bed.db.port).await;
    let (user, arn) = bed
        .user_with_secret("notls", "NoTls-Pa55", json!({"port": port}))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ") && err.contains(NO_TLS_ON_SERVER),
        "{err}"
    );
    bed.db
        .login(&user, "NoTls-Pa55", true)
        .await
        .expect("password unchanged");
}

#[tokio::test]
async fn plaintext_only_when_opted_in_the_server_offers_no_tls_and_ssl_is_absent() {
    let capture = LogCapture::new();
    let _logs = tracing::subscriber::set_default(json_subscriber(
        capture.make_writer(),
        rotation_core::telemetry::filter("warn"),
    ));
    let bed = bed("single", true).await;
    let port = no_tls_proxy(bed.db.port).await;
    let (user, arn) = bed
        .user_with_secret("notls", "NoTls-Pa55", json!({"port": port}))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.db.login(&user, &new, true).await.unwrap();
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
    bed.db
        .login(&user, &new, true)
        .await
        .expect("password unchanged");
}

#[tokio::test]
async fn the_superuser_secret_never_falls_back_to_plaintext() {
    let bed = bed("alternating", true).await;
    let port = no_tls_proxy(bed.db.port).await;
    let user = format!("notls_alt_{}", unique());
    bed.create_user(&user, "%", "NoTls-Pa55", "").await;
    // Both secrets name the proxy and leave ssl out; the child may fall back, the superuser not.
    let master_arn = bed
        .superuser_secret(
            &format!("notls_master_{}", unique()),
            "Master-Pa55",
            json!({"port": port}),
        )
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
    assert!(
        bed.db.hosts(&format!("{user}_clone")).await.is_empty(),
        "nothing was created"
    );
}

/// The password of the baited secrets: long enough for `LogCapture::assert_none_of`.
const BAIT_PASSWORD: &str = "Bait-FullAuth-Pa55word";

#[tokio::test]
async fn a_fallback_connection_refuses_full_authentication_with_a_key_the_server_sends() {
    let capture = LogCapture::global();
    let bed = bed("single", true).await;
    let bait = PasswordBait::mysql_full_authentication().await;
    let arn = bed
        .secret(&bed.secret_json(
            "bait_user",
            BAIT_PASSWORD,
            json!({"host": "127.0.0.1", "port": bait.port()}),
        ))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ")
            && err.contains("offered no TLS")
            && err.contains("full authentication")
            && err.contains("\"ssl\": true"),
        "{err}"
    );
    let passwords = bed.created_passwords().await;
    assert!(passwords.len() >= 2, "AWSCURRENT and AWSPENDING");
    // Nothing after the request: no 0x02 public-key request, nothing carrying the password.
    bait.assert_nothing_given_away(&passwords);
    capture.assert_none_of(&passwords);
}

#[tokio::test]
async fn an_explicit_ssl_false_is_the_users_choice_and_is_not_screened() {
    let capture = LogCapture::global();
    let bed = bed("single", true).await;
    let bait = PasswordBait::mysql_full_authentication().await;
    let arn = bed
        .secret(&bed.secret_json(
            "bait_user",
            BAIT_PASSWORD,
            json!({"host": "127.0.0.1", "port": bait.port(), "ssl": false}),
        ))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(!err.starts_with("TlsFailure: "), "{err}");
    assert!(bait.violations().is_empty(), "{:?}", bait.violations());
    // Sequence 3, payload 0x02: the driver asks for the server's RSA key, as before.
    assert_eq!(
        bait.connections()[0].after_request,
        [1, 0, 0, 3, 2],
        "with \"ssl\": false the driver answers the request as before"
    );
    capture.assert_none_of(&bed.created_passwords().await);
}

#[tokio::test]
async fn a_switch_to_the_cleartext_plugin_stays_refused_with_and_without_the_fallback() {
    let capture = LogCapture::global();
    let bed = bed("single", true).await;
    let bait = PasswordBait::mysql_auth_switch("mysql_clear_password").await;
    // ssl absent: the fallback's relay cuts the switch; the error says why.
    let arn = bed
        .secret(&bed.secret_json(
            "bait_user",
            BAIT_PASSWORD,
            json!({"host": "127.0.0.1", "port": bait.port()}),
        ))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("TlsFailure: ")
            && err.contains("offered no TLS")
            && err.contains("clear text"),
        "{err}"
    );
    // ssl false: not screened, and the driver still refuses the plugin (never enabled here).
    let arn = bed
        .secret(&bed.secret_json(
            "bait_user",
            BAIT_PASSWORD,
            json!({"host": "127.0.0.1", "port": bait.port(), "ssl": false}),
        ))
        .await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("UnsupportedServer: ") && err.contains("mysql_clear_password"),
        "{err}"
    );
    assert!(bait.requests() >= 2, "both secrets were asked");
    let passwords = bed.created_passwords().await;
    bait.assert_nothing_given_away(&passwords);
    capture.assert_none_of(&passwords);
}
