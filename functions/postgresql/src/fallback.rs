//! The stream under a plaintext-fallback PostgreSQL session: it reads the server's messages
//! before tokio-postgres does, until authentication is over, and fails the read at a password
//! request the fallback refuses ([`Transport::screen`]), so the driver never answers it.
//!
//! tokio-postgres 0.7 answers AuthenticationCleartextPassword with the password and has no
//! option to refuse it, so the connector opens the TCP connection itself and hands the driver
//! this stream (`Config::connect_raw`). Bytes reach the driver only as whole messages that were
//! screened; after AuthenticationOk everything passes unread.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use rotation_core::database::{PasswordRequest, Refusal, Transport};

/// The largest server message read while authenticating (real ones are well under 1 KiB).
const MAX_MESSAGE: usize = 64 * 1024;

/// An authentication request: 'R', then a 4-byte length and a 4-byte code.
const AUTHENTICATION: u8 = b'R';

/// The codes of the authentication requests tokio-postgres answers (the rest it refuses).
mod code {
    pub const OK: u32 = 0;
    pub const CLEARTEXT_PASSWORD: u32 = 3;
    pub const MD5_PASSWORD: u32 = 5;
    pub const SASL: u32 = 10;
    pub const SASL_CONTINUE: u32 = 11;
    pub const SASL_FINAL: u32 = 12;
}

/// What an authentication request asks for.
fn request(code: u32) -> PasswordRequest {
    match code {
        code::OK | code::MD5_PASSWORD | code::SASL | code::SASL_CONTINUE | code::SASL_FINAL => {
            PasswordRequest::Proof
        }
        code::CLEARTEXT_PASSWORD => PasswordRequest::Cleartext,
        2 => PasswordRequest::unknown("Kerberos V5"),
        6 => PasswordRequest::unknown("SCM credentials"),
        7 | 8 => PasswordRequest::unknown("GSSAPI"),
        9 => PasswordRequest::unknown("SSPI"),
        other => PasswordRequest::unknown(&format!("authentication code {other}")),
    }
}

/// A stream that screens the server's authentication messages (see the module docs).
pub(crate) struct Screened<S> {
    inner: S,
    transport: Transport,
    /// True until AuthenticationOk has been handed on.
    screening: bool,
    /// Read from the server, not yet screened (an incomplete message).
    unscreened: Vec<u8>,
    /// Screened, not yet handed to the driver, from `handed`.
    screened: Vec<u8>,
    handed: usize,
    /// The refusal, for the connector (the driver only sees an I/O error).
    refusal: Arc<OnceLock<Refusal>>,
}

impl<S> Screened<S> {
    /// `inner`, screened as `transport` requires; a refusal is also left in `refusal`.
    pub(crate) fn new(inner: S, transport: Transport, refusal: Arc<OnceLock<Refusal>>) -> Self {
        Self {
            inner,
            transport,
            screening: true,
            unscreened: Vec::new(),
            screened: Vec::new(),
            handed: 0,
            refusal,
        }
    }

