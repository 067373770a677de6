//! The database secret of the SAR rotation functions: `engine`, `host`, `username`,
//! `password`, `dbname`, `port`, `masterarn`, `ssl`, plus any other keys, kept on rewrite.

use serde_json::Value;

use crate::error::{Result, RotationError};
use crate::secret::{JsonSecret, SecretValue};

/// The key naming the host name a server certificate must carry, when it is not `host`.
pub const TLS_SERVER_NAME: &str = "tlsServerName";

/// A parsed database secret. Every key this code does not know is kept in [`Self::json`].
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSecret {
    /// The `engine` key (`postgres`, `mysql`, ...).
    pub engine: Option<String>,
    /// The database host name.
    pub host: String,
    /// The database user.
    pub username: String,
    /// The `dbname` key, if set.
    pub dbname: Option<String>,
    /// The `port` key (a JSON number or a numeric string), if set.
    pub port: Option<u16>,
    /// The ARN of the superuser secret (`masterarn`), if set.
    pub masterarn: Option<String>,
    /// The `ssl` key (a JSON boolean or "true"/"false", any case), if set.
    pub ssl: Option<bool>,
    /// The `tlsServerName` key, if set: the name the server's certificate must carry when
    /// `host` is another name for the server (a CNAME, an alias). Verification is never off.
    pub tls_server_name: Option<String>,
    /// The `dbInstanceIdentifier` key (written by RDS-created secrets), if set.
    pub db_instance_identifier: Option<String>,
    /// The `dbClusterIdentifier` key (written by RDS-created secrets), if set.
    pub db_cluster_identifier: Option<String>,
    json: JsonSecret,
}

