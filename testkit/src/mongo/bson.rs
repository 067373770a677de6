//! A strict BSON codec of its own (not the driver's), for the MongoDB-wire stand-in: the types
//! drivers send in commands and handshakes, and nothing else. A length that does not add up, a
//! missing terminator, invalid UTF-8 or an unknown element type is an error, never a guess.

/// One BSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Bson {
    /// 0x01.
    Double(f64),
    /// 0x02.
    String(String),
    /// 0x03.
    Document(Doc),
    /// 0x04 (keys "0", "1", ... checked on decode).
    Array(Vec<Bson>),
    /// 0x05: subtype and bytes.
    Binary(u8, Vec<u8>),
    /// 0x07.
    ObjectId([u8; 12]),
    /// 0x08.
    Bool(bool),
    /// 0x09: milliseconds since the epoch.
    DateTime(i64),
    /// 0x0A.
    Null,
    /// 0x10.
    Int32(i32),
    /// 0x11.
    Timestamp(u64),
    /// 0x12.
    Int64(i64),
}

impl Bson {
    /// The value as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Bson::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a document, if it is one.
    pub fn as_doc(&self) -> Option<&Doc> {
        match self {
            Bson::Document(d) => Some(d),
            _ => None,
        }
    }

    /// A number (int32, int64 or a whole double) as i64.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Bson::Int32(n) => Some(i64::from(*n)),
            Bson::Int64(n) => Some(*n),
            Bson::Double(f) if f.fract() == 0.0 && f.abs() < 9e15 => Some(*f as i64),
            _ => None,
        }
    }

    /// MongoDB's truthiness for flags such as `{hello: 1}` or `{saslStart: true}`.
    pub fn truthy(&self) -> bool {
        match self {
            Bson::Bool(b) => *b,
            Bson::Null => false,
            other => other.as_i64().is_some_and(|n| n != 0),
        }
    }
}

/// An ordered document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Doc(pub Vec<(String, Bson)>);

impl Doc {
    /// An empty document.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// The same document with `key` appended.
    pub fn with(mut self, key: &str, value: Bson) -> Self {
        self.0.push((key.to_string(), value));
        self
    }

    /// Appends `key`.
    pub fn push(&mut self, key: &str, value: Bson) {
        self.0.push((key.to_string(), value));
    }

    /// The first value under `key`.
    pub fn get(&self, key: &str) -> Option<&Bson> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string under `key`.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Bson::as_str)
    }

    /// The first key (a command's name).
    pub fn first_key(&self) -> Option<&str> {
        self.0.first().map(|(k, _)| k.as_str())
    }

    /// The encoded document.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0; 4];
        for (key, value) in &self.0 {
            encode_element(&mut out, key, value);
        }
        out.push(0);
        let len = out.len() as i32;
        out[..4].copy_from_slice(&len.to_le_bytes());
        out
    }

    /// Decodes one document that must fill `bytes` exactly.
    pub fn decode_exact(bytes: &[u8]) -> Result<Doc, String> {
        let (doc, used) = Doc::decode(bytes)?;
        if used != bytes.len() {
            return Err(format!("{} bytes after the document", bytes.len() - used));
        }
        Ok(doc)
    }

    /// Decodes one document from the start of `bytes`; returns it and its length.
    pub fn decode(bytes: &[u8]) -> Result<(Doc, usize), String> {
        let len = read_i32(bytes, 0)?;
        if len < 5 || len as usize > bytes.len() {
            return Err(format!(
                "a document length of {len} in {} bytes",
                bytes.len()
            ));
        }
        let len = len as usize;
        if bytes[len - 1] != 0 {
            return Err("a document without its terminating zero".into());
        }
        let body = &bytes[4..len - 1];
        let mut doc = Doc::new();
        let mut at = 0;
        while at < body.len() {
            let kind = body[at];
            at += 1;
            let (key, n) = cstring(&body[at..])?;
            at += n;
            let (value, n) = decode_value(kind, &body[at..])?;
            at += n;
            doc.0.push((key, value));
        }
        Ok((doc, len))
    }
}

fn read_i32(bytes: &[u8], at: usize) -> Result<i32, String> {
    bytes
        .get(at..at + 4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| "truncated".to_string())
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "truncated".to_string())
}

fn cstring(bytes: &[u8]) -> Result<(String, usize), String> {
    let end = bytes
        .iter()
        .position(|b| *b == 0)
        .ok_or("a key without its terminating zero")?;
    let s = std::str::from_utf8(&bytes[..end]).map_err(|_| "a key that is not UTF-8")?;
    Ok((s.to_string(), end + 1))
}

