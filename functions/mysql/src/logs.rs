//! Which server logs would record a statement that carries a plaintext password, read before
//! such a statement is sent: the general query log (MariaDB writes statements as received;
//! MySQL rewrites passwords out of it unless `log_raw` is on) unless the session could set
//! `sql_log_off`, and MariaDB's audit plugin `server_audit` (which ignores `sql_log_off`, masks
//! the password of `SET PASSWORD`, `CREATE USER`, `ALTER USER` and `GRANT` statements, but only
//! up to a `'` inside it). The rules are pure functions over what the server reported
//! ([`ServerLogs`]), tested as exact decisions; the binary log is not among them (MariaDB writes
//! `SET PASSWORD ... = PASSWORD('...')` to it as the hash, which is why that form is used).

use std::collections::BTreeMap;

use crate::server::Family;
use rotation_core::{Check, RotationError};

/// The global variables the rules read (any account may run it; a variable the server does
/// not have is simply absent).
pub const LOG_VARIABLES_SQL: &str = "SHOW GLOBAL VARIABLES WHERE Variable_name IN \
     ('general_log', 'log_output', 'log_raw', 'server_audit_logging', 'server_audit_events', \
     'server_audit_incl_users', 'server_audit_excl_users')";

/// The session's own state: whether it is out of the general log, the user it logged in as
/// (`USER()`, as the audit plugin names it), and whether the audit plugin is active.
pub const LOG_SESSION_SQL: &str = "SELECT @@SESSION.sql_log_off, USER(), \
     (SELECT COUNT(*) FROM information_schema.PLUGINS \
      WHERE PLUGIN_NAME = 'SERVER_AUDIT' AND PLUGIN_STATUS = 'ACTIVE')";

/// The statement a session runs to leave the general log (needs SUPER on MariaDB, a privilege
/// to set restricted session variables on MySQL).
pub const LOG_OFF_SQL: &str = "SET SESSION sql_log_off = 1";

/// The audit events that record statement text of the kinds this function sends (`SET
/// PASSWORD` and `CREATE USER` are QUERY_DCL, `ALTER USER` is QUERY_DDL; QUERY is every query).
const STATEMENT_EVENTS: [&str; 3] = ["QUERY", "QUERY_DCL", "QUERY_DDL"];
/// The audit events that record no text of these statements.
const OTHER_EVENTS: [&str; 4] = ["CONNECT", "TABLE", "QUERY_DML", "QUERY_DML_NO_SELECT"];

/// What a server reported about its logs, for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLogs {
    /// MySQL or MariaDB.
    pub family: Family,
    /// The variables of [`LOG_VARIABLES_SQL`] the server has, by name.
    pub variables: BTreeMap<String, String>,
    /// `@@SESSION.sql_log_off` is on: this session's statements stay out of the general log.
    pub session_log_off: bool,
    /// The user name the session logged in as (the user part of `USER()`).
    pub login_user: String,
    /// `server_audit` is loaded and active.
    pub audit_active: bool,
}

/// Where a plaintext password would be written, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exposure {
    /// The general query log would record it: why (variables and values).
    pub general_log: Option<String>,
    /// The audit plugin would record it: why.
    pub audit: Option<String>,
    /// The audit plugin records the statement with the password masked (not an exposure).
    pub audit_masked: Option<String>,
    /// The audit plugin would show the password because it holds a `'` (MariaDB).
    pub audit_quote: bool,
}

impl Exposure {
    /// True when no log would record a password.
    pub fn is_clean(&self) -> bool {
        self.general_log.is_none() && self.audit.is_none()
    }

    /// The logs that would record it, named for a log line.
    pub fn names(&self) -> String {
        let mut names = Vec::new();
        if self.general_log.is_some() {
            names.push("general_log");
        }
        if self.audit.is_some() {
            names.push("server_audit");
        }
        names.join(", ")
    }

    /// Why, in one sentence (empty when clean).
    pub fn why(&self) -> String {
        [&self.general_log, &self.audit]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("; and ")
    }

