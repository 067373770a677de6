//! What an account is besides its privileges, read from `SHOW CREATE USER` and given to another
//! account: the authentication plugin, the TLS requirement, resource limits (MariaDB's
//! `MAX_STATEMENT_TIME` too), password expiry, history, reuse and `REQUIRE CURRENT`,
//! `FAILED_LOGIN_ATTEMPTS` / `PASSWORD_LOCK_TIME`, the lock state and MySQL's `ATTRIBUTE` /
//! `COMMENT`. A clause this code does not know is an error (nothing is guessed).
//!
//! The row also holds the password hash: it is skipped, never kept, and no error quotes the
//! row. Servers leave defaults out (MariaDB prints no `REQUIRE NONE`, no zero limit), so the
//! statement that copies attributes names every one, defaults included, and two accounts are
//! compared with defaults filled in.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::server::{Family, Server};
use crate::sql::quote_string;
use crate::tokens::{Kind, Tokens};

/// The resource limits, in the order `ALTER USER ... WITH` takes them.
const LIMITS: [&str; 5] = [
    "MAX_QUERIES_PER_HOUR",
    "MAX_UPDATES_PER_HOUR",
    "MAX_CONNECTIONS_PER_HOUR",
    "MAX_USER_CONNECTIONS",
    "MAX_STATEMENT_TIME",
];

/// The TLS requirement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Require {
    /// `REQUIRE NONE`.
    #[default]
    None,
    /// `REQUIRE SSL`.
    Ssl,
    /// `REQUIRE X509`.
    X509,
    /// `REQUIRE ISSUER '...' SUBJECT '...' CIPHER '...'` (any of them): word -> value.
    Specified(BTreeMap<String, String>),
}

/// The attributes of one account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountAttributes {
    /// The authentication plugin (`""` for the native one).
    pub plugin: String,
    /// The TLS requirement.
    pub require: Require,
    /// Non-zero resource limits: name -> value as printed.
    pub limits: BTreeMap<String, String>,
    /// Password options: `EXPIRE`, `HISTORY`, `REUSE INTERVAL`, `REQUIRE CURRENT`,
    /// `FAILED_LOGIN_ATTEMPTS`, `PASSWORD_LOCK_TIME` -> value (`DEFAULT`, `NEVER`,
    /// `INTERVAL 90 DAY`, `5`, `365 DAY`, `OPTIONAL`, `UNBOUNDED`, or `""` for a bare
    /// `PASSWORD REQUIRE CURRENT`), as printed.
    pub password: BTreeMap<&'static str, String>,
    /// `PASSWORD EXPIRE` with no option: the password has expired. Not copied (the new
    /// password clears it) and not compared.
    pub expired_now: bool,
    /// `ACCOUNT LOCK`.
    pub locked: bool,
    /// MySQL's `ATTRIBUTE` JSON object (`COMMENT 'x'` is the `comment` key).
    pub attribute: Map<String, Value>,
}

/// The password options and the value each has when a server prints none.
const PASSWORD_DEFAULTS: [(&str, &str); 6] = [
    ("EXPIRE", "DEFAULT"),
    ("HISTORY", "DEFAULT"),
    ("REUSE INTERVAL", "DEFAULT"),
    ("REQUIRE CURRENT", "DEFAULT"),
    ("FAILED_LOGIN_ATTEMPTS", "0"),
    ("PASSWORD_LOCK_TIME", "0"),
];

