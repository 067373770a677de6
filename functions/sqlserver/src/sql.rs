//! T-SQL text: names quoted as `QUOTENAME` quotes them, passwords as `N'...'` literals, and the
//! statements that change logins, users, roles and permissions.
//!
//! The password in `CREATE LOGIN`, `ALTER LOGIN` and `ALTER USER` is a literal in the syntax,
//! not an expression (MS Learn, ALTER LOGIN), so it cannot be a parameter: the statements that
//! carry one are sent as a SQL batch with the literal written here, and a failure of one never
//! keeps the server's message (see `session.rs`). SQL Server masks statements carrying
//! `PASSWORD` in its traces; nothing of ours logs them.

use rotation_core::{Result, RotationError, SecretValue};

/// The longest `sysname` (nvarchar(128)), in characters.
pub const SYSNAME_CHARS: usize = 128;

/// `name` as a delimited identifier: in brackets with every `]` doubled (what `QUOTENAME`
/// returns). Refused: an empty name, one over 128 characters (`QUOTENAME` returns NULL, and
/// the server would refuse the identifier), and a NUL character.
pub fn quote_name(name: &str) -> Result<String> {
    let chars = name.chars().count();
    if chars == 0 || chars > SYSNAME_CHARS || name.contains('\0') {
        return Err(RotationError::UnsupportedServer(format!(
            "the name {name:?} cannot be a SQL Server identifier (1 to {SYSNAME_CHARS} characters, no NUL); {chars} characters"
        )));
    }
    Ok(format!("[{}]", name.replace(']', "]]")))
}

/// `password` as a Unicode string literal: `N'...'` with every `'` doubled. The `N` keeps
/// characters outside the database's code page. A NUL character is refused (the server's
/// handling of one inside a literal is not documented). The error never holds the password.
pub fn password_literal(password: &SecretValue) -> Result<String> {
    let text = password.expose();
    if text.contains('\0') {
        return Err(RotationError::SetSecret(
            "the password holds a NUL character, which a SQL Server password literal cannot carry"
                .into(),
        ));
    }
    Ok(format!("N'{}'", text.replace('\'', "''")))
}

/// `ALTER LOGIN` (a server login) or `ALTER USER` (a contained database user) changing the
/// session's own password, with the old one: what a principal without `ALTER ANY LOGIN` (or
/// `ALTER ANY USER`) may do to itself.
pub fn own_password_sql(
    contained: bool,
    name: &str,
    new: &SecretValue,
    old: &SecretValue,
) -> Result<SecretValue> {
    let kind = if contained { "USER" } else { "LOGIN" };
    Ok(SecretValue::new(format!(
        "ALTER {kind} {} WITH PASSWORD = {} OLD_PASSWORD = {}",
        quote_name(name)?,
        password_literal(new)?,
        password_literal(old)?
    )))
}

/// `ALTER LOGIN <login> WITH PASSWORD = <password>`: a reset by a principal holding `ALTER
/// ANY LOGIN` (no old password).
pub fn reset_password_sql(login: &str, password: &SecretValue) -> Result<SecretValue> {
    Ok(SecretValue::new(format!(
        "ALTER LOGIN {} WITH PASSWORD = {}",
        quote_name(login)?,
        password_literal(password)?
    )))
}

/// The login options an alternating pair shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOptions {
    /// `DEFAULT_DATABASE`.
    pub default_database: String,
    /// `CHECK_POLICY`.
    pub check_policy: bool,
    /// `CHECK_EXPIRATION`.
    pub check_expiration: bool,
}

fn on_off(on: bool) -> &'static str {
    if on {
        "ON"
    } else {
        "OFF"
    }
}

impl LoginOptions {
    fn clauses(&self) -> Result<String> {
        Ok(format!(
            "DEFAULT_DATABASE = {}, CHECK_POLICY = {}, CHECK_EXPIRATION = {}",
            quote_name(&self.default_database)?,
            on_off(self.check_policy),
            on_off(self.check_expiration)
        ))
    }
}

/// `CREATE LOGIN` with `password` (a placeholder until the copy is done) and `options`.
pub fn create_login_sql(
    login: &str,
    password: &SecretValue,
    options: &LoginOptions,
) -> Result<SecretValue> {
    Ok(SecretValue::new(format!(
        "CREATE LOGIN {} WITH PASSWORD = {}, {}",
        quote_name(login)?,
        password_literal(password)?,
        options.clauses()?
    )))
}

