//! The T-SQL tokenizer: regular and bracketed identifiers (`]]` doubled), `'...'` and `N'...'`
//! literals (`''` doubled), integers, `@` / `@@` names, `--` and nested `/* */` comments.

use super::errors::{self, SqlError};

/// A token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A regular identifier or keyword.
    Word(String),
    /// A bracketed identifier, unescaped.
    Bracketed(String),
    /// A string literal (`national`: `N'...'`).
    Str {
        /// N'...'.
        national: bool,
        /// The value.
        value: String,
    },
    /// An integer.
    Int(i64),
    /// `@name`.
    Var(String),
    /// `@@name`.
    Global(String),
    /// One punctuation character.
    Punct(char),
}

impl Tok {
    /// The token as SQL Server quotes it in "Incorrect syntax near".
    pub fn text(&self) -> String {
        match self {
            Tok::Word(w) => w.clone(),
            Tok::Bracketed(b) => format!("[{}]", b.replace(']', "]]")),
            Tok::Str { value, .. } => value.clone(),
            Tok::Int(i) => i.to_string(),
            Tok::Var(v) => format!("@{v}"),
            Tok::Global(g) => format!("@@{g}"),
            Tok::Punct(c) => c.to_string(),
        }
    }
}

/// Reserved keywords (a subset of T-SQL's; a syntax error at one is 156, elsewhere 102).
pub const RESERVED: &[&str] = &[
    "ADD",
    "ALL",
    "ALTER",
    "AND",
    "AS",
    "BEGIN",
    "BY",
    "CASE",
    "COMMIT",
    "CREATE",
    "DATABASE",
    "DECLARE",
    "DELETE",
    "DENY",
    "DROP",
    "ELSE",
    "END",
    "EXEC",
    "EXECUTE",
    "FOR",
    "FROM",
    "GRANT",
    "IF",
    "INSERT",
    "INTO",
    "IS",
    "NOT",
    "NULL",
    "OR",
    "PRINT",
    "PROCEDURE",
    "REVOKE",
    "ROLLBACK",
    "SELECT",
    "SET",
    "TABLE",
    "TRAN",
    "TRANSACTION",
    "UPDATE",
    "USE",
    "USER",
    "WHERE",
    "WITH",
];

/// Whether `w` is one of [`RESERVED`].
pub fn reserved(w: &str) -> bool {
    RESERVED.iter().any(|k| k.eq_ignore_ascii_case(w))
}

/// T-SQL built-in functions the stand-in does not model: refused with 50000, where an unknown
/// name is 195 [MS Learn "What are the SQL database functions?"].
const BUILTINS: &[&str] = &[
    "ABS",
    "APP_NAME",
    "ASCII",
    "AVG",
    "CAST",
    "CEILING",
    "CHAR",
    "CHARINDEX",
    "CHECKSUM",
    "COALESCE",
    "CONCAT",
    "CONCAT_WS",
    "CONVERT",
    "COUNT",
    "COUNT_BIG",
    "CURRENT_USER",
    "DATABASEPROPERTYEX",
    "DATABASE_PRINCIPAL_ID",
    "DATALENGTH",
    "DATEADD",
    "DATEDIFF",
    "DATENAME",
    "DATEPART",
    "DB_ID",
    "FLOOR",
    "FORMAT",
    "GETDATE",
    "GETUTCDATE",
    "HAS_DBACCESS",
    "IIF",
    "IS_MEMBER",
    "ISNULL",
    "LEFT",
    "LEN",
    "LOGINPROPERTY",
    "LOWER",
    "LTRIM",
    "MAX",
    "MIN",
    "NEWID",
    "NULLIF",
    "OBJECT_ID",
    "OBJECTPROPERTY",
    "PERMISSIONS",
    "REPLACE",
    "REPLICATE",
    "REVERSE",
    "RIGHT",
    "ROUND",
    "ROW_NUMBER",
    "RTRIM",
    "SCHEMA_ID",
    "SERVERPROPERTY",
    "SESSION_USER",
    "SPACE",
    "STR",
    "STRING_AGG",
    "STUFF",
    "SUBSTRING",
    "SUM",
    "SUSER_ID",
    "SUSER_NAME",
    "SYSTEM_USER",
    "SYSDATETIME",
    "TRANSLATE",
    "TRIM",
    "TRY_CAST",
    "TRY_CONVERT",
    "UNICODE",
    "UPPER",
    "USER_ID",
];

