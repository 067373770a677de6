//! The PostgreSQL-wire [`Driver`]: how tokio-postgres opens a session for the core's connect
//! policy, and what its errors mean. Everything else about a login (timeout, TLS mode,
//! fallback rule, test redirects, error mapping) is the policy's.

use std::sync::{Arc, OnceLock};

use rotation_core::database::{
    error_chain, has_rustls_error, Address, Attempt, Driver, LoginFailure, OpenError, Refusal,
    Transport, CONNECT_TIMEOUT,
};
use rotation_core::ServerError;
use tokio::net::TcpStream;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::fallback::Screened;

/// What tokio-postgres reports when the server answers the TLS request with "no".
const NO_TLS_ON_SERVER: &str = "server does not support TLS";

/// tokio-postgres as the connect policy's driver.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgDriver;

/// The driver's configuration for `attempt` (without the TLS mode).
fn config(attempt: &Attempt<'_>) -> Config {
    let mut config = Config::new();
    match attempt.address {
        // Connect to the address, verify (and send as SNI) the certificate's name.
        Address::Resolved(address) => {
            config.host(attempt.server_name).hostaddr(address.ip());
        }
        Address::Name(host, _) => {
            config.host(host);
        }
    }
    config
        .port(attempt.address.port())
        .user(&attempt.secret.username)
        .password(attempt.secret.password().expose())
        .application_name("secrets-rotation-rs")
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(dbname) = attempt.dbname {
        config.dbname(dbname);
    }
    config
}

impl Driver for PgDriver {
    type Session = Client;
    type Error = tokio_postgres::Error;

    async fn open(&self, attempt: &Attempt<'_>) -> Result<Client, OpenError<Self::Error>> {
        let mut config = config(attempt);
        match attempt.tls {
            Some(anchors) => {
                config.ssl_mode(SslMode::Require);
                let tls = anchors.client_config().map_err(OpenError::Setup)?;
                let tls = MakeRustlsConnect::new((*tls).clone());
                let (client, connection) = config.connect(tls).await.map_err(OpenError::Driver)?;
                tokio::spawn(connection);
                Ok(client)
            }
            None => {
                config.ssl_mode(SslMode::Disable);
                let (client, connection) =
                    config.connect(NoTls).await.map_err(OpenError::Driver)?;
                tokio::spawn(connection);
                Ok(client)
            }
        }
    }

    /// tokio-postgres answers a cleartext password request and has no option to refuse it, so
    /// the session runs over a stream that screens the server's authentication messages
    /// (`Screened`) before the driver reads them (`Config::connect_raw`).
    async fn open_screened(
        &self,
        attempt: &Attempt<'_>,
        stream: TcpStream,
        refusal: Arc<OnceLock<Refusal>>,
    ) -> Result<Client, OpenError<Self::Error>> {
        let mut config = config(attempt);
        config.ssl_mode(SslMode::Disable);
        let stream = Screened::new(stream, Transport::Plaintext { fallback: true }, refusal);
        let (client, connection) = config
            .connect_raw(stream, NoTls)
            .await
            .map_err(OpenError::Driver)?;
        tokio::spawn(connection);
        Ok(client)
    }

    fn classify(&self, error: &Self::Error) -> LoginFailure {
        if let Some(db) = error.as_db_error() {
            let server = server_error(db);
            let code = db.code();
            return if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                LoginFailure::Refused {
                    server: Some(server),
                    hint: String::new(),
                }
            } else if is_capacity(code) {
                LoginFailure::AtCapacity(server)
            } else {
                LoginFailure::Server(server)
            };
        }
        classify_client_error(&error_chain(error), has_rustls_error(error))
    }
}

/// True for the SQLSTATEs with which a server turns a login away for capacity, whatever the
/// credentials (facts from the PostgreSQL documentation, "PostgreSQL Error Codes" appendix and
/// the settings named):
/// - `53300` too_many_connections (class 53, insufficient resources): no connection slot left
///   under `max_connections`, the last slots kept by `superuser_reserved_connections` (and,
///   from 16, `reserved_connections`), or a role's or database's `CONNECTION LIMIT` (CREATE
///   ROLE, CREATE DATABASE) reached. A role's limit is checked after its password, so a wrong
///   password is still 28P01;
/// - `57P03` cannot_connect_now (class 57, operator intervention): the server is starting up,
///   shutting down or in recovery and accepts no sessions yet (or any more).
///
/// Not `53400` configuration_limit_exceeded: the server reports with it other limits of its
/// configuration (temporary file space, background worker and replication slots), never a
/// login turned away, and neither a retry nor more connections would help.
pub fn is_capacity(code: &SqlState) -> bool {
    *code == SqlState::TOO_MANY_CONNECTIONS || *code == SqlState::CANNOT_CONNECT_NOW
}

/// What a client-side tokio-postgres error means. tokio-postgres 0.7 gives these no kind, so
/// this is the one place its wording is read: `detail` is the error chain, `rustls` whether a
/// rustls error is in it.
fn classify_client_error(detail: &str, rustls: bool) -> LoginFailure {
    if detail.contains(NO_TLS_ON_SERVER) {
        LoginFailure::NoTlsOnServer
    } else if rustls || detail.contains("TLS") {
        LoginFailure::Tls(detail.to_string())
    } else if detail.starts_with("authentication error") {
        // The driver refused the server's method (e.g. SCRAM channel binding it cannot do) or
        // the server's SCRAM proof was wrong.
        LoginFailure::Refused {
            server: None,
            hint: format!("; {detail}"),
        }
    } else {
        LoginFailure::Unreachable(detail.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_full_or_unready_server_is_at_capacity() {
        for code in ["53300", "57P03"] {
            assert!(is_capacity(&SqlState::from_code(code)), "{code}");
        }
        // Refused credentials, other resource limits, a server shutting a session down
        // (admin_shutdown, after a login), and the rest are not.
        for code in [
            "28P01", "28000", "53400", "53100", "53200", "57P01", "57P02", "3D000", "42501",
        ] {
            assert!(!is_capacity(&SqlState::from_code(code)), "{code}");
        }
    }

    #[test]
    fn client_errors_are_read_in_one_place() {
        assert!(matches!(
            classify_client_error(
                "error performing TLS handshake: server does not support TLS",
                false
            ),
            LoginFailure::NoTlsOnServer
        ));
        assert!(matches!(
            classify_client_error(
                "error performing TLS handshake: invalid peer certificate",
                false
            ),
            LoginFailure::Tls(_)
        ));
        assert!(matches!(
            classify_client_error("io error: bad certificate", true),
            LoginFailure::Tls(_)
        ));
        match classify_client_error("authentication error: invalid message length", false) {
            LoginFailure::Refused { server: None, hint } => {
                assert_eq!(hint, "; authentication error: invalid message length")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_client_error("error connecting to server: Connection refused", false),
            LoginFailure::Unreachable(_)
        ));
    }
}
