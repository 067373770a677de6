//! A MongoDB-wire stand-in for the DocumentDB / MongoDB rotation work, written from the
//! protocol specifications (no MongoDB or DocumentDB server can be installed here). Strict,
//! not a yes-machine: it authenticates with real salted SCRAM credentials, checks roles before
//! user management, and answers MongoDB's error codes. A second, independent client (pymongo,
//! `scripts/mongo_standin_check.py`, run by the test command) proves it against what MongoDB
//! documents.
//!
//! Two personalities: [`Personality::DocumentDb40`] (wire version 7, SCRAM-SHA-1 only, users in
//! `admin` only, a replica-set member `rs0` whose member list names a host that does not exist,
//! so a client that follows it instead of connecting directly fails) and
//! [`Personality::MongoDb`] (wire version 21, SCRAM-SHA-256 and SCRAM-SHA-1, a standalone).
//!
//! Served: OP_MSG, and the legacy OP_QUERY only for the `hello` / `isMaster` handshake (anything
//! else over OP_QUERY: 352); `hello` / `isMaster` / `ismaster` (with `saslSupportedMechs` and
//! `speculativeAuthenticate`), `buildInfo`, `ping`, `saslStart` / `saslContinue` (with and
//! without `skipEmptyExchange`), `connectionStatus`, `usersInfo`, `createUser`, `updateUser`,
//! `dropUser`, `endSessions`; before authentication only the handshake, `ping`, `buildInfo`,
//! SASL and `endSessions`. Errors: 2 BadValue, 11 UserNotFound, 13 Unauthorized, 18
//! AuthenticationFailed (an unknown user is refused exactly as a wrong password), 31
//! RoleNotFound, 59 CommandNotFound, 334 MechanismUnavailable, 352 UnsupportedOpQueryCommand,
//! 51003 (user exists). It counts logins, refused logins and commands; it logs nothing.
//!
//! Known differences from MongoDB: custom roles are not modelled (the role name
//! `changeOwnPassword` on a database stands for a custom role granting that action there; a
//! user may change its own password only with it, or as a user administrator); stored
//! credentials use 4096 iterations (MongoDB: 10000 / 15000); OP_MSG checksums and
//! `moreToCome` are refused rather than served; `usersInfo` ignores `showCredentials` and
//! `showPrivileges`; sessions (`lsid`) are accepted and ignored; no `createRole`, `grantRolesToUser`.

pub mod bson;
mod classifier;
mod scram;
mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

pub use bson::{Bson, Doc};
pub use classifier::{OpMsgClassifier, FAILING_COMMAND};
pub use scram::Mechanism;
use scram::{Conversation, Credential};

/// Which server the stand-in answers as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// Amazon DocumentDB 4.0 (instance-based cluster endpoint).
    DocumentDb40,
    /// A current MongoDB (7.0), standalone.
    MongoDb,
}

/// The host the DocumentDB personality's member list names: it does not resolve.
pub const MEMBER_HOST: &str = "docdb-instance-1.stand-in.invalid:27017";

impl Personality {
    fn max_wire_version(self) -> i32 {
        match self {
            Personality::DocumentDb40 => 7,
            Personality::MongoDb => 21,
        }
    }

    fn version(self) -> &'static str {
        match self {
            Personality::DocumentDb40 => "4.0.0",
            Personality::MongoDb => "7.0.14",
        }
    }

    /// The mechanisms the server accepts, preferred first.
    pub fn mechanisms(self) -> &'static [Mechanism] {
        match self {
            Personality::DocumentDb40 => &[Mechanism::Sha1],
            Personality::MongoDb => &[Mechanism::Sha256, Mechanism::Sha1],
        }
    }
}

/// What the stand-in counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Successful authentications.
    pub logins: u64,
    /// Refused authentications (unknown user, wrong password).
    pub refused: u64,
    /// Commands received (handshakes included).
    pub commands: u64,
}

