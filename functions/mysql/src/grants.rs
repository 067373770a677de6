//! Privileges of an account, as `SHOW GRANTS` prints them, made equal on another account.
//!
//! Each row is parsed once ([`GrantRow`]). Copying keeps a row's privilege list and object
//! exactly as the server printed them (so `my\_db`, `%` and column lists mean what they meant);
//! only the grantee changes, and of the clauses after it only `WITH GRANT OPTION` / `WITH ADMIN
//! OPTION` are kept (password hashes, `REQUIRE` and limits belong to the account's attributes).
//! To compare two accounts, every row is broken into [`Atom`]s (one privilege on one object or
//! column, one option, one role...): what the pending account holds beyond the source's atoms
//! is revoked ([`revokes`]), so the two end equal. A row this module does not understand, or one
//! granting to another account, is an error: nothing is guessed. Error texts never quote a row
//! (rows can hold password hashes).

use std::collections::BTreeSet;

use crate::sql::quote_ident;
use crate::tokens::{Kind, Tokens};

/// The statement a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    /// `GRANT ... TO grantee`.
    Grant,
    /// `REVOKE ... FROM grantee` (MySQL partial revokes).
    Revoke,
    /// `SET DEFAULT ROLE role FOR grantee` (MariaDB).
    SetDefaultRole,
}

/// One `SHOW GRANTS` row of a known account, parsed.
#[derive(Debug)]
pub struct GrantRow<'a> {
    tokens: Tokens<'a>,
    keyword: Keyword,
    /// The index of `TO` / `FROM` / `FOR`.
    grantee_word: usize,
    /// `WITH GRANT OPTION` or `WITH ADMIN OPTION`, when the row has it.
    option: Option<&'static str>,
}

impl<'a> GrantRow<'a> {
    /// Parses `row`, which `SHOW GRANTS FOR user@host` printed; fails for a row this code does
    /// not know or one whose grantee is another account.
    pub fn parse(
        row: &'a str,
        user: &str,
        host: &str,
        backslash_escapes: bool,
    ) -> Result<Self, String> {
        let row = row.trim().trim_end_matches(';');
        let tokens =
            Tokens::new(row, backslash_escapes).map_err(|e| format!("a grant holds {e}"))?;
        let (keyword, word) = if tokens.is_word(0, "GRANT") {
            (Keyword::Grant, "TO")
        } else if tokens.is_word(0, "REVOKE") {
            (Keyword::Revoke, "FROM")
        } else if tokens.is_word(0, "SET")
            && tokens.is_word(1, "DEFAULT")
            && tokens.is_word(2, "ROLE")
        {
            (Keyword::SetDefaultRole, "FOR")
        } else {
            return Err(format!(
                "SHOW GRANTS returned a row starting with '{}', which this function does not know how to copy",
                tokens.raw(0)
            ));
        };
        let grantee_word = tokens
            .find_word(1, word)
            .ok_or_else(|| format!("a {} row without {word}", tokens.raw(0)))?;
        let ((grantee_user, grantee_host), after) = tokens
            .account_at(grantee_word + 1)
            .ok_or_else(|| format!("a {} row without a grantee", tokens.raw(0)))?;
        if grantee_user != user || grantee_host != host {
            return Err(format!(
                "SHOW GRANTS for {user}@{host} returned a row for another account"
            ));
        }
        let option = option_after(&tokens, after);
        Ok(Self {
            tokens,
            keyword,
            grantee_word,
            option,
        })
    }

    /// The same statement for `grantee` (an already quoted account), or None for a row that
    /// grants nothing to copy (`GRANT USAGE ON *.*` without an option).
    pub fn for_grantee(&self, grantee: &str) -> Option<String> {
        let t = &self.tokens;
        if self.keyword == Keyword::Grant
            && t.is_word(1, "USAGE")
            && t.is_word(2, "ON")
            && self.option.is_none()
        {
            return None;
        }
        Some(format!(
            "{} {} {grantee}{}",
            t.before(self.grantee_word).trim_end(),
            t.raw(self.grantee_word),
            self.option.unwrap_or("")
        ))
    }

