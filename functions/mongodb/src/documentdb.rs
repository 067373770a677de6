//! What Amazon DocumentDB refuses that MongoDB accepts, and how a secret names DocumentDB: the
//! password rules checked before anything is sent, and at start-up against the policy.

use rotation_core::database::{is_aws_managed_host, DatabaseSecret};
use rotation_core::{PasswordPolicy, Result, RotationError};

use crate::engines::MONGODB;
use crate::session::MongoSession;

/// Printable ASCII characters Amazon DocumentDB refuses in a password: `/`, `"`, `@`
/// (developer guide, "Amazon DocumentDB cluster settings"; CreateDBCluster
/// `MasterUserPassword`) and space (the API's error text, aws/aws-cdk#17347).
pub(crate) const DOCUMENTDB_REFUSED: &str = "/\"@ ";

/// The password lengths Amazon DocumentDB accepts (same sources).
pub(crate) const DOCUMENTDB_LENGTHS: std::ops::RangeInclusive<usize> = 8..=100;

/// What DocumentDB would refuse in `password`, never quoting it: a length outside 8-100, or
/// a character that is not printable ASCII or is one of `/ " @` and space.
pub(crate) fn documentdb_password_problem(password: &str) -> Option<String> {
    let length = password.chars().count();
    if !DOCUMENTDB_LENGTHS.contains(&length) {
        return Some(format!(
            "it is {length} characters long (DocumentDB: 8 to 100)"
        ));
    }
    password
        .chars()
        .any(|c| !c.is_ascii_graphic() || DOCUMENTDB_REFUSED.contains(c))
        .then(|| "it holds a character DocumentDB refuses (anything but printable ASCII, and / \" @ space)".to_string())
}

/// Refuses, before anything is sent, a new password DocumentDB would refuse: the password
/// policy allowed it.
pub(crate) fn check_documentdb_password(
    session: &MongoSession,
    pending: &DatabaseSecret,
) -> Result<()> {
    if !session.documentdb {
        return Ok(());
    }
    match documentdb_password_problem(pending.password().expose()) {
        None => Ok(()),
        Some(problem) => Err(RotationError::Configuration {
            variable: "EXCLUDE_CHARACTERS / PASSWORD_LENGTH".into(),
            problem: format!("let the AWSPENDING password of user {} be one Amazon DocumentDB refuses: {problem}. Nothing was changed. Exclude / \" @ (and keep the default's ' \\ and space) and keep PASSWORD_LENGTH within 8-100, then start a new rotation (this version's password is already generated)", pending.username),
        }),
    }
}

/// What a password policy may generate that DocumentDB refuses, if anything.
pub(crate) fn documentdb_policy_problem(policy: &PasswordPolicy) -> Option<String> {
    let mut problems = Vec::new();
    if !DOCUMENTDB_LENGTHS.contains(&(policy.length as usize)) {
        problems.push(format!(
            "PASSWORD_LENGTH is {} (DocumentDB: 8 to 100)",
            policy.length
        ));
    }
    // A generated password never holds a space (GetRandomPassword's IncludeSpace is not sent).
    let missing: String = DOCUMENTDB_REFUSED
        .chars()
        .filter(|c| *c != ' ' && !policy.exclude_characters.contains(*c))
        .collect();
    if !policy.exclude_punctuation && !missing.is_empty() {
        problems.push(format!(
            "EXCLUDE_CHARACTERS lets through {missing}, which DocumentDB refuses"
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// True when `secret` names Amazon DocumentDB: an endpoint under an AWS DocumentDB domain, or
/// `"engine": "docdb"` (the RDS API's name for a DocumentDB cluster). A DocumentDB reached
/// under another name with `"engine": "mongo"` is taken for MongoDB, and refused where the two
/// differ (authentication restrictions).
pub(crate) fn names_documentdb(secret: &DatabaseSecret) -> bool {
    is_aws_managed_host(&secret.host, MONGODB.aws_managed_domains)
        || secret.engine.as_deref() == Some("docdb")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_core::PasswordDefaults;

    #[test]
    fn documentdb_password_rules() {
        assert_eq!(documentdb_password_problem("Abcdefg1"), None);
        assert_eq!(documentdb_password_problem(&"a".repeat(100)), None);
        for bad in [
            "Abcdef1",
            "Abcdefg1/",
            "Abcdefg1\"",
            "Abcdefg1@",
            "Abcd efg1",
            "Abcdefgé1",
        ] {
            let problem = documentdb_password_problem(bad).expect(bad);
            assert!(!problem.contains(bad), "the password is never quoted");
        }
        assert!(documentdb_password_problem(&"a".repeat(101)).is_some());
    }

    #[test]
    fn the_default_policy_generates_only_passwords_documentdb_accepts() {
        let policy =
            PasswordPolicy::from_lookup(crate::engines::MONGODB.password_defaults, |_| None)
                .unwrap();
        assert_eq!(documentdb_policy_problem(&policy), None);
        let standard = PasswordPolicy::from_lookup(PasswordDefaults::STANDARD, |name| {
            (name == "EXCLUDE_CHARACTERS").then(|| "'\\".to_string())
        })
        .unwrap();
        assert!(documentdb_policy_problem(&standard)
            .unwrap()
            .contains("/\"@"));
        let long = PasswordPolicy::from_lookup(crate::engines::MONGODB.password_defaults, |name| {
            (name == "PASSWORD_LENGTH").then(|| "120".to_string())
        })
        .unwrap();
        assert!(documentdb_policy_problem(&long).unwrap().contains("120"));
    }
}
