//! The server's tokens [MS-TDS, token stream]: LOGINACK, ENVCHANGE, INFO, ERROR, DONE, COLMETADATA and
//! ROW (NVARCHAR and INTN columns only), written for the negotiated TDS version.

/// The collation of every string: SQL_Latin1_General_CP1_CI_AS (LCID 0x0409, case-,
/// accent-sensitivity flags 0xD0, sort id 52) [MS-TDS, collation rule].
pub const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

/// DONE status bits.
pub mod done {
    /// More results follow.
    pub const MORE: u16 = 0x01;
    /// The statement failed.
    pub const ERROR: u16 = 0x02;
    /// The row count is valid.
    pub const COUNT: u16 = 0x10;
    /// The answer to an attention.
    pub const ATTN: u16 = 0x20;
}

/// A column's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// NVARCHAR(n) (n characters, at most 4000).
    NVarChar(u16),
    /// INT, nullable (INTN of length 4).
    Int,
    /// TINYINT (INTN of length 1).
    TinyInt,
    /// SMALLINT (INTN of length 2).
    SmallInt,
    /// BIT (BITN).
    Bit,
    /// CHAR(n) (BIGCHAR, single-byte, padded with spaces).
    Char(u16),
    /// VARBINARY(n) (BIGVARBIN).
    VarBinary(u16),
}

/// A value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// NULL.
    Null,
    /// A string.
    Str(String),
    /// An integer (INT, TINYINT or BIT by its column).
    Int(i32),
    /// Bytes (VARBINARY).
    Bytes(Vec<u8>),
}

/// Token writer for one TDS version.
pub struct Tokens {
    /// The TDS version (LOGIN7's).
    pub version: u32,
    /// The bytes so far.
    pub out: Vec<u8>,
    /// The columns of the result set being written.
    cols: Vec<ColumnType>,
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// B_VARCHAR: a one-byte character count and UTF-16LE.
fn b_varchar(out: &mut Vec<u8>, s: &str) {
    let units = s.encode_utf16().count().min(255);
    out.push(units as u8);
    out.extend(s.encode_utf16().take(units).flat_map(u16::to_le_bytes));
}

/// US_VARCHAR: a two-byte character count and UTF-16LE.
fn us_varchar(out: &mut Vec<u8>, s: &str) {
    let b = utf16(s);
    out.extend_from_slice(&((b.len() / 2) as u16).to_le_bytes());
    out.extend_from_slice(&b);
}

impl Tokens {
    /// A writer for `version`.
    pub fn new(version: u32) -> Self {
        Tokens {
            version,
            out: Vec::new(),
            cols: Vec::new(),
        }
    }

    fn tds72(&self) -> bool {
        self.version >= 0x7200_0000
    }

    /// A token with a two-byte length before `body`.
    fn sized(&mut self, token: u8, body: &[u8]) {
        self.out.push(token);
        self.out
            .extend_from_slice(&(body.len() as u16).to_le_bytes());
        self.out.extend_from_slice(body);
    }

    /// ENVCHANGE with B_VARCHAR values (database 1, language 2, packet size 4).
    pub fn env_string(&mut self, kind: u8, new: &str, old: &str) {
        let mut b = vec![kind];
        b_varchar(&mut b, new);
        b_varchar(&mut b, old);
        self.sized(0xE3, &b);
    }

    /// ENVCHANGE 8 (begin), 9 (commit) or 10 (rollback) of a transaction, TDS 7.2 and later:
    /// the 8-byte descriptor as the new value of a begin, the old value of the others.
    pub fn env_transaction(&mut self, kind: u8, descriptor: u64) {
        if !self.tds72() {
            return;
        }
        let d = descriptor.to_le_bytes();
        let mut b = vec![kind];
        if kind == 8 {
            b.push(8);
            b.extend_from_slice(&d);
            b.push(0);
        } else {
            b.push(0);
            b.push(8);
            b.extend_from_slice(&d);
        }
        self.sized(0xE3, &b);
    }

    /// ENVCHANGE 7: the SQL collation.
    pub fn env_collation(&mut self) {
        let mut b = vec![7, COLLATION.len() as u8];
        b.extend_from_slice(&COLLATION);
        b.push(0);
        self.sized(0xE3, &b);
    }

