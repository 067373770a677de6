//! Every environment variable a function reads, read once at start-up into [`Settings`], with
//! one flag parser. A value that cannot be used stops start-up with a
//! [`RotationError::Configuration`] naming the variable. The configuration table of docs/configuration.md
//! lists exactly [`VARIABLES`] (a test checks it).

use crate::error::{Result, RotationError};
use crate::flags::flag_value;
use crate::password::{PasswordDefaults, PasswordPolicy};

/// `SECRETS_MANAGER_ENDPOINT`: the Secrets Manager endpoint, as the official functions read it.
pub const SECRETS_MANAGER_ENDPOINT: &str = "SECRETS_MANAGER_ENDPOINT";
/// `RUST_LOG`: the log filter.
pub const RUST_LOG: &str = "RUST_LOG";
/// `AWS_LAMBDA_LOG_LEVEL`: Lambda's log level, used when `RUST_LOG` is unset.
pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
/// `ROTATION_STRATEGY`: `single` or `alternating` (database functions).
pub const ROTATION_STRATEGY: &str = "ROTATION_STRATEGY";
/// `EXTRA_CA_CERTS`: extra trusted CA certificates, PEM text or a path (database functions).
pub const EXTRA_CA_CERTS: &str = "EXTRA_CA_CERTS";
/// `ALLOW_PLAINTEXT_FALLBACK`: see [`Settings::allow_plaintext_fallback`].
pub const ALLOW_PLAINTEXT_FALLBACK: &str = "ALLOW_PLAINTEXT_FALLBACK";
/// `CLONE_ACTS_AS_ORIGINAL`: see [`Settings::clone_acts_as_original`].
pub const CLONE_ACTS_AS_ORIGINAL: &str = "CLONE_ACTS_AS_ORIGINAL";
/// `ALLOW_ENGINE_KEY`: see [`Settings::allow_engine_key`].
pub const ALLOW_ENGINE_KEY: &str = "ALLOW_ENGINE_KEY";
/// `AWS_ENDPOINT_URL_RDS`: see [`Settings::rds_endpoint`].
pub const AWS_ENDPOINT_URL_RDS: &str = "AWS_ENDPOINT_URL_RDS";
/// `VERIFY_RDS_IDENTIFIERS`: see [`Settings::verify_rds_identifiers`].
pub const VERIFY_RDS_IDENTIFIERS: &str = "VERIFY_RDS_IDENTIFIERS";
/// `USERNAME_CHARACTER_LIMIT`: see [`Settings::username_character_limit`].
pub const USERNAME_CHARACTER_LIMIT: &str = "USERNAME_CHARACTER_LIMIT";
/// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS`: see [`Settings::max_waiting_time_for_active`].
pub const MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS: &str = "MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS";
/// `WAITING_RETRY_INTERVAL_IN_SECONDS`: see [`Settings::waiting_retry_interval`].
pub const WAITING_RETRY_INTERVAL_IN_SECONDS: &str = "WAITING_RETRY_INTERVAL_IN_SECONDS";
/// `USER_NAME`: see [`Settings::user_name`].
pub const USER_NAME: &str = "USER_NAME";
/// `ROTATION_TYPE`: see [`Settings::rotation_type`].
pub const ROTATION_TYPE: &str = "ROTATION_TYPE";
/// `EMIT_METRICS`: see [`Settings::emit_metrics`].
pub const EMIT_METRICS: &str = "EMIT_METRICS";
/// `ALLOW_PASSWORD_IN_SERVER_LOG`: see [`Settings::allow_password_in_server_log`].
pub const ALLOW_PASSWORD_IN_SERVER_LOG: &str = "ALLOW_PASSWORD_IN_SERVER_LOG";
/// `MASTER_SECRET_ARNS`: see [`Settings::master_secret_arns`].
pub const MASTER_SECRET_ARNS: &str = "MASTER_SECRET_ARNS";
/// `ELASTICACHE_USER_ARNS`: see [`Settings::elasticache_user_arns`].
pub const ELASTICACHE_USER_ARNS: &str = "ELASTICACHE_USER_ARNS";
/// `SECRET_ARN`: see [`Settings::secret_arn`].
pub const SECRET_ARN: &str = "SECRET_ARN";

