//! The MongoDB-wire adapter's own error: what it found wrong in reading or copying a user's
//! access (roles, authentication restrictions, SCRAM mechanisms), converted into the core's
//! [`RotationError`] at the engine boundary, so the `errorType` names stay the core's stable
//! ones (`UnsupportedServer` before anything changed, `SetSecretFailed` after). Messages name
//! fields and users, never a value from the server (restrictions are not secret, but they are
//! kept out to keep messages short) and never a password.

use rotation_core::RotationError;

/// The hint for a server that is Amazon DocumentDB under a name the function does not know.
const DOCUMENTDB_HINT: &str = "If this server is Amazon DocumentDB reached under another host name, set \"engine\": \"docdb\" in the secret (DocumentDB has no authentication restrictions)";

/// A failure in reading or copying a user's access.
#[derive(Debug, thiserror::Error)]
pub enum MongoError {
    /// `usersInfo` refused `showAuthenticationRestrictions` on a server that is not known to
    /// be Amazon DocumentDB: it cannot report the restrictions the clone must copy.
    #[error("usersInfo refused showAuthenticationRestrictions with error {code} ({code_name}): the server cannot report the authentication restrictions of user {user}, so the clone could not be given the same; nothing was changed. {DOCUMENTDB_HINT}")]
    RestrictionsRefused {
        /// The user asked about.
        user: String,
        /// The server's error code.
        code: i32,
        /// The server's code name.
        code_name: String,
    },
    /// The `usersInfo` answer lacks a field MongoDB always reports when asked.
    #[error("usersInfo does not report {field} of user {user} (MongoDB 4.0 and later always do, with showAuthenticationRestrictions): the clone could not be given the same; nothing was changed. {DOCUMENTDB_HINT}")]
    NotReported {
        /// The missing field.
        field: &'static str,
        /// The user asked about.
        user: String,
    },
    /// A field of the `usersInfo` answer this function does not understand.
    #[error("usersInfo reports {field} of user {user} in a form this function does not understand ({why}); it copies only what it understands, so nothing was changed. Give that user only what MongoDB documents (clientSource / serverAddress lists of IP addresses and CIDR ranges; SCRAM-SHA-1, SCRAM-SHA-256), or rotate it by hand")]
    NotUnderstood {
        /// Where in the user's document, e.g. `authenticationRestrictions[0].clientSource[1]`.
        field: String,
        /// The user asked about.
        user: String,
        /// What is wrong with it, e.g. "not a string".
        why: &'static str,
    },
    /// The superuser lacks a privilege action the next user command needs: refused before
    /// anything was changed (MongoDB would answer 13 Unauthorized).
    #[error("user {user} lacks the {action} action on {place}, needed to {why}: nothing was changed. Grant {}", grant_hint(action))]
    MissingPrivilege {
        /// The session's user.
        user: String,
        /// The action, as MongoDB names it (e.g. `grantRole`).
        action: &'static str,
        /// Where, e.g. `database otherdb`.
        place: String,
        /// What it is needed for.
        why: &'static str,
    },
    /// After `createUser` / `updateUser`, the clone read back does not hold the same access
    /// as the current user.
    #[error("after {operation}, user {clone} does not hold the same {fields} as user {current} (read back with usersInfo): the server did not apply them as sent. AWSCURRENT ({current}) is unchanged and this version is not promoted; the next setSecret sends them again")]
    CloneDiffers {
        /// What was done, e.g. "update the clone".
        operation: &'static str,
        /// The clone (AWSPENDING's user).
        clone: String,
        /// The current user.
        current: String,
        /// The fields that differ, e.g. "authenticationRestrictions, mechanisms".
        fields: String,
    },
}

/// What to grant for a missing action, by action.
fn grant_hint(action: &str) -> &'static str {
    match action {
        "changeOwnPassword" => "a user-defined role granting the changeOwnPassword action on the user's database (or on {db: \"\", collection: \"\"}), as the MongoDB manual's \"Change Your Password\" recipe does",
        "revokeRole" => "userAdminAnyDatabase or root (updateUser with roles needs revokeRole on every database)",
        _ => "userAdmin on that database (userAdminAnyDatabase or root for every database), or a user-defined role granting the action there",
    }
}

impl From<MongoError> for RotationError {
    fn from(e: MongoError) -> Self {
        match e {
            MongoError::CloneDiffers { .. } | MongoError::MissingPrivilege { .. } => {
                RotationError::SetSecret(e.to_string())
            }
            MongoError::RestrictionsRefused { .. }
            | MongoError::NotReported { .. }
            | MongoError::NotUnderstood { .. } => RotationError::UnsupportedServer(e.to_string()),
        }
    }
}