    /// INFO (0xAB) or ERROR (0xAA).
    fn message(&mut self, token: u8, number: i32, state: u8, class: u8, text: &str, server: &str) {
        let mut b = Vec::new();
        b.extend_from_slice(&number.to_le_bytes());
        b.push(state);
        b.push(class);
        us_varchar(&mut b, text);
        b_varchar(&mut b, server);
        b_varchar(&mut b, "");
        if self.tds72() {
            b.extend_from_slice(&1i32.to_le_bytes());
        } else {
            b.extend_from_slice(&1u16.to_le_bytes());
        }
        self.sized(token, &b);
    }

    /// An ERROR token.
    pub fn error(&mut self, number: i32, state: u8, class: u8, text: &str, server: &str) {
        self.message(0xAA, number, state, class, text, server);
    }

    /// An INFO token.
    pub fn info(&mut self, number: i32, state: u8, class: u8, text: &str, server: &str) {
        self.message(0xAB, number, state, class, text, server);
    }

    /// LOGINACK: interface SQL (1), the TDS version (big-endian on the wire), the program name
    /// and version.
    pub fn login_ack(&mut self, program: &str, version: [u8; 4]) {
        let mut b = vec![1];
        b.extend_from_slice(&self.version.to_be_bytes());
        b_varchar(&mut b, program);
        b.extend_from_slice(&version);
        self.sized(0xAD, &b);
    }

    /// DONE (0xFD).
    pub fn done(&mut self, status: u16, command: u16, rows: u64) {
        self.done_token(0xFD, status, command, rows);
    }

    /// DONE (0xFD), DONEPROC (0xFE) or DONEINPROC (0xFF).
    pub fn done_token(&mut self, token: u8, status: u16, command: u16, rows: u64) {
        self.out.push(token);
        self.out.extend_from_slice(&status.to_le_bytes());
        self.out.extend_from_slice(&command.to_le_bytes());
        if self.tds72() {
            self.out.extend_from_slice(&rows.to_le_bytes());
        } else {
            self.out.extend_from_slice(&(rows as u32).to_le_bytes());
        }
    }

    /// RETURNSTATUS (0x79).
    pub fn return_status(&mut self, status: i32) {
        self.out.push(0x79);
        self.out.extend_from_slice(&status.to_le_bytes());
    }

    /// COLMETADATA (0x81) for `columns` (name, type), all nullable.
    pub fn columns(&mut self, columns: &[(String, ColumnType)]) {
        self.out.push(0x81);
        self.out
            .extend_from_slice(&(columns.len() as u16).to_le_bytes());
        for (name, ty) in columns {
            if self.tds72() {
                self.out.extend_from_slice(&0u32.to_le_bytes());
            } else {
                self.out.extend_from_slice(&0u16.to_le_bytes());
            }
            self.out.extend_from_slice(&1u16.to_le_bytes()); // fNullable
            match ty {
                ColumnType::NVarChar(chars) => {
                    self.out.push(0xE7);
                    self.out.extend_from_slice(&(chars * 2).to_le_bytes());
                    self.out.extend_from_slice(&COLLATION);
                }
                ColumnType::Int => self.out.extend_from_slice(&[0x26, 4]),
                ColumnType::TinyInt => self.out.extend_from_slice(&[0x26, 1]),
                ColumnType::SmallInt => self.out.extend_from_slice(&[0x26, 2]),
                ColumnType::Bit => self.out.extend_from_slice(&[0x68, 1]),
                ColumnType::Char(n) => {
                    self.out.push(0xAF);
                    self.out.extend_from_slice(&n.to_le_bytes());
                    self.out.extend_from_slice(&COLLATION);
                }
                ColumnType::VarBinary(n) => {
                    self.out.push(0xA5);
                    self.out.extend_from_slice(&n.to_le_bytes());
                }
            }
            b_varchar(&mut self.out, name);
        }
        self.cols = columns.iter().map(|(_, t)| *t).collect();
    }

