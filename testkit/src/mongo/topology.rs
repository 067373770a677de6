//! Where a stand-in sits in a deployment: a standalone, or the primary or a secondary of the
//! replica set [`super::REPLICA_SET`] ([`super::Personality::MongoDbReplicaSet`]). What
//! `hello` says of it (`setName`, `hosts`, `primary`, `me`, `secondary`,
//! `topologyVersion`), the awaitable `hello` of streaming monitoring, and a secondary's refusal
//! of writes.
//!
//! Sources: the SDAM and server-monitoring specifications (mongodb/specifications: a reply
//! with `topologyVersion` lets a 4.4+ client stream: it sends `hello` with `topologyVersion`
//! and `maxAwaitTimeMS`, which the server answers when its topology changes or when that time
//! has passed); MongoDB's manual (hello: `isWritablePrimary`, `secondary`, `setName`,
//! `hosts`, `primary`, `me`); error_codes.yml (10107 NotWritablePrimary). On a secondary a
//! user-management command passes its authorization check first (the service entry point
//! checks authorization before it asks the replication coordinator whether this node may
//! accept the write), then fails with 10107 and changes nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::bson::{Bson, Doc};
use super::personality::REPLICA_SET;

/// The longest an awaitable `hello` is held (a client asks for its heartbeat frequency,
/// 10 s by default).
const MAX_AWAIT: Duration = Duration::from_secs(10);

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Not in a replica set (or a DocumentDB personality, which describes its own set).
    Standalone,
    /// The writable primary.
    Primary,
    /// A secondary: reads only.
    Secondary,
}

/// The hosts of a replica set, primary first.
#[derive(Debug, Default)]
pub(super) struct ReplicaSet {
    hosts: Mutex<Vec<String>>,
}

/// One listener's place in the deployment.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) role: Role,
    pub(super) port: u16,
    set: Option<Arc<ReplicaSet>>,
    /// `topologyVersion.processId`: an ObjectId, new per member start.
    process_id: [u8; 12],
}

impl Member {
    /// A member on `port`; a primary starts a set, a secondary joins `primary`'s.
    pub(super) fn new(role: Role, port: u16, primary: Option<&Member>) -> Arc<Self> {
        let set = match role {
            Role::Standalone => None,
            Role::Primary => Some(Arc::new(ReplicaSet::default())),
            Role::Secondary => primary.and_then(|p| p.set.clone()),
        };
        if let Some(set) = &set {
            set.hosts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("127.0.0.1:{port}"));
        }
        let mut process_id = [0u8; 12];
        process_id.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..12]);
        Arc::new(Self {
            role,
            port,
            set,
            process_id,
        })
    }

    fn topology_version(&self) -> Doc {
        Doc::new()
            .with("processId", Bson::ObjectId(self.process_id))
            .with("counter", Bson::Int64(0))
    }

    /// The replica-set fields of `hello` (nothing for a standalone).
    pub(super) fn describe(&self, doc: &mut Doc) {
        let Some(set) = &self.set else {
            return;
        };
        let hosts = set.hosts.lock().unwrap_or_else(|p| p.into_inner()).clone();
        doc.push("topologyVersion", Bson::Document(self.topology_version()));
        doc.push("setName", Bson::String(REPLICA_SET.into()));
        doc.push("setVersion", Bson::Int32(1));
        doc.push("secondary", Bson::Bool(self.role == Role::Secondary));
        if let Some(primary) = hosts.first() {
            doc.push("primary", Bson::String(primary.clone()));
        }
        doc.push(
            "hosts",
            Bson::Array(hosts.into_iter().map(Bson::String).collect()),
        );
        doc.push("me", Bson::String(format!("127.0.0.1:{}", self.port)));
    }

    /// How long to hold `command` before answering: an awaitable `hello` naming this
    /// member's current `topologyVersion` waits its `maxAwaitTimeMS` (at most 10 s); a
    /// stale or absent one is answered at once.
    pub(super) fn await_time(&self, command: &Doc) -> Option<Duration> {
        self.set.as_ref()?;
        let name = command.first_key()?;
        if !matches!(name, "hello" | "isMaster" | "ismaster") {
            return None;
        }
        let Some(Bson::Document(version)) = command.get("topologyVersion") else {
            return None;
        };
        if *version != self.topology_version() {
            return None;
        }
        let ms = command.get("maxAwaitTimeMS").and_then(Bson::as_i64)?;
        Some(Duration::from_millis(u64::try_from(ms).ok()?).min(MAX_AWAIT))
    }
}
