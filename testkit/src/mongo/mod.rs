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
mod builtin_roles;
mod classifier;
pub mod docdb;
mod failure;
mod personality;
mod privilege;
mod restriction;
mod roles;
mod scram;
mod secondary;
mod server;
mod session;
mod state;
mod topology;
mod users;
mod wire;

pub use bson::{Bson, Doc};
pub use classifier::{OpMsgClassifier, FAILING_COMMAND};
pub use personality::{Personality, MEMBER_HOST, OWN_PASSWORD_ROLE, REPLICA_SET};
pub use restriction::Restriction;
pub use scram::{Mechanism, NameRule};
pub use server::MongoStandIn;
pub use state::Counters;
