//! The one connect policy of every database adapter. It decides everything about a login that
//! does not depend on the wire protocol, and hands the adapter's [`Driver`] what its driver
//! needs:
//! - where the TCP connection goes (the secret's `host` and port, `tlsServerName`, a test
//!   redirect) and the name the certificate must carry;
//! - the TLS mode (`ssl`, `ALLOW_PLAINTEXT_FALLBACK`, never for the superuser or an
//!   AWS-managed host) and the trust anchors ([`TrustAnchors`]: a rustls configuration, a
//!   certificate list, a CA file, or whatever form the driver takes);
//! - the plaintext fallback: only when the server answers that it has no TLS, with a warning,
//!   over a connection the policy opens and the adapter screens;
//! - one deadline for the whole login;
//! - what a driver that owns its socket ([`ConnectMode::Driver`]: it resolves the name it is
//!   given and verifies the certificate for that name) can be given: names only, a
//!   `tlsServerName` equal to `host`, no plaintext fallback, a deadline after its own timeouts;
//! - what a failure means ([`LoginFailure`], classified by the adapter from its driver's typed
//!   errors), mapped here, once, to [`RotationError`]s.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::net::TcpStream;

use super::hosts::TestHosts;
use super::{DatabaseSecret, EngineIdentity, Refusal, TlsMode, Transport, TrustAnchors, Which};
use crate::error::{Result, RotationError, ServerError};
use crate::settings::Settings;

/// The time allowed for one login (DNS, TCP, TLS and authentication).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The deadline of a whole login through a driver that owns its socket
/// ([`ConnectMode::Driver`]). Such a driver gives up within [`CONNECT_TIMEOUT`] by its own
/// timeouts (connect, server selection), and its error carries the reason (a certificate
/// refused is a `TlsFailure`); this deadline comes after them and only catches a server that
/// accepts and then stalls, where the driver has no socket timeout. Were both equal, the two
/// timers would race and a refused certificate could be reported as an unreachable host.
pub const DRIVER_LOGIN_DEADLINE: Duration = Duration::from_secs(CONNECT_TIMEOUT.as_secs() + 3);

/// How a driver connects, which decides what the policy can do for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectMode {
    /// The driver connects where the policy says: to an address the policy resolved (a
    /// `tlsServerName` verified while connecting to `host`, a test redirect), or over a stream
    /// the policy opened (the plaintext fallback, whose authentication messages the adapter
    /// screens: [`Driver::open_screened`]). The deadline is [`CONNECT_TIMEOUT`].
    Stream,
    /// The driver owns its socket (MongoDB's): it resolves the name it is given, verifies the
    /// certificate for that same name, and takes the trust anchors in its own form (a CA
    /// file). So the policy:
    /// - gives it names only ([`Address::Name`]): a test redirect becomes the redirect's
    ///   certificate name at the redirect's port (that name must resolve to the redirect's
    ///   address; tests use `localhost`);
    /// - refuses a `tlsServerName` other than `host` (`MalformedSecret`, before anything is
    ///   sent): the driver cannot connect to one name and verify another;
    /// - never falls back to plaintext (it has no stream to screen): a secret without `ssl`
    ///   gets verified TLS or nothing, whatever `ALLOW_PLAINTEXT_FALLBACK` says;
    /// - waits [`DRIVER_LOGIN_DEADLINE`], after the driver's own timeouts, which must be at
    ///   most [`CONNECT_TIMEOUT`].
    Driver {
        /// The driver's name in messages, e.g. "MongoDB".
        name: &'static str,
    },
}

impl ConnectMode {
    /// The deadline of a whole login in this mode.
    pub const fn deadline(self) -> Duration {
        match self {
            ConnectMode::Stream => CONNECT_TIMEOUT,
            ConnectMode::Driver { .. } => DRIVER_LOGIN_DEADLINE,
        }
    }

    /// Whether the plaintext fallback can be offered in this mode at all.
    pub const fn can_fall_back(self) -> bool {
        matches!(self, ConnectMode::Stream)
    }
}

