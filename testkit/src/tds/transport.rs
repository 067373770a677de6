//! The connection under the TDS messages: plaintext, or TLS whose handshake travels inside
//! PRELOGIN (0x12) packets and whose records then go straight on the socket [MS-TDS 3.3.5.2 /
//! 2.2.6.5]; for login-only encryption the TLS layer is dropped after LOGIN7.
//!
//! rustls is driven by hand (no tokio-rustls): the handshake's records must be framed as TDS
//! packets, and dropping TLS mid-connection is not something a TLS stream type offers.

use super::packet::{self, bad, kind, Header, Message, Reassembler, HEADER};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};
use std::io::{self, Read, Write};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The TLS configuration of a PEM certificate chain and key; no TLS 1.3 session tickets (a
/// ticket written after the handshake would be framed wrongly by a client that has already
/// left its handshake loop).
pub fn tls_config(cert_pem: &str, key_pem: &str) -> io::Result<Arc<ServerConfig>> {
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| invalid(format!("{cert_pem}: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(format!("{cert_pem}: {e}")))?;
    let key =
        PrivateKeyDer::from_pem_file(key_pem).map_err(|e| invalid(format!("{key_pem}: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(e.to_string()))?;
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// One client connection.
pub struct Transport {
    sock: TcpStream,
    tls: Option<ServerConnection>,
    /// Bytes of the TDS stream (plaintext) read but not yet consumed.
    pending: Vec<u8>,
    reassembler: Reassembler,
    /// The server's SPID, written in every packet header.
    pub spid: u16,
    /// The negotiated packet size.
    pub packet_size: usize,
}

impl Transport {
    /// A plaintext transport on `sock`.
    pub fn new(sock: TcpStream, spid: u16) -> Self {
        Transport {
            sock,
            tls: None,
            pending: Vec::new(),
            reassembler: Reassembler::default(),
            spid,
            packet_size: packet::DEFAULT_PACKET_SIZE,
        }
    }

    /// Whether TLS is on.
    pub fn encrypted(&self) -> bool {
        self.tls.is_some()
    }

    /// Peeks at the first byte the client sends (0x12: TDS 7.x PRELOGIN; 0x16: a TLS
    /// ClientHello, TDS 8.0).
    pub async fn first_byte(&mut self) -> io::Result<u8> {
        self.fill(1).await?;
        Ok(self.pending[0])
    }

    /// The next whole message.
    pub async fn read_message(&mut self) -> io::Result<Message> {
        loop {
            self.fill(HEADER).await?;
            let header = Header::parse(self.pending[..HEADER].try_into().expect("8 bytes"))?;
            let length = header.length as usize;
            self.fill(length).await?;
            let payload: Vec<u8> = self.pending.drain(..length).skip(HEADER).collect();
            if let Some(m) = self.reassembler.push(header, &payload)? {
                return Ok(m);
            }
        }
    }

    /// Sends `payload` as a message of type `kind`, split at the packet size.
    pub async fn write_message(&mut self, kind: u8, payload: &[u8]) -> io::Result<()> {
        let bytes = packet::packets(kind, self.spid, payload, self.packet_size);
        self.write_stream(&bytes).await
    }

    /// Runs the TLS handshake with its records inside PRELOGIN packets; TLS is on afterwards.
    pub async fn handshake(&mut self, config: Arc<ServerConfig>) -> io::Result<()> {
        let mut conn = ServerConnection::new(config).map_err(|e| bad(e.to_string()))?;
        loop {
            let out = drain_tls(&mut conn)?;
            if !out.is_empty() {
                let bytes = packet::packets(kind::PRELOGIN, self.spid, &out, self.packet_size);
                self.sock.write_all(&bytes).await?;
            }
            if !conn.is_handshaking() {
                break;
            }
            let m = self.read_message().await?;
            if m.kind != kind::PRELOGIN {
                return Err(bad(format!(
                    "packet type 0x{:02x} during the TLS handshake (PRELOGIN 0x12 expected)",
                    m.kind
                )));
            }
            if let Err(e) = feed(&mut conn, &m.payload) {
                // Send the alert, framed as the handshake is, then give up.
                let alert = drain_tls(&mut conn).unwrap_or_default();
                if !alert.is_empty() {
                    let bytes =
                        packet::packets(kind::PRELOGIN, self.spid, &alert, self.packet_size);
                    let _ = self.sock.write_all(&bytes).await;
                }
                return Err(e);
            }
        }
        // A TLS 1.3 client sends its Finished and, at once, LOGIN7's records (raw): what was
        // read past the last handshake packet is TLS.
        let early = std::mem::take(&mut self.pending);
        feed(&mut conn, &early)?;
        self.tls = Some(conn);
        Ok(())
    }

    /// Drops TLS (login-only encryption): what follows is plaintext. Plaintext already
    /// decrypted and unread is refused: the client sends nothing after LOGIN7 before the
    /// server's answer.
    pub fn drop_tls(&mut self) -> io::Result<()> {
        let Some(mut conn) = self.tls.take() else {
            return Ok(());
        };
        let mut rest = Vec::new();
        match conn.reader().read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if !rest.is_empty() || !self.pending.is_empty() {
            return Err(bad("data after LOGIN7 under login-only encryption".into()));
        }
        Ok(())
    }

    /// Sends a TLS close_notify when TLS is on (best effort).
    pub async fn close(&mut self) {
        if let Some(conn) = self.tls.as_mut() {
            conn.send_close_notify();
            if let Ok(out) = drain_tls(conn) {
                let _ = self.sock.write_all(&out).await;
            }
        }
        let _ = self.sock.shutdown().await;
    }

    async fn write_stream(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.tls.as_mut() {
            Some(conn) => {
                conn.writer().write_all(bytes)?;
                let out = drain_tls(conn)?;
                self.sock.write_all(&out).await
            }
            None => self.sock.write_all(bytes).await,
        }
    }

    /// Reads until `pending` holds `n` bytes of the TDS stream.
    async fn fill(&mut self, n: usize) -> io::Result<()> {
        let mut buf = vec![0u8; 16 * 1024];
        while self.pending.len() < n {
            if let Some(conn) = self.tls.as_mut() {
                match conn.reader().read(&mut buf) {
                    Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(k) => {
                        self.pending.extend_from_slice(&buf[..k]);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            let k = self.sock.read(&mut buf).await?;
            if k == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            match self.tls.as_mut() {
                Some(conn) => {
                    if let Err(e) = feed(conn, &buf[..k]) {
                        let alert = drain_tls(conn).unwrap_or_default();
                        let _ = self.sock.write_all(&alert).await;
                        return Err(e);
                    }
                    let out = drain_tls(conn)?;
                    if !out.is_empty() {
                        self.sock.write_all(&out).await?;
                    }
                }
                None => self.pending.extend_from_slice(&buf[..k]),
            }
        }
        Ok(())
    }
}

/// Gives TLS bytes to rustls and processes them.
fn feed(conn: &mut ServerConnection, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        conn.read_tls(&mut bytes)?;
        conn.process_new_packets()
            .map_err(|e| bad(format!("TLS: {e}")))?;
    }
    Ok(())
}

/// What rustls has to send.
fn drain_tls(conn: &mut ServerConnection) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out)?;
    }
    Ok(out)
}
