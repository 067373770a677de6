//! The loopback relay under a plaintext-fallback MySQL session: it reads the server's packets
//! before mysql_async does, until authentication is over, and cuts the connection at a
//! password request the fallback refuses ([`Transport::screen`]), so the driver never answers
//! it.
//!
//! On a connection that is neither TLS nor a Unix socket, mysql_async 0.37 answers
//! caching_sha2_password's "perform full authentication" by asking the server for its RSA key
//! and encrypting the password to whatever key comes back (and panics on some malformed
//! answers); it has no option to refuse that, and it cannot be handed a stream of ours. So the
//! connector opens the TCP connection to the server itself and points the driver at a relay on
//! 127.0.0.1 (an ephemeral port, one connection, gone when the session ends). The relay
//! forwards the client's bytes as they come, and the server's as whole packets: the greeting,
//! then each authentication packet once screened; after the OK (or an error) everything passes
//! unread.

use std::io;
use std::sync::{Arc, OnceLock};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use rotation_core::database::{PasswordRequest, Refusal, Transport, CONNECT_TIMEOUT};

/// The largest server packet read while authenticating (a greeting or an RSA key is well
/// under 1 KiB).
const MAX_PACKET: usize = 64 * 1024;

/// First payload bytes of the server's authentication packets.
mod first {
    pub const OK: u8 = 0x00;
    pub const MORE_DATA: u8 = 0x01;
    pub const AUTH_SWITCH: u8 = 0xfe;
    pub const ERR: u8 = 0xff;
}

/// caching_sha2_password's AuthMoreData statuses.
const FAST_AUTH_OK: u8 = 0x03;
const PERFORM_FULL_AUTH: u8 = 0x04;

/// What an auth switch to `plugin` asks for. The plugins mysql_async answers with a proof pass;
/// the rest are refused on a fallback connection, including ones mysql_async refuses or does
/// not know today, so a newer driver cannot start answering them unseen.
fn switch_request(plugin: &str) -> PasswordRequest {
    match plugin {
        "mysql_native_password" | "caching_sha2_password" | "client_ed25519" => {
            PasswordRequest::Proof
        }
        "mysql_clear_password" | "dialog" => PasswordRequest::Cleartext,
        "sha256_password" => PasswordRequest::ToServerKey,
        other => PasswordRequest::unknown(other),
    }
}

/// What one server packet during authentication is.
#[derive(Debug, PartialEq, Eq)]
enum Packet {
    /// OK or error: authentication is over, the rest passes unread.
    End,
    /// A request for the password (or a proof of it).
    Request(PasswordRequest),
    /// Anything else: mysql_async rejects it as an unexpected packet without sending anything;
    /// screening goes on.
    Other,
}

fn classify(payload: &[u8]) -> Packet {
    let request = match payload {
        [first::OK, ..] | [first::ERR, ..] => return Packet::End,
        // mysql_old_password (the pre-4.1 switch request).
        [first::AUTH_SWITCH] => PasswordRequest::unknown("mysql_old_password"),
        [first::AUTH_SWITCH, rest @ ..] => {
            let name = rest.split(|b| *b == 0).next().unwrap_or_default();
            switch_request(&String::from_utf8_lossy(name))
        }
        [first::MORE_DATA, FAST_AUTH_OK] => PasswordRequest::Proof,
        // mysql_async acts on the status byte whatever follows it.
        [first::MORE_DATA, PERFORM_FULL_AUTH, ..] => PasswordRequest::ToServerKey,
        // An RSA public key, or anything else sent as more data: the plugins answered on a
        // fallback connection need none.
        [first::MORE_DATA, rest @ ..] if contains(rest, b"-----BEGIN") => {
            PasswordRequest::ToServerKey
        }
        [first::MORE_DATA, ..] => PasswordRequest::unknown("more authentication data"),
        _ => return Packet::Other,
    };
    Packet::Request(request)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A relay waiting for the driver's one connection.
pub(crate) struct Relay {
    /// The loopback port to point the driver at.
    pub(crate) port: u16,
}

impl Relay {
    /// Starts a relay to `server` (connected already) for one driver connection of a
    /// plaintext fallback, screened as such; a refusal is also left in `refusal`. A connection
    /// that does not come within the connect timeout is given up, and `server` with it.
    pub(crate) async fn start(
        server: TcpStream,
        refusal: Arc<OnceLock<Refusal>>,
    ) -> io::Result<Self> {
        let transport = Transport::Plaintext { fallback: true };
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            let accepted = tokio::time::timeout(CONNECT_TIMEOUT, listener.accept()).await;
            // One connection: nothing else can reach the server through this relay.
            drop(listener);
            if let Ok(Ok((client, _))) = accepted {
                let _ = client.set_nodelay(true);
                relay(client, server, transport, &refusal).await;
            }
        });
        Ok(Self { port })
    }
}

/// Relays one session, screening the server's authentication packets.
async fn relay(
    client: TcpStream,
    server: TcpStream,
    transport: Transport,
    refusal: &OnceLock<Refusal>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let to_server = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });
    match screen(&mut server_read, &mut client_write, transport).await {
        Ok(()) => {
            let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
            let _ = client_write.shutdown().await;
        }
        Err(Stop::Refused(r)) => {
            // Recorded before the client sees the connection close, so the connector finds it.
            let _ = refusal.set(r);
            to_server.abort();
        }
        Err(Stop::Ended) => to_server.abort(),
    }
    // Both sockets close when the last halves are dropped (here, and in the aborted task).
}

/// Why screening stopped the relay.
enum Stop {
    /// A password request the transport refuses.
    Refused(Refusal),
    /// The server hung up, the client went away, or the server sent what no server sends.
    Ended,
}

