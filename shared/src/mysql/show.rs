//! Copying privileges: each row of `SHOW GRANTS FOR original@host` becomes the same statement
//! for the clone. The privilege list and the object are kept exactly as the server printed
//! them (so `my\_db`, `%` and column lists mean what they meant); only the grantee changes, and
//! of the clauses after it only `WITH GRANT OPTION` / `WITH ADMIN OPTION` are kept (password
//! hashes, `REQUIRE` and limits are copied from `mysql.user` instead). A row this module does
//! not understand, or one granting to someone else, is an error: nothing is guessed.

/// A lexical token of a grant row: its text span and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A bare word (keyword or unquoted name).
    Word,
    /// A backtick-quoted identifier.
    Ident,
    /// A single- or double-quoted string.
    Str,
    /// One punctuation character.
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

fn tokenize(text: &str, backslash_escapes: bool) -> Result<Vec<Token>, String> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let kind = match c {
            b'`' | b'\'' | b'"' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err("an unterminated quoted name".into()),
                        Some(b'\\') if c != b'`' && backslash_escapes => i += 2,
                        Some(&q) if q == c => {
                            if bytes.get(i + 1) == Some(&c) {
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(_) => i += 1,
                    }
                }
                if c == b'`' {
                    Kind::Ident
                } else {
                    Kind::Str
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || bytes[i] == b'$'
                        || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                Kind::Word
            }
            _ => {
                i += 1;
                Kind::Punct
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    Ok(tokens)
}

/// The value of a name token: quotes removed and doubled quotes (and, for strings with
/// `backslash_escapes`, backslash escapes) undone.
fn unquote(text: &str, token: Token, backslash_escapes: bool) -> String {
    let raw = &text[token.start..token.end];
    match token.kind {
        Kind::Word | Kind::Punct => raw.to_string(),
        Kind::Ident | Kind::Str => {
            let quote = raw.chars().next().unwrap_or('`');
            let inner = &raw[1..raw.len() - 1];
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars().peekable();
            while let Some(c) = chars.next() {
                if c == quote && chars.peek() == Some(&quote) {
                    chars.next();
                    out.push(quote);
                } else if c == '\\' && token.kind == Kind::Str && backslash_escapes {
                    match chars.next() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('0') => out.push('\0'),
                        Some(other) => out.push(other),
                        None => {}
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

fn is_word(text: &str, token: &Token, word: &str) -> bool {
    token.kind == Kind::Word && text[token.start..token.end].eq_ignore_ascii_case(word)
}

/// Rewrites one `SHOW GRANTS` row of `original`@`host` for `clone` (an already quoted account).
/// Returns None for a row that grants nothing to copy (`GRANT USAGE ON *.*` without an option).
pub fn rewrite_grant(
    row: &str,
    original: &str,
    host: &str,
    clone: &str,
    backslash_escapes: bool,
) -> Result<Option<String>, String> {
    let row = row.trim().trim_end_matches(';');
    let tokens = tokenize(row, backslash_escapes).map_err(|e| format!("a grant holds {e}"))?;
    let first = tokens.first().ok_or("an empty grant row")?;
    let (keyword, grantee_word) = if is_word(row, first, "GRANT") {
        ("GRANT", "TO")
    } else if is_word(row, first, "REVOKE") {
        ("REVOKE", "FROM")
    } else if is_word(row, first, "SET")
        && tokens.len() > 2
        && is_word(row, &tokens[1], "DEFAULT")
        && is_word(row, &tokens[2], "ROLE")
    {
        ("SET DEFAULT ROLE", "FOR")
    } else {
        let word = &row[first.start..first.end];
        return Err(format!(
            "SHOW GRANTS returned a row starting with '{word}', which this function does not know how to copy"
        ));
    };
    let mut depth = 0i32;
    let mut at = None;
    for (i, t) in tokens.iter().enumerate().skip(1) {
        match &row[t.start..t.end] {
            "(" if t.kind == Kind::Punct => depth += 1,
            ")" if t.kind == Kind::Punct => depth -= 1,
            _ if depth == 0 && is_word(row, t, grantee_word) => {
                at = Some(i);
                break;
            }
            _ => {}
        }
    }
    let at = at.ok_or_else(|| format!("a {keyword} row without {grantee_word}"))?;
    let user_token = *tokens
        .get(at + 1)
        .ok_or_else(|| format!("a {keyword} row without a grantee"))?;
    let user = unquote(row, user_token, backslash_escapes);
    let (grantee_host, rest) = match tokens.get(at + 2) {
        Some(t) if t.kind == Kind::Punct && &row[t.start..t.end] == "@" => {
            let host_token = *tokens
                .get(at + 3)
                .ok_or_else(|| format!("a {keyword} row with a grantee without host"))?;
            (unquote(row, host_token, backslash_escapes), at + 4)
        }
        _ => ("%".to_string(), at + 2),
    };
    if user != original || grantee_host != host {
        return Err(format!(
            "SHOW GRANTS for {original}@{host} returned a {keyword} row for another account"
        ));
    }
    let tail = &tokens[rest.min(tokens.len())..];
    let option = tail.windows(3).find_map(|w| {
        let with = is_word(row, &w[0], "WITH") && is_word(row, &w[2], "OPTION");
        if with && is_word(row, &w[1], "GRANT") {
            Some(" WITH GRANT OPTION")
        } else if with && is_word(row, &w[1], "ADMIN") {
            Some(" WITH ADMIN OPTION")
        } else {
            None
        }
    });
    // A bare "GRANT OPTION" after WITH may follow limits, as MariaDB prints them:
    // "WITH MAX_QUERIES_PER_HOUR 5 GRANT OPTION".
    let option = option.or_else(|| {
        let has_with = tail.iter().any(|t| is_word(row, t, "WITH"));
        let grant_option = tail
            .windows(2)
            .any(|w| is_word(row, &w[0], "GRANT") && is_word(row, &w[1], "OPTION"));
        (has_with && grant_option).then_some(" WITH GRANT OPTION")
    });
    let head = row[..tokens[at].start].trim_end();
    let privileges_usage_only = keyword == "GRANT"
        && tokens.len() > 2
        && is_word(row, &tokens[1], "USAGE")
        && is_word(row, &tokens[2], "ON");
    if privileges_usage_only && option.is_none() {
        return Ok(None);
    }
    Ok(Some(format!(
        "{head} {grantee_word} {clone}{}",
        option.unwrap_or("")
    )))
}

/// The authentication plugin named by a `SHOW CREATE USER` row: `IDENTIFIED WITH <plugin>`
/// (MySQL), `IDENTIFIED VIA <plugin>` (MariaDB), `IDENTIFIED BY PASSWORD` or no clause (the
/// native plugin). Several plugins (MariaDB's `VIA a OR b`) are refused: which one a login uses
/// is not knowable here. Only the plugin is read; the row also holds the password hash.
pub fn plugin_in_create_user(row: &str, backslash_escapes: bool) -> Result<String, String> {
    let tokens = tokenize(row, backslash_escapes)
        .map_err(|e| format!("SHOW CREATE USER returned a row holding {e}"))?;
    let Some(at) = tokens.iter().position(|t| is_word(row, t, "IDENTIFIED")) else {
        return Ok(String::new());
    };
    let plugin = match tokens.get(at + 1) {
        Some(t) if is_word(row, t, "WITH") || is_word(row, t, "VIA") => {
            let name = tokens
                .get(at + 2)
                .ok_or("SHOW CREATE USER names no plugin after IDENTIFIED")?;
            unquote(row, *name, backslash_escapes)
        }
        Some(t) if is_word(row, t, "BY") => String::new(),
        _ => {
            return Err(
                "SHOW CREATE USER has an IDENTIFIED clause this function does not understand"
                    .into(),
            )
        }
    };
    if tokens[at..].iter().any(|t| is_word(row, t, "OR")) {
        return Err("the account authenticates with several plugins (IDENTIFIED VIA ... OR ...); rotate accounts with one password plugin".into());
    }
    Ok(plugin)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLONE: &str = "`app_clone`@`%`";

    fn rewrite(row: &str) -> Option<String> {
        rewrite_grant(row, "app", "%", CLONE, true).unwrap()
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
            rewrite_grant(row, name, "10.0.0.%", "`c`@`10.0.0.%`", true).unwrap(),
            Some("GRANT SELECT ON `x`.* TO `c`@`10.0.0.%`".into())
        );
        let row = "GRANT SELECT ON `x`.* TO 'it''s'@'%'";
        assert!(rewrite_grant(row, "it's", "%", CLONE, true)
            .unwrap()
            .is_some());
    }

    #[test]
    fn plugins_are_read_from_create_user_rows() {
        let read = |row| plugin_in_create_user(row, true);
        assert_eq!(
            read("CREATE USER `app`@`%` IDENTIFIED BY PASSWORD '*24' REQUIRE SSL").unwrap(),
            ""
        );
        assert_eq!(read("CREATE USER `app`@`%`").unwrap(), "");
        assert_eq!(
            read("CREATE USER `a`@`%` IDENTIFIED VIA ed25519 USING 'xyz' REQUIRE NONE").unwrap(),
            "ed25519"
        );
        assert_eq!(
            read("CREATE USER `a`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$x''y' REQUIRE NONE PASSWORD EXPIRE DEFAULT").unwrap(),
            "caching_sha2_password"
        );
        assert!(
            read("CREATE USER `a`@`%` IDENTIFIED VIA ed25519 USING 'x' OR unix_socket")
                .unwrap_err()
                .contains("several plugins")
        );
    }

    #[test]
    fn anything_unexpected_is_refused() {
        let other = rewrite_grant("GRANT SELECT ON *.* TO `bob`@`%`", "app", "%", CLONE, true);
        assert!(other.unwrap_err().contains("another account"));
        let other_host = rewrite_grant("GRANT SELECT ON *.* TO `app`@`h`", "app", "%", CLONE, true);
        assert!(other_host.is_err());
        let unknown = rewrite_grant("ALTER USER `app`@`%`", "app", "%", CLONE, true);
        assert!(unknown.unwrap_err().contains("'ALTER'"));
        assert!(rewrite_grant("GRANT SELECT ON `x TO `app`@`%`", "app", "%", CLONE, true).is_err());
        assert!(rewrite_grant("GRANT SELECT ON x", "app", "%", CLONE, true).is_err());
    }
}
