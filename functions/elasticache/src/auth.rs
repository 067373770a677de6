//! Proving a password against the cache itself: `AUTH username password` over verified TLS (a
//! few lines of the Redis protocol, RESP; ElastiCache RBAC requires in-transit encryption, so
//! there is no plaintext path). The password is sent only inside the TLS session, never logged,
//! and the server's answer is reported without it. Each phase waits at most [`AUTH_TIMEOUT`],
//! and never past the step's deadline.

use std::sync::Arc;
use std::time::Duration;

use rotation_core::anchors::TrustAnchors;
use rotation_core::{Result, RotationError, SecretValue};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::secret::Endpoint;

/// Connect, handshake and answer each within this (or the step's remaining time, if shorter).
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(5);

/// What the cache said to AUTH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// `+OK`: the password works.
    Accepted,
    /// `-WRONGPASS`: the password (or the user name) does not work. Holds the error code only.
    Refused(String),
    /// No TCP connection (refused, or no answer in time): the function cannot reach the cache
    /// from where it runs. Nothing was sent. Holds why (not the address).
    Unreachable(String),
}

/// One RESP array of bulk strings.
fn command(parts: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len()).into_bytes();
    for part in parts {
        out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The error code of an error reply (`-WRONGPASS invalid ...` gives `WRONGPASS`): its first word,
/// letters only, at most 32. Never the rest: a server that does not know AUTH (renamed, or not
/// Redis) can quote the command's arguments, the password among them, in its message.
fn error_code(reply: &str) -> String {
    let code: String = reply
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .take(32)
        .collect();
    if code.is_empty() {
        "(no error code)".into()
    } else {
        code
    }
}

/// Sends `AUTH username password` (the password of the version `which`) to `endpoint` over TLS
/// verified with `anchors` (the name checked is `endpoint.server_name`), each phase within
/// [`AUTH_TIMEOUT`] and before `deadline`. A TLS failure or an unexpected answer is an error; a
/// connection that cannot be made is [`AuthOutcome::Unreachable`].
pub async fn authenticate(
    anchors: &TrustAnchors,
    endpoint: &Endpoint,
    username: &str,
    password: &SecretValue,
    which: &str,
    deadline: Instant,
) -> Result<AuthOutcome> {
    let limit = || AUTH_TIMEOUT.min(crate::api::remaining(deadline));
    let address = format!("{}:{}", endpoint.host, endpoint.port);
    let connect_limit = limit();
    let tcp = match tokio::time::timeout(connect_limit, TcpStream::connect(&address)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Ok(AuthOutcome::Unreachable(e.to_string())),
        Err(_) => {
            return Ok(AuthOutcome::Unreachable(format!(
                "no connection within {:.1} s",
                connect_limit.as_secs_f64()
            )))
        }
    };
    let failure = |detail: String| RotationError::TlsFailure {
        which: which.into(),
        host: endpoint.host.clone(),
        port: endpoint.port,
        detail,
    };
    let name = ServerName::try_from(endpoint.server_name.clone()).map_err(|_| {
        failure(format!(
            "'{}' is not a valid server name",
            endpoint.server_name
        ))
    })?;
    let connector = TlsConnector::from(Arc::clone(&anchors.client_config()?));
    let tls = tokio::time::timeout(limit(), connector.connect(name, tcp))
        .await
        .map_err(|_| failure("no TLS handshake within the timeout".into()))?
        .map_err(|e| failure(format!("TLS handshake failed: {e}")))?;
    let mut stream = BufReader::new(tls);
    let exchange = async {
        stream
            .get_mut()
            .write_all(&command(&["AUTH", username, password.expose()]))
            .await?;
        stream.get_mut().flush().await?;
        let mut line = String::new();
        (&mut stream).take(512).read_line(&mut line).await?;
        // Best effort: the answer is in already.
        let _ = stream.get_mut().write_all(&command(&["QUIT"])).await;
        Ok::<_, std::io::Error>(line)
    };
    let line = tokio::time::timeout(limit(), exchange)
        .await
        .map_err(|_| unexpected(&address, "no answer to AUTH within the timeout"))?
        .map_err(|e| unexpected(&address, &format!("the connection failed: {e}")))?;
    verdict(&line, &address)
}

/// What the cache at `address` said to AUTH, from the first line of its reply: `+OK` accepts
/// the password, `-WRONGPASS` refuses it; any other error (LOADING, BUSY, NOPERM, ERR for an
/// unknown or renamed command) or anything that is no Redis reply is not a verdict on the
/// password, and is an error that reports only the reply's error code.
fn verdict(line: &str, address: &str) -> Result<AuthOutcome> {
    match line.as_bytes().first() {
        Some(b'+') if line.trim_end() == "+OK" => Ok(AuthOutcome::Accepted),
        Some(b'-') => match error_code(&line[1..]).as_str() {
            "WRONGPASS" => Ok(AuthOutcome::Refused("WRONGPASS".into())),
            code => Err(unexpected(
                address,
                &format!("AUTH answered with error {code}"),
            )),
        },
        // Neither the reply's text nor its length is reported: it is not Redis talking.
        _ => Err(unexpected(
            address,
            "the answer to AUTH is not a Redis reply",
        )),
    }
}

fn unexpected(address: &str, what: &str) -> RotationError {
    RotationError::TestSecret(format!("the cache at {address}: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_is_one_resp_array_of_bulk_strings() {
        assert_eq!(
            command(&["AUTH", "app", "p@ss wörd"]),
            b"*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$10\r\np@ss w\xc3\xb6rd\r\n".to_vec()
        );
    }

    /// Only `+OK` accepts and only `-WRONGPASS` refuses; every other reply is an error that
    /// decides nothing about the password and quotes nothing of the reply but an error code.
    #[test]
    fn only_ok_accepts_and_only_wrongpass_refuses() {
        let at = "10.0.0.5:6379";
        assert_eq!(verdict("+OK\r\n", at).unwrap(), AuthOutcome::Accepted);
        assert_eq!(
            verdict(
                "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
                at
            )
            .unwrap(),
            AuthOutcome::Refused("WRONGPASS".into())
        );
        for (reply, says) in [
            ("+QUEUED\r\n", "not a Redis reply"),
            ("+OKAY\r\n", "not a Redis reply"),
            ("-NOPERM this user has no permissions\r\n", "error NOPERM"),
            ("-LOADING Redis is loading the dataset\r\n", "error LOADING"),
            (
                "HTTP/1.1 400 Bad Request 'Secret-Pa55word-1'\r\n",
                "not a Redis reply",
            ),
            ("", "not a Redis reply"),
        ] {
            let e = verdict(reply, at).unwrap_err();
            assert_eq!(e.error_type(), "TestSecretFailed", "{reply:?}");
            let text = e.to_string();
            assert!(
                text.contains(says) && text.contains(at),
                "{reply:?}: {text}"
            );
            assert!(!text.contains("Pa55word"), "{text}");
        }
    }

    #[test]
    fn only_the_error_code_of_a_reply_is_ever_reported() {
        assert_eq!(
            error_code("WRONGPASS invalid username-password pair\r\n"),
            "WRONGPASS"
        );
        // A server that does not know AUTH quotes its arguments: the password must not follow.
        let echoed =
            "ERR unknown command 'AUTH', with args beginning with: 'app' 'Secret-Pa55word-123'";
        assert_eq!(error_code(echoed), "ERR");
        assert_eq!(error_code(&"X".repeat(500)).len(), 32);
        assert_eq!(error_code(" leading space"), "(no error code)");
    }
}