/// Forwards the greeting and every authentication packet that passes, until authentication is
/// over (Ok) or a packet is refused.
async fn screen(
    server: &mut (impl AsyncRead + Unpin),
    client: &mut (impl AsyncWrite + Unpin),
    transport: Transport,
) -> Result<(), Stop> {
    // The greeting (or an error, e.g. too many connections) carries no password request.
    let greeting = read_packet(server).await?;
    forward(client, &greeting).await?;
    if greeting.get(4) == Some(&first::ERR) {
        return Ok(());
    }
    loop {
        let packet = read_packet(server).await?;
        let kind = classify(&packet[4..]);
        if let Packet::Request(request) = &kind {
            transport.screen(request).map_err(Stop::Refused)?;
        }
        forward(client, &packet).await?;
        if kind == Packet::End {
            return Ok(());
        }
    }
}

/// One whole packet (header included).
async fn read_packet(server: &mut (impl AsyncRead + Unpin)) -> Result<Vec<u8>, Stop> {
    let mut packet = vec![0u8; 4];
    server
        .read_exact(&mut packet)
        .await
        .map_err(|_| Stop::Ended)?;
    let len = u32::from_le_bytes([packet[0], packet[1], packet[2], 0]) as usize;
    if len > MAX_PACKET {
        return Err(Stop::Ended);
    }
    packet.resize(4 + len, 0);
    server
        .read_exact(&mut packet[4..])
        .await
        .map_err(|_| Stop::Ended)?;
    Ok(packet)
}

async fn forward(client: &mut (impl AsyncWrite + Unpin), packet: &[u8]) -> Result<(), Stop> {
    client.write_all(packet).await.map_err(|_| Stop::Ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FALLBACK: Transport = Transport::Plaintext { fallback: true };

    fn packet(sequence: u8, payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() as u32).to_le_bytes();
        [&len[..3], &[sequence], payload].concat()
    }

    fn refused(payload: &[u8]) -> Option<PasswordRequest> {
        let Packet::Request(request) = classify(payload) else {
            return None;
        };
        FALLBACK.screen(&request).err().map(|r| r.request().clone())
    }

    #[test]
    fn proofs_pass_and_requests_that_hand_the_password_over_do_not() {
        assert_eq!(classify(&[0x00, 0, 0, 2, 0]), Packet::End);
        assert_eq!(classify(&[0xff, 0x15, 0x04]), Packet::End);
        assert_eq!(classify(&[]), Packet::Other);
        assert_eq!(classify(&[0x42]), Packet::Other);
        assert_eq!(refused(&[0x01, 0x03]), None);
        for plugin in [
            "mysql_native_password",
            "caching_sha2_password",
            "client_ed25519",
        ] {
            let switch = [&[0xfe][..], plugin.as_bytes(), b"\0nonce-nonce-nonce-n\0"].concat();
            assert_eq!(refused(&switch), None, "{plugin}");
        }
        assert_eq!(refused(&[0x01, 0x04]), Some(PasswordRequest::ToServerKey));
        assert_eq!(
            refused(&[0x01, 0x04, 0x99]),
            Some(PasswordRequest::ToServerKey)
        );
        let key = b"\x01-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n";
        assert_eq!(refused(key), Some(PasswordRequest::ToServerKey));
        assert_eq!(
            refused(b"\xfemysql_clear_password\0"),
            Some(PasswordRequest::Cleartext)
        );
        assert_eq!(refused(b"\xfedialog\0"), Some(PasswordRequest::Cleartext));
        assert_eq!(
            refused(b"\xfesha256_password\0abc\0"),
            Some(PasswordRequest::ToServerKey)
        );
        for unknown in [
            &b"\xfe"[..],
            b"\xfeparsec\0",
            b"\xfeauth_gssapi_client",
            b"\x01",
            b"\x01P\x00",
        ] {
            assert!(
                matches!(refused(unknown), Some(PasswordRequest::Unknown(_))),
                "{unknown:?}"
            );
        }
    }

    /// Screens `server` (a byte stream) and returns what reached the client and how it ended.
    async fn screened(server: Vec<u8>) -> (Vec<u8>, Result<(), Option<PasswordRequest>>) {
        let mut client = Vec::new();
        let result = screen(&mut server.as_slice(), &mut client, FALLBACK).await;
        let result = result.map_err(|stop| match stop {
            Stop::Refused(r) => Some(r.request().clone()),
            Stop::Ended => None,
        });
        (client, result)
    }

    #[tokio::test]
    async fn full_authentication_is_cut_before_the_client_sees_it() {
        let greeting = packet(0, b"\x0a8.0.36\0greeting");
        let server = [greeting.clone(), packet(2, &[0x01, 0x04])].concat();
        let (client, result) = screened(server).await;
        assert_eq!(client, greeting, "only the greeting reached the client");
        assert_eq!(result, Err(Some(PasswordRequest::ToServerKey)));
    }

    #[tokio::test]
    async fn after_the_ok_everything_passes_unread() {
        let server = [
            packet(0, b"\x0a10.11.6-MariaDB\0greeting"),
            packet(2, b"\xfeclient_ed25519\0nonce-nonce-nonce-nonce-nonce-no\0"),
            packet(4, &[0x00, 0, 0, 2, 0, 0, 0]),
        ]
        .concat();
        let (client, result) = screened(server.clone()).await;
        assert_eq!((client, result), (server, Ok(())));
    }

    #[tokio::test]
    async fn truncated_or_oversized_packets_end_the_relay_without_a_panic() {
        for server in [
            vec![],
            vec![5, 0, 0, 0, 0x0a],
            packet(0, b"\x0ag")
                .into_iter()
                .chain([0xff, 0xff, 0xff, 2])
                .collect(),
        ] {
            let (_, result) = screened(server).await;
            assert_eq!(result, Err(None));
        }
    }
}
