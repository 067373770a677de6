//! The ElastiCache user secret, in the shape `SecretsManagerElasticacheUserRotation` reads:
//! `user_arn`, `username`, `password`, and any other keys, kept on rewrite. Optional, beyond the
//! official function: `host` and `port` (default 6379) of a cache endpoint, and `tlsServerName`
//! (the name its certificate carries, when `host` is another name for it): when given, the
//! function proves the new password with `AUTH` over verified TLS.

use rotation_core::{JsonSecret, Result, RotationError, SecretValue};

/// The `tlsServerName` key.
pub const TLS_SERVER_NAME: &str = "tlsServerName";
/// The port of a cache endpoint when the secret names a host but no port.
pub const DEFAULT_PORT: u16 = 6379;

/// What `user_arn` names: `arn:PARTITION:elasticache:REGION:ACCOUNT:user:USER_ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserArn {
    /// The region of the user (the API is called there).
    pub region: String,
    /// The user ID (DescribeUsers / ModifyUser `UserId`).
    pub user_id: String,
}

impl UserArn {
    /// Parses a user ARN; `which` names the version in errors.
    pub fn parse(arn: &str, which: &str) -> Result<Self> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            ["arn", partition, "elasticache", region, account, "user", id]
                if !partition.is_empty()
                    && !region.is_empty()
                    && !account.is_empty()
                    && valid_user_id(id) =>
            {
                Ok(Self {
                    region: region.to_string(),
                    user_id: id.to_string(),
                })
            }
            _ => Err(RotationError::malformed(
                which,
                "the user_arn key is not an ElastiCache user ARN (arn:PARTITION:elasticache:REGION:ACCOUNT:user:USER_ID)",
            )),
        }
    }
}

/// ElastiCache user IDs: a letter, then letters, digits and hyphens.
fn valid_user_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A cache endpoint to prove a password against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host`.
    pub host: String,
    /// `port`, default [`DEFAULT_PORT`].
    pub port: u16,
    /// The name the certificate must carry: `tlsServerName`, else `host`.
    pub server_name: String,
}

/// A parsed ElastiCache user secret.
#[derive(Debug, Clone)]
pub struct UserSecret {
    /// The `user_arn` key, as written.
    pub user_arn: String,
    /// What it names.
    pub user: UserArn,
    /// The `username` key: the user's name in the cache (AUTH's first argument).
    pub username: String,
    /// The endpoint, when the secret names a `host`.
    pub endpoint: Option<Endpoint>,
    json: JsonSecret,
}

impl UserSecret {
    /// Parses and validates a secret; `which` names the version in errors.
    pub fn parse(value: &SecretValue, which: &str) -> Result<Self> {
        let json = JsonSecret::parse(value, which)?;
        let user_arn = json.required_str("user_arn", which)?.to_string();
        let user = UserArn::parse(&user_arn, which)?;
        let username = json.required_str("username", which)?.to_string();
        let port = json.optional_port("port", which)?;
        let endpoint = match json.optional_str("host", which)? {
            Some(host) => Some(Endpoint {
                host: host.to_string(),
                port: port.unwrap_or(DEFAULT_PORT),
                server_name: json
                    .optional_str(TLS_SERVER_NAME, which)?
                    .unwrap_or(host)
                    .to_string(),
            }),
            None if port.is_some() => {
                return Err(RotationError::malformed(
                    which,
                    "the port key is set but the host key is missing",
                ))
            }
            None => None,
        };
        Ok(Self {
            user_arn,
            user,
            username,
            endpoint,
            json,
        })
    }

    /// The password.
    pub fn password(&self) -> SecretValue {
        self.json.password()
    }

    /// The keys other than `password` in which `other` differs (names only, never values).
    pub fn keys_differing(&self, other: &UserSecret) -> Vec<String> {
        self.json.keys_differing(&other.json, &["password"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:elasticache:eu-west-1:111122223333:user:app-user";

    fn parse(json: &str) -> Result<UserSecret> {
        UserSecret::parse(&SecretValue::new(json), "AWSCURRENT")
    }

    #[test]
    fn the_official_shape_and_the_optional_endpoint_parse() {
        let s = parse(&format!(
            r#"{{"user_arn":"{ARN}","username":"app","password":"p","team":"x"}}"#
        ))
        .unwrap();
        assert_eq!(s.user.region, "eu-west-1");
        assert_eq!(s.user.user_id, "app-user");
        assert_eq!(s.username, "app");
        assert_eq!(s.endpoint, None);
        let s = parse(&format!(
            r#"{{"user_arn":"{ARN}","username":"app","password":"p","host":"10.0.0.5","port":"6380","tlsServerName":"master.c.cache.amazonaws.com"}}"#
        ))
        .unwrap();
        assert_eq!(
            s.endpoint,
            Some(Endpoint {
                host: "10.0.0.5".into(),
                port: 6380,
                server_name: "master.c.cache.amazonaws.com".into()
            })
        );
        let s = parse(&format!(
            r#"{{"user_arn":"{ARN}","username":"app","password":"p","host":"c.cache.amazonaws.com"}}"#
        ))
        .unwrap();
        let e = s.endpoint.unwrap();
        assert_eq!(
            (e.port, e.server_name.as_str()),
            (6379, "c.cache.amazonaws.com")
        );
    }

    /// What differs between two versions besides the password, by key name: a rotation must
    /// change only the password.
    #[test]
    fn keys_differing_names_every_key_but_the_password() {
        let current = parse(&format!(
            r#"{{"user_arn":"{ARN}","username":"app","password":"a","team":"x"}}"#
        ))
        .unwrap();
        let same = parse(&format!(
            r#"{{"user_arn":"{ARN}","username":"app","password":"b","team":"x"}}"#
        ))
        .unwrap();
        assert_eq!(current.keys_differing(&same), Vec::<String>::new());
        let other = parse(&format!(
            r#"{{"user_arn":"{ARN}","username":"ops","password":"b","host":"c.cache.amazonaws.com"}}"#
        ))
        .unwrap();
        let mut keys = current.keys_differing(&other);
        keys.sort();
        assert_eq!(keys, ["host", "team", "username"]);
    }

    #[test]
    fn malformed_secrets_name_the_key_never_the_value() {
        for (json, key) in [
            (r#"{"username":"app","password":"s3cr3t-value"}"#.to_string(), "user_arn"),
            (
                r#"{"user_arn":"arn:aws:rds:eu-west-1:1:db:x","username":"a","password":"s3cr3t-value"}"#.into(),
                "user_arn",
            ),
            (
                r#"{"user_arn":"arn:aws:elasticache:eu-west-1:1:user:9bad","username":"a","password":"s3cr3t-value"}"#.into(),
                "user_arn",
            ),
            (format!(r#"{{"user_arn":"{ARN}","password":"s3cr3t-value"}}"#), "username"),
            (format!(r#"{{"user_arn":"{ARN}","username":"a","password":"s3cr3t-value","port":6379}}"#), "host"),
            (format!(r#"{{"user_arn":"{ARN}","username":"a","password":"s3cr3t-value","host":"h","port":0}}"#), "port"),
        ] {
            let err = parse(&json).unwrap_err();
            assert_eq!(err.error_type(), "MalformedSecret", "{json}");
            assert!(err.to_string().contains(key), "{err}");
            assert!(!err.to_string().contains("s3cr3t-value"), "{err}");
        }
    }
}