    /// The atoms of this row.
    pub fn atoms(&self) -> Result<Vec<Atom>, String> {
        let t = &self.tokens;
        let mut atoms = Vec::new();
        match self.keyword {
            Keyword::SetDefaultRole => atoms.push(Atom::DefaultRole {
                role: t.span(3, self.grantee_word).to_string(),
            }),
            Keyword::Grant | Keyword::Revoke => {
                let revoke = self.keyword == Keyword::Revoke;
                match t.find_word(1, "ON").filter(|on| *on < self.grantee_word) {
                    // No ON: a role grant (`GRANT r1, r2 TO ...`).
                    None if !revoke => {
                        for (from, to) in items(t, 1, self.grantee_word) {
                            let role = t.span(from, to).to_string();
                            if self.option == Some(ADMIN) {
                                atoms.push(Atom::AdminOption { role: role.clone() });
                            }
                            atoms.push(Atom::Role { role });
                        }
                    }
                    None => return Err("a REVOKE row without ON".into()),
                    Some(on) if t.is_word(1, "PROXY") && on == 2 && !revoke => {
                        let account = t.span(on + 1, self.grantee_word).to_string();
                        if self.option.is_some() {
                            atoms.push(Atom::ProxyGrantOption {
                                account: account.clone(),
                            });
                        }
                        atoms.push(Atom::Proxy { account });
                    }
                    Some(on) => {
                        let object = t.span(on + 1, self.grantee_word).to_string();
                        if object.is_empty() {
                            return Err("a grant row without an object".into());
                        }
                        for (from, to) in items(t, 1, on) {
                            let (privilege, columns) = privilege(t, from, to)?;
                            if privilege == "USAGE" {
                                continue;
                            }
                            if revoke {
                                atoms.push(Atom::PartialRevoke {
                                    object: object.clone(),
                                    privilege,
                                });
                            } else if columns.is_empty() {
                                atoms.push(Atom::Privilege {
                                    object: object.clone(),
                                    privilege,
                                    column: None,
                                });
                            } else {
                                for column in columns {
                                    atoms.push(Atom::Privilege {
                                        object: object.clone(),
                                        privilege: privilege.clone(),
                                        column: Some(column),
                                    });
                                }
                            }
                        }
                        if self.option == Some(GRANT) && !revoke {
                            atoms.push(Atom::GrantOption { object });
                        }
                    }
                }
            }
        }
        Ok(atoms)
    }
}

const GRANT: &str = " WITH GRANT OPTION";
const ADMIN: &str = " WITH ADMIN OPTION";

/// The option clause after the grantee. MariaDB may print the grant option after limits
/// ("WITH MAX_QUERIES_PER_HOUR 5 GRANT OPTION"), so a bare `GRANT OPTION` after a `WITH` counts.
fn option_after(t: &Tokens<'_>, from: usize) -> Option<&'static str> {
    let mut with = false;
    for i in from..t.len() {
        if t.is_word(i, "WITH") {
            with = true;
            if t.is_word(i + 1, "ADMIN") && t.is_word(i + 2, "OPTION") {
                return Some(ADMIN);
            }
        }
        if with && t.is_word(i, "GRANT") && t.is_word(i + 1, "OPTION") {
            return Some(GRANT);
        }
    }
    None
}

/// The comma-separated items between tokens `from` and `to` (parentheses nest): each as a
/// token range.
fn items(t: &Tokens<'_>, from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (mut start, mut depth) = (from, 0i32);
    for i in from..to {
        if t.is_punct(i, "(") {
            depth += 1;
        } else if t.is_punct(i, ")") {
            depth -= 1;
        } else if depth == 0 && t.is_punct(i, ",") {
            out.push((start, i));
            start = i + 1;
        }
    }
    if start < to {
        out.push((start, to));
    }
    out
}

/// One privilege item, `SELECT` or `UPDATE (`a`, `b`)`: its name (upper case, words joined by
/// one space) and its columns (unquoted; empty for the whole object).
fn privilege(t: &Tokens<'_>, from: usize, to: usize) -> Result<(String, Vec<String>), String> {
    let mut words = Vec::new();
    let mut columns = Vec::new();
    let mut i = from;
    while i < to && t.kind(i) == Some(Kind::Word) {
        words.push(t.raw(i).to_ascii_uppercase());
        i += 1;
    }
    if words.is_empty() {
        return Err("a grant row with a privilege this function cannot read".into());
    }
    if i < to {
        if !t.is_punct(i, "(") || !t.is_punct(to - 1, ")") {
            return Err("a grant row with a privilege this function cannot read".into());
        }
        for (a, b) in items(t, i + 1, to - 1) {
            if b != a + 1 || !matches!(t.kind(a), Some(Kind::Ident | Kind::Word)) {
                return Err("a grant row with a column list this function cannot read".into());
            }
            columns.push(t.value(a));
        }
    }
    Ok((words.join(" "), columns))
}

/// One thing an account holds, small enough to compare: the rows of two accounts are equal up
/// to the grantee exactly when their atoms are. Objects, roles and accounts are kept as the
/// server printed them (the same server prints both accounts' rows).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Atom {
    /// A privilege on an object, or on one column of it.
    Privilege {
        /// The object, e.g. `` `db`.* `` or `` PROCEDURE `db`.`p` ``.
        object: String,
        /// The privilege, e.g. `SELECT`, `ALL PRIVILEGES`.
        privilege: String,
        /// The column, for a column privilege.
        column: Option<String>,
    },
    /// `WITH GRANT OPTION` on an object.
    GrantOption {
        /// The object.
        object: String,
    },
    /// A MySQL partial revoke (`REVOKE ... FROM`, with `partial_revokes` on).
    PartialRevoke {
        /// The object.
        object: String,
        /// The privilege revoked.
        privilege: String,
    },
    /// A role granted.
    Role {
        /// The role, as printed.
        role: String,
    },
    /// `WITH ADMIN OPTION` on a role.
    AdminOption {
        /// The role.
        role: String,
    },
    /// `GRANT PROXY ON account`.
    Proxy {
        /// The proxied account, as printed.
        account: String,
    },
    /// `WITH GRANT OPTION` on a proxy grant.
    ProxyGrantOption {
        /// The proxied account.
        account: String,
    },
    /// MariaDB's default role.
    DefaultRole {
        /// The role.
        role: String,
    },
}

