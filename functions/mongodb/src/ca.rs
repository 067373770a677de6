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

/// Files written so far: (the anchors, their PEM text, the path). A function has one set of
/// anchors; tests have a few. Holding a clone of the anchors keeps their identity from being
/// reused by another set.
static FILES: Mutex<Vec<(TrustAnchors, String, PathBuf)>> = Mutex::new(Vec::new());

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
/// the process). A login with anchors seen before (the function's own, every login after its
/// first) finds the file without building the PEM text again.
pub fn file(anchors: &TrustAnchors) -> Result<PathBuf> {
    {
        let files = FILES.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, path)) = files.iter().find(|(a, _, _)| a.shares(anchors)) {
            return Ok(path.clone());
        }
    }
    let text = pem(anchors)?;
    let problem = |problem: String| RotationError::Configuration {
        variable: "EXTRA_CA_CERTS".into(),
        problem: format!("the trust anchors for the MongoDB driver: {problem}"),
    };
    if text.is_empty() {
        return Err(problem("no trust anchor could be loaded".into()));
    }
    let mut files = FILES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = files
        .iter()
        .find(|(_, t, _)| *t == text)
        .map(|(_, _, path)| path.clone())
    {
        files.push((anchors.clone(), text, path.clone()));
        return Ok(path);
    }
    let path = std::env::temp_dir().join(format!(
        "rotation-mongodb-ca-{}-{}.pem",
        std::process::id(),
        files.len()
    ));
    std::fs::write(&path, &text)
        .map_err(|e| problem(format!("cannot write {}: {e}", path.display())))?;
    files.push((anchors.clone(), text, path.clone()));
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_core::database::RDS_CA_BUNDLE;

    #[test]
    fn one_file_per_set_of_anchors_found_again_without_rebuilding_it() {
        let rds = TrustAnchors::new(Some(RDS_CA_BUNDLE), false).expect("the RDS bundle");
        let path = file(&rds).expect("a file");
        assert_eq!(
            std::fs::read_to_string(&path).expect("written"),
            pem(&rds).expect("pem")
        );
        assert_eq!(file(&rds).expect("again"), path, "the same anchors");
        assert_eq!(file(&rds.clone()).expect("a clone"), path, "a clone");
        // Other anchors with the same certificates share the file; other certificates do not.
        let same = TrustAnchors::new(Some(RDS_CA_BUNDLE), false).expect("the RDS bundle");
        assert!(!same.shares(&rds));
        assert_eq!(file(&same).expect("same text"), path);
        let os = TrustAnchors::new(None, true).expect("built-in roots");
        let other = file(&os).expect("another file");
        assert_ne!(other, path);
        assert_eq!(file(&os).expect("again"), other);
    }
}
