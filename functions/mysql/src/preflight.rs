//! Preflight for MySQL and MariaDB: what the server says an account may do, what its
//! password-validation plugins (MySQL `validate_password`, MariaDB `simple_password_check`,
//! `cracklib_password_check`) mean for the passwords this function generates, and whether a
//! server log would record a password this function sends as plaintext (`password_logging`).
//! Reads only, but for asking to leave the general log (`sql_log_off`) on its own session, as
//! setSecret would.

use std::collections::BTreeMap;

use rotation_core::database::Need;
use rotation_core::preflight::names;
use rotation_core::{CharClass, Check, PasswordPolicy, Result};

use crate::detect::read_server;
use crate::logs::{self, Plaintext};
use crate::server::Family;
use crate::session::{text, MySession};

/// The account's global privileges, as `information_schema` lists them for the current
/// account (`CURRENT_USER()` is `user@host`; the host part holds no `@`).
pub const GLOBAL_PRIVILEGES_SQL: &str = "SELECT PRIVILEGE_TYPE, IS_GRANTABLE \
     FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = CONCAT('''', \
     LEFT(CURRENT_USER(), CHAR_LENGTH(CURRENT_USER()) - CHAR_LENGTH(SUBSTRING_INDEX(CURRENT_USER(), '@', -1)) - 1), \
     '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";

/// The variables of the password-validation plugins and components either family ships.
pub const POLICY_VARIABLES_SQL: &str = "SHOW GLOBAL VARIABLES WHERE Variable_name LIKE 'validate_password%' \
     OR Variable_name LIKE 'simple_password_check%' OR Variable_name LIKE 'cracklib_password_check%' \
     OR Variable_name = 'strict_password_validation'";

/// The privilege checks for `need`, the password-policy check and the password-logging check
/// (`allow`: `ALLOW_PASSWORD_IN_SERVER_LOG`), read through `session`.
pub async fn checks(
    session: &mut MySession,
    need: Need,
    policy: &PasswordPolicy,
    allow: bool,
) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    match need {
        Need::OwnPassword => checks.push(Check {
            name: names::OWN_PASSWORD,
            ok: true,
            detail: "MySQL and MariaDB let every account set its own password (not checked: a read-only server)".into(),
        }),
        Need::ManageUsers => {
            let rows = session
                .query_rows(
                    GLOBAL_PRIVILEGES_SQL,
                    "read the account's global privileges",
                    false,
                )
                .await?;
            let mut privileges = Vec::new();
            for row in &rows {
                privileges.push((
                    text(row, 0, "PRIVILEGE_TYPE")?,
                    text(row, 1, "IS_GRANTABLE")?,
                ));
            }
            checks.push(manage_users(&privileges));
        }
    }
    let rows = session
        .query_rows(
            POLICY_VARIABLES_SQL,
            "read the password-validation settings",
            false,
        )
        .await?;
    let mut variables = BTreeMap::new();
    for row in &rows {
        variables.insert(text(row, 0, "Variable_name")?, text(row, 1, "Value")?);
    }
    checks.push(password_policy(&variables, policy));
    let server = read_server(session).await?;
    let plaintext = match (server.family, need) {
        (Family::MariaDb, _) if server.plaintext_passwords => Some(Plaintext::Always),
        (Family::MariaDb, _) => None,
        (Family::MySql, Need::OwnPassword) => Some(Plaintext::Always),
        (Family::MySql, Need::ManageUsers) => Some(Plaintext::ForSha2Accounts),
    };
    checks.push(match plaintext {
        None => logs::hashes_only(),
        Some(plaintext) => {
            let state = session.logs(&server).await?;
            logs::check(plaintext, &state, may_hold_quote(policy), allow)
        }
    });
    Ok(checks)
}

/// True when a password drawn by `policy` may hold a `'` (which MariaDB's audit plugin does
/// not mask past).
pub fn may_hold_quote(policy: &PasswordPolicy) -> bool {
    policy.included_classes().contains(&CharClass::Punctuation)
        && policy.alphabet_of(CharClass::Punctuation).contains(&'\'')
}

