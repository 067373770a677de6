//! Parsing the security statements: CREATE / ALTER LOGIN with options, CREATE / ALTER USER,
//! ALTER ROLE, ALTER SERVER ROLE, GRANT / DENY / REVOKE [MS Learn: CREATE LOGIN, ALTER LOGIN,
//! CREATE USER, ALTER USER, ALTER ROLE, ALTER SERVER ROLE, GRANT, DENY, REVOKE (and their
//! server, database, schema and object permission pages)]. Run by [`super::grants`].

use super::catalog::LoginOptions;
use super::errors::{self, SqlError};
use super::lexer::{reserved, Tok};
use super::sql::{near, Parser, Statement};

/// A password and its OLD_PASSWORD.
pub type NewPassword = (String, Option<String>);

/// GRANT, DENY or REVOKE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// GRANT.
    Grant,
    /// DENY.
    Deny,
    /// REVOKE.
    Revoke,
}

/// What a permission is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum On {
    /// No ON: the server or the current database, by the permission.
    Scope,
    /// `ON SCHEMA::s`.
    Schema(String),
    /// `ON OBJECT::[s.]t` or `ON [s.]t`: (schema, name).
    Object(Option<String>, String),
}

/// A column's type, of those CREATE TABLE takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// INT.
    Int,
    /// VARCHAR(n).
    VarChar(u16),
    /// NVARCHAR(n).
    NVarChar(u16),
}

impl ColumnKind {
    /// sys.types' system_type_id of the type [MS Learn sys.types: int 56, varchar 167,
    /// nvarchar 231].
    pub fn type_id(self) -> i32 {
        match self {
            ColumnKind::Int => 56,
            ColumnKind::VarChar(_) => 167,
            ColumnKind::NVarChar(_) => 231,
        }
    }

    /// sys.columns' max_length: bytes (NVARCHAR: two per character).
    pub fn max_length(self) -> i32 {
        match self {
            ColumnKind::Int => 4,
            ColumnKind::VarChar(n) => n.into(),
            ColumnKind::NVarChar(n) => 2 * i32::from(n),
        }
    }
}

/// A column of CREATE TABLE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableColumn {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: ColumnKind,
}

/// A GRANT / DENY / REVOKE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermStmt {
    /// The verb.
    pub verb: Verb,
    /// The permissions, uppercased, words joined by one space.
    pub perms: Vec<String>,
    /// The securable.
    pub on: On,
    /// The principals.
    pub to: Vec<String>,
    /// GRANT's WITH GRANT OPTION; REVOKE's GRANT OPTION FOR.
    pub grant_option: bool,
    /// CASCADE.
    pub cascade: bool,
}

/// A security statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ddl {
    /// `ALTER LOGIN l WITH option, ...` (a password among them) or `ENABLE` / `DISABLE`.
    AlterLogin {
        /// The login.
        login: String,
        /// PASSWORD and OLD_PASSWORD.
        password: Option<NewPassword>,
        /// The other options.
        options: LoginOptions,
        /// ENABLE (true) / DISABLE (false).
        enable: Option<bool>,
    },
    /// `CREATE USER u [FOR|FROM LOGIN l] [WITH DEFAULT_SCHEMA = s]` or `CREATE USER u WITH
    /// PASSWORD = '..' [, DEFAULT_SCHEMA = s]`.
    CreateUser {
        /// The user.
        user: String,
        /// The login (None: the login of the user's name, or a contained user).
        login: Option<String>,
        /// A contained user's password.
        password: Option<String>,
        /// DEFAULT_SCHEMA.
        schema: Option<String>,
    },
    /// `ALTER USER u WITH PASSWORD = '..' [OLD_PASSWORD = '..']`.
    AlterUserPassword {
        /// The user.
        user: String,
        /// The new password.
        password: String,
        /// OLD_PASSWORD.
        old: Option<String>,
    },
    /// `ALTER [SERVER] ROLE r ADD|DROP MEMBER m`.
    AlterRole {
        /// SERVER ROLE.
        server: bool,
        /// The role.
        role: String,
        /// The member.
        member: String,
        /// ADD (true) or DROP.
        add: bool,
    },
    /// GRANT / DENY / REVOKE.
    Permission(PermStmt),
    /// `CREATE TABLE [s.]t (column type, ...)` (types INT or [N]VARCHAR(n); nothing else).
    CreateTable(Option<String>, String, Vec<TableColumn>),
}

impl Parser {
    /// Whether `w` (just read) starts a statement of this module.
    pub(super) fn ddl_verb(&self, w: &str) -> bool {
        let up = w.to_ascii_uppercase();
        match up.as_str() {
            "GRANT" | "DENY" | "REVOKE" => true,
            "ALTER" => ["LOGIN", "USER", "ROLE", "SERVER"]
                .iter()
                .any(|k| self.is_word(k)),
            "CREATE" => self.is_word("LOGIN") || self.is_word("USER") || self.is_word("TABLE"),
            _ => false,
        }
    }

