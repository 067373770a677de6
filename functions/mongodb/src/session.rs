//! An authenticated session: what the engine's commands run in.

use mongodb::Client;
use rotation_core::database::Transport;

use crate::access::Server;

/// An authenticated session: the driver's client (one server, direct), the authentication
/// database and user, how it reaches the server, and what kind of server it is.
pub struct MongoSession {
    pub(crate) client: Client,
    pub(crate) db: String,
    pub(crate) transport: Transport,
    /// Amazon DocumentDB: an AWS DocumentDB endpoint, or a secret saying `"engine": "docdb"`.
    pub(crate) documentdb: bool,
    /// DocumentDB refused `showAuthenticationRestrictions` once: it is not sent again.
    pub(crate) restrictions_refused: bool,
}

impl MongoSession {
    pub(crate) fn server(&self) -> Server {
        if self.documentdb {
            Server::DocumentDb
        } else {
            Server::MongoDb
        }
    }
}
