//! `SELECT ... FROM <view> [AS a] [{[INNER] | LEFT [OUTER]} JOIN <view> [AS b] ON cond]...
//! [WHERE cond [AND cond]...]` over the catalog views of [`super::views`], conditions `=` and
//! `IS [NOT] NULL`: parsed here, run by [`run`]. A LEFT JOIN keeps each row that no row of its
//! view matches, with that view's columns NULL [MS Learn FROM clause, "LEFT [OUTER]"].
//! Everything else a query may say is refused.

use super::errors::{self, SqlError};
use super::expr::{compare, eval, Ctx, Row};
use super::lexer::{reserved, Tok};
use super::sql::{near, Expr, Parser};
use super::tokens::{ColumnType, Value};
use super::views;

/// A query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The SELECT list: expressions and their column names.
    pub items: Vec<(Expr, String)>,
    /// FROM and JOINs, in order (empty: no FROM).
    pub from: Vec<Source>,
    /// WHERE, ANDed.
    pub filter: Vec<Cond>,
}

/// A view in FROM or JOIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The view, `sys.<name>` lowercased.
    pub view: String,
    /// The alias (the view's own name without one).
    pub alias: String,
    /// A JOIN's ON conditions, ANDed.
    pub on: Vec<Cond>,
    /// LEFT [OUTER] JOIN: a row no row of this view matches is kept, with this view's columns
    /// NULL.
    pub left: bool,
}

/// A condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `a = b`.
    Eq(Expr, Expr),
    /// `a IS NULL` (false) or `a IS NOT NULL` (true).
    IsNull(Expr, bool),
}

/// Words that end a SELECT item or a table reference rather than name an alias.
pub fn clause_word(w: &str) -> bool {
    [
        "JOIN",
        "INNER",
        "LEFT",
        "RIGHT",
        "FULL",
        "CROSS",
        "OUTER",
        "ON",
        "ORDER",
        "GROUP",
        "HAVING",
        "OPTION",
        "UNION",
        "EXCEPT",
        "INTERSECT",
        "APPLY",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(w))
}

impl Parser {
    /// The rest of a SELECT after its list.
    pub(super) fn query(&mut self, items: Vec<(Expr, String)>) -> Result<Query, SqlError> {
        let mut q = Query {
            items,
            from: Vec::new(),
            filter: Vec::new(),
        };
        if self.is_word("INTO") {
            return Err(errors::not_modelled("SELECT ... INTO"));
        }
        if self.is_word("FROM") {
            self.at += 1;
            q.from.push(self.source()?);
            loop {
                let mut left = false;
                if self.is_word("INNER") {
                    self.at += 1;
                    if !self.is_word("JOIN") {
                        return Err(near(self.peek()));
                    }
                } else if self.is_word("LEFT") {
                    self.at += 1;
                    if self.is_word("OUTER") {
                        self.at += 1;
                    }
                    if !self.is_word("JOIN") {
                        return Err(near(self.peek()));
                    }
                    left = true;
                }
                if self.is_word("JOIN") {
                    self.at += 1;
                    let mut s = self.source()?;
                    s.left = left;
                    if !self.is_word("ON") {
                        return Err(near(self.peek()));
                    }
                    self.at += 1;
                    s.on = self.conditions()?;
                    q.from.push(s);
                } else {
                    break;
                }
            }
            if self.peek() == Some(&Tok::Punct(',')) {
                return Err(errors::not_modelled("FROM with a comma join"));
            }
        }
        if self.is_word("WHERE") {
            if q.from.is_empty() {
                return Err(errors::not_modelled("WHERE without FROM"));
            }
            self.at += 1;
            q.filter = self.conditions()?;
        }
        match self.peek() {
            Some(Tok::Word(w)) if clause_word(w) || w.eq_ignore_ascii_case("FOR") => Err(
                errors::not_modelled(&format!("SELECT ... {}", w.to_uppercase())),
            ),
            _ => Ok(q),
        }
    }

    /// `sys.view [[AS] alias]`.
    fn source(&mut self) -> Result<Source, SqlError> {
        let first = self.name()?;
        let (schema, view) = if self.peek() == Some(&Tok::Punct('.')) {
            self.at += 1;
            (first, self.name()?)
        } else {
            ("dbo".to_string(), first)
        };
        if self.peek() == Some(&Tok::Punct('.')) {
            return Err(errors::not_modelled("three-part object names"));
        }
        if !schema.eq_ignore_ascii_case("sys") {
            return Err(errors::invalid_object(&format!("{schema}.{view}")));
        }
        let full = format!("sys.{}", view.to_lowercase());
        if !views::known(&full) {
            return Err(errors::not_modelled(&format!("the view {full}")));
        }
        let alias = if self.is_word("AS") {
            self.at += 1;
            self.name()?
        } else {
            match self.peek() {
                Some(Tok::Word(w)) if !reserved(w) && !clause_word(w) => self.name()?,
                Some(Tok::Bracketed(_)) => self.name()?,
                _ => view.clone(),
            }
        };
        Ok(Source {
            view: full,
            alias,
            on: Vec::new(),
            left: false,
        })
    }

