//! Expressions: their values and types in a session and, in a query, a row of the joined views
//! [MS Learn: @@VERSION, @@SPID, DB_NAME, SUSER_SNAME, ORIGINAL_LOGIN, QUOTENAME, SCHEMA_NAME,
//! OBJECT_NAME, OBJECT_SCHEMA_NAME, USER_NAME, SUSER_SID].

use super::catalog::{same, Catalog, Who};
use super::errors::{self, SqlError};
use super::session::VERSION;
use super::sql::Expr;
use super::tokens::{ColumnType, Value};

/// What an expression may read.
pub struct Ctx<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Who runs it.
    pub who: &'a Who,
    /// The current database.
    pub db: &'a str,
    /// The session id.
    pub spid: u16,
    /// `sp_executesql`'s parameters.
    pub bindings: &'a [(String, Value)],
    /// `@@TRANCOUNT`.
    pub trancount: u32,
}

impl Ctx<'_> {
    /// The session's login name (a contained user's own name: unverified).
    pub fn login_name(&self) -> &str {
        match self.who {
            Who::Login(n) | Who::User(_, n) => n,
        }
    }

    /// The session's user id in the current database.
    pub fn user_id(&self) -> Option<i32> {
        super::grants::db_user(self.catalog, self.who, self.db)
    }
}

/// A table of the FROM: its alias, columns and rows.
pub type Table = (String, Vec<(String, ColumnType)>, Vec<Vec<Value>>);

/// A table's part of a row: its alias, columns and values (None: all NULL).
type Part<'a> = (&'a str, &'a [(String, ColumnType)], Option<&'a [Value]>);

/// One row of the joined views (empty outside a query).
pub struct Row<'a> {
    parts: Vec<Part<'a>>,
}

impl<'a> Row<'a> {
    /// No FROM.
    pub fn empty() -> Self {
        Row { parts: Vec::new() }
    }

    /// The rows `index` of the first `index.len()` tables (None: that table's columns NULL).
    pub fn new(tables: &'a [Table], index: &[Option<usize>]) -> Self {
        Row {
            parts: tables
                .iter()
                .zip(index)
                .map(|(t, i)| {
                    let values = i.and_then(|i| t.2.get(i)).map(Vec::as_slice);
                    (t.0.as_str(), t.1.as_slice(), values)
                })
                .collect(),
        }
    }

    /// A row of NULLs of every table (for the result's types).
    pub fn nulls(tables: &'a [Table]) -> Self {
        Row {
            parts: tables
                .iter()
                .map(|t| (t.0.as_str(), t.1.as_slice(), None))
                .collect(),
        }
    }

    fn column(&self, q: Option<&str>, name: &str) -> Result<(ColumnType, Value), SqlError> {
        let mut found = Vec::new();
        for (alias, cols, values) in &self.parts {
            if q.is_some_and(|q| !same(q, alias)) {
                continue;
            }
            if let Some(i) = cols.iter().position(|(c, _)| same(c, name)) {
                let v = values.map_or(Value::Null, |v| v[i].clone());
                found.push((cols[i].1, v));
            }
        }
        match (q, found.len()) {
            (_, 1) => Ok(found.pop().expect("one")),
            (None, 0) if self.parts.is_empty() => Err(errors::invalid_column(name)),
            (None, 0) => Err(errors::not_modelled(&format!("the column {name}"))),
            (None, _) => Err(errors::ambiguous_column(name)),
            (Some(q), _) if !self.parts.iter().any(|(a, _, _)| same(q, a)) => {
                Err(errors::not_bound(&format!("{q}.{name}")))
            }
            (Some(q), _) => Err(errors::not_modelled(&format!("the column {q}.{name}"))),
        }
    }
}

fn text(v: &str, n: u16) -> (ColumnType, Value) {
    (ColumnType::NVarChar(n), Value::Str(v.to_string()))
}

fn sysname(v: Option<String>) -> (ColumnType, Value) {
    (ColumnType::NVarChar(128), v.map_or(Value::Null, Value::Str))
}