    /// What the deployer can change on the server so that no log records the password of a
    /// session logged in as `login_user` on a `family` server.
    pub fn fixes(&self, family: Family, login_user: &str) -> String {
        let mut fixes = Vec::new();
        if self.general_log.is_some() {
            fixes.push(match family {
                Family::MariaDb => format!("turn the general log off (general_log = 0, or log_output = NONE; on RDS in the DB parameter group), or give {login_user} the privilege to set sql_log_off (SUPER)"),
                Family::MySql => format!("turn the general log off (general_log = 0, or log_output = NONE; on RDS in the DB parameter group), or turn log_raw off so that MySQL rewrites passwords out of it, or give {login_user} the privilege to set sql_log_off (SESSION_VARIABLES_ADMIN or SYSTEM_VARIABLES_ADMIN)"),
            });
        }
        if self.audit.is_some() {
            let mut fix = format!("leave {login_user} out of the audit (add it to server_audit_excl_users, or leave it out of a non-empty server_audit_incl_users), or record no statement text (server_audit_events without QUERY, QUERY_DCL and QUERY_DDL), or set server_audit_logging = OFF");
            if self.audit_quote {
                fix.push_str(", or keep ' out of the generated passwords (excludeCharacters; the MariaDB default excludes it)");
            }
            fixes.push(fix);
        }
        fixes.join("; ")
    }

    /// The refusal for the password of `user`, sent through a session logged in as
    /// `login_user` on a `family` server.
    pub fn refusal(&self, family: Family, user: &str, login_user: &str) -> RotationError {
        RotationError::PasswordWouldBeLogged {
            user: user.to_string(),
            log: self.why(),
            fixes: self.fixes(family, login_user),
        }
    }
}

/// `ON`/`1` or `OFF`/`0`; None for anything else (the callers fail closed on None).
fn switch(value: Option<&String>) -> Option<bool> {
    match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        Some("ON" | "1") => Some(true),
        Some("OFF" | "0") => Some(false),
        _ => None,
    }
}

/// A comma-separated list, trimmed, empty items dropped.
fn list(value: Option<&String>) -> Vec<String> {
    value
        .map(String::as_str)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Why the general query log would record this session's statement with its password, or
/// None. Unknown values count as logging (fail closed).
pub fn general_log(logs: &ServerLogs) -> Option<String> {
    let var = |n: &str| logs.variables.get(n);
    let on = switch(var("general_log"));
    if on == Some(false) {
        return None;
    }
    let outputs: Vec<String> = list(var("log_output"))
        .into_iter()
        .map(|o| o.to_ascii_uppercase())
        .collect();
    // NONE wins over anything listed with it: nothing is written.
    if outputs.iter().any(|o| o == "NONE") {
        return None;
    }
    if logs.session_log_off {
        return None;
    }
    let state = match on {
        Some(_) => format!(
            "general_log is ON (log_output {})",
            if outputs.is_empty() {
                "not reported".to_string()
            } else {
                outputs.join(",")
            }
        ),
        None => "general_log is not reported as OFF".to_string(),
    };
    let who = format!(
        "this session ({}) could not set sql_log_off",
        logs.login_user
    );
    match logs.family {
        Family::MariaDb => Some(format!(
            "the server would write the statement to its general query log as sent ({state}, and {who})"
        )),
        Family::MySql => match switch(var("log_raw")) {
            // MySQL rewrites passwords out of the general log unless log_raw is on.
            Some(false) => None,
            Some(true) => Some(format!(
                "the server would write the statement to its general query log as sent ({state}, log_raw is ON, and {who})"
            )),
            None => Some(format!(
                "the server may write the statement to its general query log as sent ({state}, log_raw is not reported, so MySQL's password rewriting cannot be confirmed, and {who})"
            )),
        },
    }
}

/// What the audit plugin does with this session's statement: Err(why it would record the
/// password), Ok(Some(why it records it masked)), or Ok(None) (not recorded). `quote`: a
/// password the statement carries holds a `'`. Unknown values count as recording.
pub fn audit(logs: &ServerLogs, quote: bool) -> Result<Option<String>, String> {
    if !logs.audit_active {
        return Ok(None);
    }
    let var = |n: &str| logs.variables.get(n);
    if switch(var("server_audit_logging")) == Some(false) {
        return Ok(None);
    }
    let events: Vec<String> = list(var("server_audit_events"))
        .into_iter()
        .map(|e| e.to_ascii_uppercase())
        .collect();
    let records_text = var("server_audit_events").is_none()
        || events.is_empty()
        || events
            .iter()
            .any(|e| STATEMENT_EVENTS.contains(&e.as_str()) || !OTHER_EVENTS.contains(&e.as_str()));
    if !records_text {
        return Ok(None);
    }
    let user = logs.login_user.as_str();
    let included = list(var("server_audit_incl_users"));
    let logged = if included.is_empty() {
        !list(var("server_audit_excl_users"))
            .iter()
            .any(|u| u == user)
    } else {
        // Compared without case: a near match counts as included.
        included.iter().any(|u| u.eq_ignore_ascii_case(user))
    };
    if !logged {
        return Ok(None);
    }
    let state = format!(
        "server_audit logs the statements of {user} (server_audit_logging {}, server_audit_events '{}')",
        var("server_audit_logging").map_or("not reported", String::as_str),
        events.join(",")
    );
    match logs.family {
        Family::MariaDb if !quote => Ok(Some(format!(
            "{state} and masks the password in these statements"
        ))),
        Family::MariaDb => Err(format!(
            "{state} and masks a password only up to its first ' character, which the password holds, so the rest would be in the audit log"
        )),
        Family::MySql => Err(format!(
            "{state}; on MySQL this function cannot confirm that the plugin masks the password"
        )),
    }
}

/// Where this session's statement carrying a password would be recorded (`quote`: a password
/// it carries holds a `'`).
pub fn assess(logs: &ServerLogs, quote: bool) -> Exposure {
    let (audit, audit_masked) = match audit(logs, quote) {
        Err(why) => (Some(why), None),
        Ok(masked) => (None, masked),
    };
    Exposure {
        general_log: general_log(logs),
        audit_quote: audit.is_some() && quote && logs.family == Family::MariaDb,
        audit,
        audit_masked,
    }
}

/// When this function sends a password as plaintext through the checked session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plaintext {
    /// For every change (MySQL single user; MariaDB under a strict validation plugin).
    Always,
    /// For accounts on `caching_sha2_password` or `sha256_password` (MySQL alternating users).
    ForSha2Accounts,
}