/// The detail of a TLS failure when the server offers no TLS and no fallback is allowed.
pub const NO_TLS_ON_SERVER: &str =
    "the server offers no TLS (set \"ssl\": false in the secret only if the network path is trusted)";

/// One login as the policy decided it: what a driver needs to open the session.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The credentials.
    pub secret: &'a DatabaseSecret,
    /// Which credentials, for messages.
    pub which: Which,
    /// Where the TCP connection goes.
    pub address: Address<'a>,
    /// The name the server's certificate must carry (sent as SNI).
    pub server_name: &'a str,
    /// The database to open (the secret's `dbname`, else the engine's default).
    pub dbname: Option<&'a str>,
    /// `Some`: TLS verified against these anchors; `None`: plaintext.
    pub tls: Option<&'a TrustAnchors>,
}

/// Where a session's TCP connection goes.
#[derive(Debug, Clone, Copy)]
pub enum Address<'a> {
    /// An address known already (a test redirect, or `host` resolved for `tlsServerName`).
    Resolved(SocketAddr),
    /// A host name (or IP literal) and port, resolved when connecting.
    Name(&'a str, u16),
}

impl Address<'_> {
    /// The host (name or IP literal) to give a driver that resolves by itself.
    pub fn host(&self) -> String {
        match self {
            Address::Resolved(a) => a.ip().to_string(),
            Address::Name(host, _) => (*host).to_string(),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        match self {
            Address::Resolved(a) => a.port(),
            Address::Name(_, port) => *port,
        }
    }

    /// Connects to the first address that accepts, in the order the resolver gives them.
    pub async fn connect(&self) -> std::result::Result<TcpStream, String> {
        let addresses: Vec<SocketAddr> = match self {
            Address::Resolved(address) => vec![*address],
            Address::Name(host, port) => tokio::net::lookup_host((*host, *port))
                .await
                .map_err(|e| format!("cannot resolve the host name: {e}"))?
                .collect(),
        };
        let mut last = None;
        for address in addresses {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    // Small protocol messages; Nagle's algorithm would only delay them.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) => format!("cannot connect: {e}"),
            None => "the host name resolves to no address".into(),
        })
    }
}

/// What a failed login means, as an adapter reads its driver's error.
#[derive(Debug)]
pub enum LoginFailure {
    /// The server answered that it has no TLS.
    NoTlsOnServer,
    /// The credentials were refused (wrong password, unknown user, locked account).
    Refused {
        /// The server's error, when it sent one.
        server: Option<ServerError>,
        /// Appended to the message (starts with "; " when not empty).
        hint: String,
    },
    /// The TLS handshake or the certificate failed.
    Tls(String),
    /// The account or server needs something this function does not do (an auth plugin).
    Unsupported(String),
    /// The server refused the login for capacity, whatever the credentials: no connection
    /// slot left (for everyone or for this user), or no connections accepted just now
    /// (starting up, shutting down). Reported as `DatabaseAtCapacity`, never as a refusal.
    AtCapacity(ServerError),
    /// Another server error during the login.
    Server(ServerError),
    /// No session: DNS, TCP, a cut connection.
    Unreachable(String),
}

/// A database driver as the connect policy uses it: each adapter implements it for its driver.
pub trait Driver: Sync {
    /// An open session.
    type Session: Send;
    /// The driver's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// How the driver connects: [`ConnectMode::Stream`] unless it owns its socket.
    const MODE: ConnectMode = ConnectMode::Stream;

    /// Opens a session as `attempt` says: verified TLS against `attempt.tls`, or plaintext.
    fn open(
        &self,
        attempt: &Attempt<'_>,
    ) -> impl Future<Output = std::result::Result<Self::Session, OpenError<Self::Error>>> + Send;

