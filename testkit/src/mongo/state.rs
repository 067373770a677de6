//! What the stand-in holds: users, user-defined roles, counters (shared by its members).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::authz;
use super::bson::Bson;
use super::restriction::Restriction;
use super::scram::{Credential, Mechanism};

/// What the stand-in counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Successful authentications.
    pub logins: u64,
    /// Refused authentications (unknown user, wrong password).
    pub refused: u64,
    /// Commands received (handshakes included).
    pub commands: u64,
    /// Successful authentications that began in the handshake's `speculativeAuthenticate`.
    pub speculative: u64,
    /// Successful authentications with SCRAM-SHA-256 (the rest used SCRAM-SHA-1).
    pub sha256: u64,
    /// Connections accepted.
    pub connections: u64,
}

#[derive(Debug, Clone)]
pub(super) struct User {
    pub(super) roles: Vec<(String, String)>,
    pub(super) credentials: Vec<(Mechanism, Credential)>,
    pub(super) id: [u8; 16],
    pub(super) restrictions: Vec<Restriction>,
    /// Test fixture: fields `usersInfo` reports instead of the user's own (`Null`: left
    /// out), as a server this stand-in does not model might.
    pub(super) reported: Vec<(String, Bson)>,
}

impl User {
    pub(super) fn new(
        roles: Vec<(String, String)>,
        credentials: Vec<(Mechanism, Credential)>,
    ) -> Self {
        Self {
            roles,
            credentials,
            id: *uuid::Uuid::new_v4().as_bytes(),
            restrictions: Vec::new(),
            reported: Vec::new(),
        }
    }

    /// No restriction, or any one document met.
    pub(super) fn may_log_in_from(&self, client: Option<IpAddr>, server: Option<IpAddr>) -> bool {
        self.restrictions.is_empty() || self.restrictions.iter().any(|r| r.met(client, server))
    }
}

#[derive(Debug, Default, Clone)]
pub(super) struct State {
    pub(super) users: BTreeMap<(String, String), User>,
    /// User-defined roles by (db, role).
    pub(super) roles: authz::CustomRoles,
    pub(super) counters: Counters,
    pub(super) connections: i32,
}