    fn word(&mut self, w: &str) -> Result<(), SqlError> {
        if self.is_word(w) {
            self.at += 1;
            Ok(())
        } else {
            Err(near(self.peek()))
        }
    }

    fn on_off(&mut self) -> Result<bool, SqlError> {
        self.punct('=')?;
        match self.next() {
            Some(Tok::Word(v)) if v.eq_ignore_ascii_case("ON") => Ok(true),
            Some(Tok::Word(v)) if v.eq_ignore_ascii_case("OFF") => Ok(false),
            t => Err(near(t.as_ref())),
        }
    }

    /// The option name at the cursor, uppercased (not consumed).
    fn option(&self) -> Option<String> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// Login options after WITH: PASSWORD [OLD_PASSWORD], DEFAULT_DATABASE, CHECK_POLICY,
    /// CHECK_EXPIRATION.
    fn login_options(
        &mut self,
        verb: &str,
    ) -> Result<(Option<NewPassword>, LoginOptions), SqlError> {
        let (mut password, mut o) = (None, LoginOptions::default());
        loop {
            let opt = self.option().ok_or_else(|| near(self.peek()))?;
            self.at += 1;
            match opt.as_str() {
                "PASSWORD" if password.is_none() => {
                    self.punct('=')?;
                    let p = self.string()?;
                    for x in ["HASHED", "MUST_CHANGE", "UNLOCK"] {
                        if self.is_word(x) {
                            return Err(errors::not_modelled(&format!("{verb} LOGIN ... {x}")));
                        }
                    }
                    let old = if verb == "ALTER" && self.is_word("OLD_PASSWORD") {
                        self.at += 1;
                        self.punct('=')?;
                        Some(self.string()?)
                    } else {
                        None
                    };
                    password = Some((p, old));
                }
                "DEFAULT_DATABASE" if o.default_db.is_none() => {
                    self.punct('=')?;
                    o.default_db = Some(self.name()?);
                }
                "CHECK_POLICY" if o.check_policy.is_none() => o.check_policy = Some(self.on_off()?),
                "CHECK_EXPIRATION" if o.check_expiration.is_none() => {
                    o.check_expiration = Some(self.on_off()?)
                }
                "PASSWORD" | "DEFAULT_DATABASE" | "CHECK_POLICY" | "CHECK_EXPIRATION" => {
                    return Err(errors::not_modelled(&format!(
                        "{verb} LOGIN with {opt} twice"
                    )))
                }
                _ if !reserved(&opt) => {
                    return Err(errors::not_modelled(&format!("{verb} LOGIN ... {opt}")))
                }
                _ => return Err(near(self.toks.get(self.at - 1))),
            }
            if self.peek() != Some(&Tok::Punct(',')) {
                return Ok((password, o));
            }
            self.at += 1;
        }
    }