    /// ROW (0xD1), each value written as its column's type (set by [`Tokens::columns`]).
    pub fn row(&mut self, values: &[Value]) {
        self.out.push(0xD1);
        for (i, v) in values.iter().enumerate() {
            let ty = self
                .cols
                .get(i)
                .copied()
                .unwrap_or(ColumnType::NVarChar(4000));
            let fixed = matches!(
                ty,
                ColumnType::Int | ColumnType::SmallInt | ColumnType::TinyInt | ColumnType::Bit
            );
            match (v, ty) {
                (Value::Null, _) if fixed => self.out.push(0),
                (Value::Null, _) => self.out.extend_from_slice(&[0xFF, 0xFF]),
                (Value::Int(i), ColumnType::Int) => {
                    self.out.push(4);
                    self.out.extend_from_slice(&i.to_le_bytes());
                }
                (Value::Int(i), ColumnType::SmallInt) => {
                    self.out.push(2);
                    self.out.extend_from_slice(&(*i as i16).to_le_bytes());
                }
                (Value::Int(i), ColumnType::TinyInt | ColumnType::Bit) => {
                    self.out.extend_from_slice(&[1, *i as u8])
                }
                (Value::Str(s), ColumnType::Char(n)) => {
                    // CHAR(n): single-byte characters, padded to n.
                    let mut b: Vec<u8> = s
                        .chars()
                        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
                        .collect();
                    b.resize(n as usize, b' ');
                    self.out.extend_from_slice(&(b.len() as u16).to_le_bytes());
                    self.out.extend_from_slice(&b);
                }
                (Value::Bytes(b), _) => {
                    self.out.extend_from_slice(&(b.len() as u16).to_le_bytes());
                    self.out.extend_from_slice(b);
                }
                (Value::Str(s), _) => us_varchar_bytes(&mut self.out, s),
                (Value::Int(i), _) => us_varchar_bytes(&mut self.out, &i.to_string()),
            }
        }
    }
}

/// A NVARCHAR value: a two-byte byte count and UTF-16LE.
fn us_varchar_bytes(out: &mut Vec<u8>, s: &str) {
    let b = utf16(s);
    out.extend_from_slice(&(b.len() as u16).to_le_bytes());
    out.extend_from_slice(&b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_and_error_follow_the_version() {
        let mut t = Tokens::new(0x7400_0004);
        t.done(done::COUNT, 0xC1, 1);
        assert_eq!(t.out, [0xFD, 0x10, 0, 0xC1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut t = Tokens::new(0x7100_0001);
        t.done(0, 0, 0);
        assert_eq!(t.out.len(), 9);
        t.out.clear();
        t.error(18456, 1, 14, "x", "");
        // token, length, number, state, class, text (2+2), server (1), proc (1), line (2)
        assert_eq!(t.out.len(), 3 + 4 + 1 + 1 + 4 + 1 + 1 + 2);
        assert_eq!(&t.out[3..7], &18456i32.to_le_bytes());
    }

    #[test]
    fn login_ack_carries_the_version_big_endian() {
        let mut t = Tokens::new(0x7400_0004);
        t.login_ack("M", [16, 0, 0x11, 0x94]);
        // interface 1, version 4, name 1 + 2, program version 4: 12 bytes.
        assert_eq!(&t.out[..9], &[0xAD, 12, 0, 1, 0x74, 0, 0, 4, 1]);
    }

    #[test]
    fn a_null_nvarchar_is_ffff() {
        let mut t = Tokens::new(0x7400_0004);
        let cols = [
            ColumnType::NVarChar(4),
            ColumnType::NVarChar(4),
            ColumnType::Int,
            ColumnType::Int,
        ];
        t.columns(&cols.map(|c| (String::new(), c)));
        t.out.clear();
        t.row(&[
            Value::Null,
            Value::Str("ab".into()),
            Value::Int(7),
            Value::Null,
        ]);
        assert_eq!(
            t.out,
            [0xD1, 0xFF, 0xFF, 4, 0, b'a', 0, b'b', 0, 4, 7, 0, 0, 0, 0]
        );
        t.columns(&[
            (String::new(), ColumnType::Char(4)),
            (String::new(), ColumnType::TinyInt),
        ]);
        t.out.clear();
        t.row(&[Value::Str("CO".into()), Value::Int(1)]);
        assert_eq!(t.out, [0xD1, 4, 0, b'C', b'O', b' ', b' ', 1, 1]);
        t.columns(&[(String::new(), ColumnType::SmallInt)]);
        t.out.clear();
        t.row(&[Value::Int(8000)]);
        assert_eq!(t.out, [0xD1, 2, 0x40, 0x1F]);
    }
}
