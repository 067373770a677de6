//! The PostgreSQL wire protocol as the fault proxy reads it: the startup message (a length,
//! itself included, and a body; no type byte), then messages of a type byte and a length. A
//! simple query (`Q`) whose text changes a credential is what a fault hits; a failing one is
//! replaced by `SELECT 1/0`.

use rotation_testkit::{sql_changes_credentials, Classifier};

/// The PostgreSQL (and Redshift) classifier.
pub struct PgClassifier;

impl Classifier for PgClassifier {
    fn message_len(&self, buffered: &[u8], index: usize) -> Option<usize> {
        let (at, extra) = if index == 0 { (0, 0) } else { (1, 1) };
        let len = buffered.get(at..at + 4)?;
        let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
        Some(len.max(4) + extra)
    }

    fn is_changing(&self, message: &[u8], index: usize) -> bool {
        index > 0
            && message.first() == Some(&b'Q')
            && sql_changes_credentials(&String::from_utf8_lossy(&message[5..]))
    }

    fn failing(&self, _message: &[u8]) -> Vec<u8> {
        let query = b"SELECT 1/0\0";
        let mut message = vec![b'Q'];
        message.extend_from_slice(&((query.len() + 4) as u32).to_be_bytes());
        message.extend_from_slice(query);
        message
    }
}
