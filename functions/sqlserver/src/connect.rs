//! The TDS [`Driver`]: how tiberius opens a session for the core's connect policy, and what its
//! errors mean. Everything else about a login is the policy's.
//!
//! TDS carries its TLS handshake inside PRELOGIN packets, so the driver takes the plain TCP
//! stream the policy's address gives and does TLS itself. With TLS, the client asks for
//! encryption as *required*: the whole session is encrypted, and a server that answers that it
//! has none (`ENCRYPT_NOT_SUP`) ends the login before LOGIN7 is sent. The login-only
//! encryption TDS falls back to when either side says "off" is never used. The certificate is
//! verified for the policy's server name against the Mozilla roots (tiberius's bundled set)
//! plus every other anchor the policy trusts (the OS store, the RDS CA bundle,
//! `EXTRA_CA_CERTS`). `"ssl": false` logs in without TLS (`ENCRYPT_NOT_SUP`), as the secret
//! asked.
//!
//! LOGIN7 carries the password merely obfuscated (MS-TDS 2.2.6.4), so a login without TLS
//! hands it over: the plaintext fallback (`ALLOW_PLAINTEXT_FALLBACK`) is refused for every
//! SQL Server login, before anything is sent.

use std::sync::{Arc, OnceLock};

use rotation_core::database::{
    error_chain, Attempt, Driver, LoginFailure, OpenError, PasswordRequest, Refusal, Transport,
};
use rotation_core::ServerError;
use tiberius::error::Error as TdsError;
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

/// A tiberius client over the policy's TCP stream.
pub type TdsClient = Client<Compat<TcpStream>>;

/// SQL Server's error for a refused SQL login (MS Learn, MSSQLSERVER_18456).
pub const LOGIN_FAILED: u32 = 18456;

/// SQL Server's errors for a login refused because of the account's state: 18470 disabled,
/// 18486 locked out, 18487 expired, 18488 must change (MS Learn, "Changing passwords
/// programmatically" and the database engine error list).
pub const ACCOUNT_STATE: [(u32, &str); 4] = [
    (18470, "the login is disabled"),
    (18486, "the login is locked out (CHECK_POLICY lockout)"),
    (18487, "the login's password has expired (CHECK_EXPIRATION)"),
    (18488, "the login's password must be changed (MUST_CHANGE)"),
];

/// SQL Server's errors for a login turned away for capacity, whatever the credentials (MS Learn,
/// database engine errors): 17809, the `user connections` limit is reached; 18401, the server
/// is in script upgrade mode (after an engine update, until it finishes). Reported as
/// `DatabaseAtCapacity`: the step is safe to retry.
pub const AT_CAPACITY: [u32; 2] = [17809, 18401];

/// What tiberius 0.13 says when the server will not encrypt the session as asked.
const ENCRYPTION_REFUSED: &str = "Server does not allow the requested encryption level.";

/// What a server error number means at login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginError {
    /// The credentials were refused; the account's state, when the number says it.
    Refused(Option<&'static str>),
    /// Turned away for capacity.
    AtCapacity,
    /// Another error.
    Other,
}

fn login_error(code: u32) -> LoginError {
    if code == LOGIN_FAILED {
        return LoginError::Refused(None);
    }
    if AT_CAPACITY.contains(&code) {
        return LoginError::AtCapacity;
    }
    match ACCOUNT_STATE.iter().find(|(c, _)| *c == code) {
        Some((_, why)) => LoginError::Refused(Some(why)),
        None => LoginError::Other,
    }
}

/// tiberius as the connect policy's driver.
#[derive(Debug, Clone, Copy, Default)]
pub struct TdsDriver;

