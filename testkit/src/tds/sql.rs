//! The T-SQL the stand-in reads: a parser for a small statement set over [`super::lexer`]'s
//! tokens. The whole batch is parsed before anything runs, as SQL Server compiles
//! a batch first: a syntax error runs nothing.

use super::errors::{self, SqlError};
use super::lexer::{reserved, tokenize, Tok};

/// An expression in a SELECT list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// NULL.
    Null,
    /// A literal string.
    Str(String),
    /// A literal integer.
    Int(i64),
    /// `@@VERSION`.
    Version,
    /// `@@SPID`.
    Spid,
    /// `DB_NAME()`.
    DbName,
    /// `SUSER_SNAME()`.
    SuserSname,
    /// `ORIGINAL_LOGIN()`.
    OriginalLogin,
    /// A parameter of `sp_executesql` (`@name`, lowercased): 137 when it is not bound.
    Var(String),
    /// `QUOTENAME(s [, q])`.
    QuoteName(Box<Expr>, Option<Box<Expr>>),
}

/// A statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// `SELECT expr [AS alias], ...` (no FROM).
    Select(Vec<(Expr, String)>),
    /// `SET <session option> ON|OFF` or `SET TEXTSIZE n`: accepted and kept.
    SetOption(String, String),
    /// `ALTER LOGIN name WITH PASSWORD = '...' [OLD_PASSWORD = '...']`.
    AlterLoginPassword {
        /// The login.
        login: String,
        /// The new password.
        password: String,
        /// OLD_PASSWORD.
        old: Option<String>,
    },
    /// `USE database`.
    Use(String),
    /// `CREATE LOGIN name WITH PASSWORD = '...'`.
    CreateLogin {
        /// The login.
        login: String,
        /// Its password.
        password: String,
    },
}

/// The session options `SET` accepts (what pymssql's default `conn_properties` and FreeTDS
/// send, and the usual others), each ON or OFF.
const SET_OPTIONS: &[&str] = &[
    "ANSI_NULLS",
    "ANSI_NULL_DFLT_ON",
    "ANSI_NULL_DFLT_OFF",
    "ANSI_PADDING",
    "ANSI_WARNINGS",
    "ARITHABORT",
    "ARITHIGNORE",
    "CONCAT_NULL_YIELDS_NULL",
    "CURSOR_CLOSE_ON_COMMIT",
    "IMPLICIT_TRANSACTIONS",
    "NOCOUNT",
    "NUMERIC_ROUNDABORT",
    "QUOTED_IDENTIFIER",
    "XACT_ABORT",
];

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

