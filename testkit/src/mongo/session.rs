//! One connection: the handshake, SCRAM authentication and command dispatch.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::authz;
use super::bson::{Bson, Doc};
use super::failure::{auth_failed, fail, Failure};
use super::personality::{Personality, MEMBER_HOST};
use super::scram::{self, Conversation, Credential, Mechanism};
use super::state::State;
use super::topology::{Member, Role};
use super::wire;

pub(super) fn credentials(
    mechanisms: &[Mechanism],
    user: &str,
    password: &str,
) -> Option<Vec<(Mechanism, Credential)>> {
    mechanisms
        .iter()
        .map(|m| Credential::new(*m, user, password).map(|c| (*m, c)))
        .collect()
}

/// A SCRAM conversation in progress on a connection.
pub(super) struct Pending {
    pub(super) conversation: Conversation,
    pub(super) db: String,
    pub(super) user: String,
    /// The client asked for `skipEmptyExchange`.
    pub(super) skip: bool,
    /// 1 after saslStart, 2 after the server's final message.
    pub(super) stage: u8,
    /// Begun in the handshake's `speculativeAuthenticate`.
    pub(super) speculative: bool,
}

/// One connection's state.
pub(super) struct Session {
    pub(super) personality: Personality,
    pub(super) member: Arc<Member>,
    pub(super) state: Arc<Mutex<State>>,
    /// The client's address and the address the server accepted the connection on.
    pub(super) addresses: (Option<IpAddr>, Option<IpAddr>),
    pub(super) connection_id: i32,
    pub(super) user: Option<(String, String)>,
    pub(super) conversations: BTreeMap<i32, Pending>,
    pub(super) next_conversation: i32,
}

pub(super) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    personality: Personality,
    member: Arc<Member>,
    state: Arc<Mutex<State>>,
    addresses: (Option<IpAddr>, Option<IpAddr>),
) {
    let connection_id = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.connections += 1;
        s.counters.connections += 1;
        s.connections
    };
    let mut session = Session {
        personality,
        member,
        state,
        addresses,
        connection_id,
        user: None,
        conversations: BTreeMap::new(),
        next_conversation: 1,
    };
    let mut reply_id = 0;
    loop {
        let request = match wire::read(&mut stream).await {
            Ok(Some(r)) => r,
            // A malformed message closes the connection, as a server does.
            Ok(None) | Err(_) => return,
        };
        session.lock().counters.commands += 1;
        // An awaitable hello (streaming monitoring) is answered when the topology changes or
        // maxAwaitTimeMS passes: here it never changes.
        if let Some(wait) = session.member.await_time(&request.command) {
            tokio::time::sleep(wait).await;
        }
        let doc = match session.answer(&request) {
            Ok(doc) => doc.with("ok", Bson::Double(1.0)),
            Err(f) => Doc::new()
                .with("ok", Bson::Double(0.0))
                .with("errmsg", Bson::String(f.message))
                .with("code", Bson::Int32(f.code))
                .with("codeName", Bson::String(f.name.into())),
        };
        reply_id += 1;
        if stream
            .write_all(&wire::reply(&request, reply_id, &doc))
            .await
            .is_err()
        {
            return;
        }
    }
}

pub(super) fn binary_payload(command: &Doc) -> Result<String, Failure> {
    match command.get("payload") {
        Some(Bson::Binary(0, bytes)) => String::from_utf8(bytes.clone())
            .map_err(|_| fail(2, "BadValue", "a SASL payload that is not UTF-8")),
        Some(Bson::String(s)) => Ok(s.clone()),
        _ => Err(fail(2, "BadValue", "payload must be BinData subtype 0")),
    }
}

/// A `roles` array as (role, db) pairs, a bare name on `db`, duplicates once (the server
/// resolves them into a set). Parsed only: whether the roles exist is the command body's
/// business, after authorization.
pub(super) fn role_list(value: Option<&Bson>, db: &str) -> Result<Vec<(String, String)>, Failure> {
    let Some(Bson::Array(items)) = value else {
        return Err(fail(2, "BadValue", "roles must be an array"));
    };
    let mut roles = Vec::new();
    for item in items {
        let (role, on) = match item {
            Bson::String(r) => (r.clone(), db.to_string()),
            Bson::Document(d) => match (d.str("role"), d.str("db")) {
                (Some(r), Some(on)) => (r.to_string(), on.to_string()),
                _ => return Err(fail(2, "BadValue", "a role document needs role and db")),
            },
            _ => {
                return Err(fail(
                    14,
                    "TypeMismatch",
                    "a role must be a string or a document",
                ))
            }
        };
        if !roles.contains(&(role.clone(), on.clone())) {
            roles.push((role, on));
        }
    }
    Ok(roles)
}