/// Every variable read, in the order of docs/configuration.md's table.
pub const VARIABLES: [&str; 27] = [
    SECRETS_MANAGER_ENDPOINT,
    "EXCLUDE_CHARACTERS",
    "PASSWORD_LENGTH",
    "EXCLUDE_NUMBERS",
    "EXCLUDE_PUNCTUATION",
    "EXCLUDE_UPPERCASE",
    "EXCLUDE_LOWERCASE",
    "REQUIRE_EACH_INCLUDED_TYPE",
    RUST_LOG,
    AWS_LAMBDA_LOG_LEVEL,
    ROTATION_STRATEGY,
    EXTRA_CA_CERTS,
    ALLOW_PLAINTEXT_FALLBACK,
    CLONE_ACTS_AS_ORIGINAL,
    ALLOW_ENGINE_KEY,
    AWS_ENDPOINT_URL_RDS,
    VERIFY_RDS_IDENTIFIERS,
    USERNAME_CHARACTER_LIMIT,
    ALLOW_PASSWORD_IN_SERVER_LOG,
    MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS,
    WAITING_RETRY_INTERVAL_IN_SECONDS,
    USER_NAME,
    ROTATION_TYPE,
    EMIT_METRICS,
    MASTER_SECRET_ARNS,
    ELASTICACHE_USER_ARNS,
    SECRET_ARN,
];

/// The log filter when neither `RUST_LOG` nor `AWS_LAMBDA_LOG_LEVEL` is set.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// The database strategy a deployment chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyKind {
    /// The user changes its own password.
    SingleUser,
    /// A superuser alternates between `user` and `user_clone`.
    AlternatingUsers,
}

impl StrategyKind {
    /// Reads a `ROTATION_STRATEGY` value: `single` (also `single-user`; None or empty means
    /// single) or `alternating` (also `alternating-users`, `multi`, `multi-user`), any case.
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("single") | Some("single-user") => Ok(Self::SingleUser),
            Some("alternating")
            | Some("alternating-users")
            | Some("multi")
            | Some("multi-user") => Ok(Self::AlternatingUsers),
            Some(other) => Err(RotationError::Configuration {
                variable: ROTATION_STRATEGY.into(),
                problem: format!("is '{other}'; use single or alternating"),
            }),
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Self::SingleUser => "single",
            Self::AlternatingUsers => "alternating",
        }
    }
}

/// Everything configurable, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The password policy (`PASSWORD_LENGTH`, `EXCLUDE_*`, `REQUIRE_EACH_INCLUDED_TYPE`).
    pub password: PasswordPolicy,
    /// `SECRETS_MANAGER_ENDPOINT`, when set (otherwise the SDK's own endpoint variables and
    /// defaults apply).
    pub secrets_manager_endpoint: Option<String>,
    /// `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else [`DEFAULT_LOG_FILTER`]; lowercase.
    pub log_filter: String,
    /// `ROTATION_STRATEGY` (database functions).
    pub strategy: StrategyKind,
    /// `EXTRA_CA_CERTS` (database functions), when set.
    pub extra_ca_certs: Option<String>,
    /// `ALLOW_PLAINTEXT_FALLBACK` (database functions, default false): a secret without `ssl`
    /// may use plaintext when the server answers that it has no TLS; never for the superuser
    /// secret or AWS-managed hosts.
    pub allow_plaintext_fallback: bool,
    /// `CLONE_ACTS_AS_ORIGINAL` (PostgreSQL alternating users, default false).
    pub clone_acts_as_original: bool,
    /// `ALLOW_ENGINE_KEY` (generic function, default false): rotate secrets with an `engine`
    /// key too.
    pub allow_engine_key: bool,
    /// `AWS_ENDPOINT_URL_RDS` (alternating users), when set: the RDS API endpoint.
    pub rds_endpoint: Option<String>,
    /// `VERIFY_RDS_IDENTIFIERS` (alternating users, default true): check `host` against the
    /// secret's `dbInstanceIdentifier` / `dbClusterIdentifier` with the RDS API.
    pub verify_rds_identifiers: bool,
    /// `USERNAME_CHARACTER_LIMIT` (MySQL and MariaDB alternating users), when set: a stricter
    /// limit on user names than the server's, as the official MySQL multi-user function reads
    /// it. The server's own limit still applies when this is larger.
    pub username_character_limit: Option<usize>,
    /// `ALLOW_PASSWORD_IN_SERVER_LOG` (MySQL and MariaDB, default false): send a plaintext
    /// password even when a server log would record it (the general query log the session
    /// cannot leave, an audit plugin). Without it such a change is refused
    /// (`PasswordWouldBeLogged`) and nothing is changed.
    pub allow_password_in_server_log: bool,
    /// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` (ElastiCache), when set: how long a step waits
    /// for the user to be `active`, in seconds.
    pub max_waiting_time_for_active: Option<usize>,
    /// `WAITING_RETRY_INTERVAL_IN_SECONDS` (ElastiCache), when set: seconds between two
    /// status reads while waiting.
    pub waiting_retry_interval: Option<usize>,
    /// `USER_NAME` (ElastiCache), when set: the only user name this function rotates, as the
    /// official function checks it.
    pub user_name: Option<String>,
    /// `ROTATION_TYPE` (set by the templates to the `rotationType`), the metrics' dimension;
    /// `unspecified` when unset.
    pub rotation_type: String,
    /// `EMIT_METRICS` (default true): one CloudWatch EMF metrics line per invocation.
    pub emit_metrics: bool,
    /// `MASTER_SECRET_ARNS` (alternating users, required there): the superuser secrets this
    /// function may use, as the template's `masterSecretArn` (and `additionalMasterSecretArns`)
    /// name them, comma-separated ARNs (`*` and `?` match as in an IAM resource). A secret's
    /// `masterarn` must resolve to one of them.
    pub master_secret_arns: Vec<String>,
    /// `ELASTICACHE_USER_ARNS` (ElastiCache, required there): the users this function may
    /// change, comma-separated ARNs (`*` and `?` as in an IAM resource), as the template's
    /// `elastiCacheUserArns` names them (the role may change exactly those).
    pub elasticache_user_arns: Vec<String>,
    /// `SECRET_ARN`, when set: the only secret this function rotates (any other is refused
    /// before anything is read or changed), as the official ElastiCache function pins it.
    pub secret_arn: Option<String>,
}