/// The value of password option `key` when none is printed.
fn default_of(key: &str) -> String {
    PASSWORD_DEFAULTS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

fn unknown(word: &str) -> String {
    format!("SHOW CREATE USER printed a clause at '{word}' that this function does not know how to copy")
}

impl AccountAttributes {
    /// Reads a `SHOW CREATE USER` row. The password hash in it is skipped.
    pub fn parse(row: &str, backslash_escapes: bool) -> Result<Self, String> {
        let t = Tokens::new(row.trim(), backslash_escapes)
            .map_err(|e| format!("SHOW CREATE USER returned a row holding {e}"))?;
        if !(t.is_word(0, "CREATE") && t.is_word(1, "USER")) {
            return Err(unknown(t.raw(0)));
        }
        let (_, mut i) = t
            .account_at(2)
            .ok_or("SHOW CREATE USER returned a row without an account")?;
        let mut a = Self::default();
        while i < t.len() {
            let word = t.raw(i).to_ascii_uppercase();
            i =
                match word.as_str() {
                    "IDENTIFIED" => a.identified(&t, i + 1)?,
                    "DEFAULT" if t.is_word(i + 1, "ROLE") => skip_roles(&t, i + 2),
                    "REQUIRE" => a.require(&t, i + 1)?,
                    "WITH" => a.limits(&t, i + 1)?,
                    "PASSWORD" => a.password_option(&t, i + 1)?,
                    "FAILED_LOGIN_ATTEMPTS" | "PASSWORD_LOCK_TIME" => {
                        let key = if word == "PASSWORD_LOCK_TIME" {
                            "PASSWORD_LOCK_TIME"
                        } else {
                            "FAILED_LOGIN_ATTEMPTS"
                        };
                        a.password.insert(key, t.raw(i + 1).to_ascii_uppercase());
                        i + 2
                    }
                    "ACCOUNT" if t.is_word(i + 1, "LOCK") => {
                        a.locked = true;
                        i + 2
                    }
                    "ACCOUNT" if t.is_word(i + 1, "UNLOCK") => {
                        a.locked = false;
                        i + 2
                    }
                    "COMMENT" if t.kind(i + 1) == Some(Kind::Str) => {
                        a.attribute
                            .insert("comment".into(), Value::String(t.value(i + 1)));
                        i + 2
                    }
                    "ATTRIBUTE" if t.kind(i + 1) == Some(Kind::Str) => {
                        match serde_json::from_str::<Value>(&t.value(i + 1)) {
                            Ok(Value::Object(map)) => a.attribute.extend(map),
                            _ => return Err(
                                "SHOW CREATE USER printed an ATTRIBUTE that is not a JSON object"
                                    .into(),
                            ),
                        }
                        i + 2
                    }
                    _ => return Err(unknown(&word)),
                };
        }
        Ok(a)
    }

    /// `IDENTIFIED [WITH|VIA plugin] [AS|USING|BY [PASSWORD] 'string']`: the plugin is kept.
    fn identified(&mut self, t: &Tokens<'_>, mut i: usize) -> Result<usize, String> {
        if t.is_word(i, "WITH") || t.is_word(i, "VIA") {
            if t.kind(i + 1).is_none() {
                return Err("SHOW CREATE USER names no plugin after IDENTIFIED".into());
            }
            self.plugin = t.value(i + 1);
            i += 2;
        }
        if t.is_word(i, "AS") || t.is_word(i, "USING") || t.is_word(i, "BY") {
            i += 1;
            if t.is_word(i, "PASSWORD") {
                i += 1;
            }
            if t.kind(i) != Some(Kind::Str) {
                return Err(
                    "SHOW CREATE USER has an IDENTIFIED clause this function does not understand"
                        .into(),
                );
            }
            i += 1;
        }
        if t.is_word(i, "OR") || (t.is_word(i, "AND") && t.is_word(i + 1, "IDENTIFIED")) {
            return Err("the account authenticates with several plugins or factors (IDENTIFIED ... OR/AND ...); rotate accounts with one password plugin".into());
        }
        Ok(i)
    }

    fn require(&mut self, t: &Tokens<'_>, mut i: usize) -> Result<usize, String> {
        let word = t.raw(i).to_ascii_uppercase();
        match word.as_str() {
            "NONE" => self.require = Require::None,
            "SSL" => self.require = Require::Ssl,
            "X509" => self.require = Require::X509,
            _ => {
                let mut items = BTreeMap::new();
                loop {
                    let word = t.raw(i).to_ascii_uppercase();
                    if !matches!(word.as_str(), "ISSUER" | "SUBJECT" | "CIPHER")
                        || t.kind(i + 1) != Some(Kind::Str)
                    {
                        break;
                    }
                    items.insert(word, t.value(i + 1));
                    i += 2;
                    if t.is_word(i, "AND") {
                        i += 1;
                    }
                }
                if items.is_empty() {
                    return Err(unknown(&format!("REQUIRE {word}")));
                }
                self.require = Require::Specified(items);
                return Ok(i);
            }
        }
        Ok(i + 1)
    }

    fn limits(&mut self, t: &Tokens<'_>, mut i: usize) -> Result<usize, String> {
        let start = i;
        while let Some(name) = LIMITS.iter().find(|n| t.is_word(i, n)) {
            let (value, next) = number(t, i + 1).ok_or_else(|| unknown(name))?;
            if !is_zero(&value) {
                self.limits.insert(name.to_string(), value);
            }
            i = next;
        }
        // "WITH GRANT OPTION" is not printed by SHOW CREATE USER; a bare WITH is not expected.
        if i == start {
            return Err(unknown(&format!("WITH {}", t.raw(i))));
        }
        Ok(i)
    }

    fn password_option(&mut self, t: &Tokens<'_>, i: usize) -> Result<usize, String> {
        let word = t.raw(i).to_ascii_uppercase();
        let upper = |j: usize| t.raw(j).to_ascii_uppercase();
        match word.as_str() {
            "EXPIRE" => match upper(i + 1).as_str() {
                "DEFAULT" | "NEVER" => {
                    self.password.insert("EXPIRE", upper(i + 1));
                    Ok(i + 2)
                }
                "INTERVAL" if t.is_word(i + 3, "DAY") => {
                    self.password
                        .insert("EXPIRE", format!("INTERVAL {} DAY", t.raw(i + 2)));
                    Ok(i + 4)
                }
                _ => {
                    self.expired_now = true;
                    Ok(i + 1)
                }
            },
            "HISTORY" => {
                self.password.insert("HISTORY", upper(i + 1));
                Ok(i + 2)
            }
            "REUSE" if t.is_word(i + 1, "INTERVAL") => {
                if t.is_word(i + 3, "DAY") {
                    self.password
                        .insert("REUSE INTERVAL", format!("{} DAY", t.raw(i + 2)));
                    Ok(i + 4)
                } else {
                    self.password.insert("REUSE INTERVAL", upper(i + 2));
                    Ok(i + 3)
                }
            }
            "REQUIRE" if t.is_word(i + 1, "CURRENT") => {
                if t.is_word(i + 2, "DEFAULT") || t.is_word(i + 2, "OPTIONAL") {
                    self.password.insert("REQUIRE CURRENT", upper(i + 2));
                    Ok(i + 3)
                } else {
                    self.password.insert("REQUIRE CURRENT", String::new());
                    Ok(i + 2)
                }
            }
            _ => Err(unknown(&format!("PASSWORD {word}"))),
        }
    }

    /// The attributes as two accounts are compared: defaults filled in, the plugin by its
    /// canonical name, the lock state and an expired password left out.
    pub fn comparable(&self) -> Self {
        let mut c = self.clone();
        c.plugin = if c.plugin.eq_ignore_ascii_case("mysql_native_password") {
            String::new()
        } else {
            c.plugin.to_ascii_lowercase()
        };
        for (key, default) in PASSWORD_DEFAULTS {
            c.password.entry(key).or_insert_with(|| default.to_string());
        }
        c.locked = false;
        c.expired_now = false;
        c
    }

    /// The `ALTER USER <account> ...` clauses that give another account these attributes on
    /// `server`, every one named (defaults included), `pending` being what the other account
    /// has now (for MySQL's `ATTRIBUTE`, which merges: keys only the other has are set to
    /// null). The plugin and the lock state are not part of it: they change with the password.
    pub fn clauses(&self, server: &Server, pending: &Self) -> Result<String, String> {
        let literal = |v: &str| {
            quote_string(v, server.backslash_escapes)
                .ok_or_else(|| "an account attribute holds a NUL character".to_string())
        };
        let mut sql = String::from("REQUIRE ");
        match &self.require {
            Require::None => sql.push_str("NONE"),
            Require::Ssl => sql.push_str("SSL"),
            Require::X509 => sql.push_str("X509"),
            Require::Specified(items) => {
                let parts: Result<Vec<String>, String> = items
                    .iter()
                    .map(|(w, v)| Ok(format!("{w} {}", literal(v)?)))
                    .collect();
                sql.push_str(&parts?.join(" AND "));
            }
        }
        sql.push_str(" WITH");
        let limits = match server.family {
            Family::MariaDb => &LIMITS[..],
            Family::MySql => &LIMITS[..4],
        };
        for name in limits {
            let value = self.limits.get(*name).map_or("0", String::as_str);
            sql.push_str(&format!(" {name} {value}"));
        }
        if server.family == Family::MySql && self.limits.contains_key("MAX_STATEMENT_TIME") {
            return Err("the account has MAX_STATEMENT_TIME, which MySQL does not know".into());
        }
        let get = |key: &str| {
            self.password
                .get(key)
                .cloned()
                .unwrap_or_else(|| default_of(key))
        };
        sql.push_str(&format!(" PASSWORD EXPIRE {}", get("EXPIRE")));
        // Each MySQL option exists from some version on; an account can only hold one that
        // its server knows, so a value other than the default on an older server is refused.
        let mysql_options: [(&str, (u32, u32, u32), String); 5] = [
            (
                "HISTORY",
                (8, 0, 3),
                format!("PASSWORD HISTORY {}", get("HISTORY")),
            ),
            (
                "REUSE INTERVAL",
                (8, 0, 3),
                format!("PASSWORD REUSE INTERVAL {}", get("REUSE INTERVAL")),
            ),
            (
                "REQUIRE CURRENT",
                (8, 0, 13),
                format!("PASSWORD REQUIRE CURRENT {}", get("REQUIRE CURRENT"))
                    .trim_end()
                    .to_string(),
            ),
            (
                "FAILED_LOGIN_ATTEMPTS",
                (8, 0, 19),
                format!("FAILED_LOGIN_ATTEMPTS {}", get("FAILED_LOGIN_ATTEMPTS")),
            ),
            (
                "PASSWORD_LOCK_TIME",
                (8, 0, 19),
                format!("PASSWORD_LOCK_TIME {}", get("PASSWORD_LOCK_TIME")),
            ),
        ];
        for (key, since, clause) in mysql_options {
            if server.mysql_at_least(since) {
                sql.push(' ');
                sql.push_str(&clause);
            } else if self.password.contains_key(key) && get(key) != default_of(key) {
                return Err(format!(
                    "the account has the password option {key}, which this server version does not take"
                ));
            }
        }
        let patch = attribute_patch(&self.attribute, &pending.attribute);
        if !patch.is_empty() {
            if !server.mysql_at_least((8, 0, 21)) {
                return Err("the account has an ATTRIBUTE or COMMENT, which this server version does not take".into());
            }
            sql.push_str(&format!(
                " ATTRIBUTE {}",
                literal(&Value::Object(patch).to_string())?
            ));
        }
        Ok(sql)
    }
}

/// The authentication plugin named by a `SHOW CREATE USER` row (`""` for the native one),
/// reading only its `IDENTIFIED` clause: a user changing its own password needs nothing else,
/// so clauses this code does not know elsewhere in the row do not matter here.
pub fn plugin_of(row: &str, backslash_escapes: bool) -> Result<String, String> {
    let t = Tokens::new(row.trim(), backslash_escapes)
        .map_err(|e| format!("SHOW CREATE USER returned a row holding {e}"))?;
    let mut a = AccountAttributes::default();
    if let Some(at) = (0..t.len()).find(|i| t.is_word(*i, "IDENTIFIED")) {
        a.identified(&t, at + 1)?;
    }
    Ok(a.plugin)
}

/// The JSON merge patch turning `pending` into `source` (MySQL merges `ATTRIBUTE` values).
fn attribute_patch(
    source: &Map<String, Value>,
    pending: &Map<String, Value>,
) -> Map<String, Value> {
    let mut patch = Map::new();
    for key in pending.keys().filter(|k| !source.contains_key(*k)) {
        patch.insert(key.clone(), Value::Null);
    }
    for (key, value) in source {
        if pending.get(key) != Some(value) {
            patch.insert(key.clone(), value.clone());
        }
    }
    patch
}

/// A number at token `i` (`5`, `2.500000`): its text and the index after it.
fn number(t: &Tokens<'_>, i: usize) -> Option<(String, usize)> {
    let digits =
        |j: usize| t.kind(j) == Some(Kind::Word) && t.raw(j).bytes().all(|b| b.is_ascii_digit());
    let negative = t.is_punct(i, "-");
    let at = if negative { i + 1 } else { i };
    if !digits(at) {
        return None;
    }
    let mut text = format!("{}{}", if negative { "-" } else { "" }, t.raw(at));
    let mut next = at + 1;
    if t.is_punct(next, ".") && digits(next + 1) {
        text.push('.');
        text.push_str(t.raw(next + 1));
        next += 2;
    }
    Some((text, next))
}

fn is_zero(value: &str) -> bool {
    value.parse::<f64>().is_ok_and(|v| v == 0.0)
}

/// Skips `DEFAULT ROLE r1, r2@h ...` (MySQL prints it; default roles are copied elsewhere).
fn skip_roles(t: &Tokens<'_>, mut i: usize) -> usize {
    while matches!(t.kind(i), Some(Kind::Ident | Kind::Str))
        || t.is_punct(i, "@")
        || t.is_punct(i, ",")
    {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maria() -> Server {
        Server::detect("10.11.6-MariaDB", "").unwrap()
    }

    fn parse(row: &str) -> AccountAttributes {
        AccountAttributes::parse(row, true).unwrap()
    }

    #[test]
    fn mariadb_rows_as_the_server_prints_them() {
        let a = parse("CREATE USER `b`@`%` IDENTIFIED BY PASSWORD '*B69027D44F6E5EDC07F1AEAD1477967B16F28227' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 5 MAX_STATEMENT_TIME 2.500000 ACCOUNT LOCK PASSWORD EXPIRE INTERVAL 90 DAY");
        assert_eq!(a.plugin, "");
        assert_eq!(a.require, Require::Ssl);
        assert_eq!(a.limits.get("MAX_STATEMENT_TIME").unwrap(), "2.500000");
        assert!(a.locked);
        assert_eq!(a.password.get("EXPIRE").unwrap(), "INTERVAL 90 DAY");
        assert_eq!(
            a.clauses(&maria(), &AccountAttributes::default()).unwrap(),
            "REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 5 MAX_UPDATES_PER_HOUR 0 MAX_CONNECTIONS_PER_HOUR 0 MAX_USER_CONNECTIONS 0 MAX_STATEMENT_TIME 2.500000 PASSWORD EXPIRE INTERVAL 90 DAY"
        );
        let e = parse("CREATE USER `e`@`%` IDENTIFIED VIA ed25519 USING 'Gv2JI8Env2fd5YGonZ082tX3UAW+yJYldOlj4R1bfK4' REQUIRE ISSUER '/CN=x' SUBJECT '/CN=O''Brien' CIPHER 'AES'");
        assert_eq!(e.plugin, "ed25519");
        assert_eq!(
            e.clauses(&maria(), &AccountAttributes::default()).unwrap(),
            "REQUIRE CIPHER 'AES' AND ISSUER '/CN=x' AND SUBJECT '/CN=O''Brien' WITH MAX_QUERIES_PER_HOUR 0 MAX_UPDATES_PER_HOUR 0 MAX_CONNECTIONS_PER_HOUR 0 MAX_USER_CONNECTIONS 0 MAX_STATEMENT_TIME 0 PASSWORD EXPIRE DEFAULT"
        );
        let d = parse("CREATE USER `d`@`%` IDENTIFIED BY PASSWORD '*B6' PASSWORD EXPIRE");
        assert!(d.expired_now);
        let plain = parse("CREATE USER `a`@`%`");
        assert_eq!(
            plain.comparable(),
            AccountAttributes::default().comparable()
        );
        assert_eq!(
            d.comparable(),
            plain.comparable(),
            "an expired password is not compared"
        );
    }

    #[test]
    fn mysql_rows_every_option_by_version() {
        let row = "CREATE USER `u`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$x''y' DEFAULT ROLE `r1`@`%`,`r2`@`%` REQUIRE NONE WITH MAX_USER_CONNECTIONS 3 PASSWORD EXPIRE NEVER ACCOUNT UNLOCK PASSWORD HISTORY 5 PASSWORD REUSE INTERVAL 365 DAY PASSWORD REQUIRE CURRENT OPTIONAL FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME UNBOUNDED ATTRIBUTE '{\"team\": \"a\"}'";
        let a = parse(row);
        assert_eq!(a.plugin, "caching_sha2_password");
        let pending = parse("CREATE USER `p`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 'x' ATTRIBUTE '{\"team\": \"b\", \"old\": 1}'");
        let m8 = Server::detect("8.0.36", "").unwrap();
        assert_eq!(
            a.clauses(&m8, &pending).unwrap(),
            "REQUIRE NONE WITH MAX_QUERIES_PER_HOUR 0 MAX_UPDATES_PER_HOUR 0 MAX_CONNECTIONS_PER_HOUR 0 MAX_USER_CONNECTIONS 3 PASSWORD EXPIRE NEVER PASSWORD HISTORY 5 PASSWORD REUSE INTERVAL 365 DAY PASSWORD REQUIRE CURRENT OPTIONAL FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME UNBOUNDED ATTRIBUTE '{\"old\":null,\"team\":\"a\"}'"
        );
        let m57 = Server::detect("5.7.44", "").unwrap();
        let old = parse("CREATE USER `u`@`%` IDENTIFIED WITH 'mysql_native_password' AS '*24' REQUIRE X509 PASSWORD EXPIRE DEFAULT ACCOUNT LOCK");
        assert_eq!(
            old.clauses(&m57, &AccountAttributes::default()).unwrap(),
            "REQUIRE X509 WITH MAX_QUERIES_PER_HOUR 0 MAX_UPDATES_PER_HOUR 0 MAX_CONNECTIONS_PER_HOUR 0 MAX_USER_CONNECTIONS 0 PASSWORD EXPIRE DEFAULT"
        );
        assert!(a.clauses(&m57, &AccountAttributes::default()).is_err());
        let bare = parse("CREATE USER `u`@`%` PASSWORD REQUIRE CURRENT COMMENT 'ops'");
        assert!(bare
            .clauses(&m8, &AccountAttributes::default())
            .unwrap()
            .ends_with("PASSWORD REQUIRE CURRENT FAILED_LOGIN_ATTEMPTS 0 PASSWORD_LOCK_TIME 0 ATTRIBUTE '{\"comment\":\"ops\"}'"));
    }

    #[test]
    fn unknown_clauses_and_several_plugins_are_refused_without_quoting_the_hash() {
        for row in [
            "CREATE USER `a`@`%` IDENTIFIED VIA ed25519 USING 'h4sh' OR unix_socket",
            "CREATE USER `a`@`%` IDENTIFIED WITH 'x' AS 'h4sh' AND IDENTIFIED WITH 'y'",
            "CREATE USER `a`@`%` IDENTIFIED BY PASSWORD 'h4sh' FROBNICATE",
            "CREATE USER `a`@`%` IDENTIFIED BY PASSWORD 'h4sh' REQUIRE SOMETHING",
            "CREATE USER `a`@`%` IDENTIFIED BY PASSWORD 'h4sh' ATTRIBUTE '[1]'",
            "DROP USER `a`@`%` 'h4sh'",
            "CREATE USER `a`@`%` IDENTIFIED BY PASSWORD 'h4sh",
        ] {
            let err = AccountAttributes::parse(row, true).unwrap_err();
            assert!(!err.contains("h4sh"), "{err}");
        }
    }
}