/// The names a `usersInfo` / `rolesInfo` command asks for, as (name, database): a name (in
/// `db`), a `{<key>, db}` document, an array of them; or 1, every one in `db` (the `bool`).
pub(super) fn wanted_names(
    command: &Doc,
    name: &str,
    key: &str,
    db: &str,
) -> Result<(Vec<(String, String)>, bool), Failure> {
    let one = |v: &Bson| -> Result<(String, String), Failure> {
        match v {
            Bson::String(n) => Ok((n.clone(), db.to_string())),
            Bson::Document(d) => match (d.str(key), d.str("db")) {
                (Some(n), Some(on)) => Ok((n.to_string(), on.to_string())),
                _ => Err(fail(
                    2,
                    "BadValue",
                    format!("a {name} document needs {key} and db"),
                )),
            },
            _ => Err(fail(
                14,
                "TypeMismatch",
                format!("{name} takes a name, a {{{key}, db}} document, an array of them, or 1"),
            )),
        }
    };
    match command.get(name) {
        Some(Bson::Array(items)) => Ok((items.iter().map(one).collect::<Result<_, _>>()?, false)),
        Some(v @ (Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_))) if v.as_i64() == Some(1) => {
            Ok((Vec::new(), true))
        }
        Some(v) => Ok((vec![one(v)?], false)),
        None => Err(fail(2, "BadValue", format!("{name} needs a value"))),
    }
}

pub(super) fn mechanism_names(credentials: &[(Mechanism, Credential)]) -> Bson {
    Bson::Array(
        credentials
            .iter()
            .map(|(m, _)| Bson::String(m.name().into()))
            .collect(),
    )
}

impl Session {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn roles(&self) -> Vec<(String, String)> {
        let Some(key) = &self.user else {
            return Vec::new();
        };
        self.lock()
            .users
            .get(key)
            .map(|u| u.roles.clone())
            .unwrap_or_default()
    }

    /// What the session's user may do: the privileges of its roles, direct and inherited, read
    /// now (MongoDB refreshes a session's user when its roles change).
    pub(super) fn privileges(&self) -> Vec<authz::Privilege> {
        let roles = self.roles();
        authz::privileges_of(&self.lock().roles, &roles)
    }

    pub(super) fn answer(&mut self, request: &wire::Request) -> Result<Doc, Failure> {
        let command = &request.command;
        let name = command.first_key().unwrap_or("").to_string();
        let db = match &request.collection {
            Some(collection) => match collection.strip_suffix(".$cmd") {
                Some(db) => db.to_string(),
                None => {
                    return Err(fail(
                        352,
                        "UnsupportedOpQueryCommand",
                        "OP_QUERY is served for commands only",
                    ))
                }
            },
            None => command.str("$db").map(str::to_string).ok_or_else(|| {
                fail(
                    40571,
                    "Location40571",
                    "OP_MSG requests require a $db argument",
                )
            })?,
        };
        let handshake = matches!(name.as_str(), "hello" | "isMaster" | "ismaster");
        if request.op == wire::OP_QUERY && !handshake {
            return Err(fail(
                352,
                "UnsupportedOpQueryCommand",
                format!("Unsupported OP_QUERY command: {name}"),
            ));
        }
        let open = handshake
            || matches!(
                name.as_str(),
                "ping" | "buildInfo" | "buildinfo" | "saslStart" | "saslContinue" | "endSessions"
            );
        if !open && self.user.is_none() {
            return Err(fail(
                13,
                "Unauthorized",
                format!("command {name} requires authentication"),
            ));
        }
        if name == "hello" && !self.personality.modern_handshake() {
            // MongoDB before 4.0.21 / 4.4.2 has no `hello` (SERVER-49986).
            return Err(fail(59, "CommandNotFound", "no such command: 'hello'"));
        }
        if let Some(refused) = self.refused_by_role(&name, request) {
            return Err(refused);
        }
        match name.as_str() {
            "hello" | "isMaster" | "ismaster" => self.hello(command, &name),
            "ping" | "endSessions" => Ok(Doc::new()),
            "buildInfo" | "buildinfo" => Ok(Doc::new()
                .with("version", Bson::String(self.personality.version().into()))
                .with("maxBsonObjectSize", Bson::Int32(16_777_216))),
            "saslStart" => self.sasl_start(command, &db),
            "saslContinue" => self.sasl_continue(command),
            "connectionStatus" => Ok(self.connection_status(command)),
            "usersInfo" => self.users_info(command, &db),
            "createUser" => self.create_user(command, &db),
            "updateUser" => self.update_user(command, &db),
            "dropUser" => self.drop_user(command, &db),
            "grantRolesToUser" => self.grant_roles_to_user(command, &db),
            "revokeRolesFromUser" => self.revoke_roles_from_user(command, &db),
            "createRole" => self.create_role(command, &db),
            "rolesInfo" => self.roles_info(command, &db),
            "dropRole" => self.drop_role(command, &db),
            other => Err(fail(
                59,
                "CommandNotFound",
                format!("no such command: '{other}'"),
            )),
        }
    }