/// An expression's type and value.
pub fn eval(e: &Expr, ctx: &Ctx, row: &Row) -> Result<(ColumnType, Value), SqlError> {
    let int_of = |e: &Expr| -> Result<Option<i64>, SqlError> {
        Ok(match eval(e, ctx, row)?.1 {
            Value::Null => None,
            Value::Int(i) => Some(i.into()),
            Value::Str(s) => Some(
                s.trim()
                    .parse()
                    .map_err(|_| errors::conversion(&s, "int"))?,
            ),
            Value::Bytes(_) => return Err(errors::not_modelled("a binary id")),
        })
    };
    Ok(match e {
        Expr::Null => (ColumnType::Int, Value::Null),
        Expr::Int(i) => match i32::try_from(*i) {
            Ok(i) => (ColumnType::Int, Value::Int(i)),
            Err(_) => return Err(errors::not_modelled("BIGINT values")),
        },
        Expr::Str(v) => {
            let n = v.encode_utf16().count();
            if n > 4000 {
                return Err(errors::not_modelled("strings over 4000 characters"));
            }
            text(v, n.max(1) as u16)
        }
        Expr::Version => text(VERSION, 300),
        Expr::Spid => (ColumnType::Int, Value::Int(ctx.spid.into())),
        Expr::TranCount => (ColumnType::Int, Value::Int(ctx.trancount as i32)),
        Expr::Var(name) => match ctx.bindings.iter().find(|(n, _)| n == name) {
            Some((_, v @ Value::Int(_))) => (ColumnType::Int, v.clone()),
            Some((_, v)) => (ColumnType::NVarChar(4000), v.clone()),
            None => return Err(errors::must_declare(&format!("@{name}"))),
        },
        Expr::DbName => text(ctx.db, 128),
        Expr::SuserSname | Expr::OriginalLogin => text(ctx.login_name(), 128),
        Expr::UserName => {
            let db = ctx.catalog.db(ctx.db);
            let u = ctx.user_id().and_then(|id| db?.principal_by_id(id));
            sysname(u.map(|p| p.name.clone()))
        }
        Expr::SuserSid => {
            let sid = match ctx.who {
                Who::Login(n) => ctx.catalog.login(n).map(|l| l.sid.clone()),
                Who::User(d, u) => ctx.catalog.db(d).and_then(|d| d.principal(u)?.sid.clone()),
            };
            (
                ColumnType::VarBinary(85),
                sid.map_or(Value::Null, Value::Bytes),
            )
        }
        Expr::SchemaName(id) => {
            let id = int_of(id)?;
            let db = ctx.catalog.db(ctx.db);
            let name = id.and_then(|id| {
                db?.schemas
                    .iter()
                    .find(|(i, _, _)| i64::from(*i) == id)
                    .map(|s| s.1.clone())
            });
            sysname(name)
        }
        // User tables only.
        Expr::ObjectName(id) | Expr::ObjectSchemaName(id) => {
            let id = int_of(id)?;
            let db = ctx.catalog.db(ctx.db);
            let o = id.and_then(|id| db?.objects.iter().find(|o| i64::from(o.0) == id));
            let name = o.and_then(|o| match e {
                Expr::ObjectName(_) => Some(o.1.clone()),
                _ => db?.schemas.iter().find(|s| s.0 == o.2).map(|s| s.1.clone()),
            });
            sysname(name)
        }
        Expr::Column(q, name) => row.column(q.as_deref(), name)?,
        Expr::Call(f, args) => {
            let mut v = Vec::new();
            for a in args {
                v.push(match eval(a, ctx, row)?.1 {
                    Value::Str(s) => Some(s),
                    Value::Null => None,
                    _ => return Err(errors::not_modelled(&format!("{f} of a non-string"))),
                });
            }
            let r = super::grants::security_function(ctx, f, &v)?;
            (
                ColumnType::Int,
                r.map_or(Value::Null, |b| Value::Int(b.into())),
            )
        }
        Expr::QuoteName(arg, quote) => {
            let string_of = |e: &Expr| -> Result<Option<String>, SqlError> {
                Ok(match eval(e, ctx, row)?.1 {
                    Value::Null => None,
                    Value::Str(v) => Some(v),
                    Value::Int(i) => Some(i.to_string()),
                    Value::Bytes(_) => return Err(errors::not_modelled("QUOTENAME of binary")),
                })
            };
            let a = string_of(arg)?;
            let q = match quote {
                Some(q) => string_of(q)?,
                None => Some("[".into()),
            };
            let v = match (a, q) {
                (Some(a), Some(q)) => quotename(&a, &q),
                _ => None,
            };
            (ColumnType::NVarChar(258), v.map_or(Value::Null, Value::Str))
        }
    })
}

/// `a = b`: None when either is NULL; strings compare as the case-insensitive collation does,
/// trailing spaces ignored; a string against an integer is converted (245 when it is not one).
pub fn compare(a: &(ColumnType, Value), b: &(ColumnType, Value)) -> Result<Option<bool>, SqlError> {
    Ok(match (&a.1, &b.1) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Str(x), Value::Str(y)) => Some(same(x.trim_end(), y.trim_end())),
        (Value::Int(x), Value::Int(y)) => Some(x == y),
        (Value::Int(i), Value::Str(s)) | (Value::Str(s), Value::Int(i)) => {
            let n: i64 = s.trim().parse().map_err(|_| errors::conversion(s, "int"))?;
            Some(n == i64::from(*i))
        }
        (Value::Bytes(x), Value::Bytes(y)) => Some(x == y),
        _ => return Err(errors::not_modelled("comparing binary with another type")),
    })
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