impl std::fmt::Display for Atom {
    /// Names only (objects, privileges, roles), for logs of what was revoked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Atom::Privilege {
                object,
                privilege,
                column: None,
            } => write!(f, "{privilege} ON {object}"),
            Atom::Privilege {
                object,
                privilege,
                column: Some(c),
            } => write!(f, "{privilege} ({}) ON {object}", quote_ident(c)),
            Atom::GrantOption { object } => write!(f, "GRANT OPTION ON {object}"),
            Atom::PartialRevoke { object, privilege } => {
                write!(f, "the partial revoke of {privilege} ON {object}")
            }
            Atom::Role { role } => write!(f, "role {role}"),
            Atom::AdminOption { role } => write!(f, "ADMIN OPTION on role {role}"),
            Atom::Proxy { account } => write!(f, "PROXY ON {account}"),
            Atom::ProxyGrantOption { account } => write!(f, "GRANT OPTION on PROXY ON {account}"),
            Atom::DefaultRole { role } => write!(f, "default role {role}"),
        }
    }
}

/// Every atom of `rows`, which `SHOW GRANTS FOR user@host` printed.
pub fn atoms_of(
    rows: &[String],
    user: &str,
    host: &str,
    backslash_escapes: bool,
) -> Result<BTreeSet<Atom>, String> {
    let mut all = BTreeSet::new();
    for row in rows {
        all.extend(GrantRow::parse(row, user, host, backslash_escapes)?.atoms()?);
    }
    Ok(all)
}