    /// Moves every whole message of `unscreened` that passes to `screened`. After
    /// AuthenticationOk the rest passes unread.
    fn screen(&mut self) -> io::Result<()> {
        while self.screening {
            let Some(head) = self.unscreened.get(..5) else {
                return Ok(());
            };
            let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            if !(4..=MAX_MESSAGE).contains(&len) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the server sent a message of length {len} while authenticating"),
                ));
            }
            let Some(message) = self.unscreened.get(..1 + len) else {
                return Ok(());
            };
            if message[0] == AUTHENTICATION {
                let Some(code) = message.get(5..9) else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the server sent an authentication request without a code",
                    ));
                };
                let code = u32::from_be_bytes([code[0], code[1], code[2], code[3]]);
                if let Err(refusal) = self.transport.screen(&request(code)) {
                    let _ = self.refusal.set(refusal.clone());
                    return Err(io::Error::new(io::ErrorKind::PermissionDenied, refusal));
                }
                if code == code::OK {
                    self.screening = false;
                }
            }
            self.screened.extend(self.unscreened.drain(..1 + len));
        }
        self.screened.append(&mut self.unscreened);
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Screened<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.handed < this.screened.len() {
                let ready = &this.screened[this.handed..];
                let n = ready.len().min(buf.remaining());
                buf.put_slice(&ready[..n]);
                this.handed += n;
                if this.handed == this.screened.len() {
                    this.screened.clear();
                    this.handed = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if !this.screening {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut chunk = [0u8; 4096];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                // End of stream: whatever incomplete message is left, the driver never sees.
                Poll::Ready(Ok(())) if read.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    this.unscreened.extend_from_slice(read.filled());
                    this.screen()?;
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Screened<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const FALLBACK: Transport = Transport::Plaintext { fallback: true };

    fn authentication(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut m = vec![AUTHENTICATION];
        m.extend_from_slice(&(8 + extra.len() as u32).to_be_bytes());
        m.extend_from_slice(&code.to_be_bytes());
        m.extend_from_slice(extra);
        m
    }

    /// Feeds `server` to a screened stream one byte at a time; returns what the reader got and
    /// how the read ended.
    async fn read_through(server: Vec<u8>) -> (Vec<u8>, io::Result<()>, Option<Refusal>) {
        let (mut far, near) = tokio::io::duplex(64);
        let refusal = Arc::new(OnceLock::new());
        let mut screened = Screened::new(near, FALLBACK, refusal.clone());
        tokio::spawn(async move {
            for byte in server {
                if far.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
        });
        let mut got = Vec::new();
        let end = loop {
            let mut buf = [0u8; 3];
            match screened.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e),
            }
        };
        (got, end, refusal.get().cloned())
    }

    #[tokio::test]
    async fn scram_then_ok_then_anything_passes_whole() {
        let mut server = authentication(code::SASL, b"SCRAM-SHA-256\0\0");
        server.extend(authentication(code::SASL_CONTINUE, b"r=abc,s=xyz,i=4096"));
        server.extend(authentication(code::SASL_FINAL, b"v=proof"));
        server.extend(authentication(code::OK, b""));
        // After AuthenticationOk nothing is read: even bytes that look like a request pass.
        server.extend(authentication(code::CLEARTEXT_PASSWORD, b""));
        server.extend(b"Z\0\0\0\x05I");
        let (got, end, refusal) = read_through(server.clone()).await;
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(got, server);
        assert_eq!(refusal, None);
    }

    #[tokio::test]
    async fn a_cleartext_request_is_never_handed_on() {
        let notice = b"N\0\0\0\x06x\0";
        let mut server = notice.to_vec();
        server.extend(authentication(code::CLEARTEXT_PASSWORD, b""));
        let (got, end, refusal) = read_through(server).await;
        // The notice may or may not be handed on before the refusal (that depends on how the
        // bytes arrive); the request never is.
        assert!(notice.starts_with(&got), "{got:?}");
        let e = end.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(refusal.unwrap().request(), &PasswordRequest::Cleartext);
    }

    #[tokio::test]
    async fn md5_passes_and_unknown_methods_are_refused() {
        let (got, end, _) = read_through(authentication(code::MD5_PASSWORD, b"salt")).await;
        assert!(end.is_ok() && got.len() == 13);
        for code in [2, 7, 9, 42] {
            let (got, end, refusal) = read_through(authentication(code, b"")).await;
            assert!(got.is_empty() && end.is_err(), "{code}");
            assert!(
                matches!(refusal.unwrap().request(), PasswordRequest::Unknown(_)),
                "{code}"
            );
        }
    }

    #[tokio::test]
    async fn malformed_or_oversized_messages_fail_the_read_without_a_panic() {
        for server in [
            vec![AUTHENTICATION, 0, 0, 0, 2],
            vec![AUTHENTICATION, 0, 0, 0, 4],
            vec![b'E', 0x7f, 0xff, 0xff, 0xff],
        ] {
            let (got, end, refusal) = read_through(server.clone()).await;
            assert!(
                got.is_empty() && end.is_err() && refusal.is_none(),
                "{server:?}"
            );
        }
        // A truncated message at the end of the stream is never handed on.
        let (got, end, _) = read_through(vec![AUTHENTICATION, 0, 0, 0, 8, 0, 0]).await;
        assert!(got.is_empty() && end.is_ok());
    }
}