fn decode_value(kind: u8, bytes: &[u8]) -> Result<(Bson, usize), String> {
    Ok(match kind {
        0x01 => (Bson::Double(f64::from_le_bytes(fixed(bytes)?)), 8),
        0x02 => {
            let len = read_i32(bytes, 0)?;
            if len < 1 || 4 + len as usize > bytes.len() {
                return Err(format!("a string length of {len}"));
            }
            let raw = &bytes[4..4 + len as usize];
            if raw[raw.len() - 1] != 0 {
                return Err("a string without its terminating zero".into());
            }
            let s = std::str::from_utf8(&raw[..raw.len() - 1])
                .map_err(|_| "a string that is not UTF-8")?;
            (Bson::String(s.to_string()), 4 + len as usize)
        }
        0x03 => {
            let (doc, n) = Doc::decode(bytes)?;
            (Bson::Document(doc), n)
        }
        0x04 => {
            let (doc, n) = Doc::decode(bytes)?;
            let mut items = Vec::new();
            for (i, (k, v)) in doc.0.into_iter().enumerate() {
                if k != i.to_string() {
                    return Err(format!("array key {k} where {i} was due"));
                }
                items.push(v);
            }
            (Bson::Array(items), n)
        }
        0x05 => {
            let len = read_i32(bytes, 0)?;
            if len < 0 || 5 + len as usize > bytes.len() {
                return Err(format!("a binary length of {len}"));
            }
            let len = len as usize;
            (Bson::Binary(bytes[4], bytes[5..5 + len].to_vec()), 5 + len)
        }
        0x07 => (Bson::ObjectId(fixed(bytes)?), 12),
        0x08 => match bytes.first() {
            Some(0) => (Bson::Bool(false), 1),
            Some(1) => (Bson::Bool(true), 1),
            _ => return Err("a boolean that is neither 0 nor 1".into()),
        },
        0x09 => (Bson::DateTime(i64::from_le_bytes(fixed(bytes)?)), 8),
        0x0A => (Bson::Null, 0),
        0x10 => (Bson::Int32(i32::from_le_bytes(fixed(bytes)?)), 4),
        0x11 => (Bson::Timestamp(u64::from_le_bytes(fixed(bytes)?)), 8),
        0x12 => (Bson::Int64(i64::from_le_bytes(fixed(bytes)?)), 8),
        other => {
            return Err(format!(
                "BSON element type 0x{other:02x}, which this stand-in does not take"
            ))
        }
    })
}

fn encode_element(out: &mut Vec<u8>, key: &str, value: &Bson) {
    let kind = match value {
        Bson::Double(_) => 0x01,
        Bson::String(_) => 0x02,
        Bson::Document(_) => 0x03,
        Bson::Array(_) => 0x04,
        Bson::Binary(..) => 0x05,
        Bson::ObjectId(_) => 0x07,
        Bson::Bool(_) => 0x08,
        Bson::DateTime(_) => 0x09,
        Bson::Null => 0x0A,
        Bson::Int32(_) => 0x10,
        Bson::Timestamp(_) => 0x11,
        Bson::Int64(_) => 0x12,
    };
    out.push(kind);
    out.extend_from_slice(key.as_bytes());
    out.push(0);
    match value {
        Bson::Double(f) => out.extend_from_slice(&f.to_le_bytes()),
        Bson::String(s) => {
            out.extend_from_slice(&(s.len() as i32 + 1).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        Bson::Document(d) => out.extend_from_slice(&d.encode()),
        Bson::Array(items) => {
            let doc = Doc(items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect());
            out.extend_from_slice(&doc.encode());
        }
        Bson::Binary(subtype, bytes) => {
            out.extend_from_slice(&(bytes.len() as i32).to_le_bytes());
            out.push(*subtype);
            out.extend_from_slice(bytes);
        }
        Bson::ObjectId(id) => out.extend_from_slice(id),
        Bson::Bool(b) => out.push(u8::from(*b)),
        Bson::DateTime(n) | Bson::Int64(n) => out.extend_from_slice(&n.to_le_bytes()),
        Bson::Null => {}
        Bson::Int32(n) => out.extend_from_slice(&n.to_le_bytes()),
        Bson::Timestamp(n) => out.extend_from_slice(&n.to_le_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_does_not_add_up() {
        let doc = Doc::new()
            .with("hello", Bson::Int32(1))
            .with("name", Bson::String("ü".into()))
            .with(
                "list",
                Bson::Array(vec![Bson::Bool(true), Bson::Null, Bson::Int64(-7)]),
            )
            .with("bin", Bson::Binary(0, vec![1, 2, 3]))
            .with(
                "sub",
                Bson::Document(Doc::new().with("x", Bson::Double(1.5))),
            );
        let bytes = doc.encode();
        assert_eq!(Doc::decode_exact(&bytes).unwrap(), doc);
        let mut short = bytes.clone();
        short.pop();
        assert!(Doc::decode_exact(&short).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Doc::decode_exact(&trailing).is_err());
        let mut unknown = Doc::new().with("x", Bson::Null).encode();
        unknown[4] = 0x13;
        assert!(Doc::decode_exact(&unknown).unwrap_err().contains("0x13"));
    }
}
