//! The fault proxy's reading of TDS ([`TdsClassifier`]), for plaintext sessions: a message is
//! its packets up to the one with EOM; a changing message is a SQL batch whose statement
//! changes a login, a user, a role membership or a permission (the function sends every such
//! statement as a batch). A failed one is replaced by a batch the server refuses without
//! changing anything.

use super::packet::{kind, packets, EOM, HEADER};
use crate::{sql_changes_credentials, Classifier};

/// The statement a failed changing batch is replaced with: a bare word, which SQL Server runs
/// as an implicit EXEC of a procedure that does not exist (error 2812), changing nothing.
pub const FAILING_STATEMENT: &str = "fault_proxy_refused_this_statement";

/// Reads TDS for the [`crate::DbFaultProxy`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TdsClassifier;

/// The packets of the first whole message in `buffered`: (their total length, the payloads).
fn message(buffered: &[u8]) -> Option<(usize, Vec<u8>)> {
    let mut at = 0;
    let mut payload = Vec::new();
    loop {
        let header = buffered.get(at..at + HEADER)?;
        // A length below the header is taken as the header alone, for the server to refuse.
        let len = usize::from(u16::from_be_bytes([header[2], header[3]])).max(HEADER);
        let body = buffered.get(at + HEADER..at + len)?;
        payload.extend_from_slice(body);
        at += len;
        if header[1] & EOM != 0 {
            return Some((at, payload));
        }
    }
}

/// A SQL batch's payload split into ALL_HEADERS and its text (TDS 7.2+: the headers' total
/// length comes first, itself included).
fn batch_text(payload: &[u8]) -> Option<(&[u8], String)> {
    let headers = u32::from_le_bytes(payload.get(..4)?.try_into().ok()?) as usize;
    let text = payload.get(headers..)?;
    let units: Vec<u16> = text
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Some((payload.get(..headers)?, String::from_utf16_lossy(&units)))
}

/// True for T-SQL that changes a login, a user, a role or a permission.
pub fn tsql_changes_credentials(text: &str) -> bool {
    let upper = text.trim_start().to_ascii_uppercase();
    sql_changes_credentials(&upper)
        || [
            "ALTER LOGIN",
            "CREATE LOGIN",
            "DROP LOGIN",
            "ALTER SERVER ROLE",
            "DENY",
        ]
        .iter()
        .any(|p| upper.starts_with(p))
}

impl Classifier for TdsClassifier {
    fn message_len(&self, buffered: &[u8], _index: usize) -> Option<usize> {
        message(buffered).map(|(len, _)| len)
    }

    fn is_changing(&self, message_bytes: &[u8], _index: usize) -> bool {
        if message_bytes.first() != Some(&kind::SQL_BATCH) {
            return false;
        }
        message(message_bytes)
            .and_then(|(_, payload)| {
                batch_text(&payload).map(|(_, t)| tsql_changes_credentials(&t))
            })
            .unwrap_or(false)
    }

    /// A batch with the same ALL_HEADERS carrying [`FAILING_STATEMENT`].
    fn failing(&self, message_bytes: &[u8]) -> Vec<u8> {
        let headers = message(message_bytes)
            .and_then(|(_, payload)| batch_text(&payload).map(|(h, _)| h.to_vec()))
            .unwrap_or_default();
        let mut payload = headers;
        for unit in FAILING_STATEMENT.encode_utf16() {
            payload.extend_from_slice(&unit.to_le_bytes());
        }
        packets(kind::SQL_BATCH, 0, &payload, 4096)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(text: &str, packet_size: usize) -> Vec<u8> {
        let mut payload = 22u32.to_le_bytes().to_vec();
        payload.extend_from_slice(&[0u8; 18]);
        for unit in text.encode_utf16() {
            payload.extend_from_slice(&unit.to_le_bytes());
        }
        packets(kind::SQL_BATCH, 0, &payload, packet_size)
    }

    #[test]
    fn batches_that_change_credentials_are_found_across_packets() {
        let c = TdsClassifier;
        for (text, changing) in [
            ("ALTER LOGIN [a] WITH PASSWORD = N'x'", true),
            ("  create login [b] WITH PASSWORD = N'x'", true),
            ("CREATE USER [b] FOR LOGIN [b]", true),
            ("ALTER ROLE [db_datareader] ADD MEMBER [b]", true),
            ("ALTER SERVER ROLE [processadmin] ADD MEMBER [b]", true),
            ("GRANT SELECT TO [b]", true),
            ("DENY SELECT TO [b]", true),
            ("REVOKE SELECT FROM [b]", true),
            ("SELECT SUSER_SNAME()", false),
        ] {
            let m = batch(text, 64);
            assert!(m.len() > 64, "several packets");
            assert_eq!(c.message_len(&m, 3), Some(m.len()), "{text}");
            assert_eq!(c.message_len(&m[..m.len() - 1], 3), None, "{text}");
            assert_eq!(c.is_changing(&m, 3), changing, "{text}");
        }
    }

    #[test]
    fn the_failing_batch_keeps_the_headers_and_changes_nothing() {
        let c = TdsClassifier;
        let m = batch("ALTER LOGIN [a] WITH PASSWORD = N'x'", 4096);
        let f = c.failing(&m);
        let (_, payload) = message(&f).unwrap();
        let (headers, text) = batch_text(&payload).unwrap();
        assert_eq!(headers.len(), 22);
        assert_eq!(text, FAILING_STATEMENT);
        assert!(!c.is_changing(&f, 3));
    }
}
