//! MongoDB's wire protocol as the stand-in reads and writes it: the 16-byte header, OP_MSG
//! (2013) with kind-0 and kind-1 sections, and the legacy OP_QUERY (2004) handshake answered
//! with OP_REPLY (1). Anything else is refused.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::bson::{Bson, Doc};

/// OP_MSG.
pub const OP_MSG: i32 = 2013;
/// OP_QUERY (legacy; only the handshake is served).
pub const OP_QUERY: i32 = 2004;
/// OP_REPLY.
pub const OP_REPLY: i32 = 1;
/// The largest message accepted.
pub const MAX_MESSAGE: i32 = 48_000_000;

/// A request.
#[derive(Debug)]
pub struct Request {
    /// Its `requestID`, for the reply's `responseTo`.
    pub id: i32,
    /// OP_MSG or OP_QUERY.
    pub op: i32,
    /// The command document (OP_MSG: the kind-0 body with kind-1 sequences merged in).
    pub command: Doc,
    /// OP_QUERY only: the full collection name (`admin.$cmd`).
    pub collection: Option<String>,
}

/// Reads one request; `Ok(None)` when the peer closed the connection between messages.
pub async fn read<R: AsyncRead + Unpin>(stream: &mut R) -> Result<Option<Request>, String> {
    let mut header = [0u8; 16];
    match stream.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let word =
        |i: usize| i32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let (len, id, op) = (word(0), word(4), word(12));
    if !(16..=MAX_MESSAGE).contains(&len) {
        return Err(format!("a message length of {len}"));
    }
    let mut body = vec![0u8; len as usize - 16];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| e.to_string())?;
    match op {
        OP_MSG => parse_msg(&body).map(|command| {
            Some(Request {
                id,
                op,
                command,
                collection: None,
            })
        }),
        OP_QUERY => parse_query(&body).map(|(collection, command)| {
            Some(Request {
                id,
                op,
                command,
                collection: Some(collection),
            })
        }),
        other => Err(format!(
            "opcode {other}, which this stand-in does not serve"
        )),
    }
}

pub(super) fn parse_msg(body: &[u8]) -> Result<Doc, String> {
    let flags = u32::from_le_bytes(
        body.get(..4)
            .ok_or("no flagBits")?
            .try_into()
            .map_err(|_| "flagBits")?,
    );
    // Bits 0-15 are required to be understood: only checksumPresent (0) and moreToCome (1)
    // exist; this stand-in takes neither (drivers send no checksum; every command is answered).
    if flags & 0xffff != 0 {
        return Err(format!(
            "OP_MSG flagBits 0x{flags:08x}: checksums and moreToCome are not served"
        ));
    }
    let mut at = 4;
    let mut body_doc = None;
    let mut sequences = Vec::new();
    while at < body.len() {
        let kind = body[at];
        at += 1;
        match kind {
            0 => {
                if body_doc.is_some() {
                    return Err("two kind-0 sections".into());
                }
                let (doc, n) = Doc::decode(&body[at..])?;
                body_doc = Some(doc);
                at += n;
            }
            1 => {
                let size = body.get(at..at + 4).ok_or("truncated section")?;
                let size =
                    i32::from_le_bytes(size.try_into().map_err(|_| "section size")?) as usize;
                let section = body
                    .get(at + 4..at + size)
                    .ok_or("a section longer than the message")?;
                let end = section
                    .iter()
                    .position(|b| *b == 0)
                    .ok_or("a section identifier without its zero")?;
                let identifier = std::str::from_utf8(&section[..end])
                    .map_err(|_| "identifier")?
                    .to_string();
                let mut docs = Vec::new();
                let mut pos = end + 1;
                while pos < section.len() {
                    let (doc, n) = Doc::decode(&section[pos..])?;
                    docs.push(Bson::Document(doc));
                    pos += n;
                }
                sequences.push((identifier, Bson::Array(docs)));
                at += size;
            }
            other => return Err(format!("OP_MSG section kind {other}")),
        }
    }
    let mut doc = body_doc.ok_or("no kind-0 section")?;
    for (identifier, docs) in sequences {
        if doc.get(&identifier).is_some() {
            return Err(format!("{identifier} both in the body and as a sequence"));
        }
        doc.push(&identifier, docs);
    }
    Ok(doc)
}

fn parse_query(body: &[u8]) -> Result<(String, Doc), String> {
    let rest = body.get(4..).ok_or("no flags")?;
    let end = rest
        .iter()
        .position(|b| *b == 0)
        .ok_or("no collection name")?;
    let collection = std::str::from_utf8(&rest[..end])
        .map_err(|_| "collection name")?
        .to_string();
    let rest = rest.get(end + 1 + 8..).ok_or("no skip and return counts")?;
    let (query, n) = Doc::decode(rest)?;
    if n != rest.len() {
        // A field selector may follow; it must be one document.
        Doc::decode_exact(&rest[n..])?;
    }
    Ok((collection, query))
}

/// The reply to `request` carrying `doc`: OP_MSG for OP_MSG, OP_REPLY for OP_QUERY.
pub fn reply(request: &Request, reply_id: i32, doc: &Doc) -> Vec<u8> {
    let body = doc.encode();
    let mut payload = Vec::new();
    let op = if request.op == OP_QUERY {
        payload.extend_from_slice(&0i32.to_le_bytes()); // responseFlags
        payload.extend_from_slice(&0i64.to_le_bytes()); // cursorID
        payload.extend_from_slice(&0i32.to_le_bytes()); // startingFrom
        payload.extend_from_slice(&1i32.to_le_bytes()); // numberReturned
        OP_REPLY
    } else {
        payload.extend_from_slice(&0u32.to_le_bytes()); // flagBits
        payload.push(0); // one kind-0 section
        OP_MSG
    };
    payload.extend_from_slice(&body);
    let mut out = Vec::with_capacity(16 + payload.len());
    out.extend_from_slice(&((16 + payload.len()) as i32).to_le_bytes());
    out.extend_from_slice(&reply_id.to_le_bytes());
    out.extend_from_slice(&request.id.to_le_bytes());
    out.extend_from_slice(&op.to_le_bytes());
    out.extend_from_slice(&payload);
    out
}
