//! The MongoDB-wire [`Driver`]: how the official driver opens a session for the core's connect
//! policy, and what its errors mean. The driver owns its socket ([`ConnectMode::Driver`]): the
//! policy decides the port, the TLS mode, `tlsServerName`, the (absent) plaintext fallback,
//! the test redirects and the login's deadline; this file turns its [`Attempt`] into client
//! options: a direct connection to the one host (a DocumentDB member list naming other hosts
//! is never followed with these credentials), no retried reads or writes, SCRAM-SHA-1 for
//! DocumentDB endpoints (every cluster accepts it) and the server's offer elsewhere, the trust
//! anchors as the CA file the driver takes ([`crate::ca::file`]), the superuser authenticating
//! in `admin`, and a `ping` that proves the login.

use std::time::Duration;

use mongodb::bson::doc;
use mongodb::error::ErrorKind;
use mongodb::options::{AuthMechanism, ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use mongodb::Client;

use rotation_core::database::{
    is_aws_managed_host, Attempt, ConnectMode, Driver, LoginFailure, OpenError, Which,
    CONNECT_TIMEOUT,
};

use crate::engines::MONGODB;

/// How long the driver may take to connect and to select the server: the core's connect
/// timeout. The policy's deadline for the whole login
/// ([`DRIVER_LOGIN_DEADLINE`](rotation_core::database::DRIVER_LOGIN_DEADLINE)) comes after
/// it, so the driver's error, which carries the reason, is the one reported.
pub const DRIVER_TIMEOUT: Duration = CONNECT_TIMEOUT;

/// The official driver as the connect policy's driver.
#[derive(Debug, Clone, Copy, Default)]
pub struct MongoDriver;

impl Driver for MongoDriver {
    type Session = Client;
    type Error = mongodb::error::Error;
    const MODE: ConnectMode = ConnectMode::Driver { name: "MongoDB" };

    /// A client for `attempt`'s one host, proved by a `ping` in the database the session
    /// uses. The superuser authenticates in `admin` (where DocumentDB keeps every user and
    /// MongoDB its administrators) and manages the users of the child's database; a user of
    /// the rotated secret authenticates in its own database.
    async fn open(&self, attempt: &Attempt<'_>) -> Result<Client, OpenError<Self::Error>> {
        let secret = attempt.secret;
        let tls = match attempt.tls {
            None => Tls::Disabled,
            Some(anchors) => {
                let path = crate::ca::file(anchors).map_err(OpenError::Setup)?;
                Tls::Enabled(TlsOptions::builder().ca_file_path(path).build())
            }
        };
        let db = attempt.dbname.unwrap_or("admin");
        let source = if attempt.which == Which::Superuser {
            "admin"
        } else {
            db
        };
        let mechanism = is_aws_managed_host(&secret.host, MONGODB.aws_managed_domains)
            .then_some(AuthMechanism::ScramSha1);
        let credential = Credential::builder()
            .username(secret.username.clone())
            .password(secret.password().expose().to_string())
            .source(source.to_string())
            .mechanism(mechanism)
            .build();
        let address = ServerAddress::Tcp {
            host: attempt.address.host(),
            port: Some(attempt.address.port()),
        };
        let options = ClientOptions::builder()
            .hosts(vec![address])
            .direct_connection(true)
            .retry_writes(false)
            .retry_reads(false)
            .connect_timeout(DRIVER_TIMEOUT)
            .server_selection_timeout(DRIVER_TIMEOUT)
            .max_pool_size(1)
            .app_name("secrets-rotation".to_string())
            .credential(credential)
            .tls(tls)
            .build();
        let client = Client::with_options(options).map_err(OpenError::Driver)?;
        client
            .database(db)
            .run_command(doc! {"ping": 1})
            .await
            .map_err(OpenError::Driver)?;
        Ok(client)
    }

    /// A refused SCRAM login (or 18 AuthenticationFailed) is refused; a certificate or
    /// handshake failure is TLS; anything else left the server unreached.
    fn classify(&self, error: &Self::Error) -> LoginFailure {
        let auth = matches!(error.kind.as_ref(), ErrorKind::Authentication { .. })
            || matches!(error.kind.as_ref(), ErrorKind::Command(c) if c.code == 18);
        if auth {
            return LoginFailure::Refused {
                server: None,
                hint: String::new(),
            };
        }
        let detail = short(error);
        // Case-sensitive words of rustls' and the driver's TLS errors (a lowercase "tls" could
        // be part of a host name in the message).
        let tls = [
            "certificate",
            "Certificate",
            "TLS",
            "handshake",
            "Handshake",
        ]
        .iter()
        .any(|word| detail.contains(word));
        if tls {
            LoginFailure::Tls(detail)
        } else {
            LoginFailure::Unreachable(detail)
        }
    }
}

/// The driver error's kind, without server messages that could quote a command.
pub(crate) fn short(e: &mongodb::error::Error) -> String {
    match e.kind.as_ref() {
        ErrorKind::Io(io) => format!("I/O error: {io}"),
        ErrorKind::ServerSelection { message, .. } => format!("no server answered: {message}"),
        ErrorKind::Authentication { .. } => "authentication failed".into(),
        ErrorKind::Command(c) => format!("error {} ({})", c.code, c.code_name),
        ErrorKind::InvalidTlsConfig { message, .. } => format!("TLS configuration: {message}"),
        _ => "driver error".into(),
    }
}
