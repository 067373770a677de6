//! What ElastiCache accepts: the password policy defaults, the limits of the wait for an
//! `active` user, and the start-up check that the policy can only make passwords ElastiCache
//! takes.

use std::time::Duration;

use rotation_core::{PasswordDefaults, PasswordPolicy, Result, RotationError, SecretValue};

use crate::API_OPERATION_TIMEOUT;

/// The password policy defaults: 32 characters, without `/@"'\,` (ElastiCache refuses `,`, `"`,
/// `/` and `@`: [`REFUSED_CHARACTERS`]). The other functions' default lets `,` in, which
/// ElastiCache's documented rule does not.
pub const PASSWORD_DEFAULTS: PasswordDefaults = PasswordDefaults {
    length: 32,
    exclude_characters: "/@\"'\\,",
};
/// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` when unset: with [`STEP_RESERVE`], well inside the
/// default 30 s function timeout (the official 600 s cannot fit it).
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(15);
/// `WAITING_RETRY_INTERVAL_IN_SECONDS` when unset.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// The longest wait allowed: a Lambda function runs 900 s at most, and a step keeps
/// [`STEP_RESERVE`] beyond its wait.
pub const MAX_WAIT_LIMIT: Duration = Duration::from_secs(840);
/// What a step may take beyond its wait for `active`: a DescribeUsers and a ModifyUser at the
/// SDK's operation timeout, plus 2 s for its AUTHs and the labels read after a wait. A step's
/// deadline is its start plus `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` plus this (27 s by
/// default).
pub const STEP_RESERVE: Duration = Duration::from_secs(2 * API_OPERATION_TIMEOUT.as_secs() + 2);
/// The characters ElastiCache refuses in a password: "The following nonalphanumeric
/// characters are not allowed: `,` `""` `/` `@`" (ElastiCache user guide, Role-Based Access
/// Control, user password constraints:
/// <https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html>).
pub const REFUSED_CHARACTERS: &str = ",\"/@";
/// The template parameter that sets `ELASTICACHE_USER_ARNS`.
pub const USER_ARNS_PARAMETER: &str = "elastiCacheUserArns";

/// A policy that can only generate passwords ElastiCache accepts: 16 to 128 characters,
/// without `,`, `"`, `/` or `@`.
pub fn check_policy(policy: &PasswordPolicy) -> Result<()> {
    let bad = |variable: &str, problem: &str| {
        Err(RotationError::Configuration {
            variable: variable.into(),
            problem: problem.into(),
        })
    };
    if !(16..=128).contains(&policy.length) {
        return bad("PASSWORD_LENGTH", "must be 16 to 128 for ElastiCache");
    }
    if !REFUSED_CHARACTERS
        .chars()
        .all(|c| policy.exclude_characters.contains(c))
    {
        return bad(
            "EXCLUDE_CHARACTERS",
            "must include , \" / and @, which ElastiCache refuses in passwords",
        );
    }
    Ok(())
}

/// Why ElastiCache would refuse `password`, if it would.
pub(crate) fn refused_password(password: &SecretValue) -> Option<&'static str> {
    let p = password.expose();
    let length = p.chars().count();
    if !(16..=128).contains(&length) {
        Some("it is not 16 to 128 characters long")
    } else if p.chars().any(|c| !c.is_ascii_graphic()) {
        Some("it has a character that is not printable ASCII")
    } else if p.chars().any(|c| REFUSED_CHARACTERS.contains(c)) {
        Some("it has , \" / or @")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(vars: &[(&str, &str)]) -> PasswordPolicy {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PasswordPolicy::from_lookup(PASSWORD_DEFAULTS, move |k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .unwrap()
    }

    #[test]
    fn the_policy_must_only_make_passwords_elasticache_accepts() {
        check_policy(&policy(&[])).unwrap();
        check_policy(&policy(&[("PASSWORD_LENGTH", "16")])).unwrap();
        for (vars, variable) in [
            (vec![("PASSWORD_LENGTH", "15")], "PASSWORD_LENGTH"),
            (vec![("PASSWORD_LENGTH", "129")], "PASSWORD_LENGTH"),
            (vec![("EXCLUDE_CHARACTERS", "@/")], "EXCLUDE_CHARACTERS"),
            // The other functions' default: lets `,` in.
            (
                vec![("EXCLUDE_CHARACTERS", "/@\"'\\")],
                "EXCLUDE_CHARACTERS",
            ),
        ] {
            let err = check_policy(&policy(&vars)).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError");
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn passwords_elasticache_refuses_are_named() {
        let ok = SecretValue::new("Abcdefgh12345678!#");
        assert_eq!(refused_password(&ok), None);
        for bad in [
            "short",
            "Abcdefgh12345678@",
            "Abcdefgh12345678,",
            "Abcdefgh 12345678",
            "Abcdefgh12345678é",
        ] {
            assert!(refused_password(&SecretValue::new(bad)).is_some(), "{bad}");
        }
        assert!(refused_password(&SecretValue::new("x".repeat(129))).is_some());
    }
}