    /// A statement of this module; `w` was just read.
    pub(super) fn ddl(&mut self, w: &str) -> Result<Statement, SqlError> {
        let up = w.to_ascii_uppercase();
        let what = self.option().unwrap_or_default();
        match (up.as_str(), what.as_str()) {
            ("GRANT", _) => self.permission(Verb::Grant),
            ("DENY", _) => self.permission(Verb::Deny),
            ("REVOKE", _) => self.permission(Verb::Revoke),
            ("CREATE", "LOGIN") => {
                self.at += 1;
                let login = self.name()?;
                if !self.is_word("WITH") {
                    return Err(match self.option() {
                        Some(x) => errors::not_modelled(&format!("CREATE LOGIN ... {x}")),
                        None => near(self.peek()),
                    });
                }
                self.at += 1;
                if !self.is_word("PASSWORD") {
                    return Err(match self.option() {
                        Some(x) if !reserved(&x) => {
                            errors::not_modelled(&format!("CREATE LOGIN ... WITH {x}"))
                        }
                        _ => near(self.peek()),
                    });
                }
                let (password, options) = self.login_options("CREATE")?;
                let password = password.expect("PASSWORD first").0;
                Ok(Statement::CreateLogin {
                    login,
                    password,
                    options,
                })
            }
            ("ALTER", "LOGIN") => {
                self.at += 1;
                let login = self.name()?;
                match self.option().as_deref() {
                    Some(e @ ("ENABLE" | "DISABLE")) => {
                        let enable = Some(e == "ENABLE");
                        self.at += 1;
                        let options = LoginOptions::default();
                        let password = None;
                        let d = Ddl::AlterLogin {
                            login,
                            password,
                            options,
                            enable,
                        };
                        Ok(Statement::Ddl(d))
                    }
                    Some("WITH") => {
                        self.at += 1;
                        let (password, options) = self.login_options("ALTER")?;
                        Ok(match (password, options == LoginOptions::default()) {
                            (Some((password, old)), true) => Statement::AlterLoginPassword {
                                login,
                                password,
                                old,
                            },
                            (password, _) => Statement::Ddl(Ddl::AlterLogin {
                                login,
                                password,
                                options,
                                enable: None,
                            }),
                        })
                    }
                    Some(x) => Err(errors::not_modelled(&format!("ALTER LOGIN ... {x}"))),
                    None => Err(near(self.peek())),
                }
            }
            ("CREATE", "USER") => {
                self.at += 1;
                let user = self.name()?;
                let (mut login, mut password, mut schema) = (None, None, None);
                if self.is_word("FOR") || self.is_word("FROM") {
                    self.at += 1;
                    if !self.is_word("LOGIN") {
                        let x = self.option().unwrap_or_default();
                        return Err(errors::not_modelled(&format!("CREATE USER ... FOR {x}")));
                    }
                    self.at += 1;
                    login = Some(self.name()?);
                } else if self.is_word("WITHOUT") {
                    return Err(errors::not_modelled("CREATE USER ... WITHOUT LOGIN"));
                }
                if self.is_word("WITH") {
                    self.at += 1;
                    loop {
                        match self.option().as_deref() {
                            Some("PASSWORD") if login.is_none() && password.is_none() => {
                                self.at += 1;
                                self.punct('=')?;
                                password = Some(self.string()?);
                            }
                            Some("DEFAULT_SCHEMA") if schema.is_none() => {
                                self.at += 1;
                                self.punct('=')?;
                                schema = Some(self.name()?);
                            }
                            Some(x) if !reserved(x) => {
                                return Err(errors::not_modelled(&format!("CREATE USER ... {x}")))
                            }
                            _ => return Err(near(self.peek())),
                        }
                        if self.peek() != Some(&Tok::Punct(',')) {
                            break;
                        }
                        self.at += 1;
                    }
                }
                Ok(Statement::Ddl(Ddl::CreateUser {
                    user,
                    login,
                    password,
                    schema,
                }))
            }
            ("ALTER", "USER") => {
                self.at += 1;
                let user = self.name()?;
                self.word("WITH")?;
                if !self.is_word("PASSWORD") {
                    let x = self.option().unwrap_or_default();
                    return Err(errors::not_modelled(&format!("ALTER USER ... WITH {x}")));
                }
                self.at += 1;
                self.punct('=')?;
                let password = self.string()?;
                let old = if self.is_word("OLD_PASSWORD") {
                    self.at += 1;
                    self.punct('=')?;
                    Some(self.string()?)
                } else {
                    None
                };
                if self.peek() == Some(&Tok::Punct(',')) {
                    return Err(errors::not_modelled("ALTER USER options besides PASSWORD"));
                }
                Ok(Statement::Ddl(Ddl::AlterUserPassword {
                    user,
                    password,
                    old,
                }))
            }
            ("ALTER", "ROLE" | "SERVER") => {
                self.at += 1;
                let server = what == "SERVER";
                if server {
                    self.word("ROLE")?;
                }
                let role = self.name()?;
                let add = match self.option().as_deref() {
                    Some("ADD") => true,
                    Some("DROP") => false,
                    Some(x) => return Err(errors::not_modelled(&format!("ALTER ROLE ... {x}"))),
                    None => return Err(near(self.peek())),
                };
                self.at += 1;
                self.word("MEMBER")?;
                let member = self.name()?;
                Ok(Statement::Ddl(Ddl::AlterRole {
                    server,
                    role,
                    member,
                    add,
                }))
            }
            ("CREATE", "TABLE") => {
                self.at += 1;
                let first = self.name()?;
                let (schema, table) = if self.peek() == Some(&Tok::Punct('.')) {
                    self.at += 1;
                    (Some(first), self.name()?)
                } else {
                    (None, first)
                };
                if self.peek() == Some(&Tok::Punct('.')) {
                    return Err(errors::not_modelled("CREATE TABLE with a three-part name"));
                }
                self.punct('(')?;
                let mut columns = Vec::new();
                loop {
                    let name = self.name()?;
                    let ty = self.option().unwrap_or_default();
                    self.at += 1;
                    let kind = match ty.as_str() {
                        "INT" => ColumnKind::Int,
                        "NVARCHAR" | "VARCHAR" => {
                            self.punct('(')?;
                            let n = match self.next() {
                                Some(Tok::Int(n)) => n,
                                t => return Err(near(t.as_ref())),
                            };
                            self.punct(')')?;
                            // [N]VARCHAR(n): n from 1 to 4000 (NVARCHAR) or 8000 (VARCHAR)
                            // [MS Learn nchar and nvarchar, char and varchar].
                            let max = if ty == "NVARCHAR" { 4000 } else { 8000 };
                            let n = u16::try_from(n)
                                .ok()
                                .filter(|n| (1..=max).contains(n))
                                .ok_or_else(|| {
                                    errors::not_modelled(&format!(
                                        "{ty}({n}) (the sizes are 1 to {max})"
                                    ))
                                })?;
                            if ty == "NVARCHAR" {
                                ColumnKind::NVarChar(n)
                            } else {
                                ColumnKind::VarChar(n)
                            }
                        }
                        _ => {
                            return Err(errors::not_modelled(
                                "column types other than INT and [N]VARCHAR(n)",
                            ))
                        }
                    };
                    columns.push(TableColumn { name, kind });
                    match self.next() {
                        Some(Tok::Punct(',')) => {}
                        Some(Tok::Punct(')')) => break,
                        Some(Tok::Word(w)) => {
                            return Err(errors::not_modelled(&format!(
                                "CREATE TABLE ... {}",
                                w.to_uppercase()
                            )))
                        }
                        t => return Err(near(t.as_ref())),
                    }
                }
                Ok(Statement::Ddl(Ddl::CreateTable(schema, table, columns)))
            }
            _ => Err(near(self.peek())),
        }
    }

