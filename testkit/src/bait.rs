//! Strict stand-in servers that offer no TLS and then ask for the password in a form an
//! eavesdropper could use: PostgreSQL's AuthenticationCleartextPassword (feature `postgres`)
//! and MySQL's caching_sha2_password "perform full authentication" (feature `mysql`, which a
//! client on plaintext answers by asking for the server's RSA key). They speak just enough of
//! each protocol to get there, check what the client sends on the way (anything unexpected is a
//! recorded violation, so a test cannot pass against a client the fake misread), and record
//! every byte the client sends after the request, which is what a test of the plaintext
//! fallback asserts on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a bait server waits for the client's next bytes before it hangs up.
const QUIET: Duration = Duration::from_secs(2);

/// The largest client message a bait server reads (handshakes and password answers are small).
const MAX_MESSAGE: usize = 64 * 1024;

/// What one connection to a bait server saw.
#[derive(Debug, Clone, Default)]
pub struct BaitConnection {
    /// Every byte the client sent on this connection.
    pub received: Vec<u8>,
    /// True once the server sent its password request on this connection.
    pub asked: bool,
    /// Every byte the client sent after the request, until it hung up, went quiet, or sent one
    /// whole message (after which the server answers as a real one would and hangs up).
    pub after_request: Vec<u8>,
}

#[derive(Debug, Default)]
struct Record {
    connections: Vec<BaitConnection>,
    violations: Vec<String>,
}

/// A bait server on a loopback port; it serves until the test process ends.
#[derive(Debug, Clone)]
pub struct PasswordBait {
    port: u16,
    record: Arc<Mutex<Record>>,
}

impl PasswordBait {
    /// The loopback port to put in secrets.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every connection so far, in order of arrival.
    pub fn connections(&self) -> Vec<BaitConnection> {
        self.lock().connections.clone()
    }

    /// How many connections got as far as the password request.
    pub fn requests(&self) -> usize {
        self.lock().connections.iter().filter(|c| c.asked).count()
    }

    /// What the client did that the protocol does not allow (empty for a well-behaved client).
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// True when any connection received `needle` anywhere (e.g. a password).
    pub fn received_contains(&self, needle: &[u8]) -> bool {
        !needle.is_empty()
            && self.lock().connections.iter().any(|c| {
                c.received
                    .windows(needle.len())
                    .any(|window| window == needle)
            })
    }

    /// Panics unless the client broke no protocol rule, the server got as far as its password
    /// request at least once, the client sent nothing after any request, and none of
    /// `passwords` reached the server at all.
    pub fn assert_nothing_given_away(&self, passwords: &[String]) {
        assert!(self.violations().is_empty(), "{:?}", self.violations());
        assert!(
            self.requests() > 0,
            "the server never asked for the password"
        );
        for connection in self.connections() {
            assert!(
                connection.after_request.is_empty(),
                "the client answered the request: {:?}",
                connection.after_request
            );
        }
        for password in passwords {
            assert!(
                !self.received_contains(password.as_bytes()),
                "a password reached the server"
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Binds a loopback port and serves every connection with `serve`.
    async fn start<F, Fut>(serve: F) -> Self
    where
        F: Fn(Session) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let record = Arc::new(Mutex::new(Record::default()));
        let shared = record.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let index = {
                    let mut r = shared.lock().unwrap_or_else(|p| p.into_inner());
                    r.connections.push(BaitConnection::default());
                    r.connections.len() - 1
                };
                tokio::spawn(serve(Session {
                    stream,
                    record: shared.clone(),
                    index,
                }));
            }
        });
        Self { port, record }
    }
}

/// One connection being served: reads are recorded as they happen.
struct Session {
    stream: TcpStream,
    record: Arc<Mutex<Record>>,
    index: usize,
}

impl Session {
    fn update(&self, f: impl FnOnce(&mut BaitConnection)) {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut r.connections[self.index]);
    }

    fn violation(&self, what: String) {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        r.violations.push(what);
    }

    /// Reads exactly `n` bytes (None when the client hung up or went quiet).
    async fn read(&mut self, n: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; n];
        match tokio::time::timeout(QUIET, self.stream.read_exact(&mut buf)).await {
            Ok(Ok(_)) => {}
            _ => return None,
        }
        let asked = {
            let r = self.record.lock().unwrap_or_else(|p| p.into_inner());
            r.connections[self.index].asked
        };
        self.update(|c| {
            c.received.extend_from_slice(&buf);
            if asked {
                c.after_request.extend_from_slice(&buf);
            }
        });
        Some(buf)
    }

    async fn write(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok()
    }

    /// Sends the password request and marks the connection as asked.
    async fn ask(&mut self, request: &[u8]) -> bool {
        if !self.write(request).await {
            return false;
        }
        self.update(|c| c.asked = true);
        true
    }
}

