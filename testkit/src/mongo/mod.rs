//! A MongoDB-wire stand-in for the DocumentDB / MongoDB rotation work, written from the
//! protocol specifications (no MongoDB or DocumentDB server can be installed here). Strict,
//! not a yes-machine: it authenticates with real salted SCRAM credentials, checks roles before
//! user management, and answers MongoDB's error codes. A second, independent client (pymongo,
//! `scripts/mongo_standin_check.py`, run by the test command) proves it against what MongoDB
//! documents.
//!
//! Personalities ([U]: not verified against the real server; the stricter reading, or both,
//! is modelled):
//! - [`Personality::DocumentDb40`]: wire version 7, SCRAM-SHA-1 only, users in `admin` only, a
//!   replica-set member `rs0` whose member list names a host that does not exist (so a client
//!   that follows it instead of connecting directly fails). It answers `hello`, `helloOk` and
//!   `speculativeAuthenticate` as a 4.4+ server does; whether 4.0 does is [U], so
//!   [`Personality::DocumentDb40Legacy`] is the same server with a pre-4.4 handshake (no
//!   `hello`: 59; `helloOk` and `speculativeAuthenticate` ignored), on which a client must fall
//!   back to `isMaster` and a plain `saslStart`.
//! - [`Personality::DocumentDb50`]: SCRAM-SHA-256 and SCRAM-SHA-1, `mechanisms` on
//!   `createUser` / `updateUser` (DocumentDB developer guide, "Authentication using
//!   SCRAM-SHA-256": instance-based clusters 5.0.1+); its wire version (13, MongoDB 5.0's) and
//!   the default mechanisms when none are given (both) are [U].
//! - DocumentDB's input rules on every DocumentDB personality ([`docdb`]: passwords 8-100
//!   printable ASCII but `/ " @` and space, documented for the master user; applied to every
//!   user and with 2 BadValue, both [U]); SCRAM user names read by RFC 5802 (a stray `=` fails
//!   the exchange: [U], the stricter reading).
//! - [`Personality::MongoDb`]: wire version 21, SCRAM-SHA-256 and SCRAM-SHA-1, a standalone.
//! - [`Personality::MongoDbReplicaSet`]: the same server as replica set [`REPLICA_SET`]: the
//!   primary, and secondaries ([`MongoStandIn::start_secondary`]) sharing its users, with
//!   `setName`, `hosts`, `primary`, `me`, `secondary` and `topologyVersion` in `hello`, an
//!   awaitable `hello` held for its `maxAwaitTimeMS`, and 10107 NotWritablePrimary from a
//!   secondary to a user change that passed its authorization check (topology.rs).
//!
//! SCRAM user names are read as MongoDB reads them (V4 of the reference; sasl_scram_server_
//! conversation.cpp): `n=` up to the first `,`, then `=2C` and `=3D` replaced; a raw `,` leaves
//! a field that is not the nonce, answered 18 AuthenticationFailed.
//!
//! Served: OP_MSG, and the legacy OP_QUERY only for the `hello` / `isMaster` handshake (anything
//! else over OP_QUERY: 352); `hello` / `isMaster` / `ismaster` (with `saslSupportedMechs` and
//! `speculativeAuthenticate`), `buildInfo`, `ping`, `saslStart` / `saslContinue` (with and
//! without `skipEmptyExchange`), `connectionStatus`, `usersInfo`, `createUser`, `updateUser`,
//! `dropUser`, `endSessions`; before authentication only the handshake, `ping`, `buildInfo`,
//! SASL and `endSessions`. Errors: 2 BadValue, 11 UserNotFound, 13 Unauthorized, 14
//! TypeMismatch, 18 AuthenticationFailed (an unknown user is refused exactly as a wrong
//! password), 20 IllegalOperation, 31 RoleNotFound, 59 CommandNotFound, 334
//! MechanismUnavailable, 352 UnsupportedOpQueryCommand, 40415 IDLUnknownField, 51003 (user
//! exists). It counts logins, refused logins and commands; it logs nothing.
//!
//! Authentication restrictions (MongoDB personality; manual: createUser, updateUser,
//! usersInfo): `createUser` / `updateUser` take `authenticationRestrictions` (documents of
//! `clientSource` / `serverAddress` lists), `updateUser` replaces them whole (an empty array
//! clears them), `usersInfo` with `showAuthenticationRestrictions: true` lists them (an empty
//! array when none), and a login whose password is right is refused (18) unless one document
//! is met by the connection's client address and the address it was accepted on (here both
//! 127.0.0.1). The DocumentDB personality refuses `authenticationRestrictions` and
//! `showAuthenticationRestrictions` with 2 BadValue `"<field>" is not a valid argument to
//! <command>`: DocumentDB documents no authentication restrictions, and that is its answer to
//! `authenticationRestrictions` in `createRole` (ansible-collections/community.mongodb#575);
//! that it answers `usersInfo` and `createUser` the same way is an assumption, the stricter of
//! the two possibilities (the other, an answer without the field, is what the function then
//! reads anyway). SCRAM logins honour `mechanisms`: a user holds credentials for its own only.
//!
//! Authorization ([`authz`], where every rule cites its manual page or server source):
//! privileges are actions on resources, granted by built-in and user-defined roles
//! (`createRole`, `rolesInfo`, `dropRole`, `grantRolesToUser`, `revokeRolesFromUser`;
//! `connectionStatus` with `showPrivileges`), and user management is authorized before its
//! body in the server's order (13 before 11 or 31). Both personalities follow MongoDB's rules
//! (DocumentDB's for custom roles are not documented: the stricter reading).
//!
//! Known differences from MongoDB: some built-in roles' data and cluster actions are
//! abbreviated (named in [`authz`]); roles take no `authenticationRestrictions`; stored
//! credentials use 4096 iterations (MongoDB: 10000 / 15000); OP_MSG checksums and
//! `moreToCome` are refused rather than served; `usersInfo` ignores `showCredentials` and
//! `showPrivileges`, and with `showAuthenticationRestrictions` lists neither `inheritedRoles`
//! nor `inheritedPrivileges` (roles' restrictions are empty); an address list
//! entry that is not an address or range never matches (MongoDB stores it unchecked,
//! SERVER-128184, and then fails to load the user); sessions (`lsid`) are accepted and
//! ignored; a replica set replicates at once (no
//! replication lag, no elections or failover, `topologyVersion` never changes, so an
//! awaitable `hello` is always held its full `maxAwaitTimeMS`, at most 10 s), and its
//! secondaries answer 10107 to `createUser` / `updateUser` / `dropUser` only (other writes are
//! not served); `exhaustAllowed` is ignored (every reply is a single reply).

