//! The MySQL wire protocol as the fault proxy reads it: packets of a 3-byte little-endian
//! length, a sequence number and a payload. A command (sequence 0) that is a `COM_QUERY` whose
//! text changes a credential is what a fault hits; a failing one is replaced by a query on a
//! missing table (error 1146).

use rotation_testkit::{sql_changes_credentials, Classifier};

/// The command byte of a text query.
const COM_QUERY: u8 = 0x03;

/// The MySQL and MariaDB classifier.
pub struct MyClassifier;

impl Classifier for MyClassifier {
    fn message_len(&self, buffered: &[u8], _index: usize) -> Option<usize> {
        let head = buffered.get(..4)?;
        Some(4 + u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize)
    }

    fn is_changing(&self, message: &[u8], _index: usize) -> bool {
        // A command starts a new sequence (0); the handshake and auth packets do not.
        message.get(3) == Some(&0)
            && message.get(4) == Some(&COM_QUERY)
            && sql_changes_credentials(&String::from_utf8_lossy(&message[5..]))
    }

    fn failing(&self, _message: &[u8]) -> Vec<u8> {
        let mut payload = vec![COM_QUERY];
        payload.extend_from_slice(b"SELECT * FROM mysql.no_such_table_for_a_fault");
        let len = (payload.len() as u32).to_le_bytes();
        [&len[..3], &[0u8], &payload[..]].concat()
    }
}