    /// Opens a plaintext-fallback session over `stream`, which the policy opened to the
    /// server, screening the server's password requests: one that would reveal the password
    /// is refused (recorded in `refusal`) before the driver can answer it. Every
    /// [`ConnectMode::Stream`] driver implements it; the policy never calls it in
    /// [`ConnectMode::Driver`], and the default opens nothing.
    fn open_screened(
        &self,
        attempt: &Attempt<'_>,
        stream: TcpStream,
        refusal: Arc<OnceLock<Refusal>>,
    ) -> impl Future<Output = std::result::Result<Self::Session, OpenError<Self::Error>>> + Send
    {
        let _ = (attempt, stream, refusal);
        async {
            Err(OpenError::Unreachable(
                "this driver opens no plaintext-fallback session".into(),
            ))
        }
    }

    /// What a failed login means.
    fn classify(&self, error: &Self::Error) -> LoginFailure;
}

/// Why a driver opened no session.
#[derive(Debug)]
pub enum OpenError<E> {
    /// The driver failed (classified by [`Driver::classify`]).
    Driver(E),
    /// No connection to the server (e.g. the fallback's screen could not be set up).
    Unreachable(String),
    /// The trust anchors could not be loaded in the form the driver takes.
    Setup(RotationError),
}

/// The connect policy of a deployment: trust anchors, the fallback setting and (tests only)
/// redirected hosts. Cheap to clone; clones share the loaded anchors.
#[derive(Clone)]
pub struct ConnectPolicy {
    anchors: TrustAnchors,
    allow_plaintext_fallback: bool,
    test_hosts: TestHosts,
}

impl std::fmt::Debug for ConnectPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectPolicy")
            .field("anchors", &self.anchors)
            .field("allow_plaintext_fallback", &self.allow_plaintext_fallback)
            .finish()
    }
}

enum Failure<E> {
    Driver(E),
    Timeout,
    Unreachable(String),
    Refused(Refusal),
    Setup(RotationError),
}

impl<E> From<OpenError<E>> for Failure<E> {
    fn from(e: OpenError<E>) -> Self {
        match e {
            OpenError::Driver(e) => Failure::Driver(e),
            OpenError::Unreachable(detail) => Failure::Unreachable(detail),
            OpenError::Setup(e) => Failure::Setup(e),
        }
    }
}

impl ConnectPolicy {
    /// A policy trusting `anchors`, with no plaintext fallback.
    pub fn new(anchors: TrustAnchors) -> Self {
        Self {
            anchors,
            allow_plaintext_fallback: false,
            test_hosts: TestHosts::default(),
        }
    }