/// Reads a NUL-terminated string at `at`; returns it and the offset after the NUL.
fn c_string(bytes: &[u8], at: usize) -> Option<(String, usize)> {
    let rest = bytes.get(at..)?;
    let nul = rest.iter().position(|b| *b == 0)?;
    Some((
        String::from_utf8_lossy(&rest[..nul]).into_owned(),
        at + nul + 1,
    ))
}

mod postgres {
    //! PostgreSQL: answers SSLRequest (and GSSENCRequest) with "N", reads the startup message,
    //! sends AuthenticationCleartextPassword.

    use super::{c_string, PasswordBait, Session, MAX_MESSAGE};

    const SSL_REQUEST: u32 = 80_877_103;
    const GSSENC_REQUEST: u32 = 80_877_104;
    const PROTOCOL_3_0: u32 = 196_608;
    /// AuthenticationCleartextPassword: 'R', length 8, code 3.
    const CLEARTEXT_REQUEST: [u8; 9] = [b'R', 0, 0, 0, 8, 0, 0, 0, 3];

    impl PasswordBait {
        /// A PostgreSQL server without TLS that asks every client for its password in clear
        /// text; answers a password message with SQLSTATE 28P01 and hangs up.
        pub async fn postgres_cleartext() -> Self {
            Self::start(serve).await
        }
    }

    async fn serve(mut s: Session) {
        // The untagged first messages: SSLRequest / GSSENCRequest (answered "N", as a server
        // without TLS does), then the startup message.
        let startup = loop {
            let Some(head) = s.read(4).await else { return };
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            if !(8..=MAX_MESSAGE).contains(&len) {
                return s.violation(format!("untagged message of length {len}"));
            }
            let Some(body) = s.read(len - 4).await else {
                return;
            };
            let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            match code {
                SSL_REQUEST | GSSENC_REQUEST if len == 8 => {
                    if !s.write(b"N").await {
                        return;
                    }
                }
                PROTOCOL_3_0 => break body,
                other => return s.violation(format!("unknown startup code {other}")),
            }
        };
        // Parameters: name NUL value NUL ..., then a final NUL; `user` is required.
        let mut at = 4;
        let mut user = None;
        while startup.get(at).is_some_and(|b| *b != 0) {
            let Some((name, next)) = c_string(&startup, at) else {
                return s.violation("a startup parameter without a NUL".into());
            };
            let Some((value, next)) = c_string(&startup, next) else {
                return s.violation("a startup value without a NUL".into());
            };
            if name == "user" {
                user = Some(value);
            }
            at = next;
        }
        if user.is_none() {
            return s.violation("a startup message without user".into());
        }
        if !s.ask(&CLEARTEXT_REQUEST).await {
            return;
        }
        // Record the answer, if any: one tagged message.
        let Some(head) = s.read(5).await else { return };
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if !(4..=MAX_MESSAGE).contains(&len) || s.read(len - 4).await.is_none() {
            return;
        }
        if head[0] != b'p' {
            return s.violation(format!(
                "message {:?} after the password request",
                head[0] as char
            ));
        }
        let _ = s.write(&error_response("28P01")).await;
    }

    /// A FATAL ErrorResponse with `code`.
    fn error_response(code: &str) -> Vec<u8> {
        let mut fields = Vec::new();
        for (tag, value) in [
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', code),
            (b'M', "password authentication failed"),
        ] {
            fields.push(tag);
            fields.extend_from_slice(value.as_bytes());
            fields.push(0);
        }
        fields.push(0);
        let mut message = vec![b'E'];
        message.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
        message.extend_from_slice(&fields);
        message
    }
}

mod mysql {
    //! MySQL: a HandshakeV10 without CLIENT_SSL advertising caching_sha2_password with a
    //! 20-byte nonce, reads the HandshakeResponse41, sends "perform full authentication" (or an
    //! auth switch).

    use super::{c_string, PasswordBait, Session, MAX_MESSAGE};

    const CLIENT_LONG_PASSWORD: u32 = 0x1;
    const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
    const CLIENT_SSL: u32 = 0x800;
    const CLIENT_PROTOCOL_41: u32 = 0x200;
    const CLIENT_TRANSACTIONS: u32 = 0x2000;
    const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
    const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;
    const CLIENT_PLUGIN_AUTH_LENENC: u32 = 0x20_0000;
    const CLIENT_DEPRECATE_EOF: u32 = 0x100_0000;
    const PLUGIN: &str = "caching_sha2_password";
    /// AuthMoreData "perform full authentication".
    const FULL_AUTHENTICATION: [u8; 2] = [0x01, 0x04];