impl DatabaseSecret {
    /// Parses and validates a database secret. `which` names the version in errors.
    pub fn parse(value: &SecretValue, which: &str) -> Result<Self> {
        let json = JsonSecret::parse(value, which)?;
        let port = json.optional_port("port", which)?;
        let ssl = match json.get("ssl") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            Some(_) => {
                return Err(RotationError::malformed(
                    which,
                    "the ssl key must be true, false, \"true\" or \"false\"",
                ))
            }
        };
        Ok(Self {
            engine: json.optional_str("engine", which)?.map(str::to_string),
            host: json.required_str("host", which)?.to_string(),
            username: json.required_str("username", which)?.to_string(),
            dbname: json.optional_str("dbname", which)?.map(str::to_string),
            masterarn: json.optional_str("masterarn", which)?.map(str::to_string),
            tls_server_name: json
                .optional_str(TLS_SERVER_NAME, which)?
                .map(str::to_string),
            db_instance_identifier: json
                .optional_str("dbInstanceIdentifier", which)?
                .map(str::to_string),
            db_cluster_identifier: json
                .optional_str("dbClusterIdentifier", which)?
                .map(str::to_string),
            port,
            ssl,
            json,
        })
    }

    /// The password.
    pub fn password(&self) -> SecretValue {
        self.json.password()
    }

    /// Fails with [`RotationError::WrongEngine`] unless `engine` is one of `accepted`.
    pub fn expect_engine(&self, accepted: &[&str], which: &str) -> Result<()> {
        match &self.engine {
            Some(engine) if accepted.contains(&engine.as_str()) => Ok(()),
            found => Err(RotationError::WrongEngine {
                which: which.to_string(),
                expected: accepted
                    .iter()
                    .map(|e| format!("'{e}'"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                found: found.clone().unwrap_or_else(|| "(no engine key)".into()),
            }),
        }
    }

    /// The underlying JSON, every key included.
    pub fn json(&self) -> &JsonSecret {
        &self.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::JsonSecret;
    use serde_json::Value;

    fn parse(s: &str) -> Result<DatabaseSecret> {
        DatabaseSecret::parse(&SecretValue::new(s), "AWSCURRENT")
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let v = SecretValue::new("hunter2");
        assert!(!format!("{v:?} {v}").contains("hunter2"));
        let j = JsonSecret::parse(&SecretValue::new(r#"{"password":"hunter2"}"#), "x").unwrap();
        assert!(!format!("{j:?}").contains("hunter2"));
        let d = parse(r#"{"host":"h","username":"u","password":"hunter2"}"#).unwrap();
        assert!(!format!("{d:?}").contains("hunter2"));
    }

    #[test]
    fn reads_every_typed_key() {
        let d = parse(r#"{"engine":"postgres","host":"db","username":"u","password":"p","dbname":"app","port":"6432","masterarn":"arn:m","ssl":"TRUE","team":"x"}"#).unwrap();
        assert_eq!(d.engine.as_deref(), Some("postgres"));
        assert_eq!(d.port, Some(6432));
        assert_eq!(d.ssl, Some(true));
        assert_eq!(d.dbname.as_deref(), Some("app"));
        assert_eq!(d.masterarn.as_deref(), Some("arn:m"));
        assert_eq!(d.password().expose(), "p");
        let d = parse(r#"{"host":"db","username":"u","password":"p","port":5432,"ssl":false}"#)
            .unwrap();
        assert_eq!((d.port, d.ssl, d.engine), (Some(5432), Some(false), None));
    }

    #[test]
    fn rewriting_the_password_keeps_unknown_keys_and_their_types() {
        let d = parse(r#"{"host":"db","username":"u","password":"old","port":"5432","ssl":true,"nested":{"a":[1,2]},"n":null}"#).unwrap();
        let new = d.json().with_password(&SecretValue::new("new"));
        let v: Value = serde_json::from_str(new.to_secret_value().expose()).unwrap();
        assert_eq!(v["password"], "new");
        assert_eq!(v["port"], "5432");
        assert_eq!(v["ssl"], true);
        assert_eq!(v["nested"]["a"][1], 2);
        assert!(v.get("n").unwrap().is_null());
    }

    #[test]
    fn errors_name_the_key_and_never_the_value() {
        let cases = [
            (
                r#"{"host":"h","password":"s3cr3t"}"#,
                "username key is missing",
            ),
            (r#"{"host":"h","username":"u"}"#, "password key is missing"),
            (
                r#"{"host":"h","username":"u","password":5}"#,
                "password key must be a string",
            ),
            (
                r#"{"host":"h","username":"u","password":"s3cr3t","port":"s3cr3t"}"#,
                "port key",
            ),
            (
                r#"{"host":"h","username":"u","password":"s3cr3t","port":70000}"#,
                "port key",
            ),
            (
                r#"{"host":"h","username":"u","password":"s3cr3t","ssl":"s3cr3t"}"#,
                "ssl key",
            ),
            (
                r#"{"host":"","username":"u","password":"s3cr3t"}"#,
                "host key is an empty string",
            ),
            (r#"{"password":"s3cr3t""#, "not valid JSON"),
            (r#""s3cr3t""#, "JSON string, expected an object"),
        ];
        for (secret, needle) in cases {
            let err = parse(secret).unwrap_err();
            assert_eq!(err.error_type(), "MalformedSecret");
            let msg = err.to_string();
            assert!(msg.contains(needle), "{msg}");
            assert!(!msg.contains("s3cr3t"), "{msg}");
            assert!(msg.contains("AWSCURRENT"), "{msg}");
        }
    }

    #[test]
    fn engine_check() {
        let d = parse(r#"{"engine":"mysql","host":"h","username":"u","password":"p"}"#).unwrap();
        assert!(d
            .expect_engine(&["mysql", "aurora-mysql"], "AWSCURRENT")
            .is_ok());
        let err = d.expect_engine(&["postgres"], "AWSCURRENT").unwrap_err();
        assert_eq!(err.error_type(), "WrongEngine");
        assert!(err.to_string().contains("'postgres'") && err.to_string().contains("mysql"));
        let none = parse(r#"{"host":"h","username":"u","password":"p"}"#).unwrap();
        assert!(none.expect_engine(&["postgres"], "x").is_err());
    }
}
