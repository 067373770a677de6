//! TLS for database connections: explicit modes, verified by default, never a silent downgrade.
//!
//! The `ssl` key of a secret is read as the official functions read it, with one difference:
//! - `true`: TLS required, certificate chain and host name verified;
//! - `false`: plaintext only;
//! - absent: TLS, verified; plaintext only when the server says it does not speak TLS at all
//!   (logged as a warning). A certificate or host name failure is an error, never a fallback.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::error::{Result, RotationError};

/// The variable naming extra trusted CA certificates: a path to a PEM file, or PEM text.
pub const EXTRA_CA_CERTS: &str = "EXTRA_CA_CERTS";

/// How to use TLS for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS with verification, or fail.
    Require,
    /// TLS with verification; plaintext only if the server does not offer TLS at all.
    PreferVerified,
    /// No TLS.
    Disable,
}

impl TlsMode {
    /// The mode for a secret's `ssl` key.
    pub fn from_ssl_key(ssl: Option<bool>) -> Self {
        match ssl {
            Some(true) => TlsMode::Require,
            Some(false) => TlsMode::Disable,
            None => TlsMode::PreferVerified,
        }
    }
}

/// Trust anchors: the operating system's store, the Mozilla roots compiled in, and the
/// certificates named by [`EXTRA_CA_CERTS`].
pub fn client_config_from_env() -> Result<Arc<ClientConfig>> {
    let extra = std::env::var(EXTRA_CA_CERTS)
        .ok()
        .filter(|v| !v.trim().is_empty());
    client_config(extra.as_deref(), true)
}

/// A rustls client configuration trusting `extra` (a PEM path or PEM text) and, when
/// `system_roots` is true, the OS store and the Mozilla roots.
pub fn client_config(extra: Option<&str>, system_roots: bool) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    if system_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in rustls_native_certs::load_native_certs().certs {
            // A broken certificate in the OS store is skipped, as browsers do.
            let _ = roots.add(cert);
        }
    }
    if let Some(extra) = extra {
        let certs = parse_pem(extra)?;
        for cert in certs {
            roots.add(cert).map_err(|e| RotationError::Configuration {
                variable: EXTRA_CA_CERTS.into(),
                problem: format!("holds a certificate rustls cannot use as a trust anchor: {e}"),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RotationError::Configuration {
            variable: "TLS".into(),
            problem: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn parse_pem(extra: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |problem: String| RotationError::Configuration {
        variable: EXTRA_CA_CERTS.into(),
        problem,
    };
    let certs: Vec<_> = if extra.contains("-----BEGIN") {
        CertificateDer::pem_slice_iter(extra.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| bad(format!("holds PEM text that does not parse: {e}")))?
    } else {
        CertificateDer::pem_file_iter(extra.trim())
            .map_err(|e| {
                bad(format!(
                    "names {} which cannot be read as PEM: {e}",
                    extra.trim()
                ))
            })?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                bad(format!(
                    "names {} whose PEM does not parse: {e}",
                    extra.trim()
                ))
            })?
    };
    if certs.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_key_maps_to_modes() {
        assert_eq!(TlsMode::from_ssl_key(Some(true)), TlsMode::Require);
        assert_eq!(TlsMode::from_ssl_key(Some(false)), TlsMode::Disable);
        assert_eq!(TlsMode::from_ssl_key(None), TlsMode::PreferVerified);
    }

    #[test]
    fn bad_extra_certificates_are_configuration_errors() {
        for bad in [
            "/no/such/file.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        ] {
            let err = client_config(Some(bad), false).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError");
            assert!(err.to_string().contains(EXTRA_CA_CERTS));
        }
    }

    #[test]
    fn system_roots_load() {
        assert!(client_config(None, true).is_ok());
    }
}