    pub(super) fn hello(&mut self, command: &Doc, name: &str) -> Result<Doc, Failure> {
        let primary_key = if name == "hello" {
            "isWritablePrimary"
        } else {
            "ismaster"
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut doc = Doc::new();
        if command.get("helloOk").is_some() && self.personality.modern_handshake() {
            doc.push("helloOk", Bson::Bool(true));
        }
        doc.push(primary_key, Bson::Bool(self.member.role != Role::Secondary));
        if self.personality.is_documentdb() {
            doc.push("setName", Bson::String("rs0".into()));
            doc.push("secondary", Bson::Bool(false));
            doc.push("hosts", Bson::Array(vec![Bson::String(MEMBER_HOST.into())]));
            doc.push("primary", Bson::String(MEMBER_HOST.into()));
            doc.push("me", Bson::String(MEMBER_HOST.into()));
        }
        self.member.describe(&mut doc);
        doc.push("maxBsonObjectSize", Bson::Int32(16_777_216));
        doc.push("maxMessageSizeBytes", Bson::Int32(48_000_000));
        doc.push("maxWriteBatchSize", Bson::Int32(100_000));
        doc.push("localTime", Bson::DateTime(now));
        doc.push("logicalSessionTimeoutMinutes", Bson::Int32(30));
        doc.push("connectionId", Bson::Int32(self.connection_id));
        doc.push("minWireVersion", Bson::Int32(0));
        doc.push(
            "maxWireVersion",
            Bson::Int32(self.personality.max_wire_version()),
        );
        doc.push("readOnly", Bson::Bool(false));
        if let Some(Bson::String(who)) = command.get("saslSupportedMechs") {
            if let Some((db, user)) = who.split_once('.') {
                if let Some(u) = self.lock().users.get(&(db.to_string(), user.to_string())) {
                    doc.push("saslSupportedMechs", mechanism_names(&u.credentials));
                }
            }
        }
        // A pre-4.4 server ignores speculativeAuthenticate (handshake specification).
        if let Some(Bson::Document(spec)) = command
            .get("speculativeAuthenticate")
            .filter(|_| self.personality.modern_handshake())
        {
            let db = spec.str("db").unwrap_or("admin").to_string();
            if let Ok(reply) = self.sasl_start(spec, &db) {
                if let Some(Bson::Int32(id)) = reply.get("conversationId") {
                    if let Some(c) = self.conversations.get_mut(id) {
                        c.speculative = true;
                    }
                }
                doc.push("speculativeAuthenticate", Bson::Document(reply));
            }
        }
        Ok(doc)
    }

    pub(super) fn sasl_start(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let mechanism = command.str("mechanism").unwrap_or("");
        let Some(m) =
            Mechanism::parse(mechanism).filter(|m| self.personality.mechanisms().contains(m))
        else {
            return Err(fail(
                334,
                "MechanismUnavailable",
                format!("Received authentication for mechanism {mechanism} which is not enabled"),
            ));
        };
        let payload = binary_payload(command)?;
        // MongoDB reports every failure to read the client's first message (a raw `,` in the
        // name makes the next field the nonce: "Invalid SCRAM client nonce") as 18
        // AuthenticationFailed (sasl_commands.cpp).
        let (user, bare, nonce) = match scram::client_first(&payload, self.personality.name_rule())
        {
            Ok(first) => first,
            Err(_) => {
                self.lock().counters.refused += 1;
                return Err(auth_failed());
            }
        };
        let credential = {
            let state = self.lock();
            match state.users.get(&(db.to_string(), user.clone())) {
                Some(u) => u
                    .credentials
                    .iter()
                    .find(|(um, _)| *um == m)
                    .map(|(_, c)| c.clone())
                    .ok_or(None),
                None => Err(Some(())),
            }
        };
        let credential = match credential {
            Ok(c) => c,
            Err(Some(())) => {
                self.lock().counters.refused += 1;
                return Err(auth_failed());
            }
            Err(None) => {
                return Err(fail(334, "MechanismUnavailable", format!("Unable to use {} based authentication for user without any {} credentials registered", m.name(), m.name())))
            }
        };
        let skip = command
            .get("options")
            .and_then(Bson::as_doc)
            .and_then(|o| o.get("skipEmptyExchange"))
            .is_some_and(Bson::truthy);
        let (conversation, server_first) = Conversation::start(m, &credential, &bare, &nonce);
        let id = self.next_conversation;
        self.next_conversation += 1;
        self.conversations.insert(
            id,
            Pending {
                conversation,
                db: db.to_string(),
                user,
                skip,
                stage: 1,
                speculative: false,
            },
        );
        Ok(Doc::new()
            .with("conversationId", Bson::Int32(id))
            .with("done", Bson::Bool(false))
            .with("payload", Bson::Binary(0, server_first.into_bytes())))
    }

    pub(super) fn sasl_continue(&mut self, command: &Doc) -> Result<Doc, Failure> {
        let id = command
            .get("conversationId")
            .and_then(Bson::as_i64)
            .unwrap_or(-1) as i32;
        let Some(pending) = self.conversations.remove(&id) else {
            return Err(fail(17, "ProtocolError", "No SASL session state found"));
        };
        let payload = binary_payload(command)?;
        let done = |payload: Vec<u8>| {
            Doc::new()
                .with("conversationId", Bson::Int32(id))
                .with("done", Bson::Bool(true))
                .with("payload", Bson::Binary(0, payload))
        };
        if pending.stage == 2 {
            if !payload.is_empty() {
                return Err(fail(
                    17,
                    "ProtocolError",
                    "the last SCRAM message must be empty",
                ));
            }
            self.authorize(&pending)?;
            return Ok(done(Vec::new()));
        }
        match pending.conversation.finish(&payload) {
            Err(_) => {
                self.lock().counters.refused += 1;
                Err(auth_failed())
            }
            Ok(server_final) if pending.skip => {
                self.authorize(&pending)?;
                Ok(done(server_final.into_bytes()))
            }
            Ok(server_final) => {
                self.conversations.insert(
                    id,
                    Pending {
                        stage: 2,
                        ..pending
                    },
                );
                Ok(Doc::new()
                    .with("conversationId", Bson::Int32(id))
                    .with("done", Bson::Bool(false))
                    .with("payload", Bson::Binary(0, server_final.into_bytes())))
            }
        }
    }

    /// The SCRAM conversation proved the password: the user is authenticated unless its
    /// authentication restrictions are unmet from this connection's addresses, which MongoDB
    /// answers as any failed login (AuthorizationSessionImpl::addAndAuthorizeUser: "Failed to
    /// acquire user because of unmet authentication restrictions" is logged, the client gets
    /// AuthenticationFailed).
    pub(super) fn authorize(&mut self, pending: &Pending) -> Result<(), Failure> {
        let (db, user) = (pending.db.clone(), pending.user.clone());
        let (client, server) = self.addresses;
        let mut state = self.lock();
        let allowed = state
            .users
            .get(&(db.clone(), user.clone()))
            .is_some_and(|u| u.may_log_in_from(client, server));
        if !allowed {
            state.counters.refused += 1;
            return Err(auth_failed());
        }
        state.counters.logins += 1;
        state.counters.speculative += u64::from(pending.speculative);
        state.counters.sha256 += u64::from(pending.conversation.mechanism() == Mechanism::Sha256);
        drop(state);
        self.user = Some((db, user));
        Ok(())
    }
}
