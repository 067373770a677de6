//! The MySQL-wire [`Driver`]: how mysql_async opens a session for the core's connect policy,
//! and what its errors mean (wrong password 1045 and locked accounts, TLS problems, auth
//! plugins this function does not use). Everything else about a login is the policy's.
//!
//! mysql_async builds its own rustls configuration from certificates: it is given the same set
//! every adapter trusts ([`TrustAnchors::certificates`](rotation_core::database::TrustAnchors::certificates)).
//! A plaintext-fallback session goes through a loopback relay that refuses the password
//! requests mysql_async would answer by handing the password over (`fallback.rs`).

use std::net::Ipv4Addr;
use std::sync::{Arc, OnceLock};

use mysql_async::{Conn, DriverError, OptsBuilder, SslOpts};
use rotation_core::database::{
    error_chain, has_rustls_error, Attempt, Driver, LoginFailure, OpenError, Refusal,
};
use rotation_core::ServerError;
use tokio::net::TcpStream;

use crate::fallback::Relay;

/// The server error code for a refused login.
pub const ACCESS_DENIED: u16 = 1045;

/// The server error codes for a login refused because the account is locked (MariaDB 4151,
/// MySQL 3118): the credentials are refused, as a wrong password is.
pub const ACCOUNT_LOCKED: [u16; 2] = [4151, 3118];

/// The server error codes with which a login is turned away for capacity, whatever the
/// credentials (facts from the MySQL and MariaDB server error references and the variables
/// and account options named):
/// - 1040 `ER_CON_COUNT_ERROR`, "Too many connections": `max_connections` reached (MySQL and
///   MariaDB keep one more connection for accounts with the SUPER or CONNECTION_ADMIN
///   privilege, which then get it after their password);
/// - 1203 `ER_TOO_MANY_USER_CONNECTIONS`: the account already has `max_user_connections` (the
///   global variable) sessions;
/// - 1226 `ER_USER_LIMIT_REACHED`: the account's own resource limit (`MAX_USER_CONNECTIONS`
///   or `MAX_CONNECTIONS_PER_HOUR` of CREATE USER / ALTER USER ... WITH) is exceeded; the
///   hourly counts start again each hour.
///
/// The per-account limits are checked after the password, so a wrong password is still 1045;
/// each frees up as sessions end (or the hour turns), so a later retry succeeds.
pub const AT_CAPACITY: [u16; 3] = [1040, 1203, 1226];

/// mysql_async as the connect policy's driver.
#[derive(Debug, Clone, Copy, Default)]
pub struct MyDriver;

/// The driver's options for `attempt`, connecting to `host:port`.
fn opts(
    attempt: &Attempt<'_>,
    host: String,
    port: u16,
) -> Result<OptsBuilder, OpenError<mysql_async::Error>> {
    let secret = attempt.secret;
    let mut opts = OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(port)
        .prefer_socket(false)
        .user(Some(secret.username.clone()))
        .pass(Some(secret.password().expose().to_string()))
        .db_name(attempt.dbname.map(str::to_string))
        .stmt_cache_size(0);
    if let Some(anchors) = attempt.tls {
        let roots = anchors
            .certificates()
            .map_err(OpenError::Setup)?
            .iter()
            .map(|c| c.as_ref().to_vec().into())
            .collect();
        // Verify the certificate's name when the connection goes elsewhere (a resolved
        // `tlsServerName` or a test redirect).
        let verify_as = (attempt.server_name != attempt.address.host())
            .then(|| attempt.server_name.to_string());
        let ssl = SslOpts::default()
            .with_root_certs(roots)
            .with_disable_built_in_roots(!anchors.built_in_roots())
            .with_danger_tls_hostname_override(verify_as);
        opts = opts.ssl_opts(Some(ssl));
    }
    Ok(opts)
}

impl Driver for MyDriver {
    type Session = Conn;
    type Error = mysql_async::Error;

    async fn open(&self, attempt: &Attempt<'_>) -> Result<Conn, OpenError<Self::Error>> {
        let opts = opts(attempt, attempt.address.host(), attempt.address.port())?;
        Conn::new(opts).await.map_err(OpenError::Driver)
    }

    /// mysql_async answers some password requests by handing the password over, with no
    /// option to refuse, and cannot take a stream: the driver is pointed at a loopback relay
    /// to `stream` that screens the server's authentication packets (`Relay`).
    async fn open_screened(
        &self,
        attempt: &Attempt<'_>,
        stream: TcpStream,
        refusal: Arc<OnceLock<Refusal>>,
    ) -> Result<Conn, OpenError<Self::Error>> {
        let relay = Relay::start(stream, refusal)
            .await
            .map_err(|e| OpenError::Unreachable(format!("cannot start the loopback relay: {e}")))?;
        let opts = opts(attempt, Ipv4Addr::LOCALHOST.to_string(), relay.port)?;
        Conn::new(opts).await.map_err(OpenError::Driver)
    }

    fn classify(&self, error: &Self::Error) -> LoginFailure {
        match error {
            mysql_async::Error::Server(server) => {
                let detail = server_error(server, true);
                if server.code == ACCESS_DENIED {
                    LoginFailure::Refused {
                        server: Some(detail),
                        hint: String::new(),
                    }
                } else if ACCOUNT_LOCKED.contains(&server.code) {
                    LoginFailure::Refused {
                        server: Some(detail),
                        hint: "; the account is locked (ACCOUNT LOCK)".into(),
                    }
                } else if AT_CAPACITY.contains(&server.code) {
                    LoginFailure::AtCapacity(detail)
                } else {
                    LoginFailure::Server(detail)
                }
            }
            mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => {
                LoginFailure::NoTlsOnServer
            }
            mysql_async::Error::Driver(DriverError::UnknownAuthPlugin { name }) => {
                unsupported_plugin(name)
            }
            mysql_async::Error::Driver(DriverError::CleartextPluginDisabled) => {
                unsupported_plugin("mysql_clear_password")
            }
            mysql_async::Error::Driver(DriverError::MysqlOldPasswordDisabled) => {
                unsupported_plugin("mysql_old_password")
            }
            mysql_async::Error::Io(mysql_async::IoError::Tls(e)) => {
                LoginFailure::Tls(error_chain(e))
            }
            other if has_rustls_error(other) => LoginFailure::Tls(error_chain(other)),
            other => LoginFailure::Unreachable(error_chain(other)),
        }
    }
}

fn unsupported_plugin(plugin: &str) -> LoginFailure {
    LoginFailure::Unsupported(format!(
        "the account authenticates with the {plugin} plugin, which this function does not use; use mysql_native_password, caching_sha2_password or (MariaDB) ed25519"
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError {
            code,
            message: format!("message of {code}"),
            state: "HY000".into(),
        })
    }

    #[test]
    fn a_login_turned_away_for_capacity_is_never_a_refusal() {
        for code in AT_CAPACITY {
            match MyDriver.classify(&server(code)) {
                LoginFailure::AtCapacity(detail) => {
                    assert_eq!(detail.code, code.to_string());
                    assert_eq!(
                        detail.message.as_deref(),
                        Some(&*format!("message of {code}"))
                    );
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        for code in [ACCESS_DENIED, 4151, 3118] {
            assert!(
                matches!(
                    MyDriver.classify(&server(code)),
                    LoginFailure::Refused { .. }
                ),
                "{code}"
            );
        }
        // Unknown database, a host not allowed to connect, any other error: a server error.
        for code in [1049, 1130, 1044] {
            assert!(
                matches!(MyDriver.classify(&server(code)), LoginFailure::Server(_)),
                "{code}"
            );
        }
    }
}
