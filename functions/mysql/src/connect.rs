//! Opening a MySQL-wire session for a secret, with the core's TLS modes and typed failures:
//! wrong password (1045), unreachable host, TLS problems and unusable auth plugins are
//! different errors.
//!
//! mysql_async builds its own rustls configuration from certificates; it is given the Mozilla
//! roots (its built-in set), the OS store, the RDS CA bundle and `EXTRA_CA_CERTS`, exactly the
//! set the PostgreSQL-wire adapter trusts ([`TrustAnchors::certificates`]), loaded on the
//! first TLS connection.
//!
//! A plaintext-fallback session goes through a loopback relay that refuses the password
//! requests mysql_async would answer by handing the password over (`fallback.rs`).

use std::net::Ipv4Addr;
use std::time::Duration;

use mysql_async::{Conn, DriverError, OptsBuilder, SslOpts};
use tokio::net::TcpStream;

use super::fallback::Relay;
use crate::database::tls::TestHosts;
use crate::database::tls::{error_chain as chain, has_rustls_error};
use crate::database::{DatabaseSecret, Refusal, TlsMode, Transport, TrustAnchors, Which};
use crate::error::{Result, RotationError, ServerError};

/// The time allowed for one login (TCP, TLS and authentication).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The server error code for a refused login.
pub const ACCESS_DENIED: u16 = 1045;

/// The server error codes for a login refused because the account is locked (MariaDB 4151,
/// MySQL 3118): the credentials are refused, as a wrong password is.
pub const ACCOUNT_LOCKED: [u16; 2] = [4151, 3118];

/// Opens sessions; holds the trust anchors, loaded once per process on first use.
#[derive(Clone)]
pub struct Connector {
    anchors: TrustAnchors,
    default_port: u16,
    allow_plaintext_fallback: bool,
    /// Test hosts: (host, address, certificate name). Only `test-support` can add any.
    test_hosts: TestHosts,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("anchors", &self.anchors)
            .field("default_port", &self.default_port)
            .field("allow_plaintext_fallback", &self.allow_plaintext_fallback)
            .finish()
    }
}

impl Connector {
    /// A connector trusting `anchors` (loaded on the first TLS connection). `default_port`
    /// applies when the secret has none. No plaintext fallback.
    pub fn new(anchors: TrustAnchors, default_port: u16) -> Self {
        Self {
            anchors,
            default_port,
            allow_plaintext_fallback: false,
            test_hosts: TestHosts::default(),
        }
    }

    /// The same connector, letting a secret without `ssl` use plaintext when the server offers
    /// no TLS at all (`ALLOW_PLAINTEXT_FALLBACK`); never for the superuser secret or for RDS
    /// hosts, never after a certificate failure.
    pub fn with_plaintext_fallback(mut self, allow: bool) -> Self {
        self.allow_plaintext_fallback = allow;
        self
    }

    /// Test seam: connections to `host` (any port) go to `address` and verify the certificate
    /// against `certificate_name`.
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

    /// Logs in as `secret`'s user. `which` names the credentials in errors and logs; the
    /// superuser's never fall back to plaintext.
    pub async fn connect(&self, secret: &DatabaseSecret, which: Which) -> Result<Conn> {
        self.connect_with_transport(secret, which)
            .await
            .map(|(conn, _)| conn)
    }

    /// Logs in as [`Connector::connect`] does, and says how the session reaches the server
    /// (verified TLS, plaintext the secret chose, or the plaintext fallback), for callers that
    /// decide by it what they may send.
    pub async fn connect_with_transport(
        &self,
        secret: &DatabaseSecret,
        which: Which,
    ) -> Result<(Conn, Transport)> {
        let port = secret.port.unwrap_or(self.default_port);
        let mode = TlsMode::for_secret(secret, which, self.allow_plaintext_fallback);
        let fail = |e: Failure| e.into_error(secret, which, port);
        let plaintext = Transport::Plaintext { fallback: false };
        match mode {
            TlsMode::Disable => self.open(secret, port, false).await.map(|c| (c, plaintext)),
            TlsMode::Require => self
                .open(secret, port, true)
                .await
                .map(|c| (c, Transport::VerifiedTls)),
            TlsMode::PreferVerified => match self.open(secret, port, true).await {
                Err(Failure::Client(mysql_async::Error::Driver(
                    DriverError::NoClientSslFlagFromServer,
                ))) => {
                    tracing::warn!(
                        host = %secret.host,
                        port,
                        secret_version = which.label(),
                        "the server does not offer TLS; connecting without it because ALLOW_PLAINTEXT_FALLBACK is on (set \"ssl\": true in the secret to forbid this)"
                    );
                    self.fallback(secret, port)
                        .await
                        .map(|c| (c, Transport::Plaintext { fallback: true }))
                }
                other => other.map(|c| (c, Transport::VerifiedTls)),
            },
        }
        .map_err(fail)
    }

