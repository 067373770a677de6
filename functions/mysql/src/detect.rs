//! Reading what the server is over a session: `VERSION()` and the session's `sql_mode`, and on
//! MariaDB whether a password-validation policy makes it refuse hashed passwords. Reads only.

use rotation_core::{Result, RotationError};

use crate::server::{Family, Server};
use crate::session::{text, MySession};
use crate::statements::MARIADB_POLICY_SQL;

/// What the server is (and, on MariaDB, whether a password-validation policy makes it refuse
/// hashed passwords). Reads only.
pub(crate) async fn read_server(session: &mut MySession) -> Result<Server> {
    let row = &session
        .query_row(
            "SELECT VERSION(), @@SESSION.sql_mode",
            "read the server version",
            "SELECT VERSION()",
        )
        .await?;
    let (version, sql_mode) = (
        text(row, 0, "VERSION()")?,
        text(row, 1, "@@sql_mode").unwrap_or_default(),
    );
    let mut server =
        Server::detect(&version, &sql_mode).map_err(RotationError::UnsupportedServer)?;
    if server.family == Family::MariaDb {
        let rows = session
            .query_rows(
                MARIADB_POLICY_SQL,
                "read the password-validation policy",
                false,
            )
            .await?;
        let row = rows.first().map(Vec::as_slice).unwrap_or_default();
        let strict = text(row, 0, "@@strict_password_validation").unwrap_or_default();
        let plugins = text(row, 1, "the number of password-validation plugins").unwrap_or_default();
        server.plaintext_passwords = strict == "1" && plugins.parse::<u32>().unwrap_or(0) > 0;
    }
    Ok(server)
}