/// The statements that take from `grantee` (a quoted account) every atom of `pending` that
/// `source` does not have, each with the atom it removes. Run before the source's rows are
/// granted: a role held with an admin option the source lacks is revoked whole and granted
/// again without it; a privilege the source holds through `ALL PRIVILEGES` on the same object
/// is left alone (granting `ALL` gives it back anyway).
pub fn revokes(
    source: &BTreeSet<Atom>,
    pending: &BTreeSet<Atom>,
    grantee: &str,
) -> Vec<(String, Atom)> {
    let has_all = |object: &str| {
        source.contains(&Atom::Privilege {
            object: object.to_string(),
            privilege: "ALL PRIVILEGES".to_string(),
            column: None,
        })
    };
    let has_default_role = source.iter().any(|a| matches!(a, Atom::DefaultRole { .. }));
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for atom in pending.difference(source) {
        let statement = match atom {
            Atom::Privilege {
                object,
                privilege,
                column: None,
            } => {
                if has_all(object) {
                    continue;
                }
                format!("REVOKE {privilege} ON {object} FROM {grantee}")
            }
            Atom::Privilege {
                object,
                privilege,
                column: Some(c),
            } => format!(
                "REVOKE {privilege} ({}) ON {object} FROM {grantee}",
                quote_ident(c)
            ),
            Atom::GrantOption { object } => {
                format!("REVOKE GRANT OPTION ON {object} FROM {grantee}")
            }
            // A partial revoke is lifted by granting what it revoked.
            Atom::PartialRevoke { object, privilege } => {
                format!("GRANT {privilege} ON {object} TO {grantee}")
            }
            Atom::Role { role } | Atom::AdminOption { role } => {
                format!("REVOKE {role} FROM {grantee}")
            }
            Atom::Proxy { account } | Atom::ProxyGrantOption { account } => {
                format!("REVOKE PROXY ON {account} FROM {grantee}")
            }
            Atom::DefaultRole { .. } if has_default_role => continue,
            Atom::DefaultRole { .. } => format!("SET DEFAULT ROLE NONE FOR {grantee}"),
        };
        if seen.insert(statement.clone()) {
            out.push((statement, atom.clone()));
        }
    }
    // The default role first: MariaDB then revokes the role itself without complaint.
    out.sort_by_key(|(s, _)| !s.starts_with("SET DEFAULT ROLE"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLONE: &str = "`app_clone`@`%`";

    fn rewrite(row: &str) -> Option<String> {
        GrantRow::parse(row, "app", "%", true)
            .unwrap()
            .for_grantee(CLONE)
    }

    fn atoms(rows: &[&str]) -> BTreeSet<Atom> {
        let rows: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        atoms_of(&rows, "app", "%", true).unwrap()
    }

    #[test]
    fn usage_rows_with_password_hashes_and_limits_are_skipped() {
        assert_eq!(
            rewrite("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 5"),
            None
        );
        assert_eq!(rewrite("GRANT USAGE ON *.* TO 'app'@'%'"), None);
        assert_eq!(
            rewrite("GRANT USAGE ON *.* TO `app`@`%` WITH MAX_QUERIES_PER_HOUR 5 GRANT OPTION"),
            Some("GRANT USAGE ON *.* TO `app_clone`@`%` WITH GRANT OPTION".into())
        );
        assert!(
            atoms(&["GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*24'"]).is_empty()
        );
    }

    #[test]
    fn objects_and_wildcards_are_kept_exactly() {
        assert_eq!(
            rewrite("GRANT SELECT, INSERT ON `my\\_db`.* TO `app`@`%`"),
            Some("GRANT SELECT, INSERT ON `my\\_db`.* TO `app_clone`@`%`".into())
        );
        assert_eq!(
            rewrite("GRANT ALL PRIVILEGES ON `%`.* TO `app`@`%` WITH GRANT OPTION"),
            Some("GRANT ALL PRIVILEGES ON `%`.* TO `app_clone`@`%` WITH GRANT OPTION".into())
        );
        assert_eq!(
            rewrite("GRANT SELECT (`a`, `to`), UPDATE (`b`) ON `d`.`TO x` TO `app`@`%`"),
            Some("GRANT SELECT (`a`, `to`), UPDATE (`b`) ON `d`.`TO x` TO `app_clone`@`%`".into())
        );
    }

    #[test]
    fn roles_default_roles_proxies_and_partial_revokes() {
        assert_eq!(
            rewrite("GRANT `reader` TO `app`@`%` WITH ADMIN OPTION"),
            Some("GRANT `reader` TO `app_clone`@`%` WITH ADMIN OPTION".into())
        );
        assert_eq!(
            rewrite("GRANT `r1`@`%`,`r2`@`%` TO `app`@`%`"),
            Some("GRANT `r1`@`%`,`r2`@`%` TO `app_clone`@`%`".into())
        );
        assert_eq!(
            rewrite("SET DEFAULT ROLE `reader` FOR `app`@`%`"),
            Some("SET DEFAULT ROLE `reader` FOR `app_clone`@`%`".into())
        );
        assert_eq!(
            rewrite("GRANT PROXY ON ''@'' TO 'app'@'%' WITH GRANT OPTION"),
            Some("GRANT PROXY ON ''@'' TO `app_clone`@`%` WITH GRANT OPTION".into())
        );
        assert_eq!(
            rewrite("REVOKE INSERT ON `mysql`.* FROM `app`@`%`"),
            Some("REVOKE INSERT ON `mysql`.* FROM `app_clone`@`%`".into())
        );
    }

    #[test]
    fn hostile_names_are_matched_unquoted() {
        let name = "a`b'c\\d \"TO\" Ü";
        let row = "GRANT SELECT ON `x`.* TO `a``b'c\\d \"TO\" Ü`@`10.0.0.%`";
        assert_eq!(
            GrantRow::parse(row, name, "10.0.0.%", true)
                .unwrap()
                .for_grantee("`c`@`10.0.0.%`"),
            Some("GRANT SELECT ON `x`.* TO `c`@`10.0.0.%`".into())
        );
        let row = "GRANT SELECT ON `x`.* TO 'it''s'@'%'";
        assert!(GrantRow::parse(row, "it's", "%", true).is_ok());
    }

    #[test]
    fn anything_unexpected_is_refused_without_quoting_the_row() {
        let parse = |row| GrantRow::parse(row, "app", "%", true);
        assert!(parse("GRANT SELECT ON *.* TO `bob`@`%`")
            .unwrap_err()
            .contains("another account"));
        assert!(parse("GRANT SELECT ON *.* TO `app`@`h`").is_err());
        assert!(parse("ALTER USER `app`@`%`")
            .unwrap_err()
            .contains("'ALTER'"));
        assert!(parse("GRANT SELECT ON `x TO `app`@`%`").is_err());
        assert!(parse("GRANT SELECT ON x").is_err());
        let odd = parse("GRANT SELECT ('s3cret') ON `d`.`t` TO `app`@`%`").unwrap();
        let err = odd.atoms().unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn rows_break_into_atoms_whatever_order_the_server_prints_columns_in() {
        let a = atoms(&[
            "GRANT `r1` TO `app`@`%` WITH ADMIN OPTION",
            "GRANT SELECT, INSERT ON `dx`.* TO `app`@`%` WITH GRANT OPTION",
            "GRANT SELECT (`v`), UPDATE (`w`, `v`) ON `dx`.`t` TO `app`@`%`",
            "GRANT PROXY ON ``@`%` TO `app`@`%`",
            "SET DEFAULT ROLE `r1` FOR `app`@`%`",
        ]);
        let b = atoms(&[
            "GRANT `r1` TO `app`@`%` WITH ADMIN OPTION",
            "GRANT INSERT, SELECT ON `dx`.* TO `app`@`%` WITH GRANT OPTION",
            "GRANT UPDATE (`v`, `w`), SELECT (`v`) ON `dx`.`t` TO `app`@`%`",
            "GRANT PROXY ON ``@`%` TO `app`@`%`",
            "SET DEFAULT ROLE `r1` FOR `app`@`%`",
        ]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 10, "{a:?}");
        assert!(a.contains(&Atom::GrantOption {
            object: "`dx`.*".into()
        }));
    }

    #[test]
    fn what_the_pending_account_holds_beyond_the_source_is_revoked() {
        let source = atoms(&[
            "GRANT `r1` TO `app`@`%`",
            "GRANT SELECT ON `dx`.* TO `app`@`%`",
            "GRANT SELECT (`v`) ON `dx`.`t` TO `app`@`%`",
            "GRANT ALL PRIVILEGES ON `all`.* TO `app`@`%`",
        ]);
        let pending = atoms(&[
            "GRANT `r1` TO `app`@`%` WITH ADMIN OPTION",
            "GRANT `r2` TO `app`@`%`",
            "GRANT SELECT, DELETE ON `dx`.* TO `app`@`%` WITH GRANT OPTION",
            "GRANT SELECT (`v`, `secret_col`) ON `dx`.`t` TO `app`@`%`",
            "GRANT SELECT ON `all`.* TO `app`@`%`",
            "GRANT EXECUTE ON PROCEDURE `dx`.`p` TO `app`@`%`",
            "GRANT PROXY ON ``@`%` TO `app`@`%`",
            "SET DEFAULT ROLE `r2` FOR `app`@`%`",
            "REVOKE INSERT ON `mysql`.* FROM `app`@`%`",
        ]);
        let statements: Vec<String> = revokes(&source, &pending, CLONE)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(
            statements,
            vec![
                "SET DEFAULT ROLE NONE FOR `app_clone`@`%`",
                "REVOKE EXECUTE ON PROCEDURE `dx`.`p` FROM `app_clone`@`%`",
                "REVOKE DELETE ON `dx`.* FROM `app_clone`@`%`",
                "REVOKE SELECT (`secret_col`) ON `dx`.`t` FROM `app_clone`@`%`",
                "REVOKE GRANT OPTION ON `dx`.* FROM `app_clone`@`%`",
                "GRANT INSERT ON `mysql`.* TO `app_clone`@`%`",
                "REVOKE `r2` FROM `app_clone`@`%`",
                "REVOKE `r1` FROM `app_clone`@`%`",
                "REVOKE PROXY ON ``@`%` FROM `app_clone`@`%`",
            ]
        );
        assert!(revokes(&source, &source, CLONE).is_empty());
        let named: Vec<String> = revokes(&source, &pending, CLONE)
            .iter()
            .map(|(_, a)| a.to_string())
            .collect();
        assert!(named.contains(&"SELECT (`secret_col`) ON `dx`.`t`".to_string()));
    }
}
