//! What a replica-set secondary answers to a user change: its authorization is checked as on
//! the primary, then 10107 NotWritablePrimary.

use std::sync::{Arc, Mutex};

use super::failure::{fail, Failure};
use super::session::Session;
use super::state::State;
use super::topology::Role;
use super::wire::Request;

/// Commands a secondary refuses with 10107.
const WRITES: &[&str] = &["createUser", "updateUser", "dropUser"];

impl Session {
    /// A secondary's answer to a write it may not take: the command runs against a copy of
    /// the users, so that its authorization is checked exactly as on the primary; a refusal
    /// of authorization (13) is the answer, anything else becomes 10107 NotWritablePrimary.
    /// Nothing is changed either way. `None`: not a secondary, or not a write.
    pub(super) fn refused_by_role(&mut self, name: &str, request: &Request) -> Option<Failure> {
        if self.member.role != Role::Secondary || !WRITES.contains(&name) {
            return None;
        }
        let copy: State = self.lock().clone();
        let mut probe = Session {
            personality: self.personality,
            member: self.member.clone(),
            state: Arc::new(Mutex::new(copy)),
            addresses: self.addresses,
            connection_id: self.connection_id,
            user: self.user.clone(),
            conversations: Default::default(),
            next_conversation: 1,
        };
        let db = request.command.str("$db").unwrap_or("admin").to_string();
        let outcome = match name {
            "createUser" => probe.create_user(&request.command, &db),
            "updateUser" => probe.update_user(&request.command, &db),
            _ => probe.drop_user(&request.command, &db),
        };
        Some(match outcome {
            Err(f) if f.code == 13 => f,
            _ => fail(10107, "NotWritablePrimary", "not primary"),
        })
    }
}