mod authz;
pub mod bson;
mod classifier;
pub mod docdb;
mod scram;
mod topology;
mod wire;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

pub use bson::{Bson, Doc};
pub use classifier::{OpMsgClassifier, FAILING_COMMAND};
use scram::{Conversation, Credential};
pub use scram::{Mechanism, NameRule};
use topology::{Member, Role};

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
    fn max_wire_version(self) -> i32 {
        match self {
            Personality::DocumentDb40 | Personality::DocumentDb40Legacy => 7,
            // [U]: DocumentDB 5.0's wire version was not found; MongoDB 5.0's is 13.
            Personality::DocumentDb50 => 13,
            Personality::MongoDb | Personality::MongoDbReplicaSet => 21,
        }
    }

    fn version(self) -> &'static str {
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
    fn modern_handshake(self) -> bool {
        self != Personality::DocumentDb40Legacy
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
    /// Successful authentications that began in the handshake's `speculativeAuthenticate`.
    pub speculative: u64,
    /// Successful authentications with SCRAM-SHA-256 (the rest used SCRAM-SHA-1).
    pub sha256: u64,
    /// Connections accepted.
    pub connections: u64,
}

/// One `authenticationRestrictions` document (MongoDB manual, createUser, "Authentication
/// Restrictions"): `clientSource` and/or `serverAddress`, each a list of IP addresses and CIDR
/// ranges. Met when each list present holds the address (the client's, the address the
/// server accepted the connection on); a user with several documents may log in when any one
/// is met (server source: `restriction_set.h`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    /// The client addresses allowed, if restricted.
    pub client_source: Option<Vec<String>>,
    /// The server addresses allowed, if restricted.
    pub server_address: Option<Vec<String>>,
}

impl Restriction {
    /// A document restricting the client's address to `ranges`.
    pub fn client(ranges: &[&str]) -> Self {
        Self {
            client_source: Some(ranges.iter().map(|r| r.to_string()).collect()),
            server_address: None,
        }
    }

    /// This document also restricting the server's address to `ranges`.
    pub fn and_server(mut self, ranges: &[&str]) -> Self {
        self.server_address = Some(ranges.iter().map(|r| r.to_string()).collect());
        self
    }

    /// A document restricting the server's address to `ranges`.
    pub fn server(ranges: &[&str]) -> Self {
        Self::default().and_server(ranges)
    }

    fn to_bson(&self) -> Bson {
        let list = |l: &Vec<String>| Bson::Array(l.iter().cloned().map(Bson::String).collect());
        let mut doc = Doc::new();
        // The order MongoDB stores them in (IDL struct `address_restriction`).
        if let Some(l) = &self.client_source {
            doc.push("clientSource", list(l));
        }
        if let Some(l) = &self.server_address {
            doc.push("serverAddress", list(l));
        }
        Bson::Document(doc)
    }

    /// Every list present holds its address. A document with no list is never met (MongoDB
    /// cannot load such a user: "At least one of 'clientSource' or 'serverAddress' must be
    /// set"); an entry that is not an address or range never matches.
    fn met(&self, client: Option<IpAddr>, server: Option<IpAddr>) -> bool {
        let holds = |list: &Option<Vec<String>>, address: Option<IpAddr>| match list {
            None => true,
            Some(ranges) => address.is_some_and(|a| ranges.iter().any(|r| range_holds(r, a))),
        };
        (self.client_source.is_some() || self.server_address.is_some())
            && holds(&self.client_source, client)
            && holds(&self.server_address, server)
    }
}