    /// Where a session's TCP connection goes, and the name the certificate must carry.
    fn target<'a>(
        &'a self,
        secret: &'a DatabaseSecret,
        port: u16,
    ) -> (String, u16, Option<&'a String>) {
        match self.test_hosts.find(&secret.host) {
            Some(t) => (
                t.address.ip().to_string(),
                t.address.port(),
                Some(&t.certificate_name),
            ),
            None => (secret.host.clone(), port, secret.tls_server_name.as_ref()),
        }
    }

    async fn open(&self, secret: &DatabaseSecret, port: u16, tls: bool) -> Result<Conn, Failure> {
        let (address, port, verify_as) = self.target(secret, port);
        let opts = self.opts(secret, address, port, tls.then_some(verify_as))?;
        match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(Failure::Client(e)),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// The plaintext fallback: the connector connects to the server and points the driver at
    /// a loopback relay that screens the server's authentication packets (`fallback.rs`), which
    /// refuses full authentication with a key the server sends, and cleartext, before the
    /// driver can answer them.
    async fn fallback(&self, secret: &DatabaseSecret, port: u16) -> Result<Conn, Failure> {
        let (address, port, _) = self.target(secret, port);
        let login = async {
            let server = TcpStream::connect((address.as_str(), port))
                .await
                .map_err(|e| Failure::Connect(format!("cannot connect: {e}")))?;
            let _ = server.set_nodelay(true);
            let relay = Relay::start(server, Transport::Plaintext { fallback: true })
                .await
                .map_err(|e| Failure::Connect(format!("cannot start the loopback relay: {e}")))?;
            let opts = self.opts(secret, Ipv4Addr::LOCALHOST.to_string(), relay.port, None)?;
            Conn::new(opts).await.map_err(|e| match relay.refusal() {
                // The refusal, whatever the driver made of the cut connection.
                Some(refusal) => Failure::Refused(refusal),
                None => Failure::Client(e),
            })
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, login).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// The driver's options for `secret`'s login to `address:port`; with `tls`, verified TLS
    /// (against the name given, else `address`).
    fn opts(
        &self,
        secret: &DatabaseSecret,
        address: String,
        port: u16,
        tls: Option<Option<&String>>,
    ) -> Result<OptsBuilder, Failure> {
        let mut opts = OptsBuilder::default()
            .ip_or_hostname(address)
            .tcp_port(port)
            .prefer_socket(false)
            .user(Some(secret.username.clone()))
            .pass(Some(secret.password().expose().to_string()))
            .db_name(secret.dbname.clone())
            .stmt_cache_size(0);
        if let Some(verify_as) = tls {
            let roots = self
                .anchors
                .certificates()
                .map_err(Failure::Setup)?
                .iter()
                .map(|c| c.as_ref().to_vec().into())
                .collect();
            let ssl = SslOpts::default()
                .with_root_certs(roots)
                .with_disable_built_in_roots(!self.anchors.built_in_roots())
                .with_danger_tls_hostname_override(verify_as.cloned());
            opts = opts.ssl_opts(Some(ssl));
        }
        Ok(opts)
    }
}

enum Failure {
    Client(mysql_async::Error),
    Timeout,
    /// No TCP connection to the server (the fallback connects by itself).
    Connect(String),
    /// The fallback refused how the server asked for the password.
    Refused(Refusal),
    /// The trust anchors could not be loaded.
    Setup(RotationError),
}

impl Failure {
    fn into_error(self, secret: &DatabaseSecret, which: Which, port: u16) -> RotationError {
        let which_label = which.label();
        let unreachable = |detail: String| RotationError::DatabaseUnreachable {
            which: which_label.into(),
            host: secret.host.clone(),
            port,
            detail,
        };
        let tls = |detail: String| RotationError::TlsFailure {
            which: which_label.into(),
            host: secret.host.clone(),
            port,
            detail,
        };
        let e = match self {
            Failure::Timeout => {
                return unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))
            }
            Failure::Setup(e) => return e,
            Failure::Connect(detail) => return unreachable(detail),
            Failure::Refused(refusal) => return refusal.into_error(which, &secret.host, port),
            Failure::Client(e) => e,
        };
        match e {
            mysql_async::Error::Server(server) => {
                let detail = Box::new(server_error(&server, true));
                if server.code == ACCESS_DENIED || ACCOUNT_LOCKED.contains(&server.code) {
                    let locked = ACCOUNT_LOCKED.contains(&server.code);
                    RotationError::AuthenticationFailed {
                        which: which_label.into(),
                        user: secret.username.clone(),
                        host: secret.host.clone(),
                        server: Some(detail),
                        hint: if locked {
                            "; the account is locked (ACCOUNT LOCK)".into()
                        } else {
                            String::new()
                        },
                    }
                } else {
                    RotationError::Database {
                        operation: format!("log in with the {which_label} secret"),
                        server: Some(detail),
                        source: None,
                    }
                }
            }
            mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => tls(
                "the server offers no TLS (set \"ssl\": false in the secret only if the network path is trusted)".into(),
            ),
            mysql_async::Error::Driver(DriverError::UnknownAuthPlugin { name }) => {
                unsupported_plugin(secret, &name)
            }
            mysql_async::Error::Driver(DriverError::CleartextPluginDisabled) => {
                unsupported_plugin(secret, "mysql_clear_password")
            }
            mysql_async::Error::Driver(DriverError::MysqlOldPasswordDisabled) => {
                unsupported_plugin(secret, "mysql_old_password")
            }
            mysql_async::Error::Io(mysql_async::IoError::Tls(e)) => tls(chain(&e)),
            other => {
                let detail = chain(&other);
                if has_rustls_error(&other) {
                    tls(detail)
                } else {
                    unreachable(detail)
                }
            }
        }
    }
}

fn unsupported_plugin(secret: &DatabaseSecret, plugin: &str) -> RotationError {
    RotationError::UnsupportedServer(format!(
        "the account of user {} authenticates with the {plugin} plugin, which this function does not use; use mysql_native_password, caching_sha2_password or (MariaDB) ed25519",
        secret.username
    ))
}

/// A server error's code and (when `keep_message`) message. Statements that carry password
/// material drop the message, which can quote the statement.
pub fn server_error(e: &mysql_async::ServerError, keep_message: bool) -> ServerError {
    ServerError {
        scheme: "MySQL error",
        code: e.code.to_string(),
        message: keep_message.then(|| e.message.clone()),
    }
}
