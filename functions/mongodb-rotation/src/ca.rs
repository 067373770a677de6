//! The driver takes trust anchors only as a file of PEM certificates, and then trusts nothing
//! else (its Mozilla roots are used only without a file): the function's anchors (the OS store,
//! Mozilla roots included, the vendored RDS CA bundle, which covers DocumentDB, and
//! `EXTRA_CA_CERTS`) are written to one, once per process, in the temporary directory.

use std::path::PathBuf;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rotation_core::database::TrustAnchors;
use rotation_core::{Result, RotationError};

/// Files written so far: (PEM text, path). A function has one set of anchors; tests have a few.
static FILES: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());

/// The PEM text of `anchors`' certificates.
pub fn pem(anchors: &TrustAnchors) -> Result<String> {
    let mut out = String::new();
    for cert in anchors.all_certificates()? {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = STANDARD.encode(cert.as_ref());
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    Ok(out)
}

/// The path of a file holding `anchors` (written on first use, then reused for the life of
/// the process).
pub fn file(anchors: &TrustAnchors) -> Result<PathBuf> {
    let text = pem(anchors)?;
    let problem = |problem: String| RotationError::Configuration {
        variable: "EXTRA_CA_CERTS".into(),
        problem: format!("the trust anchors for the MongoDB driver: {problem}"),
    };
    if text.is_empty() {
        return Err(problem("no trust anchor could be loaded".into()));
    }
    let mut files = FILES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, path)) = files.iter().find(|(t, _)| *t == text) {
        return Ok(path.clone());
    }
    let path = std::env::temp_dir().join(format!(
        "rotation-mongodb-ca-{}-{}.pem",
        std::process::id(),
        files.len()
    ));
    std::fs::write(&path, &text)
        .map_err(|e| problem(format!("cannot write {}: {e}", path.display())))?;
    files.push((text, path.clone()));
    Ok(path)
}
