//! A fault-injecting loopback proxy in front of the sandbox PostgreSQL (feature `postgres`),
//! for plaintext sessions: it reads the client's protocol messages, so it can refuse the Nth
//! connection, drop a session right after forwarding a statement that changes a password or a
//! role (the server may then commit it or not, as when a Lambda is cut off), or make such a
//! statement fail (the proxy sends `SELECT 1/0` in its place).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A database fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFault {
    /// The connection is closed as soon as it is accepted.
    RefuseConnection,
    /// The session is cut right after a changing statement is forwarded.
    DropAfterStatement,
    /// A changing statement fails (division by zero in its place).
    FailStatement,
}

impl DbFault {
    /// Every kind.
    pub const ALL: [DbFault; 3] = [
        DbFault::RefuseConnection,
        DbFault::DropAfterStatement,
        DbFault::FailStatement,
    ];
}

#[derive(Debug, Default)]
struct State {
    connections: usize,
    statements: usize,
    plan: Option<(DbFault, usize, usize)>,
    injected: usize,
}

impl State {
    /// True when the `n`th event of `kind` is to fail.
    fn hits(&mut self, kind: DbFault, n: usize) -> bool {
        match self.plan {
            Some((k, at, times)) if k == kind && n >= at && n < at + times => {
                self.injected += 1;
                true
            }
            _ => false,
        }
    }
}

/// The proxy; it serves until the test process ends.
#[derive(Debug, Clone)]
pub struct PgFaultProxy {
    /// The loopback port to put in secrets.
    pub port: u16,
    state: Arc<Mutex<State>>,
}

/// True for a simple-query text that changes a password or a role.
fn is_changing(query: &str) -> bool {
    let q = query.trim_start().to_ascii_uppercase();
    ["ALTER ROLE", "ALTER USER", "CREATE ROLE", "CREATE USER"]
        .iter()
        .any(|p| q.starts_with(p))
}

impl PgFaultProxy {
    /// Starts a proxy to 127.0.0.1:`upstream`.
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let refuse = {
                        let mut s = state.lock().unwrap();
                        s.connections += 1;
                        let n = s.connections;
                        s.hits(DbFault::RefuseConnection, n)
                    };
                    if refuse {
                        drop(client);
                        return;
                    }
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await {
                        relay(client, server, state).await;
                    }
                });
            }
        });
        Self { port, state }
    }

    /// Makes `times` events of `kind` in a row fail, from the `at`th (1-based, counted from
    /// now: connections for `RefuseConnection`, changing statements otherwise).
    pub fn fail(&self, kind: DbFault, at: usize, times: usize) {
        let mut s = self.state.lock().unwrap();
        *s = State {
            plan: Some((kind, at, times)),
            ..State::default()
        };
    }

    /// Faults injected since the last [`PgFaultProxy::fail`].
    pub fn injected(&self) -> usize {
        self.state.lock().unwrap().injected
    }
}

/// Relays one session, reading the client's messages to apply the plan.
async fn relay(mut client: TcpStream, server: TcpStream, state: Arc<Mutex<State>>) {
    let (mut server_read, mut server_write) = server.into_split();
    let (mut client_read, mut client_write) = client.split();
    let to_client = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    let to_server = async {
        // The startup message: a length (itself included) and a body, no type byte.
        let mut len = [0u8; 4];
        if client_read.read_exact(&mut len).await.is_err() {
            return;
        }
        let n = u32::from_be_bytes(len) as usize;
        let mut body = vec![0u8; n.saturating_sub(4)];
        if client_read.read_exact(&mut body).await.is_err() {
            return;
        }
        if server_write.write_all(&len).await.is_err()
            || server_write.write_all(&body).await.is_err()
        {
            return;
        }
        loop {
            let mut head = [0u8; 5];
            if client_read.read_exact(&mut head).await.is_err() {
                return;
            }
            let n = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut body = vec![0u8; n.saturating_sub(4)];
            if client_read.read_exact(&mut body).await.is_err() {
                return;
            }
            let mut fault = None;
            if head[0] == b'Q' && is_changing(&String::from_utf8_lossy(&body)) {
                let mut s = state.lock().unwrap();
                s.statements += 1;
                let n = s.statements;
                for kind in [DbFault::DropAfterStatement, DbFault::FailStatement] {
                    if s.hits(kind, n) {
                        fault = Some(kind);
                    }
                }
            }
            if fault == Some(DbFault::FailStatement) {
                let query = b"SELECT 1/0\0";
                let mut message = vec![b'Q'];
                message.extend_from_slice(&((query.len() + 4) as u32).to_be_bytes());
                message.extend_from_slice(query);
                if server_write.write_all(&message).await.is_err() {
                    return;
                }
                continue;
            }
            if server_write.write_all(&head).await.is_err()
                || server_write.write_all(&body).await.is_err()
            {
                return;
            }
            if fault == Some(DbFault::DropAfterStatement) {
                let _ = server_write.flush().await;
                return;
            }
        }
    };
    // Either side ending ends the session (dropping both sockets cuts it).
    tokio::select! {
        _ = to_client => {}
        _ = to_server => {}
    }
}
