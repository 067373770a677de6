//! RPC requests [MS-TDS, RPC request]: only `sp_executesql` (by name or ProcID 10) with
//! NVARCHAR / NCHAR (PLP for `max`) and INTN parameters, as tiberius and python-tds send
//! parameterized queries. Anything else is refused.

use super::errors::{self, SqlError};
use super::lexer::{tokenize, Tok};
use super::login7::utf16;
use super::tokens::Value;

/// `sp_executesql`'s ProcID.
const SP_EXECUTESQL: u16 = 10;

/// A parsed `sp_executesql` call: the statement and its bound parameters (lowercased names
/// without `@`).
#[derive(Debug, PartialEq, Eq)]
pub struct ExecuteSql {
    /// `@stmt`.
    pub statement: String,
    /// The parameters by declared name.
    pub bindings: Vec<(String, Value)>,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

fn cut() -> SqlError {
    errors::not_modelled("an RPC request cut short")
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], SqlError> {
        let s = self.b.get(self.at..self.at + n).ok_or_else(cut)?;
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, SqlError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, SqlError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, SqlError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn text(&mut self, bytes: usize) -> Result<String, SqlError> {
        utf16(self.take(bytes)?).map_err(|_| errors::not_modelled("invalid UTF-16 in an RPC"))
    }

    /// One parameter value by its TYPE_INFO.
    fn value(&mut self) -> Result<Value, SqlError> {
        match self.u8()? {
            0xE7 | 0xEF => {
                let max = self.u16()?;
                self.take(5)?; // collation
                if max == 0xFFFF {
                    let total = u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes"));
                    if total == u64::MAX {
                        return Ok(Value::Null);
                    }
                    let mut bytes = Vec::new();
                    loop {
                        let n = self.u32()? as usize;
                        if n == 0 {
                            break;
                        }
                        bytes.extend_from_slice(self.take(n)?);
                    }
                    return utf16(&bytes)
                        .map(Value::Str)
                        .map_err(|_| errors::not_modelled("invalid UTF-16 in an RPC"));
                }
                match self.u16()? {
                    0xFFFF => Ok(Value::Null),
                    n => Ok(Value::Str(self.text(n as usize)?)),
                }
            }
            0x26 => {
                let _max = self.u8()?;
                match self.u8()? {
                    0 => Ok(Value::Null),
                    4 => Ok(Value::Int(i32::from_le_bytes(
                        self.take(4)?.try_into().expect("4"),
                    ))),
                    _ => Err(errors::not_modelled(
                        "RPC integer parameters other than INT",
                    )),
                }
            }
            t => Err(errors::not_modelled(&format!(
                "RPC parameters of type 0x{t:02x}"
            ))),
        }
    }
}

/// Parses an RPC request's body (after ALL_HEADERS).
pub fn parse(body: &[u8]) -> Result<ExecuteSql, SqlError> {
    let mut r = Reader { b: body, at: 0 };
    match r.u16()? {
        0xFFFF => match r.u16()? {
            SP_EXECUTESQL => {}
            id => return Err(errors::not_modelled(&format!("RPC to ProcID {id}"))),
        },
        n => {
            let name = r.text(2 * n as usize)?;
            if !name.eq_ignore_ascii_case("sp_executesql") {
                return Err(errors::no_such_procedure(&name));
            }
        }
    }
    if r.u16()? != 0 {
        return Err(errors::not_modelled("RPC option flags"));
    }
    let mut params = Vec::new();
    while r.at < body.len() {
        let chars = r.u8()? as usize;
        let name = r.text(2 * chars)?;
        if r.u8()? != 0 {
            return Err(errors::not_modelled("RPC output or default parameters"));
        }
        params.push((name, r.value()?));
    }
    let mut params = params.into_iter();
    let statement = match params.next() {
        Some((_, Value::Str(s))) => s,
        _ => {
            return Err(errors::not_modelled(
                "sp_executesql without an NVARCHAR @stmt",
            ))
        }
    };
    let declared = match params.next() {
        Some((_, Value::Str(s))) => declarations(&s)?,
        None => Vec::new(),
        _ => {
            return Err(errors::not_modelled(
                "sp_executesql @params that is not NVARCHAR",
            ))
        }
    };
    let mut bindings = Vec::new();
    for (i, (name, value)) in params.enumerate() {
        let key = match name.strip_prefix('@') {
            Some(n) => n.to_lowercase(),
            None if name.is_empty() => declared.get(i).cloned().unwrap_or_default(),
            None => name.to_lowercase(),
        };
        if !declared.contains(&key) {
            return Err(errors::not_modelled(&format!(
                "the undeclared parameter '{name}'"
            )));
        }
        bindings.push((key, value));
    }
    if let Some(missing) = declared
        .iter()
        .find(|d| !bindings.iter().any(|(k, _)| k == *d))
    {
        return Err(SqlError {
            number: 8178,
            state: 1,
            class: 16,
            text: format!("The parameterized query '({})' expects the parameter '@{missing}', which was not supplied.", statement),
        });
    }
    Ok(ExecuteSql {
        statement,
        bindings,
    })
}

/// The names `@params` declares: `@P1 nvarchar(max), @P2 int`, ...
fn declarations(s: &str) -> Result<Vec<String>, SqlError> {
    let toks = tokenize(s)?;
    let mut names = Vec::new();
    for decl in toks.split(|t| *t == Tok::Punct(',')) {
        match decl {
            [] => {}
            [Tok::Var(n), Tok::Word(_), rest @ ..]
                if rest.is_empty()
                    || matches!(
                        rest,
                        [Tok::Punct('('), Tok::Int(_) | Tok::Word(_), Tok::Punct(')')]
                    ) =>
            {
                names.push(n.to_lowercase())
            }
            _ => {
                return Err(errors::not_modelled(&format!(
                    "the sp_executesql @params '{s}'"
                )))
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nvarchar(name: &str, v: &str) -> Vec<u8> {
        let mut b = vec![name.encode_utf16().count() as u8];
        b.extend(name.encode_utf16().flat_map(u16::to_le_bytes));
        b.extend_from_slice(&[0, 0xE7, 0x40, 0x1F, 9, 4, 0xD0, 0, 0x34]);
        let d: Vec<u8> = v.encode_utf16().flat_map(u16::to_le_bytes).collect();
        b.extend_from_slice(&(d.len() as u16).to_le_bytes());
        b.extend_from_slice(&d);
        b
    }

    fn call(params: &[(&str, &str)]) -> Vec<u8> {
        let mut b = vec![0xFF, 0xFF, 10, 0, 0, 0];
        for (n, v) in params {
            b.extend(nvarchar(n, v));
        }
        b
    }

    #[test]
    fn sp_executesql_binds_its_parameters() {
        let e = parse(&call(&[
            ("", "SELECT QUOTENAME(@P1)"),
            ("", "@P1 nvarchar(4000)"),
            ("@P1", "a]b"),
        ]))
        .unwrap();
        assert_eq!(e.statement, "SELECT QUOTENAME(@P1)");
        assert_eq!(e.bindings, vec![("p1".into(), Value::Str("a]b".into()))]);
    }

    #[test]
    fn other_calls_are_refused() {
        assert_eq!(
            parse(&call(&[("", "SELECT @P1"), ("", "@P1 nvarchar(10)")]))
                .unwrap_err()
                .number,
            8178
        );
        let mut by_name = vec![7, 0];
        by_name.extend("sp_who2".encode_utf16().flat_map(u16::to_le_bytes));
        by_name.extend_from_slice(&[0, 0]);
        assert_eq!(parse(&by_name).unwrap_err().number, 2812);
        assert_eq!(
            parse(&[0xFF, 0xFF, 12, 0, 0, 0]).unwrap_err().number,
            errors::NOT_MODELLED
        );
    }
}
