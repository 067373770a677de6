//! The fault proxy's reading of MongoDB's wire protocol ([`OpMsgClassifier`]): messages framed
//! by their length word, and the OP_MSG commands that change a user (`createUser`,
//! `updateUser`, `dropUser`, `grantRolesToUser`, `revokeRolesFromUser`).

use super::bson::{Bson, Doc};
use super::wire::{parse_msg, OP_MSG};
use crate::Classifier;

/// The commands that change a user, its password or its roles.
const CHANGING: [&str; 5] = [
    "createUser",
    "updateUser",
    "dropUser",
    "grantRolesToUser",
    "revokeRolesFromUser",
];

/// The command a failed user command is replaced with: no server knows it (59
/// CommandNotFound), so it changes nothing.
pub const FAILING_COMMAND: &str = "faultProxyRefusedThisCommand";

/// Reads MongoDB's wire protocol for the [`crate::DbFaultProxy`] (plaintext sessions).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpMsgClassifier;

fn word(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The OP_MSG command in `message`, when it is one.
fn command(message: &[u8]) -> Option<Doc> {
    (word(message, 12)? == OP_MSG)
        .then(|| parse_msg(message.get(16..)?).ok())
        .flatten()
}

impl Classifier for OpMsgClassifier {
    /// Every message starts with its whole length (a length below the header's 16 bytes is
    /// relayed as 16 bytes, for the server to refuse).
    fn message_len(&self, buffered: &[u8], _index: usize) -> Option<usize> {
        let len = word(buffered, 0)?;
        Some(usize::try_from(len).unwrap_or(0).max(16))
    }

    fn is_changing(&self, message: &[u8], _index: usize) -> bool {
        command(message)
            .and_then(|c| c.first_key().map(|k| CHANGING.contains(&k)))
            .unwrap_or(false)
    }

    /// An OP_MSG with the same request id and database carrying [`FAILING_COMMAND`].
    fn failing(&self, message: &[u8]) -> Vec<u8> {
        let db = command(message)
            .and_then(|c| c.str("$db").map(str::to_string))
            .unwrap_or_else(|| "admin".into());
        let body = Doc::new()
            .with(FAILING_COMMAND, Bson::Int32(1))
            .with("$db", Bson::String(db))
            .encode();
        let mut out = Vec::with_capacity(21 + body.len());
        out.extend_from_slice(&((21 + body.len()) as i32).to_le_bytes());
        out.extend_from_slice(&word(message, 4).unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&OP_MSG.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.push(0);
        out.extend_from_slice(&body);
        out
    }
}