/// `ALTER LOGIN` setting `options` (no password).
pub fn login_options_sql(login: &str, options: &LoginOptions) -> Result<String> {
    Ok(format!(
        "ALTER LOGIN {} WITH {}",
        quote_name(login)?,
        options.clauses()?
    ))
}

/// `CREATE USER <user> FOR LOGIN <login>` in the session's database.
pub fn create_user_sql(user: &str, login: &str) -> Result<String> {
    Ok(format!(
        "CREATE USER {} FOR LOGIN {}",
        quote_name(user)?,
        quote_name(login)?
    ))
}

/// `ALTER [SERVER] ROLE <role> ADD|DROP MEMBER <member>`.
pub fn role_member_sql(server: bool, role: &str, member: &str, add: bool) -> Result<String> {
    Ok(format!(
        "ALTER {}ROLE {} {} MEMBER {}",
        if server { "SERVER " } else { "" },
        quote_name(role)?,
        if add { "ADD" } else { "DROP" },
        quote_name(member)?
    ))
}

/// A permission name as the catalog spells it (`SELECT`, `ALTER ANY LOGIN`): capital letters
/// and single spaces only, since it is written into a statement as it is. Anything else is
/// refused as not understood.
pub fn permission_name(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name.len() <= 60
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && !name.contains("  ")
        && name.chars().all(|c| c.is_ascii_uppercase() || c == ' ');
    if ok {
        Ok(name)
    } else {
        Err(RotationError::UnsupportedServer(format!(
            "the permission name {name:?} is not one this function understands"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bracketed_with_closing_brackets_doubled() {
        assert_eq!(quote_name("app").unwrap(), "[app]");
        assert_eq!(quote_name("a]b[c'd").unwrap(), "[a]]b[c'd]");
        assert_eq!(quote_name("ü名").unwrap(), "[ü名]");
        assert_eq!(quote_name(&"x".repeat(128)).unwrap().len(), 130);
        assert!(quote_name(&"x".repeat(129)).is_err());
        assert!(quote_name("").is_err());
        assert!(quote_name("a\0b").is_err());
    }

    #[test]
    fn passwords_are_unicode_literals_with_quotes_doubled_and_never_in_errors() {
        let p = SecretValue::new("it's".to_string());
        assert_eq!(password_literal(&p).unwrap(), "N'it''s'");
        let nul = SecretValue::new("se\0cret-value".to_string());
        let e = password_literal(&nul).unwrap_err().to_string();
        assert!(!e.contains("cret-value"), "{e}");
    }

    #[test]
    fn own_password_statements() {
        let new = SecretValue::new("N3w'".to_string());
        let old = SecretValue::new("old".to_string());
        assert_eq!(
            own_password_sql(false, "a]b", &new, &old).unwrap().expose(),
            "ALTER LOGIN [a]]b] WITH PASSWORD = N'N3w''' OLD_PASSWORD = N'old'"
        );
        assert_eq!(
            own_password_sql(true, "u", &new, &old).unwrap().expose(),
            "ALTER USER [u] WITH PASSWORD = N'N3w''' OLD_PASSWORD = N'old'"
        );
    }

    #[test]
    fn login_and_role_statements() {
        let options = LoginOptions {
            default_database: "app".into(),
            check_policy: true,
            check_expiration: false,
        };
        let p = SecretValue::new("pw".to_string());
        assert_eq!(
            create_login_sql("u_clone", &p, &options).unwrap().expose(),
            "CREATE LOGIN [u_clone] WITH PASSWORD = N'pw', DEFAULT_DATABASE = [app], CHECK_POLICY = ON, CHECK_EXPIRATION = OFF"
        );
        assert_eq!(
            role_member_sql(false, "db_datareader", "u", true).unwrap(),
            "ALTER ROLE [db_datareader] ADD MEMBER [u]"
        );
        assert_eq!(
            role_member_sql(true, "processadmin", "u", false).unwrap(),
            "ALTER SERVER ROLE [processadmin] DROP MEMBER [u]"
        );
    }

    #[test]
    fn permission_names_are_only_capitals_and_spaces() {
        assert_eq!(
            permission_name("ALTER ANY LOGIN").unwrap(),
            "ALTER ANY LOGIN"
        );
        for bad in ["", "SELECT;DROP", "select", " SELECT", "A  B", "SELECT\n"] {
            assert!(permission_name(bad).is_err(), "{bad:?}");
        }
    }
}
