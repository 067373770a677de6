//! A fault-injecting loopback proxy in front of a sandbox database server, for plaintext
//! sessions: it splits the client's bytes into protocol messages with the [`Classifier`] the
//! adapter's test bed provides, so it can refuse the Nth connection, drop a session right after
//! forwarding a message that changes a password or a user (the server may then commit it or
//! not, as when a Lambda is cut off), make such a message fail (the classifier says what to
//! send in its place), or hold it until the test has changed the server's state under the
//! logged-in session. The proxy itself knows no wire protocol.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A database fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFault {
    /// The connection is closed as soon as it is accepted.
    RefuseConnection,
    /// The session is cut right after a changing statement is forwarded.
    DropAfterStatement,
    /// A changing statement fails (the classifier's failing message goes in its place).
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
    /// The changing statement (counted as `statements`) held before it is forwarded, the
    /// signal that it was reached, and the one that lets it go on.
    pause: Option<(usize, oneshot::Sender<()>, oneshot::Receiver<()>)>,
}

/// A changing statement held by the proxy ([`DbFaultProxy::pause_before_change`]): the
/// session that sent it is logged in and waits for the server's answer.
#[derive(Debug)]
pub struct Paused {
    reached: oneshot::Receiver<()>,
    go: oneshot::Sender<()>,
}

impl Paused {
    /// Waits until the statement reaches the proxy; then forwards it. In between, the test
    /// can change the server's state under the session (e.g. fill its connection slots).
    /// Returns what `meanwhile` returned.
    pub async fn hold_then<T>(self, meanwhile: impl std::future::Future<Output = T>) -> T {
        self.reached
            .await
            .expect("the proxy dropped a paused statement before it was reached");
        let kept = meanwhile.await;
        let _ = self.go.send(());
        kept
    }
}

impl State {
    /// Counts a changing statement and returns the fault to apply to it, if any.
    fn statement(&mut self) -> Option<DbFault> {
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

    /// The pause of the statement just counted, if it is the one to hold: (reached, go on).
    fn pause_here(&mut self) -> Option<(oneshot::Sender<()>, oneshot::Receiver<()>)> {
        match self.pause.take() {
            Some((at, reached, go)) if at == self.statements => Some((reached, go)),
            other => {
                self.pause = other;
                None
            }
        }
    }

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

/// What the fault proxy needs to know of a wire protocol: how the client's bytes split into
/// messages, which message changes a password, a user or a privilege, and what to send in its
/// place to make it fail. Each adapter's test bed provides one.
pub trait Classifier: Send + Sync + 'static {
    /// The length of the first whole client message at the start of `buffered` (framing
    /// included), or `None` when more bytes are needed. `index` counts the session's client
    /// messages from 0 (some protocols open with a message of another shape).
    fn message_len(&self, buffered: &[u8], index: usize) -> Option<usize>;
    /// True when `message` (whole, as [`Classifier::message_len`] delimited it) changes a
    /// password, a user or a privilege.
    fn is_changing(&self, message: &[u8], index: usize) -> bool;
    /// A client message to send in place of `message` that makes the server answer with an
    /// error and change nothing.
    fn failing(&self, message: &[u8]) -> Vec<u8>;
}

/// True for SQL text that changes a password, a role, a user or a privilege: the rule the
/// SQL protocols' classifiers apply to a query's text.
pub fn sql_changes_credentials(query: &str) -> bool {
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

/// The proxy; it serves until the test process ends.
#[derive(Debug, Clone)]
pub struct DbFaultProxy {
    /// The loopback port to put in secrets.
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl DbFaultProxy {
    /// Starts a proxy to 127.0.0.1:`upstream` that reads the client's messages with
    /// `classifier`.
    pub async fn start(classifier: Arc<dyn Classifier>, upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                let classifier = classifier.clone();
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
                        relay(client, server, state, &*classifier).await;
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

    /// Holds the `at`th changing statement from now (1-based) before forwarding it, until the
    /// returned [`Paused`] lets it go on. Set it after [`DbFaultProxy::fail`] or
    /// [`DbFaultProxy::clear`], which drop a pause not reached yet.
    pub fn pause_before_change(&self, at: usize) -> Paused {
        let (reached_tx, reached) = oneshot::channel();
        let (go, go_rx) = oneshot::channel();
        let mut s = self.state.lock().unwrap();
        let at = s.statements + at;
        s.pause = Some((at, reached_tx, go_rx));
        Paused { reached, go }
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

/// Relays one session, splitting the client's bytes into messages with `classifier` to apply
/// the plan.
async fn relay(
    mut client: TcpStream,
    server: TcpStream,
    state: Arc<Mutex<State>>,
    classifier: &dyn Classifier,
) {
    let (mut server_read, mut server_write) = server.into_split();
    let (mut client_read, mut client_write) = client.split();
    let to_client = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    let to_server = async {
        let mut buffered = Vec::new();
        let mut index = 0;
        let mut chunk = [0u8; 8192];
        loop {
            while let Some(n) = classifier.message_len(&buffered, index) {
                if buffered.len() < n {
                    break;
                }
                let message: Vec<u8> = buffered.drain(..n).collect();
                let (fault, pause) = if classifier.is_changing(&message, index) {
                    let mut s = state.lock().unwrap();
                    let fault = s.statement();
                    (fault, s.pause_here())
                } else {
                    (None, None)
                };
                if let Some((reached, go)) = pause {
                    let _ = reached.send(());
                    let _ = go.await;
                }
                index += 1;
                let failing = || classifier.failing(&message);
                if !forward(&mut server_write, fault, &message, failing).await {
                    return;
                }
            }
            match client_read.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffered.extend_from_slice(&chunk[..n]),
            }
        }
    };
    // Either side ending ends the session (dropping both sockets cuts it).
    tokio::select! {
        _ = to_client => {}
        _ = to_server => {}
    }
}

/// Sends one client message to the server under `fault`: in its place a failing message
/// (`failing`, built only when needed) for `FailStatement`; as is otherwise, then ends the
/// session for `DropAfterStatement`. Returns false when the session must end.
async fn forward(
    server: &mut (impl AsyncWrite + Unpin),
    fault: Option<DbFault>,
    message: &[u8],
    failing: impl FnOnce() -> Vec<u8>,
) -> bool {
    if fault == Some(DbFault::FailStatement) {
        return server.write_all(&failing()).await.is_ok();
    }
    if server.write_all(message).await.is_err() {
        return false;
    }
    if fault == Some(DbFault::DropAfterStatement) {
        let _ = server.flush().await;
        return false;
    }
    true
}
