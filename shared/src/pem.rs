//! PEM certificate bundles checked as trust anchors: the one parser of `EXTRA_CA_CERTS` and the
//! vendored bundles, for the database anchors (`anchors.rs`) and the AWS SDK clients' trust
//! store (`store/trust.rs`) alike.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::error::{Result, RotationError};

/// Parses `pem`, adds each certificate to `roots` (a certificate rustls cannot use as a trust
/// anchor is an error naming `source`), and returns them.
pub(crate) fn checked_bundle(
    roots: &mut RootCertStore,
    pem: &str,
    source: &str,
) -> Result<Vec<CertificateDer<'static>>> {
    let certs = parse_pem(pem, source)?;
    add_anchors(roots, &certs, source)?;
    Ok(certs)
}

/// Adds `certs` to `roots`; a certificate rustls cannot use as a trust anchor is an error
/// naming `source`.
pub(crate) fn add_anchors(
    roots: &mut RootCertStore,
    certs: &[CertificateDer<'static>],
    source: &str,
) -> Result<()> {
    for cert in certs {
        roots
            .add(cert.clone())
            .map_err(|e| RotationError::Configuration {
                variable: source.into(),
                problem: format!("holds a certificate rustls cannot use as a trust anchor: {e}"),
            })?;
    }
    Ok(())
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