/// `range` (an address, or an address with `/prefix`) holds `address`.
fn range_holds(range: &str, address: IpAddr) -> bool {
    let (base, prefix) = match range.split_once('/') {
        Some((b, p)) => (b, Some(p)),
        None => (range, None),
    };
    let Ok(base) = base.parse::<IpAddr>() else {
        return false;
    };
    let prefix = match prefix {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u32>()
        {
            Ok(n) => Some(n),
            Err(_) => return false,
        },
        Some(_) => return false,
    };
    match (base, address) {
        (IpAddr::V4(b), IpAddr::V4(a)) => {
            let n = prefix.unwrap_or(32);
            n <= 32 && (n == 0 || (u32::from(b) ^ u32::from(a)) >> (32 - n) == 0)
        }
        (IpAddr::V6(b), IpAddr::V6(a)) => {
            let n = prefix.unwrap_or(128);
            n <= 128 && (n == 0 || (u128::from(b) ^ u128::from(a)) >> (128 - n) == 0)
        }
        _ => false,
    }
}

#[derive(Debug, Clone)]
struct User {
    roles: Vec<(String, String)>,
    credentials: Vec<(Mechanism, Credential)>,
    id: [u8; 16],
    restrictions: Vec<Restriction>,
    /// Test fixture: fields `usersInfo` reports instead of the user's own (`Null`: left
    /// out), as a server this stand-in does not model might.
    reported: Vec<(String, Bson)>,
}

impl User {
    fn new(roles: Vec<(String, String)>, credentials: Vec<(Mechanism, Credential)>) -> Self {
        Self {
            roles,
            credentials,
            id: *uuid::Uuid::new_v4().as_bytes(),
            restrictions: Vec::new(),
            reported: Vec::new(),
        }
    }

    /// No restriction, or any one document met.
    fn may_log_in_from(&self, client: Option<IpAddr>, server: Option<IpAddr>) -> bool {
        self.restrictions.is_empty() || self.restrictions.iter().any(|r| r.met(client, server))
    }
}

#[derive(Debug, Default, Clone)]
struct State {
    users: BTreeMap<(String, String), User>,
    /// User-defined roles by (db, role).
    roles: authz::CustomRoles,
    counters: Counters,
    connections: i32,
}

