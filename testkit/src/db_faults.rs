//! A fault-injecting loopback proxy in front of a sandbox database server, for plaintext
//! sessions: it reads the client's protocol messages (PostgreSQL's or MySQL's), so it can refuse
//! the Nth connection, drop a session right after forwarding a statement that changes a
//! password or a user (the server may then commit it or not, as when a Lambda is cut off), or
//! make such a statement fail (the proxy sends a failing query in its place).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncWrite, AsyncWriteExt};
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
pub(crate) struct State {
    connections: usize,
    statements: usize,
    plan: Option<(DbFault, usize, usize)>,
    injected: usize,
}

impl State {
    /// Counts a changing statement and returns the fault to apply to it, if any.
    pub(crate) fn statement(&mut self) -> Option<DbFault> {
        self.statements += 1;
        let n = self.statements;
        let mut fault = None;
        for kind in [DbFault::DropAfterStatement, DbFault::FailStatement] {
            if self.hits(kind, n) {
                fault = Some(kind);
            }
        }
        fault
    }

    /// True when the `n`th event of `kind` is to fail.
    pub(crate) fn hits(&mut self, kind: DbFault, n: usize) -> bool {
        match self.plan {
            Some((k, at, times)) if k == kind && n >= at && n < at + times => {
                self.injected += 1;
                true
            }
            _ => false,
        }
    }
}

/// The wire protocol a proxy reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// PostgreSQL (and Redshift).
    Postgres,
    /// MySQL and MariaDB.
    MySql,
}

/// The proxy; it serves until the test process ends.
#[derive(Debug, Clone)]
pub struct DbFaultProxy {
    /// The loopback port to put in secrets.
    pub port: u16,
    state: Arc<Mutex<State>>,
}

/// True for a query text that changes a password, a role, a user or a privilege.
pub(crate) fn is_changing(query: &str) -> bool {
    let q = query.trim_start().to_ascii_uppercase();
    [
        "ALTER ROLE",
        "ALTER USER",
        "CREATE ROLE",
        "CREATE USER",
        "DROP ROLE",
        "DROP USER",
        "SET PASSWORD",
        "SET DEFAULT ROLE",
        "SET STATEMENT",
        "GRANT",
        "REVOKE",
    ]
    .iter()
    .any(|p| q.starts_with(p))
}

impl DbFaultProxy {
    /// Starts a proxy for `protocol` to 127.0.0.1:`upstream`.
    pub async fn start(protocol: Protocol, upstream: u16) -> Self {
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
                        match protocol {
                            #[cfg(feature = "postgres")]
                            Protocol::Postgres => {
                                crate::pg_faults::relay(client, server, state).await
                            }
                            #[cfg(feature = "mysql")]
                            Protocol::MySql => crate::my_faults::relay(client, server, state).await,
                            #[allow(unreachable_patterns)]
                            _ => panic!("the testkit was built without {protocol:?}"),
                        }
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

    /// Faults injected since the last [`DbFaultProxy::fail`].
    pub fn injected(&self) -> usize {
        self.state.lock().unwrap().injected
    }

    /// No fault planned; the counts start again from zero.
    pub fn clear(&self) {
        *self.state.lock().unwrap() = State::default();
    }

    /// (connections accepted, changing statements seen) since the last [`DbFaultProxy::fail`]
    /// or [`DbFaultProxy::clear`].
    pub fn counts(&self) -> (usize, usize) {
        let s = self.state.lock().unwrap();
        (s.connections, s.statements)
    }
}

/// Sends one client message (`parts`, as read) to the server under `fault`: in its place a
/// failing query (`failing`, built only when needed) for `FailStatement`; as is otherwise, then
/// ends the session for `DropAfterStatement`. Returns false when the session must end.
pub(crate) async fn forward(
    server: &mut (impl AsyncWrite + Unpin),
    fault: Option<DbFault>,
    parts: &[&[u8]],
    failing: impl FnOnce() -> Vec<u8>,
) -> bool {
    if fault == Some(DbFault::FailStatement) {
        return server.write_all(&failing()).await.is_ok();
    }
    for part in parts {
        if server.write_all(part).await.is_err() {
            return false;
        }
    }
    if fault == Some(DbFault::DropAfterStatement) {
        let _ = server.flush().await;
        return false;
    }
    true
}