    impl PasswordBait {
        /// A MySQL 8 server without TLS whose accounts use caching_sha2_password and whose
        /// cache is cold: after the client's scramble it asks for full authentication; it
        /// hangs up after the client's next packet.
        pub async fn mysql_full_authentication() -> Self {
            Self::start(|s| serve(s, FULL_AUTHENTICATION.to_vec())).await
        }

        /// The same server, but after the client's scramble it switches the account to
        /// `plugin` (e.g. `mysql_clear_password`) with a 20-byte nonce.
        pub async fn mysql_auth_switch(plugin: &'static str) -> Self {
            let mut request = vec![0xfe];
            request.extend_from_slice(plugin.as_bytes());
            request.push(0);
            request.extend_from_slice(b"uvwxyzABCDEFGHIJKLMN\0");
            Self::start(move |s| serve(s, request.clone())).await
        }
    }

    fn packet(sequence: u8, payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() as u32).to_le_bytes();
        [&len[..3], &[sequence], payload].concat()
    }

    fn greeting() -> Vec<u8> {
        let caps = CLIENT_LONG_PASSWORD
            | CLIENT_CONNECT_WITH_DB
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH
            | CLIENT_PLUGIN_AUTH_LENENC
            | CLIENT_DEPRECATE_EOF;
        let caps = caps.to_le_bytes();
        let mut p = vec![10];
        p.extend_from_slice(b"8.0.36-bait\0");
        p.extend_from_slice(&7u32.to_le_bytes());
        p.extend_from_slice(b"abcdefgh"); // nonce, first 8 bytes
        p.push(0);
        p.extend_from_slice(&caps[..2]);
        p.push(255); // utf8mb4_0900_ai_ci
        p.extend_from_slice(&2u16.to_le_bytes()); // SERVER_STATUS_AUTOCOMMIT
        p.extend_from_slice(&caps[2..]);
        p.push(21); // nonce length with its NUL
        p.extend_from_slice(&[0; 10]);
        p.extend_from_slice(b"ijklmnopqrst\0"); // nonce, last 12 bytes
        p.extend_from_slice(PLUGIN.as_bytes());
        p.push(0);
        packet(0, &p)
    }

    async fn read_packet(s: &mut Session) -> Option<(u8, Vec<u8>)> {
        let head = s.read(4).await?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
        if len > MAX_MESSAGE {
            s.violation(format!("a packet of {len} bytes"));
            return None;
        }
        Some((head[3], s.read(len).await?))
    }

    async fn serve(mut s: Session, request: Vec<u8>) {
        if !s.write(&greeting()).await {
            return;
        }
        // A client that wanted TLS hangs up here (the greeting has no CLIENT_SSL).
        let Some((sequence, response)) = read_packet(&mut s).await else {
            return;
        };
        if let Err(problem) = check_response(sequence, &response) {
            return s.violation(problem);
        }
        if !s.ask(&packet(2, &request)).await {
            return;
        }
        // Record the answer (to full authentication, a client on plaintext asks for the RSA key
        // with 0x02), then hang up: a real server would go on, but that is no part of a test.
        let _ = read_packet(&mut s).await;
    }

    /// Checks a HandshakeResponse41: sequence 1, protocol 4.1, no TLS request, a user, a
    /// 32-byte caching_sha2_password scramble and the plugin name.
    fn check_response(sequence: u8, p: &[u8]) -> Result<(), String> {
        if sequence != 1 {
            return Err(format!("handshake response with sequence {sequence}"));
        }
        let caps = u32::from_le_bytes(
            p.get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or("a handshake response shorter than 4 bytes")?,
        );
        if caps & CLIENT_PROTOCOL_41 == 0 || caps & CLIENT_SSL != 0 {
            return Err(format!("handshake response capabilities {caps:#x}"));
        }
        let (user, at) = c_string(p, 32).ok_or("no user in the handshake response")?;
        if user.is_empty() {
            return Err("an empty user".into());
        }
        let len = *p.get(at).ok_or("no auth response")? as usize;
        if len != 32 {
            return Err(format!(
                "an auth response of {len} bytes, not a SHA-256 scramble"
            ));
        }
        let mut at = at + 1 + len;
        if caps & CLIENT_CONNECT_WITH_DB != 0 {
            at = c_string(p, at).ok_or("no database name")?.1;
        }
        let (plugin, _) = c_string(p, at).ok_or("no plugin name")?;
        if plugin != PLUGIN {
            return Err(format!("plugin {plugin} in the handshake response"));
        }
        Ok(())
    }
}