#[derive(Debug, Clone)]
struct User {
    roles: Vec<(String, String)>,
    credentials: Vec<(Mechanism, Credential)>,
    id: [u8; 16],
}

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<(String, String), User>,
    counters: Counters,
    connections: i32,
}

/// Role names `createUser` / `updateUser` accept.
const ROLES: &[&str] = &[
    "read",
    "readWrite",
    "dbAdmin",
    "userAdmin",
    "dbOwner",
    "readAnyDatabase",
    "readWriteAnyDatabase",
    "userAdminAnyDatabase",
    "dbAdminAnyDatabase",
    "root",
    "clusterAdmin",
    "clusterMonitor",
    "backup",
    "restore",
    "changeOwnPassword",
];

/// The stand-in server, serving on a loopback port until dropped.
pub struct MongoStandIn {
    personality: Personality,
    port: u16,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MongoStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One MongoDB error reply.
struct Failure {
    code: i32,
    name: &'static str,
    message: String,
}

fn fail(code: i32, name: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        code,
        name,
        message: message.into(),
    }
}

fn unauthorized(db: &str, command: &str) -> Failure {
    fail(
        13,
        "Unauthorized",
        format!("not authorized on {db} to execute command {{ {command}: ... }}"),
    )
}

fn auth_failed() -> Failure {
    fail(18, "AuthenticationFailed", "Authentication failed.")
}