impl Settings {
    /// The settings from the process environment.
    pub fn from_env(defaults: PasswordDefaults) -> Result<Self> {
        Self::from_lookup(defaults, |name| std::env::var(name).ok())
    }

    /// The settings from any variable lookup (unset or empty: the default).
    pub fn from_lookup(
        defaults: PasswordDefaults,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let flag = |name: &str, default: bool| flag_value(name, get(name), default);
        Self {
            password: PasswordPolicy::from_lookup(defaults, &lookup)?,
            secrets_manager_endpoint: get(SECRETS_MANAGER_ENDPOINT).map(|e| e.trim().to_string()),
            log_filter: get(RUST_LOG)
                .or_else(|| get(AWS_LAMBDA_LOG_LEVEL))
                .map(|v| v.trim().to_ascii_lowercase())
                .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_string()),
            strategy: StrategyKind::parse(get(ROTATION_STRATEGY).as_deref())?,
            extra_ca_certs: get(EXTRA_CA_CERTS),
            allow_plaintext_fallback: flag(ALLOW_PLAINTEXT_FALLBACK, false)?,
            clone_acts_as_original: flag(CLONE_ACTS_AS_ORIGINAL, false)?,
            allow_engine_key: flag(ALLOW_ENGINE_KEY, false)?,
            rds_endpoint: get(AWS_ENDPOINT_URL_RDS).map(|e| e.trim().to_string()),
            verify_rds_identifiers: flag(VERIFY_RDS_IDENTIFIERS, true)?,
            username_character_limit: get(USERNAME_CHARACTER_LIMIT)
                .map(|v| positive_number(USERNAME_CHARACTER_LIMIT, &v))
                .transpose()?,
            allow_password_in_server_log: flag(ALLOW_PASSWORD_IN_SERVER_LOG, false)?,
            max_waiting_time_for_active: get(MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS)
                .map(|v| positive_number(MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS, &v))
                .transpose()?,
            waiting_retry_interval: get(WAITING_RETRY_INTERVAL_IN_SECONDS)
                .map(|v| positive_number(WAITING_RETRY_INTERVAL_IN_SECONDS, &v))
                .transpose()?,
            user_name: get(USER_NAME).map(|v| v.trim().to_string()),
            rotation_type: get(ROTATION_TYPE)
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| "unspecified".to_string()),
            emit_metrics: flag(EMIT_METRICS, true)?,
            master_secret_arns: arn_list(MASTER_SECRET_ARNS, get(MASTER_SECRET_ARNS))?,
            elasticache_user_arns: arn_list(ELASTICACHE_USER_ARNS, get(ELASTICACHE_USER_ARNS))?,
            secret_arn: arn_list(SECRET_ARN, get(SECRET_ARN))?
                .into_iter()
                .try_fold(None, |found: Option<String>, arn| match found {
                    None => Ok(Some(arn)),
                    Some(_) => Err(RotationError::Configuration {
                        variable: SECRET_ARN.into(),
                        problem: "names more than one secret; give exactly one ARN".into(),
                    }),
                })?,
        }
        .checked()
    }

    /// Refuses combinations that cannot work: alternating users without the superuser secrets
    /// they may use (every secret's `masterarn` would be refused).
    fn checked(self) -> Result<Self> {
        if self.strategy == StrategyKind::AlternatingUsers && self.master_secret_arns.is_empty() {
            return Err(RotationError::Configuration {
                variable: MASTER_SECRET_ARNS.into(),
                problem: "is empty, but ROTATION_STRATEGY is alternating: name the superuser secrets this function may use (the template's masterSecretArn, and additionalMasterSecretArns for more)".into(),
            });
        }
        Ok(self)
    }
}