/// Alternating users: the superuser creates accounts (`CREATE USER`) and grants them the
/// current user's privileges (`GRANT OPTION`).
pub fn manage_users(privileges: &[(String, String)]) -> Check {
    let create_user = privileges.iter().find(|(p, _)| p == "CREATE USER");
    // GRANT OPTION is granted at a level, for every privilege there: the CREATE USER row
    // carries it (another row could be a dynamic privilege granted on its own with it).
    let grant = create_user.is_some_and(|(_, g)| g == "YES");
    let create_user = create_user.is_some();
    let missing: Vec<&str> = [(!create_user, "CREATE USER"), (!grant, "GRANT OPTION")]
        .into_iter()
        .filter_map(|(m, name)| m.then_some(name))
        .collect();
    Check {
        name: names::MANAGE_USERS,
        ok: missing.is_empty(),
        detail: if missing.is_empty() {
            "the superuser secret's account holds CREATE USER and GRANT OPTION globally (it must also hold every privilege it copies; a missing one fails setSecret with nothing changed)".into()
        } else {
            format!(
                "the superuser secret's account lacks {} globally, so it cannot create the clone or give it the current user's privileges (privileges it holds only through a role are not counted here)",
                missing.join(" and ")
            )
        },
    }
}

/// What the server's password-validation settings mean for passwords drawn by `policy`: not
/// ok when no such password can pass (too short, or a required class excluded); ok, with a
/// warning, when a password may fail by chance (more than one character of a class asked for).
pub fn password_policy(variables: &BTreeMap<String, String>, policy: &PasswordPolicy) -> Check {
    let number = |names: &[&str]| -> Option<u32> {
        names
            .iter()
            .find_map(|n| variables.get(*n))
            .and_then(|v| v.trim().parse().ok())
    };
    let mut rules: Vec<(&str, u32, bool)> = Vec::new(); // (rule, count, the policy can draw it)
    let mut plugins = Vec::new();
    // A class is guaranteed when the policy draws from it and asks for one of each.
    let classes = policy.included_classes();
    let drawn = |class| policy.require_each_included_type && classes.contains(&class);
    let upper = drawn(CharClass::Uppercase);
    let lower = drawn(CharClass::Lowercase);
    let digits = drawn(CharClass::Number);
    let other = drawn(CharClass::Punctuation);
    let mysql_policy = variables
        .get("validate_password.policy")
        .or(variables.get("validate_password_policy"))
        .map(|v| v.to_ascii_uppercase());
    let mut min_length = 0;
    if let Some(level) = &mysql_policy {
        plugins.push(format!("validate_password (policy {level})"));
        min_length = min_length
            .max(number(&["validate_password.length", "validate_password_length"]).unwrap_or(8));
        if level != "LOW" && level != "0" {
            let mixed = number(&[
                "validate_password.mixed_case_count",
                "validate_password_mixed_case_count",
            ])
            .unwrap_or(1);
            rules.push(("uppercase letters", mixed, upper));
            rules.push(("lowercase letters", mixed, lower));
            let n = number(&[
                "validate_password.number_count",
                "validate_password_number_count",
            ]);
            rules.push(("digits", n.unwrap_or(1), digits));
            let s = number(&[
                "validate_password.special_char_count",
                "validate_password_special_char_count",
            ]);
            rules.push(("special characters", s.unwrap_or(1), other));
        }
    }
    if variables.contains_key("simple_password_check_minimal_length") {
        plugins.push("simple_password_check".into());
        min_length = min_length.max(number(&["simple_password_check_minimal_length"]).unwrap_or(8));
        let same_case = number(&["simple_password_check_letters_same_case"]).unwrap_or(1);
        rules.push(("uppercase letters", same_case, upper));
        rules.push(("lowercase letters", same_case, lower));
        rules.push((
            "digits",
            number(&["simple_password_check_digits"]).unwrap_or(1),
            digits,
        ));
        rules.push((
            "other characters",
            number(&["simple_password_check_other_characters"]).unwrap_or(1),
            other,
        ));
    }
    if variables
        .keys()
        .any(|k| k.starts_with("cracklib_password_check"))
    {
        plugins.push("cracklib_password_check".into());
    }
    if plugins.is_empty() {
        return Check {
            name: names::PASSWORD_POLICY,
            ok: true,
            detail: "no password-validation plugin or component is active".into(),
        };
    }
    let mut problems = Vec::new();
    let mut chances = Vec::new();
    if policy.length < min_length {
        problems.push(format!(
            "PASSWORD_LENGTH is {} but the server asks for at least {min_length} characters",
            policy.length
        ));
    }
    for (class, count, drawn) in rules {
        if count == 0 {
            continue;
        }
        if !drawn {
            problems.push(format!("the server asks for {count} {class}, which this function's password settings do not guarantee (an EXCLUDE_* setting, or REQUIRE_EACH_INCLUDED_TYPE false)"));
        } else if count > 1 {
            chances.push(format!("{count} {class}"));
        }
    }
    let strict = variables
        .get("strict_password_validation")
        .is_some_and(|v| v == "ON" || v == "1");
    let mut detail = format!("active: {}", plugins.join(", "));
    if strict {
        detail.push_str("; strict_password_validation is ON, so passwords are sent as plaintext (over verified TLS, or where the secret chose \"ssl\": false) for the plugin to check, never as a hash");
    }
    if !chances.is_empty() {
        detail.push_str(&format!("; a generated password has at least one of each class, but the server asks for {}, which a random password meets only by chance: a refusal fails setSecret with nothing changed and the next rotation draws again", chances.join(", ")));
    }
    if problems.is_empty() {
        detail.push_str("; the passwords this function generates meet it");
    } else {
        detail.push_str("; ");
        detail.push_str(&problems.join("; "));
        detail.push_str(": every rotation would be refused; change the function's password settings (template parameters)");
    }
    Check {
        name: names::PASSWORD_POLICY,
        ok: problems.is_empty(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_core::PasswordDefaults;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn policy() -> PasswordPolicy {
        PasswordPolicy::from_lookup(PasswordDefaults::STANDARD, |_| None).unwrap()
    }

    #[test]
    fn no_plugin_is_fine_and_says_so() {
        let c = password_policy(&vars(&[("strict_password_validation", "ON")]), &policy());
        assert!(c.ok && c.detail.contains("no password-validation"), "{c:?}");
    }

    #[test]
    fn simple_password_check_fails_only_what_cannot_pass() {
        let v = vars(&[
            ("simple_password_check_minimal_length", "40"),
            ("simple_password_check_digits", "1"),
            ("simple_password_check_letters_same_case", "1"),
            ("simple_password_check_other_characters", "1"),
            ("strict_password_validation", "ON"),
        ]);
        let c = password_policy(&v, &policy());
        assert!(!c.ok && c.detail.contains("at least 40"), "{c:?}");
        let mut p = policy();
        p.length = 40;
        let c = password_policy(&v, &p);
        assert!(c.ok && c.detail.contains("plaintext"), "{c:?}");
        p.exclude_punctuation = true;
        let c = password_policy(&v, &p);
        assert!(!c.ok && c.detail.contains("1 other characters"), "{c:?}");
    }

    #[test]
    fn validate_password_counts_above_one_are_a_warning_and_low_checks_length_only() {
        let v = vars(&[
            ("validate_password.policy", "MEDIUM"),
            ("validate_password.length", "8"),
            ("validate_password.mixed_case_count", "2"),
            ("validate_password.number_count", "1"),
            ("validate_password.special_char_count", "1"),
        ]);
        let c = password_policy(&v, &policy());
        assert!(c.ok && c.detail.contains("only by chance"), "{c:?}");
        let mut p = policy();
        p.exclude_numbers = true;
        assert!(!password_policy(&v, &p).ok);
        let low = vars(&[
            ("validate_password_policy", "LOW"),
            ("validate_password_length", "8"),
        ]);
        assert!(password_policy(&low, &p).ok);
    }

    #[test]
    fn managing_users_needs_create_user_and_grant_option() {
        let row = |p: &str, g: &str| (p.to_string(), g.to_string());
        assert!(manage_users(&[row("CREATE USER", "YES"), row("SELECT", "YES")]).ok);
        // A grantable privilege elsewhere is not GRANT OPTION on the level of CREATE USER.
        assert!(!manage_users(&[row("CREATE USER", "NO"), row("BACKUP_ADMIN", "YES")]).ok);
        let c = manage_users(&[row("CREATE USER", "NO")]);
        assert!(!c.ok && c.detail.contains("GRANT OPTION"), "{c:?}");
        let c = manage_users(&[row("SELECT", "YES")]);
        assert!(!c.ok && c.detail.contains("CREATE USER"), "{c:?}");
    }
}