/// Whether `upper` (an uppercased name) is one of [`BUILTINS`].
pub fn builtin(upper: &str) -> bool {
    BUILTINS.contains(&upper)
}

/// Splits a batch into tokens.
pub fn tokenize(sql: &str) -> Result<Vec<Tok>, SqlError> {
    let c: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let word_char = |ch: char| ch.is_alphanumeric() || matches!(ch, '_' | '@' | '#' | '$');
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '-' && c.get(i + 1) == Some(&'-') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            // T-SQL block comments nest.
            let (mut depth, mut j) = (1, i + 2);
            while depth > 0 {
                match (c.get(j), c.get(j + 1)) {
                    (None, _) => return Err(errors::syntax_near("*")),
                    (Some('/'), Some('*')) => (depth, j) = (depth + 1, j + 2),
                    (Some('*'), Some('/')) => (depth, j) = (depth - 1, j + 2),
                    _ => j += 1,
                }
            }
            i = j;
        } else if ch == '\'' || ((ch == 'N' || ch == 'n') && c.get(i + 1) == Some(&'\'')) {
            let national = ch != '\'';
            let mut j = if national { i + 2 } else { i + 1 };
            let mut value = String::new();
            loop {
                match (c.get(j), c.get(j + 1)) {
                    (None, _) => return Err(errors::unclosed_quote(&value)),
                    (Some('\''), Some('\'')) => (value.push('\''), j += 2).1,
                    (Some('\''), _) => break,
                    (Some(x), _) => (value.push(*x), j += 1).1,
                }
            }
            out.push(Tok::Str { national, value });
            i = j + 1;
        } else if ch == '[' {
            let mut j = i + 1;
            let mut name = String::new();
            loop {
                match (c.get(j), c.get(j + 1)) {
                    (None, _) => return Err(errors::unclosed_quote(&name)),
                    (Some(']'), Some(']')) => (name.push(']'), j += 2).1,
                    (Some(']'), _) => break,
                    (Some(x), _) => (name.push(*x), j += 1).1,
                }
            }
            out.push(Tok::Bracketed(name));
            i = j + 1;
        } else if ch == '@' {
            let global = c.get(i + 1) == Some(&'@');
            let mut j = if global { i + 2 } else { i + 1 };
            while j < c.len() && word_char(c[j]) {
                j += 1;
            }
            let name: String = c[if global { i + 2 } else { i + 1 }..j].iter().collect();
            out.push(if global {
                Tok::Global(name)
            } else {
                Tok::Var(name)
            });
            i = j;
        } else if ch.is_ascii_digit() {
            let mut j = i;
            while j < c.len() && c[j].is_ascii_digit() {
                j += 1;
            }
            let digits: String = c[i..j].iter().collect();
            if j < c.len() && (word_char(c[j]) || c[j] == '.') {
                return Err(errors::not_modelled("numbers other than integers"));
            }
            let n = digits
                .parse()
                .map_err(|_| errors::not_modelled("integers past BIGINT"))?;
            out.push(Tok::Int(n));
            i = j;
        } else if ch.is_alphabetic() || ch == '_' || ch == '#' {
            let mut j = i;
            while j < c.len() && word_char(c[j]) {
                j += 1;
            }
            out.push(Tok::Word(c[i..j].iter().collect()));
            i = j;
        } else if ch == '"' {
            return Err(errors::not_modelled("double-quoted identifiers"));
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_undone() {
        let t = tokenize("N'it''s' [a]]b] 'x' -- c\n/* d /* e */ */ @@version @p 42").unwrap();
        assert_eq!(
            t,
            vec![
                Tok::Str {
                    national: true,
                    value: "it's".into()
                },
                Tok::Bracketed("a]b".into()),
                Tok::Str {
                    national: false,
                    value: "x".into()
                },
                Tok::Global("version".into()),
                Tok::Var("p".into()),
                Tok::Int(42),
            ]
        );
        assert_eq!(tokenize("'abc").unwrap_err().number, 105);
        assert_eq!(tokenize("[abc").unwrap_err().number, 105);
    }
}
