//! MongoDB error replies and the common ones the stand-in answers.

use super::bson::Bson;

/// One MongoDB error reply.
pub(super) struct Failure {
    pub(super) code: i32,
    pub(super) name: &'static str,
    pub(super) message: String,
}

pub(super) fn fail(code: i32, name: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        code,
        name,
        message: message.into(),
    }
}

/// DocumentDB's answer to an argument it does not implement (seen for `createRole` with
/// `authenticationRestrictions`: ansible-collections/community.mongodb#575).
pub(super) fn not_valid_argument(field: &str, command: &str) -> Failure {
    fail(
        2,
        "BadValue",
        format!("\"{field}\" is not a valid argument to {command}"),
    )
}

/// MongoDB's IDL answer to a field of the wrong BSON type.
pub(super) fn wrong_type(path: &str, value: &Bson, expected: &str) -> Failure {
    let found = match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(..) => "binData",
        Bson::ObjectId(_) => "objectId",
        Bson::Bool(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
    };
    fail(
        14,
        "TypeMismatch",
        format!("BSON field '{path}' is the wrong type '{found}', expected type '{expected}'"),
    )
}

pub(super) fn auth_failed() -> Failure {
    fail(18, "AuthenticationFailed", "Authentication failed.")
}
