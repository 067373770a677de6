//! Secret values: a redacting string wrapper, and JSON secrets that keep unknown keys.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::{Result, RotationError};
use crate::event::json_kind;

/// A secret string. Its `Debug` and `Display` print a placeholder, so it cannot reach a log or an
/// error message by accident; [`SecretValue::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Never log what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A secret whose value is a JSON object with a string `password`; every other key is kept
/// as it was, so rewriting the password preserves keys this code does not know.
#[derive(Clone, PartialEq)]
pub struct JsonSecret {
    fields: Map<String, Value>,
}

impl fmt::Debug for JsonSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonSecret")
            .field("keys", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl JsonSecret {
    /// Parses a secret string. `which` names the version in errors ("AWSCURRENT", ...). Errors
    /// give the JSON position or the key, never the value.
    pub fn parse(value: &SecretValue, which: &str) -> Result<Self> {
        let parsed: Value = serde_json::from_str(value.expose()).map_err(|e| {
            RotationError::malformed(
                which,
                format!(
                    "the secret string is not valid JSON (error at line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let Value::Object(fields) = parsed else {
            return Err(RotationError::malformed(
                which,
                format!(
                    "the secret string is a JSON {}, expected an object",
                    json_kind(&parsed)
                ),
            ));
        };
        let secret = Self { fields };
        secret.required_str("password", which)?;
        Ok(secret)
    }

    /// The password.
    pub fn password(&self) -> SecretValue {
        SecretValue::new(self.fields["password"].as_str().unwrap_or_default())
    }

    /// A copy with `password` replaced; every other key is unchanged.
    pub fn with_password(&self, password: &SecretValue) -> Self {
        self.with_str("password", password.expose())
    }

    /// A copy with the string key `key` set to `value`.
    pub fn with_str(&self, key: &str, value: &str) -> Self {
        let mut fields = self.fields.clone();
        fields.insert(key.to_string(), Value::String(value.to_string()));
        Self { fields }
    }

    /// The secret string to store.
    pub fn to_secret_value(&self) -> SecretValue {
        SecretValue::new(Value::Object(self.fields.clone()).to_string())
    }

    /// The keys whose values differ between `self` and `other` (present in one only, or
    /// different), leaving out `ignore`; sorted. Names keys, never values.
    pub fn keys_differing(&self, other: &JsonSecret, ignore: &[&str]) -> Vec<String> {
        let mut keys: Vec<&String> = self.fields.keys().chain(other.fields.keys()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .filter(|k| !ignore.contains(&k.as_str()))
            .filter(|k| self.fields.get(*k) != other.fields.get(*k))
            .cloned()
            .collect()
    }

    /// The raw value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// A required non-empty string key.
    pub fn required_str(&self, key: &str, which: &str) -> Result<&str> {
        match self.optional_str(key, which)? {
            Some(s) => Ok(s),
            None => Err(RotationError::malformed(
                which,
                format!("the {key} key is missing from the secret JSON"),
            )),
        }
    }

    /// An optional TCP port key: absent or null is None; a JSON number or a numeric string
    /// between 1 and 65535 is the port; anything else is an error naming the key.
    pub fn optional_port(&self, key: &str, which: &str) -> Result<Option<u16>> {
        let bad_port = || {
            RotationError::malformed(
                which,
                format!("the {key} key must be a TCP port number between 1 and 65535"),
            )
        };
        let number = match self.fields.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(bad_port)?,
            Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad_port())?,
            Some(other) => {
                return Err(RotationError::malformed(
                    which,
                    format!(
                        "the {key} key must be a number or a numeric string, found a JSON {}",
                        json_kind(other)
                    ),
                ))
            }
        };
        u16::try_from(number)
            .ok()
            .filter(|p| *p > 0)
            .map(Some)
            .ok_or_else(bad_port)
    }

    /// An optional string key: absent or null is None; empty or another type is an error.
    pub fn optional_str(&self, key: &str, which: &str) -> Result<Option<&str>> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(Value::String(_)) => Err(RotationError::malformed(
                which,
                format!("the {key} key is an empty string"),
            )),
            Some(other) => Err(RotationError::malformed(
                which,
                format!(
                    "the {key} key must be a string, found a JSON {}",
                    json_kind(other)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let v = SecretValue::new("hunter2");
        assert!(!format!("{v:?} {v}").contains("hunter2"));
        let j = JsonSecret::parse(&SecretValue::new(r#"{"password":"hunter2"}"#), "x").unwrap();
        assert!(!format!("{j:?}").contains("hunter2"));
    }
}
