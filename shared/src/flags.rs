//! Boolean environment variables as every setting reads them (the settings and the password
//! policy both do, so this sits below both).

use crate::error::{Result, RotationError};

/// Parses a flag value: `true`/`false`, `1`/`0`, `yes`/`no`, `y`/`n`, any case.
pub fn parse_flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "y" | "yes" => Some(true),
        "false" | "0" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// The flag `name` whose value is `value` (None or empty: `default`).
pub fn flag_value(name: &str, value: Option<String>, default: bool) -> Result<bool> {
    match value.filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => parse_flag(&v).ok_or_else(|| RotationError::Configuration {
            variable: name.to_string(),
            problem: format!("is '{v}'; use true or false (also accepted: 1/0, yes/no, y/n)"),
        }),
    }
}