fn near(t: Option<&Tok>) -> SqlError {
    match t {
        Some(Tok::Word(w)) if reserved(w) => errors::syntax_near_keyword(&w.to_uppercase()),
        Some(t) => errors::syntax_near(&t.text()),
        None => errors::syntax_near(""),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn punct(&mut self, p: char) -> Result<(), SqlError> {
        if self.peek() == Some(&Tok::Punct(p)) {
            self.at += 1;
            Ok(())
        } else {
            Err(near(self.peek()))
        }
    }

    /// A name: a regular identifier that is not reserved, or a bracketed one.
    fn name(&mut self) -> Result<String, SqlError> {
        let name = match self.peek() {
            Some(Tok::Word(w)) if !reserved(w) => w.clone(),
            Some(Tok::Bracketed(b)) => b.clone(),
            t => return Err(near(t)),
        };
        self.at += 1;
        if name.chars().count() > 128 {
            return Err(errors::identifier_too_long(&name));
        }
        Ok(name)
    }

    /// A string literal (the password in CREATE / ALTER LOGIN is one; not an expression).
    fn string(&mut self) -> Result<String, SqlError> {
        match self.next() {
            Some(Tok::Str { value, .. }) => Ok(value),
            Some(Tok::Var(v)) => Err(errors::syntax_near(&format!("@{v}"))),
            t => Err(near(t.as_ref())),
        }
    }

    fn expr(&mut self) -> Result<Expr, SqlError> {
        match self.next() {
            Some(Tok::Str { value, .. }) => Ok(Expr::Str(value)),
            Some(Tok::Int(i)) => Ok(Expr::Int(i)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => Ok(Expr::Null),
            Some(Tok::Global(g)) => match g.to_ascii_uppercase().as_str() {
                "VERSION" => Ok(Expr::Version),
                "SPID" => Ok(Expr::Spid),
                _ => Err(errors::must_declare(&format!("@@{g}"))),
            },
            Some(Tok::Var(v)) => Ok(Expr::Var(v.to_lowercase())),
            Some(Tok::Punct('(')) => {
                let e = self.expr()?;
                self.punct(')')?;
                Ok(e)
            }
            Some(Tok::Word(f)) if !reserved(&f) && self.peek() == Some(&Tok::Punct('(')) => {
                self.at += 1;
                let upper = f.to_ascii_uppercase();
                let e = match upper.as_str() {
                    "DB_NAME" => Expr::DbName,
                    "SUSER_SNAME" => Expr::SuserSname,
                    "ORIGINAL_LOGIN" => Expr::OriginalLogin,
                    "QUOTENAME" => {
                        let s = self.expr()?;
                        let q = if self.peek() == Some(&Tok::Punct(',')) {
                            self.at += 1;
                            Some(Box::new(self.expr()?))
                        } else {
                            None
                        };
                        Expr::QuoteName(Box::new(s), q)
                    }
                    "USER_NAME" | "IS_SRVROLEMEMBER" | "HAS_PERMS_BY_NAME" | "SUSER_NAME"
                    | "SERVERPROPERTY" => return Err(errors::not_modelled(&format!("{upper}()"))),
                    _ => return Err(errors::not_a_builtin(&f)),
                };
                if matches!(e, Expr::DbName | Expr::SuserSname | Expr::OriginalLogin)
                    && self.peek() != Some(&Tok::Punct(')'))
                {
                    return Err(errors::not_modelled(&format!("{upper}() with an argument")));
                }
                self.punct(')')?;
                Ok(e)
            }
            t => Err(near(t.as_ref())),
        }
    }

    fn select(&mut self) -> Result<Statement, SqlError> {
        // Queries of tables (catalog views included) are not modelled, whatever they select.
        let rest = self.toks[self.at..]
            .iter()
            .take_while(|t| **t != Tok::Punct(';'));
        if rest
            .into_iter()
            .any(|t| matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case("FROM")))
        {
            return Err(errors::not_modelled("SELECT ... FROM"));
        }
        let mut items = Vec::new();
        loop {
            let e = self.expr()?;
            let alias = if self.is_word("AS") {
                self.at += 1;
                self.name()?
            } else {
                match self.peek() {
                    Some(Tok::Word(w)) if !reserved(w) => self.name()?,
                    Some(Tok::Bracketed(_)) => self.name()?,
                    _ => String::new(),
                }
            };
            items.push((e, alias));
            if self.peek() != Some(&Tok::Punct(',')) {
                break;
            }
            self.at += 1;
        }
        for clause in ["FROM", "WHERE", "INTO"] {
            if self.is_word(clause) {
                return Err(errors::not_modelled(&format!("SELECT ... {clause}")));
            }
        }
        Ok(Statement::Select(items))
    }

    fn set(&mut self) -> Result<Statement, SqlError> {
        let option = match self.next() {
            Some(Tok::Word(w)) => w.to_ascii_uppercase(),
            Some(Tok::Var(_)) => return Err(errors::not_modelled("variables")),
            t => return Err(near(t.as_ref())),
        };
        if option == "TEXTSIZE" {
            return match self.next() {
                Some(Tok::Int(n)) => Ok(Statement::SetOption(option, n.to_string())),
                t => Err(near(t.as_ref())),
            };
        }
        if !SET_OPTIONS.contains(&option.as_str()) {
            return Err(errors::not_modelled(&format!("SET {option}")));
        }
        match self.next() {
            Some(Tok::Word(v)) if v.eq_ignore_ascii_case("ON") || v.eq_ignore_ascii_case("OFF") => {
                Ok(Statement::SetOption(option, v.to_ascii_uppercase()))
            }
            t => Err(near(t.as_ref())),
        }
    }

    /// `<name> WITH PASSWORD = '...'`, the start of both CREATE and ALTER LOGIN.
    fn login_password(&mut self, verb: &str) -> Result<(String, String), SqlError> {
        let login = self.name()?;
        if !self.is_word("WITH") {
            return match self.peek() {
                Some(Tok::Word(w)) => Err(errors::not_modelled(&format!(
                    "{verb} LOGIN ... {}",
                    w.to_uppercase()
                ))),
                t => Err(near(t)),
            };
        }
        self.at += 1;
        if !self.is_word("PASSWORD") {
            return match self.peek() {
                Some(Tok::Word(w)) if !reserved(w) => Err(errors::not_modelled(&format!(
                    "{verb} LOGIN ... WITH {}",
                    w.to_uppercase()
                ))),
                t => Err(near(t)),
            };
        }
        self.at += 1;
        self.punct('=')?;
        let password = self.string()?;
        for option in ["HASHED", "MUST_CHANGE", "UNLOCK"] {
            if self.is_word(option) {
                return Err(errors::not_modelled(&format!("{verb} LOGIN ... {option}")));
            }
        }
        if self.peek() == Some(&Tok::Punct(',')) {
            return Err(errors::not_modelled(&format!(
                "{verb} LOGIN options other than PASSWORD{}",
                if verb == "ALTER" {
                    " and OLD_PASSWORD"
                } else {
                    ""
                }
            )));
        }
        Ok((login, password))
    }

    fn statement(&mut self, first: bool) -> Result<Statement, SqlError> {
        match self.next() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SELECT") => self.select(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SET") => self.set(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("USE") => Ok(Statement::Use(self.name()?)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("ALTER") && self.is_word("LOGIN") => {
                self.at += 1;
                let (login, password) = self.login_password("ALTER")?;
                let old = if self.is_word("OLD_PASSWORD") {
                    self.at += 1;
                    self.punct('=')?;
                    Some(self.string()?)
                } else {
                    None
                };
                Ok(Statement::AlterLoginPassword {
                    login,
                    password,
                    old,
                })
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("CREATE") && self.is_word("LOGIN") => {
                self.at += 1;
                if self.is_word("FROM") {
                    return Err(errors::not_modelled("CREATE LOGIN ... FROM"));
                }
                let (login, password) = self.login_password("CREATE")?;
                Ok(Statement::CreateLogin { login, password })
            }
            Some(Tok::Word(w)) if reserved(&w) => {
                let upper = w.to_uppercase();
                let next = match self.peek() {
                    Some(Tok::Word(n)) => format!(" {}", n.to_uppercase()),
                    _ => String::new(),
                };
                Err(errors::not_modelled(&format!("{upper}{next}")))
            }
            // A batch's first statement may be a bare procedure name (an implicit EXEC).
            Some(Tok::Word(w)) if first => Err(errors::no_such_procedure(&w)),
            Some(Tok::Bracketed(b)) if first => Err(errors::no_such_procedure(&b)),
            t => Err(near(t.as_ref())),
        }
    }
}

/// Parses a batch into its statements.
pub fn parse(sql: &str) -> Result<Vec<Statement>, SqlError> {
    let mut p = Parser {
        toks: tokenize(sql)?,
        at: 0,
    };
    let mut out = Vec::new();
    while p.peek().is_some() {
        if p.peek() == Some(&Tok::Punct(';')) {
            p.at += 1;
            continue;
        }
        let s = p.statement(out.is_empty())?;
        out.push(s);
        match p.peek() {
            None | Some(Tok::Punct(';')) | Some(Tok::Word(_)) => {}
            t => return Err(near(t)),
        }
    }
    Ok(out)
}

/// `QUOTENAME(s, q)`: NULL for input over 128 characters or an unknown quote character;
/// the closing character doubled [MS Learn QUOTENAME].
pub fn quotename(s: &str, q: &str) -> Option<String> {
    if s.chars().count() > 128 {
        return None;
    }
    let mut qc = q.chars();
    let (open, close) = match (qc.next()?, qc.next()) {
        (_, Some(_)) => return None,
        ('[' | ']', None) => ('[', ']'),
        ('(' | ')', None) => ('(', ')'),
        ('<' | '>', None) => ('<', '>'),
        ('{' | '}', None) => ('{', '}'),
        (c @ ('\'' | '"' | '`'), None) => (c, c),
        _ => return None,
    };
    let doubled = s.replace(close, &format!("{close}{close}"));
    Some(format!("{open}{doubled}{close}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statements() {
        let s = parse("ALTER LOGIN [app]]user] WITH PASSWORD = N'n''ew' OLD_PASSWORD = N'old';")
            .unwrap();
        assert_eq!(
            s,
            vec![Statement::AlterLoginPassword {
                login: "app]user".into(),
                password: "n'ew".into(),
                old: Some("old".into())
            }]
        );
        let s = parse(
            "create login x with password = 'p' select @@VERSION, QUOTENAME(N'a', '''') AS q",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[1],
            Statement::Select(vec![
                (Expr::Version, String::new()),
                (
                    Expr::QuoteName(
                        Box::new(Expr::Str("a".into())),
                        Some(Box::new(Expr::Str("'".into())))
                    ),
                    "q".into()
                )
            ])
        );
        assert_eq!(
            parse("SET ANSI_NULLS ON;SET TEXTSIZE 2147483647")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            parse("use [master]").unwrap(),
            vec![Statement::Use("master".into())]
        );
    }

    #[test]
    fn the_refusals() {
        let n = |sql: &str| parse(sql).unwrap_err().number;
        assert_eq!(n("SELECT"), 102);
        assert_eq!(n("SELECT 1 FROM sys.databases"), errors::NOT_MODELLED);
        assert_eq!(n("ALTER LOGIN x WITH PASSWORD = @p"), 102);
        assert_eq!(n("ALTER LOGIN select WITH PASSWORD = 'p'"), 156);
        assert_eq!(
            n("ALTER LOGIN x WITH PASSWORD = 'p', CHECK_POLICY = OFF"),
            errors::NOT_MODELLED
        );
        assert_eq!(n("ALTER LOGIN x DISABLE"), errors::NOT_MODELLED);
        assert_eq!(n("DROP LOGIN x"), errors::NOT_MODELLED);
        assert_eq!(n("sp_who"), 2812);
        assert_eq!(n("SELECT NOPE()"), 195);
        assert_eq!(n("SET FMTONLY ON"), errors::NOT_MODELLED);
        assert_eq!(
            n(&format!(
                "CREATE LOGIN [{}] WITH PASSWORD = 'p'",
                "a".repeat(129)
            )),
            103
        );
        assert_eq!(n("SELECT 1 )"), 102);
    }

    #[test]
    fn quotename_as_documented() {
        assert_eq!(quotename("ab]c", "]").unwrap(), "[ab]]c]");
        assert_eq!(quotename("it's", "'").unwrap(), "'it''s'");
        assert_eq!(quotename("a(b)", "(").unwrap(), "(a(b)))");
        assert_eq!(quotename("x", "``"), None);
        assert_eq!(quotename("x", "|"), None);
        assert_eq!(quotename(&"a".repeat(129), "["), None);
        assert_eq!(quotename(&"a".repeat(128), "[").unwrap().len(), 130);
    }
}
