//! Opening a PostgreSQL-protocol session for a secret, with the core's TLS modes and typed
//! failures: wrong password, unreachable host and TLS problems are different errors. A
//! plaintext-fallback session is opened over a stream that refuses a request for the password
//! in clear text (`fallback.rs`).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::net::TcpStream;

use super::fallback::Screened;
use crate::database::tls::{error_chain as chain, has_rustls_error};
use crate::database::tls::{TestHosts, TrustAnchors};
use crate::database::{DatabaseSecret, Refusal, TlsMode, Transport, Which};
use crate::error::{Result, RotationError, ServerError};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The time allowed for one login (TCP, TLS and authentication).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What tokio-postgres reports when the server answers the TLS request with "no".
const NO_TLS_ON_SERVER: &str = "server does not support TLS";

/// Opens sessions; holds the TLS configuration, built once per process.
#[derive(Clone)]
pub struct Connector {
    tls: TrustAnchors,
    default_port: u16,
    default_dbname: &'static str,
    allow_plaintext_fallback: bool,
    /// Test hosts: (host, address, certificate name). Only `test-support` can add any.
    test_hosts: TestHosts,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("default_port", &self.default_port)
            .field("default_dbname", &self.default_dbname)
            .field("allow_plaintext_fallback", &self.allow_plaintext_fallback)
            .finish()
    }
}

impl Connector {
    /// A connector trusting `tls` (loaded on the first TLS connection); `port` and `dbname`
    /// apply when the secret has none. No plaintext fallback (see
    /// [`Connector::with_plaintext_fallback`]).
    pub fn new(tls: TrustAnchors, default_port: u16, default_dbname: &'static str) -> Self {
        Self {
            tls,
            default_port,
            default_dbname,
            allow_plaintext_fallback: false,
            test_hosts: TestHosts::default(),
        }
    }

    /// Test seam: connections to `host` (any port) go to `address` and verify the certificate
    /// against `certificate_name`, so a test can rotate secrets that name RDS endpoints against
    /// the sandbox server without editing system files.
    #[cfg(feature = "test-support")]
    pub fn with_test_host(
        mut self,
        host: &str,
        address: std::net::SocketAddr,
        certificate_name: &str,
    ) -> Self {
        self.test_hosts.add(host, address, certificate_name);
        self
    }

    /// The same connector, letting a secret without `ssl` use plaintext when the server says
    /// it has no TLS (`ALLOW_PLAINTEXT_FALLBACK`); never for the superuser secret or for RDS
    /// and Redshift hosts.
    pub fn with_plaintext_fallback(mut self, allow: bool) -> Self {
        self.allow_plaintext_fallback = allow;
        self
    }

    /// Logs in as `secret`'s user. `which` names the credentials in errors and logs; the
    /// superuser's never fall back to plaintext.
    pub async fn connect(&self, secret: &DatabaseSecret, which: Which) -> Result<Client> {
        let port = secret.port.unwrap_or(self.default_port);
        let fail = |e: Failure| e.into_error(secret, which, port);
        let mut config = Config::new();
        let test_host = self.test_hosts.find(&secret.host);
        // Where the TCP connection goes when the connector opens it itself (the fallback).
        let address = match (test_host, &secret.tls_server_name) {
            (Some(t), _) => {
                config.host(&t.certificate_name).hostaddr(t.address.ip());
                Address::Resolved(t.address)
            }
            // Connect to `host`, but verify (and send as SNI) the name the certificate carries.
            (None, Some(name)) => {
                let ip = resolve(&secret.host, port).await.map_err(fail)?;
                config.host(name).hostaddr(ip);
                Address::Resolved((ip, port).into())
            }
            (None, None) => {
                config.host(&secret.host);
                Address::Name(&secret.host, port)
            }
        };
        config
            .port(test_host.map_or(port, |t| t.address.port()))
            .user(&secret.username)
            .password(secret.password().expose())
            .dbname(secret.dbname.as_deref().unwrap_or(self.default_dbname))
            .application_name("secrets-rotation-rs")
            .connect_timeout(CONNECT_TIMEOUT);
        let mode = TlsMode::for_secret(secret, which, self.allow_plaintext_fallback);
        match mode {
            TlsMode::Disable => self.plain(config).await.map_err(fail),
            TlsMode::Require => self.verified(config).await.map_err(fail),
            TlsMode::PreferVerified => match self.verified(config.clone()).await {
                Err(Failure::Client(e)) if chain(&e).contains(NO_TLS_ON_SERVER) => {
                    tracing::warn!(
                        host = %secret.host,
                        port,
                        secret_version = which.label(),
                        "the server does not offer TLS; connecting without it because ALLOW_PLAINTEXT_FALLBACK is on (set \"ssl\": true in the secret to forbid this)"
                    );
                    self.fallback(config, address).await.map_err(fail)
                }
                other => other.map_err(fail),
            },
        }
    }