impl MongoStandIn {
    /// Serves `personality` on a fresh loopback port, over TLS with `tls` when given.
    pub async fn start(
        personality: Personality,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls) = a.accept(stream).await {
                                serve(tls, personality, state).await;
                            }
                        }
                        None => serve(stream, personality, state).await,
                    }
                });
            }
        });
        Ok(Self {
            personality,
            port,
            state,
            task,
        })
    }

    /// The TLS configuration of the sandbox's certificate (`SANDBOX_TLS_CERT` / `SANDBOX_TLS_KEY`:
    /// for `localhost`, `127.0.0.1` and `db.rotation.test`, signed by the sandbox CA).
    pub fn sandbox_tls() -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert = crate::sandbox_var("SANDBOX_TLS_CERT");
        let key = crate::sandbox_var("SANDBOX_TLS_KEY");
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
            .expect("the sandbox certificate")
            .collect::<Result<_, _>>()
            .expect("the sandbox certificate parses");
        let key = PrivateKeyDer::from_pem_file(&key).expect("the sandbox key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("the sandbox certificate and key match");
        Arc::new(config)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The personality.
    pub fn personality(&self) -> Personality {
        self.personality
    }

    /// Adds (or replaces) a user as a fixture, with every mechanism of the personality.
    pub fn add_user(&self, db: &str, user: &str, password: &str, roles: &[(&str, &str)]) {
        let credentials = credentials(self.personality.mechanisms(), user, password)
            .expect("a fixture password SASLprep accepts");
        let roles = roles
            .iter()
            .map(|(r, d)| (r.to_string(), d.to_string()))
            .collect();
        let id = *uuid::Uuid::new_v4().as_bytes();
        self.lock().users.insert(
            (db.into(), user.into()),
            User {
                roles,
                credentials,
                id,
            },
        );
    }

    /// True when `db`.`user` exists and every credential it has was made from `password` (a
    /// check made inside the stand-in, as a second opinion beside logging in).
    pub fn password_is(&self, db: &str, user: &str, password: &str) -> bool {
        self.lock()
            .users
            .get(&(db.into(), user.into()))
            .is_some_and(|u| {
                !u.credentials.is_empty()
                    && u.credentials
                        .iter()
                        .all(|(m, c)| c.matches(*m, user, password))
            })
    }

    /// The SCRAM mechanisms `db`.`user` has credentials for.
    pub fn mechanisms_of(&self, db: &str, user: &str) -> Vec<Mechanism> {
        self.lock()
            .users
            .get(&(db.into(), user.into()))
            .map(|u| u.credentials.iter().map(|(m, _)| *m).collect())
            .unwrap_or_default()
    }

    /// What was counted so far.
    pub fn counters(&self) -> Counters {
        self.lock().counters
    }

    /// The roles of `db`.`user`, if the user exists.
    pub fn roles_of(&self, db: &str, user: &str) -> Option<Vec<(String, String)>> {
        self.lock()
            .users
            .get(&(db.into(), user.into()))
            .map(|u| u.roles.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn credentials(
    mechanisms: &[Mechanism],
    user: &str,
    password: &str,
) -> Option<Vec<(Mechanism, Credential)>> {
    mechanisms
        .iter()
        .map(|m| Credential::new(*m, user, password).map(|c| (*m, c)))
        .collect()
}

/// One connection's state.
struct Session {
    personality: Personality,
    state: Arc<Mutex<State>>,
    connection_id: i32,
    user: Option<(String, String)>,
    conversations: BTreeMap<i32, (Conversation, String, String, bool, u8)>,
    next_conversation: i32,
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    personality: Personality,
    state: Arc<Mutex<State>>,
) {
    let connection_id = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.connections += 1;
        s.connections
    };
    let mut session = Session {
        personality,
        state,
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

fn binary_payload(command: &Doc) -> Result<String, Failure> {
    match command.get("payload") {
        Some(Bson::Binary(0, bytes)) => String::from_utf8(bytes.clone())
            .map_err(|_| fail(2, "BadValue", "a SASL payload that is not UTF-8")),
        Some(Bson::String(s)) => Ok(s.clone()),
        _ => Err(fail(2, "BadValue", "payload must be BinData subtype 0")),
    }
}

fn role_list(value: Option<&Bson>, db: &str) -> Result<Vec<(String, String)>, Failure> {
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
        if !ROLES.contains(&role.as_str()) {
            return Err(fail(
                31,
                "RoleNotFound",
                format!("Could not find role: {role}@{on}"),
            ));
        }
        roles.push((role, on));
    }
    Ok(roles)
}

fn mechanism_names(credentials: &[(Mechanism, Credential)]) -> Bson {
    Bson::Array(
        credentials
            .iter()
            .map(|(m, _)| Bson::String(m.name().into()))
            .collect(),
    )
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn roles(&self) -> Vec<(String, String)> {
        let Some(key) = &self.user else {
            return Vec::new();
        };
        self.lock()
            .users
            .get(key)
            .map(|u| u.roles.clone())
            .unwrap_or_default()
    }

    fn may_manage_users(&self, db: &str) -> bool {
        self.roles().iter().any(|(r, on)| {
            matches!(
                (r.as_str(), on.as_str()),
                ("root" | "userAdminAnyDatabase", "admin")
            ) || (on == db && matches!(r.as_str(), "userAdmin" | "dbOwner"))
        })
    }

    fn answer(&mut self, request: &wire::Request) -> Result<Doc, Failure> {
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
        match name.as_str() {
            "hello" | "isMaster" | "ismaster" => self.hello(command, &name),
            "ping" | "endSessions" => Ok(Doc::new()),
            "buildInfo" | "buildinfo" => Ok(Doc::new()
                .with("version", Bson::String(self.personality.version().into()))
                .with("maxBsonObjectSize", Bson::Int32(16_777_216))),
            "saslStart" => self.sasl_start(command, &db),
            "saslContinue" => self.sasl_continue(command),
            "connectionStatus" => Ok(self.connection_status()),
            "usersInfo" => self.users_info(command, &db),
            "createUser" => self.create_user(command, &db),
            "updateUser" => self.update_user(command, &db),
            "dropUser" => self.drop_user(command, &db),
            other => Err(fail(
                59,
                "CommandNotFound",
                format!("no such command: '{other}'"),
            )),
        }
    }

    fn hello(&mut self, command: &Doc, name: &str) -> Result<Doc, Failure> {
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
        if command.get("helloOk").is_some() {
            doc.push("helloOk", Bson::Bool(true));
        }
        doc.push(primary_key, Bson::Bool(true));
        if self.personality == Personality::DocumentDb40 {
            doc.push("setName", Bson::String("rs0".into()));
            doc.push("secondary", Bson::Bool(false));
            doc.push("hosts", Bson::Array(vec![Bson::String(MEMBER_HOST.into())]));
            doc.push("primary", Bson::String(MEMBER_HOST.into()));
            doc.push("me", Bson::String(MEMBER_HOST.into()));
        }
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
        if let Some(Bson::Document(spec)) = command.get("speculativeAuthenticate") {
            let db = spec.str("db").unwrap_or("admin").to_string();
            if let Ok(reply) = self.sasl_start(spec, &db) {
                doc.push("speculativeAuthenticate", Bson::Document(reply));
            }
        }
        Ok(doc)
    }

    fn sasl_start(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
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
        let (user, bare, nonce) =
            scram::client_first(&payload).map_err(|e| fail(17, "ProtocolError", e))?;
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
        self.conversations
            .insert(id, (conversation, db.to_string(), user, skip, 1));
        Ok(Doc::new()
            .with("conversationId", Bson::Int32(id))
            .with("done", Bson::Bool(false))
            .with("payload", Bson::Binary(0, server_first.into_bytes())))
    }

    fn sasl_continue(&mut self, command: &Doc) -> Result<Doc, Failure> {
        let id = command
            .get("conversationId")
            .and_then(Bson::as_i64)
            .unwrap_or(-1) as i32;
        let Some((conversation, db, user, skip, stage)) = self.conversations.remove(&id) else {
            return Err(fail(17, "ProtocolError", "No SASL session state found"));
        };
        let payload = binary_payload(command)?;
        let done = |payload: Vec<u8>| {
            Doc::new()
                .with("conversationId", Bson::Int32(id))
                .with("done", Bson::Bool(true))
                .with("payload", Bson::Binary(0, payload))
        };
        if stage == 2 {
            if !payload.is_empty() {
                return Err(fail(
                    17,
                    "ProtocolError",
                    "the last SCRAM message must be empty",
                ));
            }
            self.lock().counters.logins += 1;
            self.user = Some((db, user));
            return Ok(done(Vec::new()));
        }
        match conversation.finish(&payload) {
            Err(_) => {
                self.lock().counters.refused += 1;
                Err(auth_failed())
            }
            Ok(server_final) if skip => {
                self.lock().counters.logins += 1;
                self.user = Some((db, user));
                Ok(done(server_final.into_bytes()))
            }
            Ok(server_final) => {
                self.conversations
                    .insert(id, (conversation, db, user, skip, 2));
                Ok(Doc::new()
                    .with("conversationId", Bson::Int32(id))
                    .with("done", Bson::Bool(false))
                    .with("payload", Bson::Binary(0, server_final.into_bytes())))
            }
        }
    }

    fn connection_status(&self) -> Doc {
        let users = self
            .user
            .iter()
            .map(|(db, u)| {
                Bson::Document(
                    Doc::new()
                        .with("user", Bson::String(u.clone()))
                        .with("db", Bson::String(db.clone())),
                )
            })
            .collect();
        let roles = self
            .roles()
            .into_iter()
            .map(|(r, db)| {
                Bson::Document(
                    Doc::new()
                        .with("role", Bson::String(r))
                        .with("db", Bson::String(db)),
                )
            })
            .collect();
        Doc::new().with(
            "authInfo",
            Bson::Document(
                Doc::new()
                    .with("authenticatedUsers", Bson::Array(users))
                    .with("authenticatedUserRoles", Bson::Array(roles)),
            ),
        )
    }

    fn user_doc(db: &str, name: &str, user: &User) -> Bson {
        let roles = user
            .roles
            .iter()
            .map(|(r, on)| {
                Bson::Document(
                    Doc::new()
                        .with("role", Bson::String(r.clone()))
                        .with("db", Bson::String(on.clone())),
                )
            })
            .collect();
        Bson::Document(
            Doc::new()
                .with("_id", Bson::String(format!("{db}.{name}")))
                .with("userId", Bson::Binary(4, user.id.to_vec()))
                .with("user", Bson::String(name.into()))
                .with("db", Bson::String(db.into()))
                .with("roles", Bson::Array(roles))
                .with("mechanisms", mechanism_names(&user.credentials)),
        )
    }

    fn users_info(&self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let mut wanted: Vec<(String, String)> = Vec::new();
        let mut all_in_db = false;
        let one = |v: &Bson| -> Result<(String, String), Failure> {
            match v {
                Bson::String(u) => Ok((db.to_string(), u.clone())),
                Bson::Document(d) => match (d.str("db"), d.str("user")) {
                    (Some(on), Some(u)) => Ok((on.to_string(), u.to_string())),
                    _ => Err(fail(
                        2,
                        "BadValue",
                        "a usersInfo document needs user and db",
                    )),
                },
                _ => Err(fail(
                    14,
                    "TypeMismatch",
                    "usersInfo takes a name, a {user, db} document, an array of them, or 1",
                )),
            }
        };
        match command.get("usersInfo") {
            Some(Bson::Array(items)) => {
                for item in items {
                    wanted.push(one(item)?);
                }
            }
            Some(v @ (Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_)))
                if v.as_i64() == Some(1) =>
            {
                all_in_db = true
            }
            Some(v) => wanted.push(one(v)?),
            None => return Err(fail(2, "BadValue", "usersInfo needs a value")),
        }
        let only_self = !all_in_db && wanted.iter().all(|w| Some(w) == self.user.as_ref());
        let dbs: Vec<&str> = if all_in_db {
            vec![db]
        } else {
            wanted.iter().map(|(d, _)| d.as_str()).collect()
        };
        if !only_self && !dbs.iter().all(|d| self.may_manage_users(d)) {
            return Err(unauthorized(db, "usersInfo"));
        }
        let state = self.lock();
        let users = state
            .users
            .iter()
            .filter(|((d, u), _)| {
                if all_in_db {
                    d == db
                } else {
                    wanted.iter().any(|(wd, wu)| wd == d && wu == u)
                }
            })
            .map(|((d, u), user)| Self::user_doc(d, u, user))
            .collect();
        Ok(Doc::new().with("users", Bson::Array(users)))
    }

    fn password(&self, command: &Doc) -> Result<Option<String>, Failure> {
        match command.get("pwd") {
            None => Ok(None),
            Some(Bson::String(p)) if !p.is_empty() => Ok(Some(p.clone())),
            Some(_) => Err(fail(2, "BadValue", "pwd must be a non-empty string")),
        }
    }

    fn mechanisms(
        &self,
        command: &Doc,
        current: Option<Vec<Mechanism>>,
    ) -> Result<Vec<Mechanism>, Failure> {
        match command.get("mechanisms") {
            None => Ok(current.unwrap_or_else(|| self.personality.mechanisms().to_vec())),
            Some(Bson::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .and_then(Mechanism::parse)
                        .filter(|m| self.personality.mechanisms().contains(m))
                        .ok_or_else(|| fail(2, "BadValue", "Unknown auth mechanism"))
                })
                .collect(),
            Some(_) => Err(fail(2, "BadValue", "mechanisms field must not be empty")),
        }
    }

    fn create_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("createUser")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| fail(2, "BadValue", "createUser needs a user name"))?
            .to_string();
        if !self.may_manage_users(db) {
            return Err(unauthorized(db, "createUser"));
        }
        if self.personality == Personality::DocumentDb40 && db != "admin" {
            return Err(fail(
                2,
                "BadValue",
                "DocumentDB users are created in the admin database",
            ));
        }
        let password = self.password(command)?.ok_or_else(|| fail(2, "BadValue", "Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db"))?;
        let roles = role_list(command.get("roles"), db)?;
        let mechanisms = self.mechanisms(command, None)?;
        let credentials = credentials(&mechanisms, &name, &password)
            .ok_or_else(|| fail(2, "BadValue", "the password fails SASLprep"))?;
        let mut state = self.lock();
        let key = (db.to_string(), name.clone());
        if state.users.contains_key(&key) {
            return Err(fail(
                51003,
                "Location51003",
                format!("User \"{name}@{db}\" already exists"),
            ));
        }
        state.users.insert(
            key,
            User {
                roles,
                credentials,
                id: *uuid::Uuid::new_v4().as_bytes(),
            },
        );
        Ok(Doc::new())
    }

    fn update_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("updateUser")
            .ok_or_else(|| fail(2, "BadValue", "updateUser needs a user name"))?
            .to_string();
        let key = (db.to_string(), name.clone());
        let Some(existing) = self.lock().users.get(&key).cloned() else {
            return Err(fail(
                11,
                "UserNotFound",
                format!("Could not find user \"{name}\" for db \"{db}\""),
            ));
        };
        let password = self.password(command)?;
        let changes_roles = command.get("roles").is_some();
        let own_password_only = self.user.as_ref() == Some(&key)
            && !changes_roles
            && command.0.iter().all(|(k, _)| {
                matches!(
                    k.as_str(),
                    "updateUser"
                        | "pwd"
                        | "digestPassword"
                        | "mechanisms"
                        | "$db"
                        | "lsid"
                        | "$readPreference"
                        | "$clusterTime"
                        | "writeConcern"
                )
            });
        let may_change_own = self
            .roles()
            .iter()
            .any(|(r, on)| r == "changeOwnPassword" && on == db);
        if !(self.may_manage_users(db) || (own_password_only && may_change_own)) {
            return Err(unauthorized(db, "updateUser"));
        }
        if password.is_none() && !changes_roles && command.get("mechanisms").is_none() {
            return Err(fail(
                2,
                "BadValue",
                "Must specify at least one field to update in updateUser",
            ));
        }
        let current: Vec<Mechanism> = existing.credentials.iter().map(|(m, _)| *m).collect();
        let mechanisms = self.mechanisms(command, Some(current))?;
        let mut user = existing;
        match password {
            Some(p) => {
                user.credentials = credentials(&mechanisms, &name, &p)
                    .ok_or_else(|| fail(2, "BadValue", "the password fails SASLprep"))?;
            }
            None if command.get("mechanisms").is_some() => {
                // Only narrowing is possible without a password.
                if mechanisms
                    .iter()
                    .any(|m| !user.credentials.iter().any(|(c, _)| c == m))
                {
                    return Err(fail(
                        2,
                        "BadValue",
                        "mechanisms field must be a subset of previously set mechanisms",
                    ));
                }
                user.credentials.retain(|(m, _)| mechanisms.contains(m));
            }
            None => {}
        }
        if changes_roles {
            user.roles = role_list(command.get("roles"), db)?;
        }
        self.lock().users.insert(key, user);
        Ok(Doc::new())
    }

    fn drop_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("dropUser")
            .ok_or_else(|| fail(2, "BadValue", "dropUser needs a user name"))?
            .to_string();
        if !self.may_manage_users(db) {
            return Err(unauthorized(db, "dropUser"));
        }
        match self.lock().users.remove(&(db.to_string(), name.clone())) {
            Some(_) => Ok(Doc::new()),
            None => Err(fail(
                11,
                "UserNotFound",
                format!("User '{name}@{db}' not found"),
            )),
        }
    }
}