/// A comma-separated list of ARNs (blank entries skipped); anything that is not an ARN is a
/// configuration error naming `variable`.
fn arn_list(variable: &str, value: Option<String>) -> Result<Vec<String>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            if entry.starts_with("arn:") && entry.split(':').count() >= 6 {
                Ok(entry.to_string())
            } else {
                Err(RotationError::Configuration {
                    variable: variable.to_string(),
                    problem: format!(
                        "holds '{entry}', which is not an ARN (arn:partition:service:region:account:resource)"
                    ),
                })
            }
        })
        .collect()
}

/// Whether `arn` matches `pattern` as an IAM resource does: the same text, where `*` stands
/// for any run of characters (none included) and `?` for any one character. Used for the
/// allow-lists ([`Settings::master_secret_arns`], [`Settings::elasticache_user_arns`]).
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    let (p, a): (Vec<char>, Vec<char>) = (pattern.chars().collect(), arn.chars().collect());
    // Greedy matching with one backtrack point: the last `*` seen.
    let (mut i, mut j, mut star, mut resume) = (0, 0, None, 0);
    while j < a.len() {
        if i < p.len() && (p[i] == '?' || p[i] == a[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            resume = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            resume += 1;
            j = resume;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// A whole number above zero, or a configuration error naming `variable`.
fn positive_number(variable: &str, value: &str) -> Result<usize> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| RotationError::Configuration {
            variable: variable.to_string(),
            problem: format!("is '{}'; use a whole number above 0", value.trim()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(PasswordDefaults::POSTGRES, move |k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_username_character_limit_is_a_positive_number_or_unset() {
        assert_eq!(settings(&[]).unwrap().username_character_limit, None);
        assert_eq!(
            settings(&[(USERNAME_CHARACTER_LIMIT, " ")])
                .unwrap()
                .username_character_limit,
            None
        );
        assert_eq!(
            settings(&[(USERNAME_CHARACTER_LIMIT, "16")])
                .unwrap()
                .username_character_limit,
            Some(16)
        );
        for bad in ["0", "-3", "sixteen", "1.5"] {
            let err = settings(&[(USERNAME_CHARACTER_LIMIT, bad)]).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError", "{bad}");
            assert!(err.to_string().contains(USERNAME_CHARACTER_LIMIT), "{err}");
        }
    }

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

    #[test]
    fn defaults_and_every_variable() {
        let d = settings(&[]).unwrap();
        assert_eq!(d.secrets_manager_endpoint, None);
        assert_eq!(d.log_filter, "info");
        assert_eq!(d.strategy, StrategyKind::SingleUser);
        assert!(!d.allow_plaintext_fallback && !d.clone_acts_as_original && !d.allow_engine_key);
        assert!(!d.allow_password_in_server_log);
        assert!(d.verify_rds_identifiers && d.rds_endpoint.is_none());
        assert_eq!(d.password.length, 32);
        let s = settings(&[
            (SECRETS_MANAGER_ENDPOINT, " http://127.0.0.1:1 "),
            (AWS_LAMBDA_LOG_LEVEL, "DEBUG"),
            (ROTATION_STRATEGY, "Multi-User"),
            (
                MASTER_SECRET_ARNS,
                "arn:aws:secretsmanager:us-east-1:1:secret:m-AbCdEf",
            ),
            (EXTRA_CA_CERTS, "/opt/ca.pem"),
            (ALLOW_PLAINTEXT_FALLBACK, "yes"),
            (CLONE_ACTS_AS_ORIGINAL, "1"),
            (ALLOW_ENGINE_KEY, "true"),
            (ALLOW_PASSWORD_IN_SERVER_LOG, "Yes"),
            ("PASSWORD_LENGTH", "40"),
        ])
        .unwrap();
        assert_eq!(
            s.secrets_manager_endpoint.as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(s.log_filter, "debug");
        assert_eq!(s.strategy, StrategyKind::AlternatingUsers);
        assert_eq!(s.extra_ca_certs.as_deref(), Some("/opt/ca.pem"));
        assert!(s.allow_plaintext_fallback && s.clone_acts_as_original && s.allow_engine_key);
        assert!(s.allow_password_in_server_log);
        assert_eq!(s.password.length, 40);
        let s = settings(&[(RUST_LOG, "warn"), (AWS_LAMBDA_LOG_LEVEL, "debug")]).unwrap();
        assert_eq!(s.log_filter, "warn", "RUST_LOG wins");
    }

    #[test]
    fn allow_lists_are_arns_and_alternating_users_need_one() {
        let arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:master-AbCdEf";
        let s = settings(&[(MASTER_SECRET_ARNS, &format!(" {arn}, ,arn:aws:x:y:z:w "))]).unwrap();
        assert_eq!(s.master_secret_arns, [arn, "arn:aws:x:y:z:w"]);
        for (var, bad) in [
            (MASTER_SECRET_ARNS, "master"),
            (ELASTICACHE_USER_ARNS, "user:u-1"),
            (SECRET_ARN, "arn:aws:secretsmanager"),
        ] {
            let err = settings(&[(var, bad)]).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError", "{var}");
            assert!(err.to_string().contains(var), "{err}");
        }
        let err = settings(&[(SECRET_ARN, &format!("{arn},{arn}x"))]).unwrap_err();
        assert!(err.to_string().contains("more than one"), "{err}");
        assert_eq!(
            settings(&[(SECRET_ARN, arn)])
                .unwrap()
                .secret_arn
                .as_deref(),
            Some(arn)
        );
        // Alternating users without the list: refused at start-up, naming the variable.
        let err = settings(&[(ROTATION_STRATEGY, "alternating")]).unwrap_err();
        assert!(err.to_string().contains(MASTER_SECRET_ARNS), "{err}");
        let err = settings(&[
            (ROTATION_STRATEGY, "alternating"),
            (MASTER_SECRET_ARNS, " , "),
        ])
        .unwrap_err();
        assert!(err.to_string().contains(MASTER_SECRET_ARNS), "{err}");
        assert!(settings(&[
            (ROTATION_STRATEGY, "alternating"),
            (MASTER_SECRET_ARNS, arn)
        ])
        .is_ok());
    }

    #[test]
    fn arn_patterns_match_as_iam_resources_do() {
        let arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1234-AbCdEf";
        assert!(arn_matches(arn, arn));
        assert!(arn_matches(
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-*",
            arn
        ));
        assert!(arn_matches("arn:aws:secretsmanager:*:*:secret:*", arn));
        assert!(arn_matches(
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1234-??????",
            arn
        ));
        assert!(arn_matches("*", arn));
        assert!(!arn_matches(
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1234",
            arn
        ));
        assert!(!arn_matches(
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-1234-?????",
            arn
        ));
        assert!(!arn_matches(
            "arn:aws:secretsmanager:us-east-1:444455556666:secret:*",
            arn
        ));
        assert!(!arn_matches(&format!("{arn}x"), arn));
        assert!(!arn_matches("", arn));
        assert!(arn_matches("a*b*c", "aXXbYYc") && !arn_matches("a*b*c", "aXXbYY"));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            (ROTATION_STRATEGY, "both"),
            (ALLOW_PLAINTEXT_FALLBACK, "sometimes"),
            (CLONE_ACTS_AS_ORIGINAL, "maybe"),
            (ALLOW_ENGINE_KEY, "perhaps"),
            (ALLOW_PASSWORD_IN_SERVER_LOG, "sometimes"),
            (VERIFY_RDS_IDENTIFIERS, "hmm"),
            ("PASSWORD_LENGTH", "long"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError");
            assert!(err.to_string().contains(var), "{err}");
        }
    }

    #[test]
    fn the_docs_configuration_md_table_lists_exactly_these_variables() {
        let page = include_str!("../../docs/configuration.md");
        let table = page
            .split("## Configuration")
            .nth(1)
            .and_then(|rest| {
                rest.split("\n\n")
                    .find(|block| block.starts_with("| Variable"))
            })
            .expect("docs/configuration.md has a configuration table");
        let mut documented: Vec<&str> = table
            .lines()
            .skip(2)
            .flat_map(|row| {
                let first = row.split('|').nth(1).unwrap_or("");
                first.split('`').skip(1).step_by(2).collect::<Vec<_>>()
            })
            .collect();
        let mut read = VARIABLES.to_vec();
        documented.sort_unstable();
        read.sort_unstable();
        assert_eq!(documented, read);
    }
}