    /// A permission's name: its words up to `,`, ON, TO or FROM.
    fn permission_name(&mut self) -> Result<String, SqlError> {
        let mut words = Vec::new();
        while let Some(Tok::Word(w)) = self.peek() {
            if ["ON", "TO", "FROM"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
            {
                break;
            }
            words.push(w.to_ascii_uppercase());
            self.at += 1;
        }
        if self.peek() == Some(&Tok::Punct('(')) {
            return Err(errors::not_modelled("column permissions"));
        }
        if words.is_empty() {
            return Err(near(self.peek()));
        }
        Ok(words.join(" "))
    }

    fn permission(&mut self, verb: Verb) -> Result<Statement, SqlError> {
        let mut s = PermStmt {
            verb,
            perms: Vec::new(),
            on: On::Scope,
            to: Vec::new(),
            grant_option: false,
            cascade: false,
        };
        if verb == Verb::Revoke && self.is_word("GRANT") {
            self.at += 1;
            self.word("OPTION")?;
            self.word("FOR")?;
            s.grant_option = true;
        }
        loop {
            s.perms.push(self.permission_name()?);
            if self.peek() != Some(&Tok::Punct(',')) {
                break;
            }
            self.at += 1;
        }
        if s.perms.iter().any(|p| p == "ALL" || p == "ALL PRIVILEGES") {
            return Err(errors::not_modelled("GRANT ALL"));
        }
        if self.is_word("ON") {
            self.at += 1;
            let class = match (
                self.option(),
                self.toks.get(self.at + 1),
                self.toks.get(self.at + 2),
            ) {
                (Some(c), Some(Tok::Punct(':')), Some(Tok::Punct(':'))) => {
                    self.at += 3;
                    Some(c)
                }
                _ => None,
            };
            let first = self.name()?;
            let second = if self.peek() == Some(&Tok::Punct('.')) {
                self.at += 1;
                Some(self.name()?)
            } else {
                None
            };
            s.on = match (class.as_deref(), second) {
                (Some("SCHEMA"), None) => On::Schema(first),
                (Some("SCHEMA"), Some(_)) => return Err(near(self.peek())),
                (Some("OBJECT") | None, Some(t)) => On::Object(Some(first), t),
                (Some("OBJECT") | None, None) => On::Object(None, first),
                (Some(c), _) => return Err(errors::not_modelled(&format!("permissions on {c}::"))),
            };
        }
        match (verb, self.option().as_deref()) {
            (Verb::Revoke, Some("TO" | "FROM")) | (_, Some("TO")) => self.at += 1,
            _ => return Err(near(self.peek())),
        }
        loop {
            s.to.push(self.name()?);
            if self.peek() != Some(&Tok::Punct(',')) {
                break;
            }
            self.at += 1;
        }
        if verb == Verb::Grant && self.is_word("WITH") {
            self.at += 1;
            self.word("GRANT")?;
            self.word("OPTION")?;
            s.grant_option = true;
        }
        if verb != Verb::Grant && self.is_word("CASCADE") {
            self.at += 1;
            s.cascade = true;
        }
        if self.is_word("AS") {
            return Err(errors::not_modelled("GRANT ... AS"));
        }
        Ok(Statement::Ddl(Ddl::Permission(s)))
    }
}