    /// The deployment's policy: `EXTRA_CA_CERTS` (checked now) and the built-in roots, and
    /// `ALLOW_PLAINTEXT_FALLBACK`.
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        let anchors = TrustAnchors::new(settings.extra_ca_certs.as_deref(), true)?;
        Ok(Self::new(anchors).with_plaintext_fallback(settings.allow_plaintext_fallback))
    }

    /// The same policy, letting a secret without `ssl` use plaintext when the server says it
    /// has no TLS (`ALLOW_PLAINTEXT_FALLBACK`); never for the superuser secret or for the
    /// engine's AWS-managed hosts, never after a certificate failure.
    pub fn with_plaintext_fallback(mut self, allow: bool) -> Self {
        self.allow_plaintext_fallback = allow;
        self
    }

    /// Test seam: connections to `host` (any port) go to `address` and verify the certificate
    /// against `certificate_name`, so a test can rotate secrets that name RDS endpoints against
    /// the sandbox server without editing system files. A driver that owns its socket
    /// ([`ConnectMode::Driver`]) connects to `certificate_name` at `address`'s port, so that
    /// name must resolve to `address` (tests: `localhost`). Everything else (TLS mode,
    /// `tlsServerName`, messages) still goes by the secret's `host`.
    #[cfg(feature = "test-support")]
    pub fn with_test_host(
        mut self,
        host: &str,
        address: SocketAddr,
        certificate_name: &str,
    ) -> Self {
        self.test_hosts.add(host, address, certificate_name);
        self
    }

    /// Logs in as `secret`'s user on an `identity` engine through `driver`, and says how the
    /// session reaches the server. `which` names the credentials in errors and logs; the
    /// superuser's never fall back to plaintext, nor does a driver that owns its socket
    /// ([`ConnectMode`]).
    pub async fn connect<D: Driver>(
        &self,
        driver: &D,
        identity: &EngineIdentity,
        secret: &DatabaseSecret,
        which: Which,
    ) -> Result<(D::Session, Transport)> {
        let port = secret.port.unwrap_or(identity.default_port);
        let mode = TlsMode::for_secret(
            secret,
            which,
            self.allow_plaintext_fallback && D::MODE.can_fall_back(),
            identity.aws_managed_domains,
        );
        let login = async {
            let (address, server_name) = self.destination(D::MODE, secret, which, port).await?;
            let mut attempt = Attempt {
                secret,
                which,
                address,
                server_name,
                dbname: secret.dbname.as_deref().or(identity.default_dbname),
                tls: None,
            };
            if mode == TlsMode::Disable {
                let session = driver.open(&attempt).await?;
                return Ok((session, Transport::Plaintext { fallback: false }));
            }
            attempt.tls = Some(&self.anchors);
            match driver.open(&attempt).await {
                Ok(session) => Ok((session, Transport::VerifiedTls)),
                Err(OpenError::Driver(e))
                    if mode == TlsMode::PreferVerified
                        && matches!(driver.classify(&e), LoginFailure::NoTlsOnServer) =>
                {
                    tracing::warn!(
                        host = %secret.host,
                        port,
                        secret_version = which.label(),
                        "the server does not offer TLS; connecting without it because ALLOW_PLAINTEXT_FALLBACK is on (set \"ssl\": true in the secret to forbid this)"
                    );
                    attempt.tls = None;
                    let session = self.fallback(driver, &attempt).await?;
                    Ok((session, Transport::Plaintext { fallback: true }))
                }
                Err(e) => Err(e.into()),
            }
        };
        match tokio::time::timeout(D::MODE.deadline(), login).await {
            Ok(Ok(session)) => Ok(session),
            Ok(Err(failure)) => Err(self.error(driver, failure, secret, which, port)),
            Err(_) => Err(self.error(driver, Failure::Timeout, secret, which, port)),
        }
    }

    /// Where the TCP connection goes and the name the certificate must carry: a test
    /// redirect; else `host`, verified against `tlsServerName` when the secret has one (then
    /// `host` is resolved here, so the driver connects to it and verifies the other name). A
    /// driver that owns its socket is given names only ([`ConnectMode::Driver`]).
    async fn destination<'a, E>(
        &'a self,
        connect: ConnectMode,
        secret: &'a DatabaseSecret,
        which: Which,
        port: u16,
    ) -> std::result::Result<(Address<'a>, &'a str), Failure<E>> {
        if let ConnectMode::Driver { name } = connect {
            return self.name_for_driver(name, secret, which, port);
        }
        if let Some(t) = self.test_hosts.find(&secret.host) {
            return Ok((Address::Resolved(t.address), &t.certificate_name));
        }
        match &secret.tls_server_name {
            Some(name) => {
                let mut addresses = tokio::net::lookup_host((secret.host.as_str(), port))
                    .await
                    .map_err(|e| {
                        Failure::Unreachable(format!("cannot resolve the host name: {e}"))
                    })?;
                let address = addresses.next().ok_or_else(|| {
                    Failure::Unreachable("the host name resolves to no address".into())
                })?;
                Ok((Address::Resolved(address), name))
            }
            None => Ok((Address::Name(&secret.host, port), &secret.host)),
        }
    }

    /// [`Self::destination`] for a driver (`driver` in messages) that resolves the name it is
    /// given and verifies the certificate for it: `host` (a `tlsServerName` naming another
    /// host is refused), or a test redirect's certificate name at the redirect's port.
    fn name_for_driver<'a, E>(
        &'a self,
        driver: &str,
        secret: &'a DatabaseSecret,
        which: Which,
        port: u16,
    ) -> std::result::Result<(Address<'a>, &'a str), Failure<E>> {
        if let Some(name) = secret
            .tls_server_name
            .as_deref()
            .filter(|n| !n.eq_ignore_ascii_case(&secret.host))
        {
            return Err(Failure::Setup(RotationError::malformed(
                which.label(),
                format!("tlsServerName {name} differs from host {}: the {driver} driver verifies the certificate for the host it connects to; set host to the name on the certificate", secret.host),
            )));
        }
        if let Some(t) = self.test_hosts.find(&secret.host) {
            let name = t.certificate_name.as_str();
            return Ok((Address::Name(name, t.address.port()), name));
        }
        Ok((Address::Name(&secret.host, port), &secret.host))
    }

    /// The plaintext fallback: the policy opens the TCP connection and the adapter screens the
    /// server's authentication messages on it.
    async fn fallback<D: Driver>(
        &self,
        driver: &D,
        attempt: &Attempt<'_>,
    ) -> std::result::Result<D::Session, Failure<D::Error>> {
        let stream = attempt
            .address
            .connect()
            .await
            .map_err(Failure::Unreachable)?;
        let refusal = Arc::new(OnceLock::new());
        let result = driver.open_screened(attempt, stream, refusal.clone()).await;
        match (result, refusal.get()) {
            (Ok(session), _) => Ok(session),
            // The refusal, whatever the driver made of the cut connection.
            (Err(_), Some(refusal)) => Err(Failure::Refused(refusal.clone())),
            (Err(e), None) => Err(e.into()),
        }
    }

    fn error<D: Driver>(
        &self,
        driver: &D,
        failure: Failure<D::Error>,
        secret: &DatabaseSecret,
        which: Which,
        port: u16,
    ) -> RotationError {
        let label = which.label();
        let unreachable = |detail: String| RotationError::DatabaseUnreachable {
            which: label.into(),
            host: secret.host.clone(),
            port,
            detail,
        };
        let tls = |detail: String| RotationError::TlsFailure {
            which: label.into(),
            host: secret.host.clone(),
            port,
            detail,
        };
        let e = match failure {
            Failure::Timeout => {
                let deadline = D::MODE.deadline();
                return unreachable(format!("no answer within {} s", deadline.as_secs()));
            }
            Failure::Unreachable(detail) => return unreachable(detail),
            Failure::Refused(refusal) => return refusal.into_error(which, &secret.host, port),
            Failure::Setup(e) => return e,
            Failure::Driver(e) => e,
        };
        match driver.classify(&e) {
            LoginFailure::NoTlsOnServer => tls(NO_TLS_ON_SERVER.into()),
            LoginFailure::Refused { server, hint } => RotationError::AuthenticationFailed {
                which: label.into(),
                user: secret.username.clone(),
                host: secret.host.clone(),
                server: server.map(Box::new),
                hint,
            },
            LoginFailure::Tls(detail) => tls(detail),
            LoginFailure::Unsupported(problem) => {
                RotationError::UnsupportedServer(format!("user {}: {problem}", secret.username))
            }
            LoginFailure::AtCapacity(server) => RotationError::DatabaseAtCapacity {
                which: label.into(),
                user: secret.username.clone(),
                host: secret.host.clone(),
                port,
                server: Box::new(server),
                hint: String::new(),
            },
            LoginFailure::Server(server) => RotationError::Database {
                operation: format!("log in with the {label} secret"),
                server: Some(Box::new(server)),
                source: Some(Box::new(e)),
            },
            LoginFailure::Unreachable(detail) => unreachable(detail),
        }
    }
}

/// The error and its causes, joined (no secret is ever part of a client error).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// True when a rustls error is anywhere in the chain, including inside an `io::Error` (which
/// hides its inner error from `source()`).
pub fn has_rustls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return true;
            }
        }
        current = err.source();
    }
    false
}

#[cfg(test)]
mod tests;
