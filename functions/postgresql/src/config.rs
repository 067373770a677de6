//! The PostgreSQL function's own settings, read from the environment at start-up.

use rotation_core::{Result, RotationError};

/// `true`: clones created by alternating users act as the original role in every session
/// (`ALTER ROLE clone SET role = original`). Default `false`, as the official function.
pub const CLONE_ACTS_AS_ORIGINAL: &str = "CLONE_ACTS_AS_ORIGINAL";

/// Reads a true/false variable (unset or empty: `default`).
pub fn flag(name: &str, default: bool) -> Result<bool> {
    match std::env::var(name)
        .ok()
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") => Ok(default),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some("false") | Some("0") | Some("no") => Ok(false),
        Some(other) => Err(RotationError::Configuration {
            variable: name.to_string(),
            problem: format!("is '{other}'; use true or false"),
        }),
    }
}
