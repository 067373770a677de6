//! A server that does not offer TLS at all: with `ssl` absent the function falls back to
//! plaintext (and logs a warning); with `ssl: true` it refuses. The sandbox PostgreSQL offers
//! TLS, so a loopback proxy answers the TLS request with "N" (as a server without TLS does) and
//! relays the rest of the session to it.

mod common;

use common::{unique, Bed};
use rotation_core::telemetry::json_subscriber;
use rotation_testkit::LogCapture;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing_subscriber::EnvFilter;

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

#[tokio::test]
async fn plaintext_only_when_the_server_offers_no_tls_and_never_when_ssl_is_true() {
    // The test runs on one thread (tokio's current-thread runtime), so a thread-local subscriber
    // sees every log line of the rotation.
    let capture = LogCapture::new();
    let _logs = tracing::subscriber::set_default(json_subscriber(
        capture.make_writer(),
        EnvFilter::new("warn"),
    ));
    let bed = Bed::single().await;
    let port = no_tls_proxy(bed.pg.port).await;
    let user = format!("notls_{}", unique());
    bed.pg
        .create_login("postgres", &user, "NoTls-Pa55", false, &[])
        .await;

    // ssl absent: plaintext fallback, the rotation works.
    let arn = bed
        .secret(&bed.secret_json(&user, "NoTls-Pa55", json!({"port": port})))
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
        err.starts_with("TlsFailure: ") && err.contains("does not support TLS"),
        "{err}"
    );
    bed.login(&user, &new, false)
        .await
        .expect("password unchanged");
}
