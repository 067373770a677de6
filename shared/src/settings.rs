//! Reading true/false settings from the environment with one parser, so every flag accepts
//! the same spellings and a bad value stops start-up naming the variable.

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

/// The flag `name` from the process environment (unset or empty: `default`).
pub fn flag(name: &str, default: bool) -> Result<bool> {
    flag_value(name, std::env::var(name).ok(), default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_accept_the_usual_spellings_and_name_the_variable_otherwise() {
        for (v, want) in [("TRUE", true), (" yes ", true), ("0", false), ("n", false)] {
            assert_eq!(flag_value("X", Some(v.into()), !want).unwrap(), want);
        }
        assert!(flag_value("X", None, true).unwrap());
        assert!(!flag_value("X", Some(" ".into()), false).unwrap());
        let err = flag_value("ALLOW_X", Some("maybe".into()), false).unwrap_err();
        assert_eq!(err.error_type(), "ConfigurationError");
        assert!(err.to_string().contains("ALLOW_X"), "{err}");
    }
}