    /// `cond [AND cond]...`.
    fn conditions(&mut self) -> Result<Vec<Cond>, SqlError> {
        let mut out = Vec::new();
        loop {
            let a = self.expr()?;
            if self.is_word("IS") {
                self.at += 1;
                let not = self.is_word("NOT");
                if not {
                    self.at += 1;
                }
                if !self.is_word("NULL") {
                    return Err(near(self.peek()));
                }
                self.at += 1;
                out.push(Cond::IsNull(a, not));
            } else {
                match self.peek() {
                    Some(Tok::Punct('=')) => {
                        self.at += 1;
                        out.push(Cond::Eq(a, self.expr()?));
                    }
                    Some(Tok::Punct(c @ ('<' | '>' | '!'))) => {
                        return Err(errors::not_modelled(&format!("the operator {c}")))
                    }
                    Some(Tok::Word(w)) if !clause_word(w) && !w.eq_ignore_ascii_case("WHERE") => {
                        return Err(errors::not_modelled(&format!(
                            "conditions with {}",
                            w.to_uppercase()
                        )))
                    }
                    t => return Err(near(t)),
                }
            }
            if self.is_word("OR") {
                return Err(errors::not_modelled("OR"));
            }
            if !self.is_word("AND") {
                return Ok(out);
            }
            self.at += 1;
        }
    }
}

fn holds(c: &Cond, ctx: &Ctx, row: &Row) -> Result<bool, SqlError> {
    Ok(match c {
        Cond::Eq(a, b) => compare(&eval(a, ctx, row)?, &eval(b, ctx, row)?)? == Some(true),
        Cond::IsNull(a, not) => (eval(a, ctx, row)?.1 == Value::Null) != *not,
    })
}

/// A result set: the columns and the rows.
pub type ResultSet = (Vec<(String, ColumnType)>, Vec<Vec<Value>>);

/// Runs a query: the views' rows joined in order, filtered, projected.
pub fn run(q: &Query, ctx: &Ctx) -> Result<ResultSet, SqlError> {
    let mut tables = Vec::new();
    for s in &q.from {
        let (cols, rows) = views::rows(&s.view, ctx)?;
        tables.push((s.alias.clone(), cols, rows));
    }
    let mut aliases: Vec<&str> = Vec::new();
    for (a, _, _) in &tables {
        if aliases.iter().any(|x| x.eq_ignore_ascii_case(a)) {
            return Err(errors::not_modelled("the same alias twice"));
        }
        aliases.push(a);
    }
    // Every condition is bound and typed before any row is read, as SQL Server compiles a
    // query before it runs it: a column no view has fails even where a view has no rows (a
    // JOIN's ON sees only the views before it and its own).
    for (k, source) in q.from.iter().enumerate() {
        let nulls = Row::nulls(&tables[..=k]);
        for c in &source.on {
            holds(c, ctx, &nulls)?;
        }
    }
    let nulls = Row::nulls(&tables);
    for c in &q.filter {
        holds(c, ctx, &nulls)?;
    }
    // Rows as indexes into each table (None: a LEFT JOIN's NULLs); joined one table at a
    // time.
    let mut joined: Vec<Vec<Option<usize>>> = vec![Vec::new()];
    for (t, source) in tables.iter().zip(&q.from) {
        let mut next = Vec::new();
        for partial in &joined {
            let before = next.len();
            for i in 0..t.2.len() {
                let mut candidate = partial.clone();
                candidate.push(Some(i));
                let row = Row::new(&tables, &candidate);
                let mut ok = true;
                for c in &source.on {
                    ok = ok && holds(c, ctx, &row)?;
                }
                if ok {
                    next.push(candidate);
                }
            }
            if source.left && next.len() == before {
                let mut kept = partial.clone();
                kept.push(None);
                next.push(kept);
            }
        }
        joined = next;
    }
    let mut rows = Vec::new();
    for r in &joined {
        let row = Row::new(&tables, r);
        let mut ok = true;
        for c in &q.filter {
            ok = ok && holds(c, ctx, &row)?;
        }
        if ok {
            let mut values = Vec::new();
            for (e, _) in &q.items {
                values.push(eval(e, ctx, &row)?.1);
            }
            rows.push(values);
        }
    }
    // The columns' types, from a row of NULLs (so an empty result has them too).
    let nulls = Row::nulls(&tables);
    let mut columns = Vec::new();
    for (e, name) in &q.items {
        columns.push((name.clone(), eval(e, ctx, &nulls)?.0));
    }
    Ok((columns, rows))
}