/// The stand-in server, serving on a loopback port until dropped.
pub struct MongoStandIn {
    personality: Personality,
    port: u16,
    state: Arc<Mutex<State>>,
    member: Arc<Member>,
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

/// DocumentDB's answer to an argument it does not implement (seen for `createRole` with
/// `authenticationRestrictions`: ansible-collections/community.mongodb#575).
fn not_valid_argument(field: &str, command: &str) -> Failure {
    fail(
        2,
        "BadValue",
        format!("\"{field}\" is not a valid argument to {command}"),
    )
}

/// MongoDB's IDL answer to a field of the wrong BSON type.
fn wrong_type(path: &str, value: &Bson, expected: &str) -> Failure {
    let found = match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(..) => "binData",
        Bson::ObjectId(_) => "objectId",
        Bson::Bool(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
    };
    fail(
        14,
        "TypeMismatch",
        format!("BSON field '{path}' is the wrong type '{found}', expected type '{expected}'"),
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
        let role = match personality {
            Personality::MongoDbReplicaSet => Role::Primary,
            _ => Role::Standalone,
        };
        let member = Member::new(role, port, None);
        let state = Arc::new(Mutex::new(State::default()));
        Ok(Self::serving(listener, personality, tls, state, member))
    }

    /// A secondary of this [`Personality::MongoDbReplicaSet`] primary, on another loopback
    /// port, sharing its users (replication is immediate): it answers `hello` as a secondary
    /// and refuses user changes with 10107 NotWritablePrimary after the authorization check.
    /// `None` for another personality.
    pub async fn start_secondary(
        &self,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Option<std::io::Result<Self>> {
        if self.personality != Personality::MongoDbReplicaSet {
            return None;
        }
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        let port = match listener.local_addr() {
            Ok(a) => a.port(),
            Err(e) => return Some(Err(e)),
        };
        let member = Member::new(Role::Secondary, port, Some(&self.member));
        Some(Ok(Self::serving(
            listener,
            self.personality,
            tls,
            self.state.clone(),
            member,
        )))
    }

    fn serving(
        listener: TcpListener,
        personality: Personality,
        tls: Option<Arc<rustls::ServerConfig>>,
        state: Arc<Mutex<State>>,
        member: Arc<Member>,
    ) -> Self {
        let port = member.port;
        let shared = state.clone();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let serving_member = member.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let state = shared.clone();
                let acceptor = acceptor.clone();
                let member = serving_member.clone();
                // What authentication restrictions are held against: the client's address and
                // the address the connection was accepted on.
                let addresses = (Some(peer.ip()), stream.local_addr().ok().map(|a| a.ip()));
                // Every reply goes out at once, as the driver's requests do (it sets
                // TCP_NODELAY too). With Nagle's algorithm on, a reply sent in several writes
                // (TLS records) can wait for the client's delayed ACK: over TLS a login took
                // about 90 ms more than in plaintext, which the benchmark counted against the
                // function (testSecret 98 ms over TLS, 8 ms plain; 11 and 8 with this line).
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls) = a.accept(stream).await {
                                serve(tls, personality, member, state, addresses).await;
                            }
                        }
                        None => serve(stream, personality, member, state, addresses).await,
                    }
                });
            }
        });
        Self {
            personality,
            port,
            state,
            member,
            task,
        }
    }

    /// The TLS configuration of the sandbox's certificate (`SANDBOX_TLS_CERT` / `SANDBOX_TLS_KEY`:
    /// for `localhost`, `127.0.0.1` and `db.rotation.test`, signed by the sandbox CA).
    pub fn sandbox_tls() -> Arc<rustls::ServerConfig> {
        Self::tls_from_files(
            &crate::sandbox_var("SANDBOX_TLS_CERT"),
            &crate::sandbox_var("SANDBOX_TLS_KEY"),
        )
    }

    /// The TLS configuration of the PEM certificate chain `cert` and key `key` (a test's own
    /// certificate). Panics when they do not load: a test fixture.
    pub fn tls_from_files(cert: &str, key: &str) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .expect("the certificate")
            .collect::<Result<_, _>>()
            .expect("the certificate parses");
        let key = PrivateKeyDer::from_pem_file(key).expect("the key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("the certificate and key match");
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
        self.add_user_with(
            db,
            user,
            password,
            roles,
            self.personality.mechanisms(),
            Vec::new(),
        );
    }

    /// Adds (or replaces) a user as a fixture, with credentials for `mechanisms` only and
    /// `restrictions`.
    pub fn add_user_with(
        &self,
        db: &str,
        user: &str,
        password: &str,
        roles: &[(&str, &str)],
        mechanisms: &[Mechanism],
        restrictions: Vec<Restriction>,
    ) {
        let credentials =
            credentials(mechanisms, user, password).expect("a fixture password SASLprep accepts");
        let roles: Vec<(String, String)> = roles
            .iter()
            .map(|(r, d)| (r.to_string(), d.to_string()))
            .collect();
        let mut state = self.lock();
        // A fixture is held to the server's rule too: no user with a role MongoDB would
        // refuse to grant (31), such as a role named after an action.
        if let Err(refused) = authz::check_exist(&state.roles, &roles) {
            panic!("fixture user {user}@{db}: {}", refused.message);
        }
        let mut record = User::new(roles, credentials);
        record.restrictions = restrictions;
        state.users.insert((db.into(), user.into()), record);
    }

    /// Adds (or replaces) a user-defined role `db`.`role` as a fixture, as `createRole` would
    /// make it: `privileges` as (database, actions) on `{db, collection: ""}` (`""`: every
    /// database), and the roles it inherits.
    pub fn add_role(
        &self,
        db: &str,
        role: &str,
        privileges: &[(&str, &[&str])],
        roles: &[(&str, &str)],
    ) {
        let def = authz::RoleDef {
            privileges: privileges
                .iter()
                .map(|(on, actions)| authz::Privilege {
                    resource: authz::Resource::Namespace {
                        db: on.to_string(),
                        collection: String::new(),
                    },
                    actions: actions.iter().map(|a| a.to_string()).collect(),
                })
                .collect(),
            roles: roles
                .iter()
                .map(|(r, d)| (r.to_string(), d.to_string()))
                .collect(),
        };
        self.lock().roles.insert((db.into(), role.into()), def);
    }

    /// The manual's recipe for users that change their own password ("Change Your Password
    /// and Custom Data"): a role [`OWN_PASSWORD_ROLE`] in `admin` granting `changeOwnPassword`
    /// on every database, made if missing. Returns the (role, db) to grant.
    pub fn own_password_role(&self) -> (&'static str, &'static str) {
        let exists = self
            .lock()
            .roles
            .contains_key(&("admin".to_string(), OWN_PASSWORD_ROLE.to_string()));
        if !exists {
            self.add_role(
                "admin",
                OWN_PASSWORD_ROLE,
                &[("", &["changeOwnPassword"])],
                &[],
            );
        }
        (OWN_PASSWORD_ROLE, "admin")
    }

    /// Replaces the authentication restrictions of `db`.`user` (as `updateUser` would); false
    /// when there is no such user.
    pub fn set_restrictions(&self, db: &str, user: &str, restrictions: Vec<Restriction>) -> bool {
        match self.lock().users.get_mut(&(db.into(), user.into())) {
            Some(u) => {
                u.restrictions = restrictions;
                true
            }
            None => false,
        }
    }

    /// The authentication restrictions of `db`.`user`, if the user exists.
    pub fn restrictions_of(&self, db: &str, user: &str) -> Option<Vec<Restriction>> {
        self.lock()
            .users
            .get(&(db.into(), user.into()))
            .map(|u| u.restrictions.clone())
    }

    /// Test fixture: `usersInfo` reports `value` as `field` of `db`.`user` from now on (`Null`:
    /// leaves the field out), whatever the user holds, as a server this stand-in does not model
    /// might (a newer kind of restriction, an unvalidated entry, another mechanism). What the
    /// stand-in enforces is unchanged. False when there is no such user.
    pub fn report_instead(&self, db: &str, user: &str, field: &str, value: Bson) -> bool {
        match self.lock().users.get_mut(&(db.into(), user.into())) {
            Some(u) => {
                u.reported.retain(|(f, _)| f != field);
                u.reported.push((field.to_string(), value));
                true
            }
            None => false,
        }
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

/// A SCRAM conversation in progress on a connection.
struct Pending {
    conversation: Conversation,
    db: String,
    user: String,
    /// The client asked for `skipEmptyExchange`.
    skip: bool,
    /// 1 after saslStart, 2 after the server's final message.
    stage: u8,
    /// Begun in the handshake's `speculativeAuthenticate`.
    speculative: bool,
}

/// One connection's state.
struct Session {
    personality: Personality,
    member: Arc<Member>,
    state: Arc<Mutex<State>>,
    /// The client's address and the address the server accepted the connection on.
    addresses: (Option<IpAddr>, Option<IpAddr>),
    connection_id: i32,
    user: Option<(String, String)>,
    conversations: BTreeMap<i32, Pending>,
    next_conversation: i32,
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
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

fn binary_payload(command: &Doc) -> Result<String, Failure> {
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
        if !roles.contains(&(role.clone(), on.clone())) {
            roles.push((role, on));
        }
    }
    Ok(roles)
}

/// The names a `usersInfo` / `rolesInfo` command asks for, as (name, database): a name (in
/// `db`), a `{<key>, db}` document, an array of them; or 1, every one in `db` (the `bool`).
fn wanted_names(
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

    /// What the session's user may do: the privileges of its roles, direct and inherited, read
    /// now (MongoDB refreshes a session's user when its roles change).
    fn privileges(&self) -> Vec<authz::Privilege> {
        let roles = self.roles();
        authz::privileges_of(&self.lock().roles, &roles)
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

    fn sasl_continue(&mut self, command: &Doc) -> Result<Doc, Failure> {
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
    fn authorize(&mut self, pending: &Pending) -> Result<(), Failure> {
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

    /// `connectionStatus`: the authenticated user and its roles; with `showPrivileges: true`
    /// also `authenticatedUserPrivileges`, every privilege its roles grant, inherited ones
    /// included (manual: connectionStatus).
    fn connection_status(&self, command: &Doc) -> Doc {
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
        let mut info = Doc::new()
            .with("authenticatedUsers", Bson::Array(users))
            .with("authenticatedUserRoles", Bson::Array(roles));
        if command.get("showPrivileges").is_some_and(Bson::truthy) {
            info.push(
                "authenticatedUserPrivileges",
                authz::privileges_bson(&self.privileges()),
            );
        }
        Doc::new().with("authInfo", Bson::Document(info))
    }

    /// The `usersInfo` entry of `db`.`name`; with `show_restrictions`, its
    /// `authenticationRestrictions` (an empty array when none, as MongoDB adds one) and
    /// `inheritedAuthenticationRestrictions` (always empty: custom roles are not modelled).
    fn user_doc(db: &str, name: &str, user: &User, show_restrictions: bool) -> Bson {
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
        let mut doc = Doc::new()
            .with("_id", Bson::String(format!("{db}.{name}")))
            .with("userId", Bson::Binary(4, user.id.to_vec()))
            .with("user", Bson::String(name.into()))
            .with("db", Bson::String(db.into()))
            .with("roles", Bson::Array(roles))
            .with("mechanisms", mechanism_names(&user.credentials));
        if show_restrictions {
            doc.push(
                "inheritedAuthenticationRestrictions",
                Bson::Array(Vec::new()),
            );
            doc.push(
                "authenticationRestrictions",
                Bson::Array(user.restrictions.iter().map(Restriction::to_bson).collect()),
            );
        }
        for (field, value) in &user.reported {
            doc.0.retain(|(k, _)| k != field);
            if *value != Bson::Null {
                doc.push(field, value.clone());
            }
        }
        Bson::Document(doc)
    }

    fn users_info(&self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let (named, all_in_db) = wanted_names(command, "usersInfo", "user", db)?;
        let wanted: Vec<(String, String)> = named.into_iter().map(|(u, on)| (on, u)).collect();
        let show_restrictions = match command.get("showAuthenticationRestrictions") {
            None => false,
            // DocumentDB documents no authentication restrictions and refuses an argument it
            // does not implement with 2 BadValue `"<field>" is not a valid argument to
            // <command>` (seen for createRole's authenticationRestrictions:
            // ansible-collections/community.mongodb#575); the same answer is assumed here.
            Some(_) if self.personality.is_documentdb() => {
                return Err(not_valid_argument(
                    "showAuthenticationRestrictions",
                    "usersInfo",
                ))
            }
            // "If viewing all users, you cannot specify this field" (manual, usersInfo); the
            // server answers IllegalOperation "Privilege or restriction details require
            // exact-match usersInfo queries" (user_management_commands.cpp).
            Some(v) if v.truthy() && all_in_db => {
                return Err(fail(
                    20,
                    "IllegalOperation",
                    "Privilege or restriction details require exact-match usersInfo queries",
                ))
            }
            Some(v) => v.truthy(),
        };
        // One's own user always; any other needs viewUser on its database
        // (user_management_commands_common.cpp, UsersInfoCommand).
        let privileges = self.privileges();
        let mine = |d: &str, u: &str| {
            self.user
                .as_ref()
                .is_some_and(|(sd, su)| sd == d && su == u)
        };
        let visible = if all_in_db {
            authz::may(&privileges, "viewUser", db)
        } else {
            wanted
                .iter()
                .all(|(d, u)| mine(d, u) || authz::may(&privileges, "viewUser", d))
        };
        if !visible {
            return Err(authz::refused(format!(
                "Not authorized to view users from the {db} database"
            )));
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
            .map(|((d, u), user)| Self::user_doc(d, u, user, show_restrictions))
            .collect();
        Ok(Doc::new().with("users", Bson::Array(users)))
    }

    fn password(&self, command: &Doc) -> Result<Option<String>, Failure> {
        match command.get("pwd") {
            None => Ok(None),
            Some(Bson::String(p)) if !p.is_empty() => match self
                .personality
                .is_documentdb()
                .then(|| docdb::password_refusal(p))
                .flatten()
            {
                Some(why) => Err(fail(2, "BadValue", why)),
                None => Ok(Some(p.clone())),
            },
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
            Some(Bson::Array(items)) if !items.is_empty() => {
                let asked = items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .and_then(Mechanism::parse)
                            .filter(|m| self.personality.mechanisms().contains(m))
                            .ok_or_else(|| fail(2, "BadValue", "Unknown auth mechanism"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                // A set: the server makes each credential once, in its own order, whatever
                // the order asked (user_management_commands.cpp, buildCredentials).
                Ok(self
                    .personality
                    .mechanisms()
                    .iter()
                    .copied()
                    .filter(|m| asked.contains(m))
                    .collect())
            }
            Some(_) => Err(fail(2, "BadValue", "mechanisms field must not be empty")),
        }
    }

    /// The `authenticationRestrictions` of a `createUser` / `updateUser`, if given. MongoDB
    /// parses them as the IDL type `array<address_restriction>` (user_management_commands.idl;
    /// address_restriction.idl: `strict`, optional `clientSource` and `serverAddress`, each
    /// `array<string>`): a wrong type is 14 TypeMismatch, another field 40415 IDLUnknownField
    /// (the manual: "if the server does not recognize a field ... it throws an error"). The
    /// strings are stored as given, not checked as addresses (SERVER-128184: an entry that is
    /// not an address is accepted); such an entry never matches at login here. DocumentDB
    /// refuses the field as an argument it does not implement (see `users_info`).
    fn restrictions(&self, command: &Doc, name: &str) -> Result<Option<Vec<Restriction>>, Failure> {
        let Some(value) = command.get("authenticationRestrictions") else {
            return Ok(None);
        };
        if self.personality.is_documentdb() {
            return Err(not_valid_argument("authenticationRestrictions", name));
        }
        let path = format!("{name}.authenticationRestrictions");
        let Bson::Array(items) = value else {
            return Err(wrong_type(&path, value, "array"));
        };
        let mut restrictions = Vec::new();
        for item in items {
            let Bson::Document(doc) = item else {
                return Err(wrong_type(&path, item, "object"));
            };
            let mut restriction = Restriction::default();
            for (key, list) in &doc.0 {
                let slot = match key.as_str() {
                    "clientSource" => &mut restriction.client_source,
                    "serverAddress" => &mut restriction.server_address,
                    _ => {
                        return Err(fail(
                            40415,
                            "IDLUnknownField",
                            format!("BSON field '{path}.{key}' is an unknown field."),
                        ))
                    }
                };
                let field = format!("{path}.{key}");
                let Bson::Array(ranges) = list else {
                    return Err(wrong_type(&field, list, "array"));
                };
                let ranges = ranges
                    .iter()
                    .map(|r| match r {
                        Bson::String(s) => Ok(s.clone()),
                        other => Err(wrong_type(&field, other, "string")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                *slot = Some(ranges);
            }
            restrictions.push(restriction);
        }
        Ok(Some(restrictions))
    }

    /// createUser, authorized first (user_management_commands_common.cpp): `createUser` on the
    /// database, `grantRole` on each role's database, `setAuthenticationRestriction` when
    /// restrictions are sent; then the body: DocumentDB's admin-only rule, the password, the
    /// roles' existence (31), the duplicate (51003).
    fn create_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("createUser")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| fail(2, "BadValue", "createUser needs a user name"))?
            .to_string();
        let roles = role_list(command.get("roles"), db)?;
        let restrictions = self.restrictions(command, "createUser")?;
        let privileges = self.privileges();
        if !authz::may(&privileges, "createUser", db) {
            return Err(authz::refused(format!(
                "Not authorized to create users on db: {db}"
            )));
        }
        authz::check_grant(&privileges, &roles)?;
        if restrictions.is_some() && !authz::may(&privileges, "setAuthenticationRestriction", db) {
            return Err(authz::refused("Unauthorized"));
        }
        if let Some(why) = self
            .personality
            .is_documentdb()
            .then(|| docdb::user_name_refusal(&name))
            .flatten()
        {
            return Err(fail(2, "BadValue", why));
        }
        if self.personality.is_documentdb() && db != "admin" {
            return Err(fail(
                2,
                "BadValue",
                "DocumentDB users are created in the admin database",
            ));
        }
        let password = self.password(command)?.ok_or_else(|| fail(2, "BadValue", "Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db"))?;
        let mechanisms = self.mechanisms(command, None)?;
        let credentials = credentials(&mechanisms, &name, &password)
            .ok_or_else(|| fail(2, "BadValue", "the password fails SASLprep"))?;
        let mut state = self.lock();
        authz::check_exist(&state.roles, &roles)?;
        let key = (db.to_string(), name.clone());
        if state.users.contains_key(&key) {
            return Err(fail(
                51003,
                "Location51003",
                format!("User \"{name}@{db}\" already exists"),
            ));
        }
        let mut user = User::new(roles, credentials);
        user.restrictions = restrictions.unwrap_or_default();
        state.users.insert(key, user);
        Ok(Doc::new())
    }

    /// updateUser, authorized field by field before the user is looked up
    /// (user_management_commands_common.cpp): `pwd` needs this very session's user holding
    /// `changeOwnPassword` on its database, or `changePassword` on the database; `roles` needs
    /// `revokeRole` on every database and `grantRole` on each role's; restrictions need
    /// `setAuthenticationRestriction`. Only then 11 for a missing user.
    fn update_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("updateUser")
            .ok_or_else(|| fail(2, "BadValue", "updateUser needs a user name"))?
            .to_string();
        let key = (db.to_string(), name.clone());
        let password = self.password(command)?;
        let roles = match command.get("roles") {
            Some(value) => Some(role_list(Some(value), db)?),
            None => None,
        };
        let restrictions = self.restrictions(command, "updateUser")?;
        let privileges = self.privileges();
        if password.is_some() {
            let as_self = self.user.as_ref() == Some(&key)
                && authz::may(&privileges, "changeOwnPassword", db);
            if !(as_self || authz::may(&privileges, "changePassword", db)) {
                return Err(authz::refused(format!(
                    "Not authorized to change password of user: {name}@{db}"
                )));
            }
        }
        if let Some(roles) = &roles {
            if !authz::may_everywhere(&privileges, "revokeRole") {
                return Err(authz::refused("In order to use updateUser to set roles array, must be authorized to revoke any role in the system"));
            }
            authz::check_grant(&privileges, roles)?;
        }
        if restrictions.is_some() && !authz::may(&privileges, "setAuthenticationRestriction", db) {
            return Err(authz::refused("Unauthorized"));
        }
        if password.is_none()
            && roles.is_none()
            && restrictions.is_none()
            && command.get("mechanisms").is_none()
        {
            return Err(fail(
                2,
                "BadValue",
                "Must specify at least one field to update in updateUser",
            ));
        }
        let Some(existing) = self.lock().users.get(&key).cloned() else {
            return Err(fail(
                11,
                "UserNotFound",
                format!("User {name}@{db} not found"),
            ));
        };
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
        let mut state = self.lock();
        if let Some(roles) = roles {
            authz::check_exist(&state.roles, &roles)?;
            user.roles = roles;
        }
        // "An update to a field completely replaces the previous field's values, including
        // updates to the user's roles and authenticationRestrictions arrays" (manual,
        // updateUser); an empty array removes them.
        if let Some(restrictions) = restrictions {
            user.restrictions = restrictions;
        }
        state.users.insert(key, user);
        Ok(Doc::new())
    }

    /// dropUser: `dropUser` on the database first, then 11 for a missing user.
    fn drop_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("dropUser")
            .ok_or_else(|| fail(2, "BadValue", "dropUser needs a user name"))?
            .to_string();
        if !authz::may(&self.privileges(), "dropUser", db) {
            return Err(authz::refused(format!(
                "Not authorized to drop users from the {db} database"
            )));
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

    /// grantRolesToUser: `grantRole` on each role's database, then 11, then 31; roles the user
    /// holds already are kept once.
    fn grant_roles_to_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("grantRolesToUser")
            .ok_or_else(|| fail(2, "BadValue", "grantRolesToUser needs a user name"))?
            .to_string();
        let roles = role_list(command.get("roles"), db)?;
        authz::check_grant(&self.privileges(), &roles)?;
        let mut state = self.lock();
        authz::check_exist(&state.roles, &roles)?;
        let Some(user) = state.users.get_mut(&(db.to_string(), name.clone())) else {
            return Err(fail(
                11,
                "UserNotFound",
                format!("User {name}@{db} not found"),
            ));
        };
        for role in roles {
            if !user.roles.contains(&role) {
                user.roles.push(role);
            }
        }
        Ok(Doc::new())
    }

    /// revokeRolesFromUser: `revokeRole` on each role's database, then 11.
    fn revoke_roles_from_user(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("revokeRolesFromUser")
            .ok_or_else(|| fail(2, "BadValue", "revokeRolesFromUser needs a user name"))?
            .to_string();
        let roles = role_list(command.get("roles"), db)?;
        authz::check_revoke(&self.privileges(), &roles)?;
        let mut state = self.lock();
        let Some(user) = state.users.get_mut(&(db.to_string(), name.clone())) else {
            return Err(fail(
                11,
                "UserNotFound",
                format!("User {name}@{db} not found"),
            ));
        };
        user.roles.retain(|r| !roles.contains(r));
        Ok(Doc::new())
    }

    /// createRole `{createRole, privileges, roles}`: authorized first
    /// ([`authz::check_create_role`]), then [`authz::check_new_role`]. DocumentDB keeps its
    /// users in `admin`; its roles are modelled as MongoDB's.
    fn create_role(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("createRole")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| fail(2, "BadValue", "createRole needs a role name"))?
            .to_string();
        let def = authz::RoleDef {
            privileges: authz::parse_privileges(command.get("privileges"))?,
            roles: role_list(command.get("roles"), db)?,
        };
        if command.get("authenticationRestrictions").is_some() {
            return Err(if self.personality == Personality::DocumentDb40 {
                not_valid_argument("authenticationRestrictions", "createRole")
            } else {
                fail(
                    2,
                    "BadValue",
                    "authenticationRestrictions on roles are not modelled by the stand-in",
                )
            });
        }
        authz::check_create_role(&self.privileges(), db, &def.roles, &def.privileges)?;
        let mut state = self.lock();
        authz::check_new_role(&state.roles, db, &name, &def)?;
        state.roles.insert((db.to_string(), name), def);
        Ok(Doc::new())
    }

    /// rolesInfo: a name, `{role, db}`, an array of them, or 1 (the database's user-defined
    /// roles; built-in ones too with `showBuiltinRoles`); `showPrivileges` adds `privileges`
    /// and `inheritedPrivileges`. A role the session holds is always visible; any other needs
    /// `viewRole` on its database. Unknown roles are silently absent.
    fn roles_info(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let (mut wanted, all_in_db) = wanted_names(command, "rolesInfo", "role", db)?;
        let show_privileges = command.get("showPrivileges").is_some_and(Bson::truthy);
        let privileges = self.privileges();
        let mine = self.roles();
        let held = authz::closure(&self.lock().roles, &mine);
        if all_in_db {
            if !authz::may(&privileges, "viewRole", db) {
                return Err(authz::refused(format!(
                    "Not authorized to view roles from the {db} database"
                )));
            }
        } else if let Some((_, on)) = wanted
            .iter()
            .find(|w| !held.contains(w) && !authz::may(&privileges, "viewRole", &w.1))
        {
            return Err(authz::refused(format!(
                "Not authorized to view roles from the {on} database"
            )));
        }
        let state = self.lock();
        if all_in_db {
            let builtins = command.get("showBuiltinRoles").is_some_and(Bson::truthy);
            wanted = state
                .roles
                .keys()
                .filter(|(d, _)| d == db)
                .map(|(d, r)| (r.clone(), d.clone()))
                .collect();
            if builtins {
                for r in authz::builtin_on(db) {
                    wanted.push((r.to_string(), db.to_string()));
                }
            }
        }
        let roles = wanted
            .iter()
            .filter(|(r, d)| authz::role_exists(&state.roles, r, d))
            .map(|(r, d)| authz::role_doc(&state.roles, r, d, show_privileges))
            .collect();
        Ok(Doc::new().with("roles", Bson::Array(roles)))
    }

    /// dropRole: `dropRole` on the database, then 31 for a missing role; the role is taken
    /// from every user and role holding it (manual: dropRole).
    fn drop_role(&mut self, command: &Doc, db: &str) -> Result<Doc, Failure> {
        let name = command
            .str("dropRole")
            .ok_or_else(|| fail(2, "BadValue", "dropRole needs a role name"))?
            .to_string();
        if !authz::may(&self.privileges(), "dropRole", db) {
            return Err(authz::refused(format!(
                "Not authorized to drop roles from the {db} database"
            )));
        }
        let mut state = self.lock();
        if state
            .roles
            .remove(&(db.to_string(), name.clone()))
            .is_none()
        {
            return Err(fail(
                31,
                "RoleNotFound",
                format!("Role {name}@{db} not found"),
            ));
        }
        let gone = (name, db.to_string());
        for user in state.users.values_mut() {
            user.roles.retain(|r| *r != gone);
        }
        for role in state.roles.values_mut() {
            role.roles.retain(|r| *r != gone);
        }
        Ok(Doc::new())
    }
}