/// The preflight check `password_logging` when every password goes as a hash (the logs are
/// not read: no statement carries a plaintext password).
pub fn hashes_only() -> Check {
    Check {
        name: rotation_core::preflight::names::PASSWORD_LOGGING,
        ok: true,
        detail: "every password is sent as a hash here (MariaDB without a strict password-validation plugin), so no log can record a plaintext password".into(),
    }
}

/// The preflight check `password_logging`: whether a plaintext password this function sends
/// would be recorded by a server log, with `quote_possible` (the generated passwords may hold
/// a `'`) and `allow` (`ALLOW_PASSWORD_IN_SERVER_LOG`).
pub fn check(plaintext: Plaintext, logs: &ServerLogs, quote_possible: bool, allow: bool) -> Check {
    let name = rotation_core::preflight::names::PASSWORD_LOGGING;
    let when = match plaintext {
        Plaintext::Always => "passwords are sent as plaintext here",
        Plaintext::ForSha2Accounts => {
            "passwords of caching_sha2_password and sha256_password accounts are sent as plaintext"
        }
    };
    let exposure = assess(logs, quote_possible);
    let mut detail = format!("{when}; the general query log: ");
    detail.push_str(&match &exposure.general_log {
        Some(why) => why.clone(),
        None if logs.session_log_off => {
            "on, but the session can leave it (sql_log_off)".to_string()
        }
        None => "does not record them (off, log_output NONE, or passwords rewritten)".to_string(),
    });
    detail.push_str("; the audit plugin: ");
    detail.push_str(&match (&exposure.audit, &exposure.audit_masked) {
        (Some(why), _) => why.clone(),
        (None, Some(masked)) => masked.clone(),
        (None, None) => "not loaded, off, or not recording these statements".to_string(),
    });
    if exposure.audit_quote {
        detail
            .push_str(" (a generated password may hold ': EXCLUDE_CHARACTERS does not exclude it)");
    }
    let ok = exposure.is_clean() || allow;
    if exposure.is_clean() {
        detail.push_str("; no log would record a password");
    } else if allow {
        detail.push_str("; ALLOW_PASSWORD_IN_SERVER_LOG is true, so setSecret sends it anyway and that log records the password");
    } else {
        detail.push_str(&format!(
            "; setSecret would refuse (PasswordWouldBeLogged) and change nothing. To rotate: {}; or set ALLOW_PASSWORD_IN_SERVER_LOG=true",
            exposure.fixes(logs.family, &logs.login_user)
        ));
    }
    Check { name, ok, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(family: Family, vars: &[(&str, &str)]) -> ServerLogs {
        ServerLogs {
            family,
            variables: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            session_log_off: false,
            login_user: "app".into(),
            audit_active: false,
        }
    }

    #[test]
    fn the_mariadb_general_log_records_unless_off_none_or_left() {
        let on = logs(
            Family::MariaDb,
            &[("general_log", "ON"), ("log_output", "FILE")],
        );
        let why = general_log(&on).expect("recorded");
        assert!(
            why.contains("general_log is ON (log_output FILE)") && why.contains("sql_log_off"),
            "{why}"
        );
        for (var, value) in [
            ("general_log", "OFF"),
            ("general_log", "0"),
            ("log_output", "NONE"),
            ("log_output", "FILE,NONE"),
            ("log_output", "none, table"),
        ] {
            let mut l = on.clone();
            l.variables.insert(var.into(), value.into());
            assert_eq!(general_log(&l), None, "{var}={value}");
        }
        let mut left = on.clone();
        left.session_log_off = true;
        assert_eq!(general_log(&left), None);
        // Fail closed: a value not understood, or no value, counts as on.
        for value in ["maybe", ""] {
            let mut l = on.clone();
            l.variables.insert("general_log".into(), value.into());
            assert!(general_log(&l).is_some(), "{value}");
        }
        let mut l = on.clone();
        l.variables.clear();
        assert!(general_log(&l).is_some());
        let mut table = on.clone();
        table.variables.insert("log_output".into(), "TABLE".into());
        assert!(general_log(&table).unwrap().contains("log_output TABLE"));
    }

    #[test]
    fn the_mysql_general_log_records_only_with_log_raw_or_when_it_is_not_reported() {
        let mut raw = logs(
            Family::MySql,
            &[
                ("general_log", "ON"),
                ("log_output", "FILE"),
                ("log_raw", "OFF"),
            ],
        );
        assert_eq!(general_log(&raw), None, "MySQL rewrites the password");
        raw.variables.insert("log_raw".into(), "ON".into());
        assert!(general_log(&raw).unwrap().contains("log_raw is ON"));
        raw.variables.remove("log_raw");
        assert!(general_log(&raw)
            .unwrap()
            .contains("log_raw is not reported"));
        raw.session_log_off = true;
        assert_eq!(general_log(&raw), None);
    }

    fn audited(family: Family, vars: &[(&str, &str)]) -> ServerLogs {
        let mut l = logs(family, vars);
        l.audit_active = true;
        l
    }

    #[test]
    fn mariadb_audit_masks_unless_the_password_holds_a_quote() {
        let base = [
            ("general_log", "OFF"),
            ("server_audit_logging", "ON"),
            ("server_audit_events", ""),
            ("server_audit_incl_users", ""),
            ("server_audit_excl_users", ""),
        ];
        let l = audited(Family::MariaDb, &base);
        let masked = audit(&l, false).unwrap().expect("recorded, masked");
        assert!(masked.contains("masks the password"), "{masked}");
        let why = audit(&l, true).unwrap_err();
        assert!(why.contains("first ' character"), "{why}");
        let exposure = assess(&l, true);
        assert!(!exposure.is_clean() && exposure.names() == "server_audit");
        assert!(
            exposure
                .fixes(Family::MariaDb, "app")
                .contains("excludeCharacters"),
            "{}",
            exposure.fixes(Family::MariaDb, "app")
        );
        assert!(assess(&l, false).is_clean());
        // Not loaded, or logging off: nothing recorded.
        let mut off = l.clone();
        off.audit_active = false;
        assert_eq!(audit(&off, true), Ok(None));
        let mut off = l.clone();
        off.variables
            .insert("server_audit_logging".into(), "OFF".into());
        assert_eq!(audit(&off, true), Ok(None));
    }

    #[test]
    fn audit_events_and_user_lists_decide_whether_the_statement_is_recorded() {
        let with = |pairs: &[(&str, &str)]| {
            let mut v = vec![("server_audit_logging", "ON")];
            v.extend_from_slice(pairs);
            audited(Family::MariaDb, &v)
        };
        let recorded = |l: &ServerLogs| audit(l, true).is_err();
        for events in [
            "QUERY",
            "query_dcl",
            "CONNECT,QUERY_DDL",
            "",
            "SOMETHING_NEW",
        ] {
            assert!(
                recorded(&with(&[("server_audit_events", events)])),
                "{events}"
            );
        }
        for events in ["CONNECT", "CONNECT, TABLE", "QUERY_DML,QUERY_DML_NO_SELECT"] {
            assert!(
                !recorded(&with(&[("server_audit_events", events)])),
                "{events}"
            );
        }
        // No events variable reported at all: recorded (fail closed).
        assert!(recorded(&with(&[])));
        assert!(!recorded(&with(&[("server_audit_excl_users", "ops, app")])));
        assert!(
            recorded(&with(&[("server_audit_excl_users", "App")])),
            "exclusion matches the exact name only"
        );
        assert!(!recorded(&with(&[("server_audit_incl_users", "ops")])));
        assert!(recorded(&with(&[("server_audit_incl_users", "ops,APP")])));
        assert!(
            recorded(&with(&[
                ("server_audit_incl_users", "app"),
                ("server_audit_excl_users", "app")
            ])),
            "inclusion wins over exclusion"
        );
    }

    #[test]
    fn mysql_audit_counts_as_recording_the_password() {
        let l = audited(Family::MySql, &[("server_audit_logging", "ON")]);
        assert!(audit(&l, false).unwrap_err().contains("cannot confirm"));
    }

    #[test]
    fn the_refusal_names_the_log_the_variables_and_the_ways_out() {
        let mut l = audited(
            Family::MariaDb,
            &[
                ("general_log", "ON"),
                ("log_output", "FILE"),
                ("server_audit_logging", "ON"),
                ("server_audit_events", "QUERY_DCL"),
            ],
        );
        l.login_user = "app".into();
        let err = assess(&l, true).refusal(Family::MariaDb, "app", "app");
        assert_eq!(err.error_type(), "PasswordWouldBeLogged");
        let text = err.to_string();
        for part in [
            "general_log is ON",
            "sql_log_off (SUPER)",
            "server_audit_excl_users",
            "server_audit_events",
            "ALLOW_PASSWORD_IN_SERVER_LOG=true",
            "allowPasswordInServerLog",
            "Nothing was changed",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }

    #[test]
    fn the_preflight_check_reports_each_log_and_the_opt_in() {
        let c = hashes_only();
        assert!(c.ok && c.detail.contains("as a hash"), "{c:?}");
        let on = logs(
            Family::MariaDb,
            &[("general_log", "ON"), ("log_output", "FILE")],
        );
        let c = check(Plaintext::Always, &on, false, false);
        assert!(
            !c.ok && c.detail.contains("PasswordWouldBeLogged") && c.detail.contains("sql_log_off"),
            "{c:?}"
        );
        let c = check(Plaintext::Always, &on, false, true);
        assert!(c.ok && c.detail.contains("records the password"), "{c:?}");
        let mut left = on.clone();
        left.session_log_off = true;
        let c = check(Plaintext::ForSha2Accounts, &left, false, false);
        assert!(c.ok && c.detail.contains("can leave it"), "{c:?}");
        let mut masked = audited(
            Family::MariaDb,
            &[("general_log", "OFF"), ("server_audit_logging", "ON")],
        );
        let c = check(Plaintext::Always, &masked, false, false);
        assert!(c.ok && c.detail.contains("masks the password"), "{c:?}");
        let c = check(Plaintext::Always, &masked, true, false);
        assert!(!c.ok && c.detail.contains("EXCLUDE_CHARACTERS"), "{c:?}");
        masked.family = Family::MySql;
        assert!(!check(Plaintext::Always, &masked, false, false).ok);
    }
}
