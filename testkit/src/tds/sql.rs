//! The T-SQL the stand-in reads: a parser for a small statement set over [`super::lexer`]'s
//! tokens. The whole batch is parsed before anything runs, as SQL Server compiles
//! a batch first: a syntax error runs nothing.

use super::errors::{self, SqlError};
use super::lexer::{builtin, reserved, tokenize, Tok};

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
    /// `@@TRANCOUNT`.
    TranCount,
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
    /// A column: `[qualifier.]name`.
    Column(Option<String>, String),
    /// `SCHEMA_NAME(id)`.
    SchemaName(Box<Expr>),
    /// `OBJECT_NAME(id)`.
    ObjectName(Box<Expr>),
    /// `OBJECT_SCHEMA_NAME(id)`.
    ObjectSchemaName(Box<Expr>),
    /// `USER_NAME()`.
    UserName,
    /// `SUSER_SID()`.
    SuserSid,
    /// `IS_SRVROLEMEMBER`, `IS_ROLEMEMBER` or `HAS_PERMS_BY_NAME` and its arguments.
    Call(String, Vec<Expr>),
}

/// A statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// `SELECT expr [AS alias], ... [FROM view [JOIN view ON ..]... [WHERE ..]]`.
    Select(super::query::Query),
    /// A statement of [`super::ddl`].
    Ddl(super::ddl::Ddl),
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
    /// `BEGIN TRAN[SACTION]`.
    Begin,
    /// `COMMIT [TRAN[SACTION] | WORK]`.
    Commit,
    /// `ROLLBACK [TRAN[SACTION] | WORK]`.
    Rollback,
    /// `CREATE LOGIN name WITH PASSWORD = '...' [, options]`.
    CreateLogin {
        /// The login.
        login: String,
        /// Its password.
        password: String,
        /// DEFAULT_DATABASE, CHECK_POLICY, CHECK_EXPIRATION.
        options: super::catalog::LoginOptions,
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

pub(super) struct Parser {
    pub(super) toks: Vec<Tok>,
    pub(super) at: usize,
}

pub(super) fn near(t: Option<&Tok>) -> SqlError {
    match t {
        Some(Tok::Word(w)) if reserved(w) => errors::syntax_near_keyword(&w.to_uppercase()),
        Some(t) => errors::syntax_near(&t.text()),
        None => errors::syntax_near(""),
    }
}

impl Parser {
    pub(super) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    pub(super) fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    pub(super) fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    pub(super) fn punct(&mut self, p: char) -> Result<(), SqlError> {
        if self.peek() == Some(&Tok::Punct(p)) {
            self.at += 1;
            Ok(())
        } else {
            Err(near(self.peek()))
        }
    }

    /// A name: a regular identifier that is not reserved, or a bracketed one.
    pub(super) fn name(&mut self) -> Result<String, SqlError> {
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
    pub(super) fn string(&mut self) -> Result<String, SqlError> {
        match self.next() {
            Some(Tok::Str { value, .. }) => Ok(value),
            Some(Tok::Var(v)) => Err(errors::syntax_near(&format!("@{v}"))),
            t => Err(near(t.as_ref())),
        }
    }

    pub(super) fn expr(&mut self) -> Result<Expr, SqlError> {
        match self.next() {
            Some(Tok::Str { value, .. }) => Ok(Expr::Str(value)),
            Some(Tok::Int(i)) => Ok(Expr::Int(i)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => Ok(Expr::Null),
            Some(Tok::Global(g)) => match g.to_ascii_uppercase().as_str() {
                "VERSION" => Ok(Expr::Version),
                "SPID" => Ok(Expr::Spid),
                "TRANCOUNT" => Ok(Expr::TranCount),
                _ => Err(errors::must_declare(&format!("@@{g}"))),
            },
            Some(Tok::Var(v)) => Ok(Expr::Var(v.to_lowercase())),
            Some(Tok::Punct('*')) => Err(errors::not_modelled("SELECT *")),
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
                    "USER_NAME" => Expr::UserName,
                    "SUSER_SID" => Expr::SuserSid,
                    "SCHEMA_NAME" | "OBJECT_NAME" | "OBJECT_SCHEMA_NAME" => {
                        if self.peek() == Some(&Tok::Punct(')')) {
                            return Err(errors::not_modelled(&format!(
                                "{upper}() without an argument"
                            )));
                        }
                        let a = Box::new(self.expr()?);
                        if self.peek() == Some(&Tok::Punct(',')) {
                            return Err(errors::not_modelled(&format!(
                                "{upper}() with a database id"
                            )));
                        }
                        match upper.as_str() {
                            "SCHEMA_NAME" => Expr::SchemaName(a),
                            "OBJECT_NAME" => Expr::ObjectName(a),
                            _ => Expr::ObjectSchemaName(a),
                        }
                    }
                    "IS_SRVROLEMEMBER" | "IS_ROLEMEMBER" | "HAS_PERMS_BY_NAME" => {
                        let mut args = vec![self.expr()?];
                        while self.peek() == Some(&Tok::Punct(',')) {
                            self.at += 1;
                            args.push(self.expr()?);
                        }
                        Expr::Call(upper.clone(), args)
                    }
                    _ if builtin(&upper) => {
                        return Err(errors::not_modelled(&format!("{upper}()")))
                    }
                    _ => return Err(errors::not_a_builtin(&f)),
                };
                if matches!(
                    e,
                    Expr::DbName
                        | Expr::SuserSname
                        | Expr::OriginalLogin
                        | Expr::UserName
                        | Expr::SuserSid
                ) && self.peek() != Some(&Tok::Punct(')'))
                {
                    return Err(errors::not_modelled(&format!("{upper}() with an argument")));
                }
                self.punct(')')?;
                Ok(e)
            }
            Some(Tok::Word(w))
                if ["CURRENT_USER", "SESSION_USER", "SYSTEM_USER"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                Err(errors::not_modelled(&w.to_uppercase()))
            }
            Some(Tok::Word(w)) if !reserved(&w) => self.column(w),
            Some(Tok::Bracketed(b)) => self.column(b),
            t => Err(near(t.as_ref())),
        }
    }

    /// `name` or `qualifier.name` (a column); three-part names are not modelled.
    fn column(&mut self, first: String) -> Result<Expr, SqlError> {
        if self.peek() != Some(&Tok::Punct('.')) {
            return Ok(Expr::Column(None, first));
        }
        self.at += 1;
        let second = self.name()?;
        if self.peek() == Some(&Tok::Punct('.')) {
            return Err(errors::not_modelled("column names of three or more parts"));
        }
        Ok(Expr::Column(Some(first), second))
    }

    fn select(&mut self) -> Result<Statement, SqlError> {
        let mut items = Vec::new();
        loop {
            // `alias = expr` names a column as `expr AS alias` does.
            let named = matches!(self.peek(), Some(Tok::Word(w)) if !reserved(w))
                || matches!(self.peek(), Some(Tok::Bracketed(_)));
            let item = if named && self.toks.get(self.at + 1) == Some(&Tok::Punct('=')) {
                let alias = self.name()?;
                self.at += 1;
                (self.expr()?, alias)
            } else {
                let e = self.expr()?;
                let alias = if self.is_word("AS") {
                    self.at += 1;
                    self.name()?
                } else {
                    match self.peek() {
                        Some(Tok::Word(w)) if !reserved(w) && !super::query::clause_word(w) => {
                            self.name()?
                        }
                        Some(Tok::Bracketed(_)) => self.name()?,
                        _ => match &e {
                            Expr::Column(_, c) => c.clone(),
                            _ => String::new(),
                        },
                    }
                };
                (e, alias)
            };
            items.push(item);
            if self.peek() != Some(&Tok::Punct(',')) {
                break;
            }
            self.at += 1;
        }
        self.query(items).map(Statement::Select)
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

    /// `BEGIN TRAN[SACTION]`, `COMMIT` / `ROLLBACK [TRAN[SACTION] | WORK]`; transaction
    /// names, savepoints, marks and DISTRIBUTED are refused.
    fn transaction(&mut self, verb: &str) -> Result<Statement, SqlError> {
        let tran = self.is_word("TRAN") || self.is_word("TRANSACTION");
        if tran || (verb != "BEGIN" && self.is_word("WORK")) {
            self.at += 1;
        } else if verb == "BEGIN" {
            return Err(errors::not_modelled(&format!(
                "BEGIN {}",
                self.peek()
                    .map(|t| t.text().to_uppercase())
                    .unwrap_or_default()
            )));
        }
        match self.peek() {
            Some(Tok::Word(w)) if !reserved(w) && !w.eq_ignore_ascii_case("WITH") => {
                return Err(errors::not_modelled("named transactions and savepoints"))
            }
            Some(Tok::Bracketed(_)) | Some(Tok::Var(_)) => {
                return Err(errors::not_modelled("named transactions and savepoints"))
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("WITH") => {
                return Err(errors::not_modelled("transaction options"))
            }
            _ => {}
        }
        Ok(match verb {
            "BEGIN" => Statement::Begin,
            "COMMIT" => Statement::Commit,
            _ => Statement::Rollback,
        })
    }

    fn statement(&mut self, first: bool) -> Result<Statement, SqlError> {
        match self.next() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SELECT") => self.select(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SET") => self.set(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("USE") => Ok(Statement::Use(self.name()?)),
            Some(Tok::Word(w)) if self.ddl_verb(&w) => self.ddl(&w),
            Some(Tok::Word(w))
                if ["BEGIN", "COMMIT", "ROLLBACK"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                self.transaction(&w.to_ascii_uppercase())
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("SAVE") => {
                Err(errors::not_modelled("SAVE TRANSACTION"))
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
            Statement::Select(super::super::query::Query {
                items: vec![
                    (Expr::Version, String::new()),
                    (
                        Expr::QuoteName(
                            Box::new(Expr::Str("a".into())),
                            Some(Box::new(Expr::Str("'".into())))
                        ),
                        "q".into()
                    )
                ],
                from: Vec::new(),
                filter: Vec::new(),
            })
        );
        let q = parse(
            "SELECT state_desc, permission_name FROM sys.server_permissions perm \
             JOIN sys.server_principals prin ON perm.grantee_principal_id = prin.principal_id \
             WHERE prin.name = N'x' AND prin.sid IS NOT NULL",
        )
        .unwrap();
        let Statement::Select(q) = &q[0] else {
            panic!("a query")
        };
        assert_eq!((q.from.len(), q.filter.len()), (2, 2));
        assert_eq!(q.from[1].alias, "prin");
        assert_eq!(q.items[0].1, "state_desc");
        let q = parse(
            "SELECT class = perm.class, col_name = col.name FROM sys.database_permissions perm \
             LEFT JOIN sys.objects obj ON obj.object_id = perm.major_id \
             LEFT OUTER JOIN sys.columns col ON col.object_id = perm.major_id AND col.column_id = perm.minor_id \
             INNER JOIN sys.database_principals prin ON perm.grantee_principal_id = prin.principal_id",
        )
        .unwrap();
        let Statement::Select(q) = &q[0] else {
            panic!("a query")
        };
        let shape: Vec<_> = q
            .from
            .iter()
            .map(|s| (s.alias.as_str(), s.left, s.on.len()))
            .collect();
        assert_eq!(
            shape,
            [
                ("perm", false, 0),
                ("obj", true, 1),
                ("col", true, 2),
                ("prin", false, 1)
            ]
        );
        assert_eq!(
            (q.items[0].1.as_str(), q.items[1].1.as_str()),
            ("class", "col_name")
        );
        for ok in [
            "GRANT CONNECT SQL TO [a]]b] WITH GRANT OPTION",
            "DENY VIEW ANY DATABASE TO x",
            "REVOKE GRANT OPTION FOR SELECT ON SCHEMA::[dbo] FROM [u] CASCADE",
            "GRANT SELECT, INSERT ON OBJECT::[s].[t] TO u",
            "ALTER ROLE db_datareader ADD MEMBER [u]",
            "ALTER SERVER ROLE [processadmin] DROP MEMBER [l]",
            "CREATE USER [u] FROM LOGIN [l] WITH DEFAULT_SCHEMA = [dbo]",
            "CREATE USER [u] WITH PASSWORD = N'p'",
            "ALTER USER [u] WITH PASSWORD = N'n' OLD_PASSWORD = N'o'",
            "ALTER LOGIN [x] WITH DEFAULT_DATABASE = [db], CHECK_POLICY = ON, CHECK_EXPIRATION = OFF",
            "ALTER LOGIN [x] DISABLE",
            "CREATE LOGIN [x] WITH PASSWORD = N'p', DEFAULT_DATABASE = [d], CHECK_POLICY = OFF",
            "CREATE TABLE [s].[t] (c int, d nvarchar(10))",
            "GRANT SELECT ON [t] TO [u]",
        ] {
            assert!(matches!(parse(ok).unwrap()[..], [Statement::Ddl(_) | Statement::CreateLogin { .. }]), "{ok}");
        }
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
        assert_eq!(n("SELECT 1 FROM sys.indexes"), errors::NOT_MODELLED);
        assert_eq!(n("SELECT 1 FROM dbo.t"), 208);
        assert_eq!(
            n("SELECT name FROM sys.databases WHERE name <> 'x'"),
            errors::NOT_MODELLED
        );
        assert_eq!(
            n("SELECT name FROM sys.databases WHERE a = 1 OR b = 2"),
            errors::NOT_MODELLED
        );
        assert_eq!(
            n("SELECT name FROM sys.databases ORDER BY name"),
            errors::NOT_MODELLED
        );
        for join in ["RIGHT", "FULL OUTER", "CROSS"] {
            assert_eq!(
                n(&format!(
                    "SELECT name FROM sys.databases {join} JOIN sys.schemas s ON 1 = 1"
                )),
                errors::NOT_MODELLED,
                "{join}"
            );
        }
        assert_eq!(
            n("SELECT name FROM sys.databases LEFT sys.schemas s ON 1 = 1"),
            102
        );
        assert_eq!(n("GRANT ALL TO x"), errors::NOT_MODELLED);
        assert_eq!(n("BEGIN TRAN t1"), errors::NOT_MODELLED);
        assert_eq!(
            n("CREATE TABLE t (c int PRIMARY KEY)"),
            errors::NOT_MODELLED
        );
        assert_eq!(n("CREATE TABLE t (c datetime)"), errors::NOT_MODELLED);
        assert_eq!(n("ROLLBACK TRANSACTION s1"), errors::NOT_MODELLED);
        assert_eq!(n("SAVE TRAN s1"), errors::NOT_MODELLED);
        assert_eq!(n("BEGIN DISTRIBUTED TRANSACTION"), errors::NOT_MODELLED);
        assert_eq!(
            parse("BEGIN TRAN; COMMIT TRANSACTION; BEGIN TRANSACTION ROLLBACK WORK").unwrap(),
            vec![
                Statement::Begin,
                Statement::Commit,
                Statement::Begin,
                Statement::Rollback
            ]
        );
        assert_eq!(n("ALTER LOGIN x WITH NAME = y"), errors::NOT_MODELLED);
        assert_eq!(n("ALTER LOGIN x WITH PASSWORD = @p"), 102);
        assert_eq!(n("ALTER LOGIN select WITH PASSWORD = 'p'"), 156);
        assert_eq!(
            n("ALTER LOGIN x WITH PASSWORD = 'p' MUST_CHANGE"),
            errors::NOT_MODELLED
        );
        assert_eq!(
            n("ALTER LOGIN x WITH PASSWORD = 'p', PASSWORD = 'q'"),
            errors::NOT_MODELLED
        );
        assert_eq!(n("DROP LOGIN x"), errors::NOT_MODELLED);
        assert_eq!(n("sp_who"), 2812);
        assert_eq!(n("SELECT NOPE()"), 195);
        assert_eq!(n("SELECT COUNT(*) FROM sys.schemas"), errors::NOT_MODELLED);
        assert_eq!(n("SELECT * FROM sys.schemas"), errors::NOT_MODELLED);
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
}
