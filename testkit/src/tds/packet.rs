//! TDS packets [MS-TDS, packet header]: an 8-byte header (type, status, big-endian length including
//! the header, SPID, packet id, window) and a payload; a message is the payloads of packets up
//! to the one whose status has EOM (0x01).

use std::io;

/// The header's length.
pub const HEADER: usize = 8;
/// Status bit: the last packet of a message.
pub const EOM: u8 = 0x01;
/// Status bit: the client's message ends here and the request is to be ignored.
pub const IGNORE: u8 = 0x02;
/// The packet size used before LOGIN7 negotiates one (and when a client asks for 0).
pub const DEFAULT_PACKET_SIZE: usize = 4096;
/// The largest message the stand-in reassembles (LOGIN7 is at most 128K-1 bytes, 2.2.6.4; a
/// batch longer than this is refused).
pub const MAX_MESSAGE: usize = 1 << 20;

/// Packet types [MS-TDS].
pub mod kind {
    /// SQL batch.
    pub const SQL_BATCH: u8 = 0x01;
    /// Pre-TDS7 login (refused).
    pub const PRE_TDS7_LOGIN: u8 = 0x02;
    /// Remote procedure call.
    pub const RPC: u8 = 0x03;
    /// Tabular result (every server message).
    pub const REPLY: u8 = 0x04;
    /// Attention.
    pub const ATTENTION: u8 = 0x06;
    /// Bulk load.
    pub const BULK: u8 = 0x07;
    /// Transaction manager request.
    pub const TRANSACTION_MANAGER: u8 = 0x0E;
    /// LOGIN7.
    pub const LOGIN7: u8 = 0x10;
    /// SSPI.
    pub const SSPI: u8 = 0x11;
    /// PRELOGIN (and, in TDS 7.x, the TLS handshake's carrier).
    pub const PRELOGIN: u8 = 0x12;
}

/// A packet header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The packet type.
    pub kind: u8,
    /// The status bits.
    pub status: u8,
    /// The whole packet's length, header included.
    pub length: u16,
    /// The server process id.
    pub spid: u16,
    /// The packet's number, modulo 256.
    pub packet_id: u8,
}

impl Header {
    /// Reads a header, refusing a length shorter than the header itself.
    pub fn parse(b: &[u8; HEADER]) -> io::Result<Header> {
        let length = u16::from_be_bytes([b[2], b[3]]);
        if (length as usize) < HEADER {
            return Err(bad(format!(
                "TDS packet length {length} is shorter than its header"
            )));
        }
        Ok(Header {
            kind: b[0],
            status: b[1],
            length,
            spid: u16::from_be_bytes([b[4], b[5]]),
            packet_id: b[6],
        })
    }

    /// The header's bytes (window 0).
    pub fn bytes(&self) -> [u8; HEADER] {
        let l = self.length.to_be_bytes();
        let s = self.spid.to_be_bytes();
        [
            self.kind,
            self.status,
            l[0],
            l[1],
            s[0],
            s[1],
            self.packet_id,
            0,
        ]
    }
}

/// A reassembled message.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    /// The type of its packets.
    pub kind: u8,
    /// The status of its last packet.
    pub status: u8,
    /// The payloads, concatenated.
    pub payload: Vec<u8>,
}

/// Reassembles packets into messages: feed it whole packets in order.
#[derive(Default)]
pub struct Reassembler {
    kind: Option<u8>,
    payload: Vec<u8>,
}

impl Reassembler {
    /// Adds one packet (header and payload); a message when it had EOM. A packet whose type
    /// differs from its message's first is refused, as is a message past [`MAX_MESSAGE`].
    pub fn push(&mut self, header: Header, payload: &[u8]) -> io::Result<Option<Message>> {
        match self.kind {
            Some(k) if k != header.kind => {
                return Err(bad(format!(
                    "TDS packet of type 0x{:02x} inside a message of type 0x{k:02x}",
                    header.kind
                )))
            }
            _ => self.kind = Some(header.kind),
        }
        if self.payload.len() + payload.len() > MAX_MESSAGE {
            return Err(bad("TDS message too long for the stand-in".into()));
        }
        self.payload.extend_from_slice(payload);
        if header.status & EOM == 0 {
            return Ok(None);
        }
        self.kind = None;
        Ok(Some(Message {
            kind: header.kind,
            status: header.status,
            payload: std::mem::take(&mut self.payload),
        }))
    }
}

/// Splits a message into packets of at most `packet_size` bytes (header included), numbered
/// from `first_id`; the last has EOM.
pub fn packets(kind: u8, spid: u16, payload: &[u8], packet_size: usize) -> Vec<u8> {
    let chunk = packet_size.max(HEADER + 1) - HEADER;
    let mut out = Vec::with_capacity(payload.len() + HEADER * (payload.len() / chunk + 1));
    let pieces: Vec<&[u8]> = if payload.is_empty() {
        vec![&[][..]]
    } else {
        payload.chunks(chunk).collect()
    };
    let last = pieces.len() - 1;
    for (i, piece) in pieces.into_iter().enumerate() {
        let header = Header {
            kind,
            status: if i == last { EOM } else { 0 },
            length: (piece.len() + HEADER) as u16,
            spid,
            packet_id: (i as u8).wrapping_add(1),
        };
        out.extend_from_slice(&header.bytes());
        out.extend_from_slice(piece);
    }
    out
}

/// An `InvalidData` error: the peer broke the protocol.
pub fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(bytes: &[u8]) -> Vec<(Header, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let h = Header::parse(rest[..HEADER].try_into().unwrap()).unwrap();
            let l = h.length as usize;
            out.push((h, rest[HEADER..l].to_vec()));
            rest = &rest[l..];
        }
        out
    }

    #[test]
    fn a_long_message_splits_and_reassembles() {
        let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let wire = packets(kind::REPLY, 52, &payload, 4096);
        let parts = split(&wire);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].0.length, 4096);
        assert_eq!(parts[0].0.status, 0);
        assert_eq!(parts[2].0.status, EOM);
        assert_eq!(parts[1].0.packet_id, 2);
        assert_eq!(parts[0].0.spid, 52);
        let mut r = Reassembler::default();
        assert!(r.push(parts[0].0, &parts[0].1).unwrap().is_none());
        assert!(r.push(parts[1].0, &parts[1].1).unwrap().is_none());
        let m = r.push(parts[2].0, &parts[2].1).unwrap().unwrap();
        assert_eq!((m.kind, m.payload), (kind::REPLY, payload));
    }

    #[test]
    fn an_empty_message_is_one_packet() {
        let wire = packets(kind::REPLY, 1, &[], 512);
        assert_eq!(wire, [4, 1, 0, 8, 0, 1, 1, 0]);
    }

    #[test]
    fn a_type_change_inside_a_message_and_a_short_length_are_refused() {
        let mut r = Reassembler::default();
        let h = |kind, status| Header {
            kind,
            status,
            length: 9,
            spid: 0,
            packet_id: 1,
        };
        r.push(h(kind::SQL_BATCH, 0), b"a").unwrap();
        assert!(r.push(h(kind::RPC, EOM), b"b").is_err());
        assert!(Header::parse(&[1, 1, 0, 7, 0, 0, 1, 0]).is_err());
    }
}