    async fn verified(&self, mut config: Config) -> Result<Client, Failure> {
        config.ssl_mode(SslMode::Require);
        let tls = self.tls.client_config().map_err(Failure::Setup)?;
        let tls = MakeRustlsConnect::new((*tls).clone());
        let (client, connection) = timed(config.connect(tls)).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    async fn plain(&self, mut config: Config) -> Result<Client, Failure> {
        config.ssl_mode(SslMode::Disable);
        let (client, connection) = timed(config.connect(NoTls)).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The plaintext fallback: the connector opens the TCP connection and screens the
    /// server's authentication messages under the driver ([`Screened`]), which refuses a
    /// request for the password in clear text before the driver can answer it.
    async fn fallback(&self, mut config: Config, address: Address<'_>) -> Result<Client, Failure> {
        config.ssl_mode(SslMode::Disable);
        let refusal = Arc::new(OnceLock::new());
        let transport = Transport::Plaintext { fallback: true };
        let login = async {
            let stream = address.connect().await?;
            let stream = Screened::new(stream, transport, refusal.clone());
            config
                .connect_raw(stream, NoTls)
                .await
                .map_err(Failure::Client)
        };
        let result = match tokio::time::timeout(CONNECT_TIMEOUT, login).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout),
        };
        match (result, refusal.get()) {
            // The refusal, whatever the driver made of the failed read.
            (Err(_), Some(refusal)) => Err(Failure::Refused(refusal.clone())),
            (Err(e), None) => Err(e),
            (Ok((client, connection)), _) => {
                tokio::spawn(connection);
                Ok(client)
            }
        }
    }
}

/// Where a session's TCP connection goes.
enum Address<'a> {
    /// An address known already (a test host, or `host` resolved for `tlsServerName`).
    Resolved(SocketAddr),
    /// `host` and port, resolved when connecting.
    Name(&'a str, u16),
}

impl Address<'_> {
    /// Connects to the first address that accepts, in the order the resolver gives them, as
    /// tokio-postgres does.
    async fn connect(&self) -> Result<TcpStream, Failure> {
        let addresses: Vec<SocketAddr> = match self {
            Address::Resolved(address) => vec![*address],
            Address::Name(host, port) => tokio::net::lookup_host((*host, *port))
                .await
                .map_err(|e| Failure::Unreachable(format!("cannot resolve the host name: {e}")))?
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
        Err(Failure::Unreachable(match last {
            Some(e) => format!("cannot connect: {e}"),
            None => "the host name resolves to no address".into(),
        }))
    }
}

enum Failure {
    Client(tokio_postgres::Error),
    Timeout,
    /// No connection: DNS, or every address refused (the fallback connects by itself).
    Unreachable(String),
    /// The fallback refused how the server asked for the password.
    Refused(Refusal),
    /// The trust anchors could not be loaded.
    Setup(RotationError),
}

/// The first address `host` resolves to (within the connect timeout).
async fn resolve(host: &str, port: u16) -> Result<std::net::IpAddr, Failure> {
    let lookup = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((host, port)));
    match lookup.await {
        Err(_) => Err(Failure::Timeout),
        Ok(Err(e)) => Err(Failure::Unreachable(format!(
            "cannot resolve the host name: {e}"
        ))),
        Ok(Ok(mut addresses)) => addresses
            .next()
            .map(|a| a.ip())
            .ok_or_else(|| Failure::Unreachable("the host name resolves to no address".into())),
    }
}

async fn timed<T>(
    f: impl std::future::Future<Output = std::result::Result<T, tokio_postgres::Error>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(CONNECT_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure::Client(e)),
        Err(_) => Err(Failure::Timeout),
    }
}

impl Failure {
    fn into_error(self, secret: &DatabaseSecret, which: Which, port: u16) -> RotationError {
        let e = match self {
            Failure::Refused(refusal) => return refusal.into_error(which, &secret.host, port),
            Failure::Timeout => {
                return RotationError::DatabaseUnreachable {
                    which: which.label().into(),
                    host: secret.host.clone(),
                    port,
                    detail: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                }
            }
            Failure::Unreachable(detail) => {
                return RotationError::DatabaseUnreachable {
                    which: which.label().into(),
                    host: secret.host.clone(),
                    port,
                    detail,
                }
            }
            Failure::Setup(e) => return e,
            Failure::Client(e) => e,
        };
        let which = which.label();
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                return RotationError::AuthenticationFailed {
                    which: which.into(),
                    user: secret.username.clone(),
                    host: secret.host.clone(),
                    server: Some(Box::new(server_error(db))),
                    hint: String::new(),
                };
            }
            let server = Some(Box::new(server_error(db)));
            return RotationError::Database {
                operation: format!("log in with the {which} secret"),
                server,
                source: Some(Box::new(e)),
            };
        }
        let detail = chain(&e);
        if detail.contains("TLS") || has_rustls_error(&e) {
            RotationError::TlsFailure {
                which: which.into(),
                host: secret.host.clone(),
                port,
                detail,
            }
        } else if detail.starts_with("authentication error") {
            RotationError::AuthenticationFailed {
                which: which.into(),
                user: secret.username.clone(),
                host: secret.host.clone(),
                server: None,
                hint: format!("; {detail}"),
            }
        } else {
            RotationError::DatabaseUnreachable {
                which: which.into(),
                host: secret.host.clone(),
                port,
                detail,
            }
        }
    }
}

/// A login error's SQLSTATE and message (login errors carry no secret).
fn server_error(db: &tokio_postgres::error::DbError) -> ServerError {
    ServerError {
        scheme: "SQLSTATE",
        code: db.code().code().to_string(),
        message: Some(db.message().to_string()),
    }
}
