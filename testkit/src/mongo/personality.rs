//! Which server the stand-in answers as, and what each personality implies.

use super::scram::{Mechanism, NameRule};

/// Which server the stand-in answers as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// Amazon DocumentDB 4.0 (instance-based cluster endpoint), answering `helloOk` and
    /// `speculativeAuthenticate` as a 4.4+ server does (whether 4.0 does is [U]).
    DocumentDb40,
    /// Amazon DocumentDB 4.0 with a pre-4.4 handshake: no `hello` (59 CommandNotFound),
    /// `helloOk` and `speculativeAuthenticate` ignored, so a client stays on `isMaster` and
    /// authenticates with a plain `saslStart`.
    DocumentDb40Legacy,
    /// Amazon DocumentDB 5.0 (instance-based, 5.0.1+): SCRAM-SHA-256 and SCRAM-SHA-1;
    /// `createUser` / `updateUser` take `mechanisms`.
    DocumentDb50,
    /// A current MongoDB (7.0), standalone.
    MongoDb,
    /// A current MongoDB (7.0), a member of replica set [`REPLICA_SET`]: [`MongoStandIn::start`]
    /// serves its primary, [`MongoStandIn::start_secondary`] a secondary sharing its users.
    MongoDbReplicaSet,
}

/// The name of the user-defined role of [`MongoStandIn::own_password_role`].
pub const OWN_PASSWORD_ROLE: &str = "changeOwnPasswordRole";

/// The host the DocumentDB personality's member list names: it does not resolve.
pub const MEMBER_HOST: &str = "docdb-instance-1.stand-in.invalid:27017";

/// The replica-set name of [`Personality::MongoDbReplicaSet`].
pub const REPLICA_SET: &str = "rs1";

impl Personality {
    pub(super) fn max_wire_version(self) -> i32 {
        match self {
            Personality::DocumentDb40 | Personality::DocumentDb40Legacy => 7,
            // [U]: DocumentDB 5.0's wire version was not found; MongoDB 5.0's is 13.
            Personality::DocumentDb50 => 13,
            Personality::MongoDb | Personality::MongoDbReplicaSet => 21,
        }
    }

    pub(super) fn version(self) -> &'static str {
        match self {
            Personality::DocumentDb40 | Personality::DocumentDb40Legacy => "4.0.0",
            Personality::DocumentDb50 => "5.0.0",
            Personality::MongoDb | Personality::MongoDbReplicaSet => "7.0.14",
        }
    }

    /// The mechanisms the server accepts, preferred first.
    pub fn mechanisms(self) -> &'static [Mechanism] {
        match self {
            Personality::DocumentDb40 | Personality::DocumentDb40Legacy => &[Mechanism::Sha1],
            Personality::DocumentDb50 | Personality::MongoDb | Personality::MongoDbReplicaSet => {
                &[Mechanism::Sha256, Mechanism::Sha1]
            }
        }
    }

    /// Amazon DocumentDB (any version): users in `admin` only, no authentication
    /// restrictions, DocumentDB's input rules ([`docdb`]).
    pub fn is_documentdb(self) -> bool {
        matches!(
            self,
            Personality::DocumentDb40 | Personality::DocumentDb40Legacy | Personality::DocumentDb50
        )
    }

    /// How SCRAM's user name is read: as MongoDB does (V4), or, on DocumentDB, whose
    /// reading is [U], as RFC 5802 requires (the stricter).
    pub fn name_rule(self) -> NameRule {
        if self.is_documentdb() {
            NameRule::Rfc5802
        } else {
            NameRule::MongoDb
        }
    }

    /// Answers `helloOk` and `speculativeAuthenticate` (MongoDB 4.4+), and `hello` itself.
    pub(super) fn modern_handshake(self) -> bool {
        self != Personality::DocumentDb40Legacy
    }
}