/// The driver's configuration for `attempt`.
fn config(attempt: &Attempt<'_>) -> Result<Config, OpenError<TdsError>> {
    let secret = attempt.secret;
    let mut config = Config::new();
    config.host(attempt.address.host());
    config.port(attempt.address.port());
    config.authentication(AuthMethod::sql_server(
        &secret.username,
        secret.password().expose(),
    ));
    if let Some(db) = attempt.dbname {
        config.database(db);
    }
    config.application_name("secrets-rotation");
    match attempt.tls {
        Some(anchors) => {
            config.encryption(EncryptionLevel::Required);
            config.hostname_in_certificate(attempt.server_name);
            config.trust_webpki_roots();
            for certificate in anchors.certificates().map_err(OpenError::Setup)? {
                config.trust_cert_ca_bundle(certificate.as_ref().to_vec());
            }
        }
        None => config.encryption(EncryptionLevel::NotSupported),
    }
    Ok(config)
}

impl Driver for TdsDriver {
    type Session = TdsClient;
    type Error = TdsError;

    async fn open(&self, attempt: &Attempt<'_>) -> Result<TdsClient, OpenError<TdsError>> {
        let config = config(attempt)?;
        let tcp = attempt
            .address
            .connect()
            .await
            .map_err(OpenError::Unreachable)?;
        // On the heap: tiberius's login future is large, and the strategies' futures nest it.
        Box::pin(Client::connect(config, tcp.compat_write()))
            .await
            .map_err(OpenError::Driver)
    }

    /// Never opens a session: without TLS, LOGIN7 hands the password over (obfuscated, not
    /// protected), which a fallback connection refuses before anything is sent.
    async fn open_screened(
        &self,
        _attempt: &Attempt<'_>,
        stream: TcpStream,
        refusal: Arc<OnceLock<Refusal>>,
    ) -> Result<TdsClient, OpenError<TdsError>> {
        drop(stream);
        let fallback = Transport::Plaintext { fallback: true };
        if let Err(refused) = fallback.screen(&PasswordRequest::Cleartext) {
            let _ = refusal.set(refused);
        }
        Err(OpenError::Unreachable(
            "a SQL Server login without TLS sends the password in LOGIN7, only obfuscated".into(),
        ))
    }

    fn classify(&self, error: &TdsError) -> LoginFailure {
        match error {
            TdsError::Server(token) => {
                let server = server_error(token, true);
                match login_error(token.code()) {
                    LoginError::Refused(hint) => LoginFailure::Refused {
                        server: Some(server),
                        hint: hint.map(|why| format!("; {why}")).unwrap_or_default(),
                    },
                    LoginError::AtCapacity => LoginFailure::AtCapacity(server),
                    LoginError::Other => LoginFailure::Server(server),
                }
            }
            TdsError::Protocol(text) if text == ENCRYPTION_REFUSED => LoginFailure::NoTlsOnServer,
            TdsError::Tls(_) => LoginFailure::Tls(error_chain(error)),
            TdsError::Io {
                kind: std::io::ErrorKind::InvalidData,
                ..
            } => LoginFailure::Tls(error_chain(error)),
            TdsError::Routing { .. } => LoginFailure::Unsupported(
                "the server redirected the login to another address (Azure SQL routing), which this function does not follow".into(),
            ),
            other => LoginFailure::Unreachable(error_chain(other)),
        }
    }
}

/// A server error's number, state and class, and (when `keep_message`) its message.
/// Statements that carry a password drop the message.
pub fn server_error(token: &tiberius::error::TokenError, keep_message: bool) -> ServerError {
    ServerError {
        scheme: "SQL Server error",
        code: format!(
            "{} (state {}, class {})",
            token.code(),
            token.state(),
            token.class()
        ),
        message: keep_message.then(|| token.message().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_errors_by_number() {
        assert_eq!(login_error(18456), LoginError::Refused(None));
        assert_eq!(
            login_error(18488),
            LoginError::Refused(Some("the login's password must be changed (MUST_CHANGE)"))
        );
        assert_eq!(login_error(17809), LoginError::AtCapacity);
        assert_eq!(login_error(18401), LoginError::AtCapacity);
        assert_eq!(login_error(4060), LoginError::Other);
    }
}
