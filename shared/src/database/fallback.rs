//! What a plaintext-fallback connection refuses while it logs in, for every protocol adapter.
//!
//! `ALLOW_PLAINTEXT_FALLBACK` connects in plaintext when the server answers that it has no TLS.
//! That answer is unauthenticated: whoever sent it may also be the one who then asks for the
//! password, and some ways of asking hand the password over (PostgreSQL's cleartext request;
//! MySQL's caching_sha2_password full authentication, which a client on plaintext answers by
//! encrypting the password to whatever RSA key the server sends). The drivers answer those
//! requests without asking us, so each adapter reads the server's authentication messages
//! before its driver does, names each request as a [`PasswordRequest`], and asks
//! [`Transport::screen`] whether to let it through. Only proofs that do not reveal the password
//! pass on a fallback connection; anything else (an unknown method included) cuts the
//! connection before any password material is sent, reported as
//! [`RotationError::FallbackAuthRefused`]. A secret with `"ssl": false` chose plaintext and is
//! not screened.

use std::fmt;

use super::Transport;
use super::Which;
use crate::error::RotationError;

/// The longest method name from a server kept in messages (the server chooses it).
const MAX_NAME: usize = 64;

/// What a server asked a client to send for the password, as a protocol adapter reads it from
/// the server's authentication messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordRequest {
    /// A proof the server cannot turn back into the password (SCRAM-SHA-256, MD5,
    /// mysql_native_password, caching_sha2_password's scramble and fast path, ed25519).
    Proof,
    /// The password itself, in clear text (PostgreSQL AuthenticationCleartextPassword, MySQL
    /// mysql_clear_password and dialog).
    Cleartext,
    /// The password itself, encrypted to a public key the server sends
    /// (caching_sha2_password full authentication, sha256_password).
    ToServerKey,
    /// A method this code does not know to be a proof, named as the protocol names it.
    Unknown(String),
}

impl PasswordRequest {
    /// A request for `method`, a name the server sent (shortened, printable characters only).
    pub fn unknown(method: &str) -> Self {
        let name: String = method
            .chars()
            .take(MAX_NAME)
            .map(|c| if c.is_ascii_graphic() { c } else { '?' })
            .collect();
        Self::Unknown(name)
    }
}

/// A password request that a fallback connection refused; the connection was cut before any
/// password material was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    request: PasswordRequest,
}

impl Refusal {
    /// What the server asked for.
    pub fn request(&self) -> &PasswordRequest {
        &self.request
    }

    /// The step's error for this refusal, on a login with the `which` credentials to
    /// `host:port`.
    pub fn into_error(self, which: Which, host: &str, port: u16) -> RotationError {
        RotationError::FallbackAuthRefused {
            which: which.label().into(),
            host: host.into(),
            port,
            request: self.to_string(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.request {
            PasswordRequest::Cleartext => {
                f.write_str("in clear text, which anyone on the network path can read")
            }
            PasswordRequest::ToServerKey => f.write_str(
                "encrypted to a public key the server itself sends (caching_sha2_password full \
                 authentication or sha256_password), which whoever answered in the server's \
                 place can decrypt",
            ),
            PasswordRequest::Unknown(method) => write!(
                f,
                "with {method}, a method this function does not use without TLS (only \
                 challenge-response proofs that do not reveal the password are answered)"
            ),
            // Never refused; shown only if a caller formats one by hand.
            PasswordRequest::Proof => f.write_str("with a challenge-response proof"),
        }
    }
}

impl std::error::Error for Refusal {}

impl Transport {
    /// Whether a client on this transport may answer `request`: on a plaintext fallback only
    /// a proof that does not reveal the password; on verified TLS, or plaintext the secret
    /// chose (`"ssl": false`), whatever the driver supports.
    pub fn screen(self, request: &PasswordRequest) -> Result<(), Refusal> {
        match (self, request) {
            (Transport::Plaintext { fallback: true }, PasswordRequest::Proof) => Ok(()),
            (Transport::Plaintext { fallback: true }, other) => Err(Refusal {
                request: other.clone(),
            }),
            (Transport::VerifiedTls | Transport::Plaintext { fallback: false }, _) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FALLBACK: Transport = Transport::Plaintext { fallback: true };

    #[test]
    fn a_fallback_connection_answers_only_proofs() {
        assert_eq!(FALLBACK.screen(&PasswordRequest::Proof), Ok(()));
        for request in [
            PasswordRequest::Cleartext,
            PasswordRequest::ToServerKey,
            PasswordRequest::unknown("dialog"),
        ] {
            let refusal = FALLBACK.screen(&request).unwrap_err();
            assert_eq!(refusal.request(), &request);
        }
    }

    #[test]
    fn verified_tls_and_a_chosen_plaintext_are_not_screened() {
        for transport in [
            Transport::VerifiedTls,
            Transport::Plaintext { fallback: false },
        ] {
            for request in [
                PasswordRequest::Proof,
                PasswordRequest::Cleartext,
                PasswordRequest::ToServerKey,
                PasswordRequest::unknown("x"),
            ] {
                assert_eq!(transport.screen(&request), Ok(()), "{transport:?}");
            }
        }
    }

    #[test]
    fn the_error_says_why_and_what_fixes_it_as_a_tls_failure() {
        let refusal = FALLBACK.screen(&PasswordRequest::Cleartext).unwrap_err();
        let err = refusal.into_error(Which::Current, "db.internal", 5432);
        assert_eq!(err.error_type(), "TlsFailure");
        let text = err.to_string();
        for part in [
            "db.internal:5432",
            "AWSCURRENT",
            "offered no TLS",
            "clear text",
            "no password was sent",
            "\"ssl\": true",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let key = FALLBACK.screen(&PasswordRequest::ToServerKey).unwrap_err();
        assert!(key.to_string().contains("full authentication"), "{key}");
    }

    #[test]
    fn method_names_from_the_server_are_shortened_and_printable() {
        let PasswordRequest::Unknown(name) =
            PasswordRequest::unknown(&format!("evil\n\u{1b}[31m{}", "x".repeat(200)))
        else {
            panic!("unknown")
        };
        assert_eq!(name.chars().count(), MAX_NAME);
        assert!(name.starts_with("evil??[31m"), "{name}");
    }
}
