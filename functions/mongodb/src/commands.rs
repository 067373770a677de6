//! Running one command in a session, bounded by [`COMMAND_TIMEOUT`], and reading its answer:
//! the user entry of a `usersInfo` reply, and the step errors a refused command becomes (never
//! quoting a command that carried a password).

use std::time::Duration;

use mongodb::bson::{Bson, Document};
use mongodb::error::ErrorKind;
use rotation_core::{Result, RotationError};

use crate::connect::short;
use crate::session::MongoSession;

/// How long one command may take once logged in (the driver 3.2 has no socket timeout of its
/// own): a user command that waits longer (a replica set that cannot reach a majority) fails
/// the step, well inside the function's timeout, and Secrets Manager retries it.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The operation name of single user's password change (its Unauthorized error names the
/// action it needs).
pub(crate) const OWN_PASSWORD: &str = "change the user's own password";

/// The codes of a write sent to a replica-set member that is not the primary (MongoDB
/// error_codes.yml: 10107 NotWritablePrimary, 13435 NotPrimaryNoSecondaryOk, 189
/// PrimarySteppedDown).
pub(crate) const NOT_PRIMARY: [i32; 3] = [10107, 13435, 189];

/// The entry of `info` (a `usersInfo` answer) for exactly `user` in `db`, if any.
pub(crate) fn entry_of(info: &Document, user: &str, db: &str) -> Result<Option<Document>> {
    let users = info
        .get_array("users")
        .map_err(|_| unexpected("usersInfo has no users array"))?;
    // Only an entry for exactly this user in this database counts; two are not understood.
    let matching: Vec<&Document> = users
        .iter()
        .filter_map(Bson::as_document)
        .filter(|u| u.get_str("user") == Ok(user) && u.get_str("db") == Ok(db))
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [found] => Ok(Some((*found).clone())),
        _ => Err(unexpected("usersInfo lists the user more than once")),
    }
}

/// Runs `command` in the session's database within [`COMMAND_TIMEOUT`]: the driver's answer,
/// or a [`RotationError::SetSecret`] when none came in time.
pub(crate) async fn run(
    session: &MongoSession,
    command: Document,
    operation: &str,
) -> Result<std::result::Result<Document, mongodb::error::Error>> {
    tracing::debug!(operation, "command");
    let database = session.client.database(&session.db);
    tokio::time::timeout(COMMAND_TIMEOUT, database.run_command(command))
        .await
        .map_err(|_| {
            RotationError::SetSecret(format!(
                "{operation}: no answer within {} s (the server may still apply it; the step is retried)",
                COMMAND_TIMEOUT.as_secs()
            ))
        })
}

pub(crate) fn unexpected(what: &str) -> RotationError {
    RotationError::UnsupportedServer(format!(
        "the server's answer is not one this function understands: {what}"
    ))
}

/// A failed command: its code and code name, never its message when the command carried a
/// password (a server may quote it).
pub(crate) fn command_error(operation: &str, db: &str, e: &mongodb::error::Error) -> RotationError {
    match e.kind.as_ref() {
        ErrorKind::Command(c) if c.code == 13 && operation == OWN_PASSWORD => RotationError::SetSecret(format!(
            "{operation}: the server refused it as unauthorized (13 Unauthorized): changing one's own password needs the changeOwnPassword action on {db} (a custom role granting it)"
        )),
        ErrorKind::Command(c) if c.code == 13 => RotationError::SetSecret(format!(
            "{operation}: the server refused it as unauthorized (13 Unauthorized): reading and managing the users of {db} needs viewUser, createUser and changePassword on it, and grantRole on each database the copied roles live on (userAdmin there, or userAdminAnyDatabase / root)"
        )),
        ErrorKind::Command(c) if NOT_PRIMARY.contains(&c.code) => RotationError::SetSecret(format!(
            "{operation}: the server is not the replica set's primary ({} {}): users change only on the primary, and nothing was changed. Set the secret's host to the primary, or to the cluster endpoint, which always names it (a DocumentDB reader or instance endpoint may name a replica)",
            c.code, c.code_name
        )),
        ErrorKind::Command(c) => RotationError::SetSecret(format!(
            "{operation}: the server answered error {} ({})",
            c.code, c.code_name
        )),
        _ => RotationError::SetSecret(format!("{operation}: {}", short(e))),
    }
}
