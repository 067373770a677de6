//! Encryption is the whole session: verified TLS with encryption required, never the
//! login-only encryption TDS falls back to; `"ssl": false` is the only way to plaintext, and the
//! plaintext fallback is refused (LOGIN7 would carry the password, only obfuscated).

use crate::testbed::Bed;
use rotation_testkit::tds::ServerEncryption;
use serde_json::json;

#[tokio::test]
async fn a_server_without_tls_is_refused_unless_the_secret_says_ssl_false() {
    let bed = Bed::with(
        "single",
        ServerEncryption::NotSupported,
        &[("ALLOW_PLAINTEXT_FALLBACK", "true".into())],
    )
    .await;
    for ssl in [json!(true), json!(null)] {
        let extra = if ssl.is_null() {
            json!({"ssl": null})
        } else {
            json!({ "ssl": ssl })
        };
        let (login, arn) = bed.login("notls", "Initial-Pa55word-4", extra).await;
        let logins = bed.server.counters().logins;
        let error = bed.failure_of(&arn).await;
        assert!(error.starts_with("TlsFailure"), "ssl {ssl}: {error}");
        assert_eq!(
            bed.server.password(&login).as_deref(),
            Some("Initial-Pa55word-4"),
            "ssl {ssl}: nothing changed"
        );
        assert_eq!(
            bed.server.counters().logins,
            logins,
            "ssl {ssl}: no login was made"
        );
    }
    let (_, arn) = bed
        .login("plain", "Initial-Pa55word-5", json!({"ssl": false}))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    bed.assert_current_logs_in(&arn).await;
}

/// A loopback relay to `upstream` that records every byte the client sends.
async fn recording_relay(upstream: u16) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                let (mut server_read, mut server_write) = server.into_split();
                let (mut client_read, mut client_write) = client.split();
                let up = async {
                    let mut chunk = [0u8; 8192];
                    loop {
                        match client_read.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                record.lock().unwrap().extend_from_slice(&chunk[..n]);
                                if server_write.write_all(&chunk[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                };
                let down = tokio::io::copy(&mut server_read, &mut client_write);
                tokio::select! {
                    _ = up => {}
                    _ = down => {}
                }
            });
        }
    });
    (port, sent)
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A server that does not force encryption answers ON to the function's "required": the
/// whole session is encrypted, so no statement, and no password, crosses the wire as TDS
/// text (with login-only encryption the `ALTER LOGIN` batch would be plaintext UTF-16).
#[tokio::test]
async fn the_whole_session_is_encrypted_not_only_the_login() {
    let bed = Bed::new("single").await;
    let (relay, sent) = recording_relay(bed.server.port()).await;
    let (_, arn) = bed
        .login("wire", "Initial-Pa55word-6", json!({"port": relay}))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    bed.assert_current_logs_in(&arn).await;
    let sent = sent.lock().unwrap().clone();
    assert!(sent.len() > 1000, "the relay carried the rotation");
    let mut texts = vec!["ALTER LOGIN".to_string(), "SUSER_SNAME".to_string()];
    texts.extend(bed.driver.passwords_of(&arn).await);
    for text in texts {
        let needle = utf16(&text);
        assert!(
            !sent.windows(needle.len()).any(|w| w == needle.as_slice()),
            "{} crossed the wire in plaintext",
            if text.contains("Pa55") || text.len() > 20 {
                "a password"
            } else {
                &text
            }
        );
    }
}

/// The control of the test above: in plaintext (`"ssl": false` to a server without TLS) the
/// relay does see the statements, so their absence above means encryption.
#[tokio::test]
async fn the_relay_sees_statements_in_plaintext() {
    let bed = Bed::with("single", ServerEncryption::NotSupported, &[]).await;
    let (relay, sent) = recording_relay(bed.server.port()).await;
    let (_, arn) = bed
        .login(
            "wireplain",
            "Initial-Pa55word-7",
            json!({"port": relay, "ssl": false}),
        )
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let sent = sent.lock().unwrap().clone();
    for text in ["ALTER LOGIN", "SUSER_SNAME"] {
        let needle = utf16(text);
        assert!(
            sent.windows(needle.len()).any(|w| w == needle.as_slice()),
            "{text} is on the wire in plaintext"
        );
    }
}
