//! The trust anchors of the functions' AWS SDK clients (Secrets Manager, and RDS, Redshift,
//! ElastiCache where a function calls them): the Amazon Trust Services roots, compiled in
//! ([`AMAZON_ROOTS`]), and `EXTRA_CA_CERTS`. The SDK's default HTTPS client would instead load
//! the OS certificate store when its first client is built, the largest part of a cold start's
//! init (BENCHMARKS.md). The database connections keep their own anchors (`crate::anchors`:
//! the OS store, the Mozilla roots, the RDS bundle).

use std::sync::OnceLock;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use rustls::RootCertStore;

use crate::error::{Result, RotationError};
use crate::pem::checked_bundle;
use crate::settings::EXTRA_CA_CERTS;

/// The public roots every AWS service endpoint chains to: Amazon Root CA 1 to 4 and Starfield
/// Services Root Certificate Authority - G2 (which cross-signs them), as PEM. Where and when
/// they were copied from is at the top of the file.
pub const AMAZON_ROOTS: &str = include_str!("../../certs/amazon-roots.pem");

/// `SSL_CERT_FILE` and `SSL_CERT_DIR`: when either is set, the SDK clients also trust the OS
/// store as these variables point to it, as they did when the SDK loaded the OS store itself.
const OS_STORE_VARIABLES: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// The HTTPS client of every AWS SDK client of this process, built once from the environment
/// (`EXTRA_CA_CERTS`, `SSL_CERT_FILE`, `SSL_CERT_DIR`) on first use; start-up asks for it first,
/// so a bad `EXTRA_CA_CERTS` stops start-up with a configuration error naming it.
pub fn aws_http_client() -> Result<SharedHttpClient> {
    static CLIENT: OnceLock<std::result::Result<SharedHttpClient, String>> = OnceLock::new();
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    CLIENT
        .get_or_init(|| {
            let os_store = OS_STORE_VARIABLES.iter().any(|name| set(name).is_some());
            sdk_http_client(set(EXTRA_CA_CERTS).as_deref(), os_store).map_err(|e| match e {
                RotationError::Configuration { problem, .. } => problem,
                other => other.to_string(),
            })
        })
        .clone()
        .map_err(|problem| RotationError::Configuration {
            variable: EXTRA_CA_CERTS.into(),
            problem,
        })
}

/// An HTTPS client (rustls on aws-lc-rs, as the SDK's default) trusting [`AMAZON_ROOTS`],
/// `extra` (PEM text or a path to PEM, checked here: the SDK would panic on a certificate it
/// cannot use) and, when `os_store`, the OS store. Proxies come from the environment
/// (`HTTPS_PROXY`, `NO_PROXY`, ...) as with the SDK's default client.
pub fn sdk_http_client(extra: Option<&str>, os_store: bool) -> Result<SharedHttpClient> {
    let mut store = TrustStore::empty()
        .with_native_roots(os_store)
        .with_pem_certificate(AMAZON_ROOTS.as_bytes());
    if let Some(extra) = extra {
        store = store.with_pem_certificate(extra_pem(extra)?);
    }
    let context = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| RotationError::Configuration {
            variable: EXTRA_CA_CERTS.into(),
            problem: format!("cannot make the AWS SDK's TLS configuration: {e}"),
        })?;
    // What the SDK's default HTTPS client does (aws-smithy-runtime's `default_https_client`):
    // a connector per set of connector settings, each with the client's sleep implementation
    // and the proxy settings of the environment; only the trust store differs.
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut connector = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::AwsLc,
                ))
                .tls_context(context.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        }),
    )
}

/// The PEM text of `EXTRA_CA_CERTS` (the text itself, or the file it names), every certificate
/// in it checked as a trust anchor by the parser the database anchors use.
fn extra_pem(value: &str) -> Result<Vec<u8>> {
    let pem = if value.contains("-----BEGIN") {
        value.to_string()
    } else {
        let path = value.trim();
        std::fs::read_to_string(path).map_err(|e| RotationError::Configuration {
            variable: EXTRA_CA_CERTS.into(),
            problem: format!("names {path} which cannot be read: {e}"),
        })?
    };
    checked_bundle(&mut RootCertStore::empty(), &pem, EXTRA_CA_CERTS)?;
    Ok(pem.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    /// Subject common name and SHA-256 fingerprint of each root, as Mozilla's store lists them.
    const EXPECTED: [(&str, &str); 5] = [
        (
            "Amazon Root CA 1",
            "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
        ),
        (
            "Amazon Root CA 2",
            "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
        ),
        (
            "Amazon Root CA 3",
            "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
        ),
        (
            "Amazon Root CA 4",
            "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
        ),
        (
            "Starfield Services Root Certificate Authority - G2",
            "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
        ),
    ];

    fn sha256_hex(der: &[u8]) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn amazon_roots_are_exactly_the_five_amazon_trust_services_roots() {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(AMAZON_ROOTS.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .expect("the vendored roots parse as PEM");
        let fingerprints: Vec<String> = certs.iter().map(|c| sha256_hex(c)).collect();
        let expected: Vec<String> = EXPECTED.iter().map(|(_, f)| f.to_string()).collect();
        assert_eq!(fingerprints, expected);
        let mut roots = RootCertStore::empty();
        let (added, refused) = roots.add_parsable_certificates(certs);
        assert_eq!((added, refused), (5, 0));
        for (anchor, (name, _)) in roots.roots.iter().zip(EXPECTED) {
            let subject = anchor.subject.as_ref();
            assert!(
                subject.windows(name.len()).any(|w| w == name.as_bytes()),
                "{name} is not in the subject of its certificate"
            );
        }
    }

    #[test]
    fn the_file_says_where_the_roots_came_from() {
        assert!(AMAZON_ROOTS.contains("ca-certificates 20230311+deb12u1"));
        assert!(AMAZON_ROOTS.contains("Copied on 2026-12-06"));
    }

    #[test]
    fn extra_ca_certs_is_checked_before_the_sdk_sees_it() {
        let first_root = &AMAZON_ROOTS[AMAZON_ROOTS.find("-----BEGIN").unwrap()..];
        assert!(extra_pem(first_root).is_ok());
        let garbled =
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n";
        let refused = [
            garbled,
            "/nonexistent/ca.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ];
        for value in refused {
            match extra_pem(value) {
                Err(RotationError::Configuration { variable, .. }) => {
                    assert_eq!(variable, EXTRA_CA_CERTS)
                }
                other => panic!("{value:?} was taken: {other:?}"),
            }
        }
        assert!(sdk_http_client(Some("/nonexistent/ca.pem"), false).is_err());
        assert!(sdk_http_client(Some(first_root), false).is_ok());
        assert!(sdk_http_client(None, false).is_ok());
    }
}
