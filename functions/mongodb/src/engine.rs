//! The MongoDB-wire engine: sessions from the core's connect policy through [`MongoDriver`] (a
//! direct connection to the secret's host, no retryable writes, SCRAM as the server offers it
//! and SHA-1 for DocumentDB endpoints, verified TLS against the function's trust anchors), and
//! the user commands of the two strategies: `updateUser` of one's own password, `usersInfo`,
//! `createUser` / `updateUser` of the clone with the current user's roles, authentication
//! restrictions and SCRAM mechanisms ([`crate::access`]) in the same command as the password,
//! read back after.

use std::time::Duration;

use mongodb::bson::{doc, Bson, Document};
use mongodb::error::ErrorKind;
use mongodb::Client;

use rotation_core::database::{
    is_aws_managed_host, Capabilities, ConnectPolicy, Database, DatabaseSecret, EngineIdentity,
    Need, Transport, Which,
};
use rotation_core::preflight::names;
use rotation_core::{Check, PasswordPolicy, Result, RotationError};

use crate::access::{Access, Server};
use crate::connect::{short, MongoDriver};
use crate::engines::MONGODB;
use crate::error::MongoError;
use crate::privileges::{Need as Action, Privileges};

/// How long one command may take once logged in (the driver 3.2 has no socket timeout of its
/// own): a user command that waits longer (a replica set that cannot reach a majority) fails
/// the step, well inside the function's timeout, and Secrets Manager retries it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The operation name of single user's password change (its Unauthorized error names the
/// action it needs).
const OWN_PASSWORD: &str = "change the user's own password";

/// Characters of a user name that the driver (3.2) puts unescaped into SCRAM's client-first
/// message, where RFC 5802 requires `=2C` and `=3D`: a login as such a user is refused.
const SCRAM_UNSENDABLE: [char; 2] = [',', '='];

/// Printable ASCII characters Amazon DocumentDB refuses in a password: `/`, `"`, `@`
/// (developer guide, "Amazon DocumentDB cluster settings"; CreateDBCluster
/// `MasterUserPassword`) and space (the API's error text, aws/aws-cdk#17347).
const DOCUMENTDB_REFUSED: &str = "/\"@ ";

/// The password lengths Amazon DocumentDB accepts (same sources).
const DOCUMENTDB_LENGTHS: std::ops::RangeInclusive<usize> = 8..=100;

/// What DocumentDB would refuse in `password`, never quoting it: a length outside 8-100, or
/// a character that is not printable ASCII or is one of `/ " @` and space.
fn documentdb_password_problem(password: &str) -> Option<String> {
    let length = password.chars().count();
    if !DOCUMENTDB_LENGTHS.contains(&length) {
        return Some(format!(
            "it is {length} characters long (DocumentDB: 8 to 100)"
        ));
    }
    password
        .chars()
        .any(|c| !c.is_ascii_graphic() || DOCUMENTDB_REFUSED.contains(c))
        .then(|| "it holds a character DocumentDB refuses (anything but printable ASCII, and / \" @ space)".to_string())
}

/// Refuses, before anything is sent, a new password DocumentDB would refuse: the password
/// policy allowed it.
fn check_documentdb_password(session: &MongoSession, pending: &DatabaseSecret) -> Result<()> {
    if !session.documentdb {
        return Ok(());
    }
    match documentdb_password_problem(pending.password().expose()) {
        None => Ok(()),
        Some(problem) => Err(RotationError::Configuration {
            variable: "EXCLUDE_CHARACTERS / PASSWORD_LENGTH".into(),
            problem: format!("let the AWSPENDING password of user {} be one Amazon DocumentDB refuses: {problem}. Nothing was changed. Exclude / \" @ (and keep the default's ' \\ and space) and keep PASSWORD_LENGTH within 8-100, then start a new rotation (this version's password is already generated)", pending.username),
        }),
    }
}

/// What a password policy may generate that DocumentDB refuses, if anything.
fn documentdb_policy_problem(policy: &PasswordPolicy) -> Option<String> {
    let mut problems = Vec::new();
    if !DOCUMENTDB_LENGTHS.contains(&(policy.length as usize)) {
        problems.push(format!(
            "PASSWORD_LENGTH is {} (DocumentDB: 8 to 100)",
            policy.length
        ));
    }
    // A generated password never holds a space (GetRandomPassword's IncludeSpace is not sent).
    let missing: String = DOCUMENTDB_REFUSED
        .chars()
        .filter(|c| *c != ' ' && !policy.exclude_characters.contains(*c))
        .collect();
    if !policy.exclude_punctuation && !missing.is_empty() {
        problems.push(format!(
            "EXCLUDE_CHARACTERS lets through {missing}, which DocumentDB refuses"
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// The codes of a write sent to a replica-set member that is not the primary (MongoDB
/// error_codes.yml: 10107 NotWritablePrimary, 13435 NotPrimaryNoSecondaryOk, 189
/// PrimarySteppedDown).
const NOT_PRIMARY: [i32; 3] = [10107, 13435, 189];

/// An authenticated session: the driver's client (one server, direct), the authentication
/// database and user, how it reaches the server, and what kind of server it is.
pub struct MongoSession {
    client: Client,
    db: String,
    transport: Transport,
    /// Amazon DocumentDB: an AWS DocumentDB endpoint, or a secret saying `"engine": "docdb"`.
    documentdb: bool,
    /// DocumentDB refused `showAuthenticationRestrictions` once: it is not sent again.
    restrictions_refused: bool,
}

impl MongoSession {
    fn server(&self) -> Server {
        if self.documentdb {
            Server::DocumentDb
        } else {
            Server::MongoDb
        }
    }
}

/// True when `secret` names Amazon DocumentDB: an endpoint under an AWS DocumentDB domain, or
/// `"engine": "docdb"` (the RDS API's name for a DocumentDB cluster). A DocumentDB reached
/// under another name with `"engine": "mongo"` is taken for MongoDB, and refused where the two
/// differ (authentication restrictions).
fn names_documentdb(secret: &DatabaseSecret) -> bool {
    is_aws_managed_host(&secret.host, MONGODB.aws_managed_domains)
        || secret.engine.as_deref() == Some("docdb")
}

/// The engine.
#[derive(Debug, Clone)]
pub struct MongoEngine {
    policy: ConnectPolicy,
}

impl MongoEngine {
    /// The engine, logging in under `policy` (its trust anchors; its test redirects, feature
    /// `test-support` only, connect a secret's host elsewhere: the DocumentDB rules,
    /// SCRAM-SHA-1 and TLS required, still go by the secret's `host`). The policy's plaintext
    /// fallback never applies: the driver owns its socket.
    pub fn new(policy: ConnectPolicy) -> Self {
        Self { policy }
    }

    async fn command(
        &self,
        session: &MongoSession,
        command: Document,
        operation: &str,
    ) -> Result<Document> {
        run(session, command, operation)
            .await?
            .map_err(|e| command_error(operation, &session.db, &e))
    }

    /// What `usersInfo` says of `user` in the session's database: its document, if it exists.
    async fn user_info(
        &self,
        session: &MongoSession,
        user: &str,
        operation: &str,
    ) -> Result<Option<Document>> {
        let info = self
            .command(
                session,
                doc! {"usersInfo": {"user": user, "db": &session.db}},
                operation,
            )
            .await?;
        entry_of(&info, user, &session.db)
    }

    /// What `user` holds that a clone copies ([`Access`]), if the user exists: `usersInfo`
    /// with `showAuthenticationRestrictions: true`. A refusal of the option is an error
    /// ([`MongoError::RestrictionsRefused`]), except from DocumentDB, which has no
    /// restrictions and refuses arguments it does not implement with 2 BadValue: it is then
    /// asked without the option, for the rest of the session.
    async fn access_of(
        &self,
        session: &mut MongoSession,
        user: &str,
        operation: &str,
    ) -> Result<Option<Access>> {
        let spec = doc! {"user": user, "db": &session.db};
        let mut info = None;
        if !session.restrictions_refused {
            let asked = doc! {"usersInfo": spec.clone(), "showAuthenticationRestrictions": true};
            match run(session, asked, operation).await? {
                Ok(answer) => info = Some(answer),
                Err(e) => match e.kind.as_ref() {
                    ErrorKind::Command(c) if c.code == 2 && session.documentdb => {
                        tracing::debug!("DocumentDB refused showAuthenticationRestrictions: it has no authentication restrictions; asking without");
                        session.restrictions_refused = true;
                    }
                    ErrorKind::Command(c) if c.code != 13 => {
                        return Err(MongoError::RestrictionsRefused {
                            user: user.to_string(),
                            code: c.code,
                            code_name: c.code_name.clone(),
                        }
                        .into())
                    }
                    _ => return Err(command_error(operation, &session.db, &e)),
                },
            }
        }
        let info = match info {
            Some(info) => info,
            None => {
                self.command(session, doc! {"usersInfo": spec}, operation)
                    .await?
            }
        };
        match entry_of(&info, user, &session.db)? {
            Some(entry) => Ok(Some(Access::read(&entry, user, session.server())?)),
            None => Ok(None),
        }
    }

    /// What the current user (`source`) holds; it must exist.
    async fn current_access(&self, session: &mut MongoSession, source: &str) -> Result<Access> {
        self.access_of(session, source, "read the current user's access")
            .await?
            .ok_or_else(|| {
                RotationError::SetSecret(format!(
                    "user {source} does not exist in {}: nothing to copy the roles, authentication restrictions and mechanisms of",
                    session.db
                ))
            })
    }

    /// Reads the clone back after `operation` and holds it against the current user, field by
    /// field: the server must have applied what was sent (a server that silently ignored a
    /// field would leave a clone with other access).
    async fn verify_copy(
        &self,
        session: &mut MongoSession,
        source: &str,
        pending: &DatabaseSecret,
        operation: &'static str,
    ) -> Result<()> {
        let want = self.current_access(session, source).await?;
        let have = self
            .access_of(session, &pending.username, "read the clone back")
            .await?;
        let fields = match &have {
            Some(have) => want.differences(have),
            None => vec!["roles", "authenticationRestrictions", "mechanisms"],
        };
        if fields.is_empty() {
            tracing::debug!(user = %pending.username, "checked: the clone holds the current user's roles, authentication restrictions and mechanisms");
            return Ok(());
        }
        Err(MongoError::CloneDiffers {
            operation,
            clone: pending.username.clone(),
            current: source.to_string(),
            fields: fields.join(", "),
        }
        .into())
    }

    /// The password-policy check: how the new password travels, and, at a DocumentDB host,
    /// whether the policy can generate a password DocumentDB refuses.
    fn transport_check(&self, session: &MongoSession, policy: &PasswordPolicy) -> Check {
        let carried = match session.transport {
            Transport::VerifiedTls => "inside verified TLS",
            _ => "in plaintext (the secret says \"ssl\": false)",
        };
        let refused = session
            .documentdb
            .then(|| documentdb_policy_problem(policy))
            .flatten();
        Check {
            name: names::PASSWORD_POLICY,
            ok: refused.is_none(),
            detail: match refused {
                None => format!(
                    "the server stores salted SCRAM credentials; the new password is sent {carried}"
                ),
                Some(problem) => format!(
                    "the password policy can generate a password Amazon DocumentDB refuses: {problem}; setSecret would refuse it and change nothing"
                ),
            },
        }
    }

    /// The session's user, roles and privileges (`connectionStatus` with `showPrivileges`).
    async fn session_auth(&self, session: &MongoSession, operation: &str) -> Result<SessionAuth> {
        let status = self
            .command(
                session,
                doc! {"connectionStatus": 1, "showPrivileges": true},
                operation,
            )
            .await?;
        let info = status
            .get_document("authInfo")
            .map_err(|_| unexpected("connectionStatus has no authInfo"))?;
        let user = info
            .get_array("authenticatedUsers")
            .ok()
            .and_then(|users| users.first())
            .and_then(Bson::as_document)
            .and_then(|u| u.get_str("user").ok())
            .unwrap_or("the session's user")
            .to_string();
        let roles = info
            .get_array("authenticatedUserRoles")
            .map(|r| {
                r.iter()
                    .filter_map(Bson::as_document)
                    .filter_map(|d| {
                        Some((
                            d.get_str("role").ok()?.to_string(),
                            d.get_str("db").ok()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(SessionAuth {
            user,
            roles,
            privileges: Privileges::from_connection_status(&status),
        })
    }

    /// Refuses, before any change, a user command the session's privileges do not allow
    /// ([`MongoError::MissingPrivilege`], naming the first missing action and its database).
    /// A server that does not list privileges decides itself.
    async fn require(&self, session: &MongoSession, needs: &[Action]) -> Result<()> {
        let auth = self
            .session_auth(session, "read the superuser's privileges")
            .await?;
        let Some(privileges) = &auth.privileges else {
            tracing::debug!("the server does not list privileges: it decides");
            return Ok(());
        };
        match privileges.missing(needs).first() {
            Some(n) => Err(MongoError::MissingPrivilege {
                user: auth.user.clone(),
                action: n.action,
                place: n.place(),
                why: n.why,
            }
            .into()),
            None => Ok(()),
        }
    }

    /// One `updateUser` with the password, the roles, the restrictions and the mechanisms of
    /// the current user (read just before), then the clone read back.
    async fn update_with(
        &self,
        session: &mut MongoSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let access = self.current_access(session, source).await?;
        let clone = self
            .access_of(session, &pending.username, "read the clone")
            .await?;
        // Roles are sent only when the clone's differ: setting them with updateUser needs
        // revokeRole on every database, which a user administrator of one database lacks.
        let with_roles = clone.as_ref().is_none_or(|c| !access.same_roles(c));
        let needs = update_needs(&session.db, &access, session.server(), with_roles);
        self.require(session, &needs).await?;
        let mut command =
            doc! {"updateUser": &pending.username, "pwd": pending.password().expose()};
        access.write_into(&mut command, session.server(), with_roles);
        self.command(session, command, "update the clone").await?;
        self.verify_copy(session, source, pending, "update the clone")
            .await
    }
}

/// The session's user, its roles and its privileges, from `connectionStatus` with
/// `showPrivileges: true`.
struct SessionAuth {
    user: String,
    roles: Vec<(String, String)>,
    /// `None`: the server did not list privileges.
    privileges: Option<Privileges>,
}

impl SessionAuth {
    fn roles_listed(&self) -> String {
        if self.roles.is_empty() {
            return "none".into();
        }
        self.roles
            .iter()
            .map(|(r, on)| format!("{r}@{on}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A check of `needs` as preflight reports it: ok with what was found, or every missing
    /// action with its database and purpose.
    fn check(&self, name: &'static str, needs: &[Action], ok_text: &str) -> Check {
        let Some(privileges) = &self.privileges else {
            return Check {
                name,
                ok: true,
                detail: format!("not checked: the server does not list the privileges of {} (connectionStatus showPrivileges); it decides when setSecret runs, and refuses with 13 Unauthorized before changing anything", self.user),
            };
        };
        let missing = privileges.missing(needs);
        if missing.is_empty() {
            return Check {
                name,
                ok: true,
                detail: format!("{} (roles: {}) {ok_text}", self.user, self.roles_listed()),
            };
        }
        let listed = missing
            .iter()
            .map(|n| format!("{} on {} (to {})", n.action, n.place(), n.why))
            .collect::<Vec<_>>()
            .join("; ");
        Check {
            name,
            ok: false,
            detail: format!(
                "{} (roles: {}) lacks the privilege actions: {listed}. Without them setSecret is refused before any change",
                self.user,
                self.roles_listed()
            ),
        }
    }
}

const WHY_CREATE: &str = "create the clone";
const WHY_PASSWORD: &str = "set the clone's password";
const WHY_GRANT: &str = "give the clone the current user's roles on it";
const WHY_REVOKE: &str = "replace the roles of a clone whose roles differ";
const WHY_RESTRICT: &str = "give the clone the current user's authentication restrictions";
const WHY_VIEW: &str = "read the current user and the clone (usersInfo)";

/// What `createUser` of a clone of `access` in `db` needs (MongoDB: createUser on the
/// database, grantRole on each role's database, setAuthenticationRestriction when restrictions
/// are sent; server `user_management_commands_common.cpp`).
fn create_needs(db: &str, access: &Access, server: Server) -> Vec<Action> {
    let mut needs = vec![Action::on("createUser", db, WHY_CREATE)];
    needs.extend(grant_needs(access));
    if access.sends_restrictions(server) {
        needs.push(Action::on("setAuthenticationRestriction", db, WHY_RESTRICT));
    }
    needs
}

/// `grantRole` on each database the roles `access` copies live on.
fn grant_needs(access: &Access) -> Vec<Action> {
    access
        .role_databases()
        .iter()
        .map(|on| Action::on("grantRole", on, WHY_GRANT))
        .collect()
}

/// What `updateUser` of a clone with the password (and the roles, when `with_roles`) needs:
/// changePassword on the database (another user's password); with roles, revokeRole on every
/// database and grantRole on each role's; setAuthenticationRestriction when restrictions are
/// sent.
fn update_needs(db: &str, access: &Access, server: Server, with_roles: bool) -> Vec<Action> {
    let mut needs = vec![Action::on("changePassword", db, WHY_PASSWORD)];
    if with_roles {
        needs.push(Action::everywhere("revokeRole", WHY_REVOKE));
        needs.extend(grant_needs(access));
    }
    if access.sends_restrictions(server) {
        needs.push(Action::on("setAuthenticationRestriction", db, WHY_RESTRICT));
    }
    needs
}

/// Each need once, in order.
fn dedup(needs: Vec<Action>) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::new();
    for n in needs {
        if !out.iter().any(|o| o.action == n.action && o.db == n.db) {
            out.push(n);
        }
    }
    out
}

/// The entry of `info` (a `usersInfo` answer) for exactly `user` in `db`, if any.
fn entry_of(info: &Document, user: &str, db: &str) -> Result<Option<Document>> {
    let users = info
        .get_array("users")
        .map_err(|_| unexpected("usersInfo has no users array"))?;
    // Only an entry for exactly this user in this database counts; two are not understood.
    let matching: Vec<&Document> = users
        .iter()
        .filter_map(Bson::as_document)
        .filter(|u| u.get_str("user") == Ok(user) && u.get_str("db") == Ok(db))
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [found] => Ok(Some((*found).clone())),
        _ => Err(unexpected("usersInfo lists the user more than once")),
    }
}

/// Runs `command` in the session's database within [`COMMAND_TIMEOUT`]: the driver's answer,
/// or a [`RotationError::SetSecret`] when none came in time.
async fn run(
    session: &MongoSession,
    command: Document,
    operation: &str,
) -> Result<std::result::Result<Document, mongodb::error::Error>> {
    tracing::debug!(operation, "command");
    let database = session.client.database(&session.db);
    tokio::time::timeout(COMMAND_TIMEOUT, database.run_command(command))
        .await
        .map_err(|_| {
            RotationError::SetSecret(format!(
                "{operation}: no answer within {} s (the server may still apply it; the step is retried)",
                COMMAND_TIMEOUT.as_secs()
            ))
        })
}

fn unexpected(what: &str) -> RotationError {
    RotationError::UnsupportedServer(format!(
        "the server's answer is not one this function understands: {what}"
    ))
}

/// A failed command: its code and code name, never its message when the command carried a
/// password (a server may quote it).
fn command_error(operation: &str, db: &str, e: &mongodb::error::Error) -> RotationError {
    match e.kind.as_ref() {
        ErrorKind::Command(c) if c.code == 13 && operation == OWN_PASSWORD => RotationError::SetSecret(format!(
            "{operation}: the server refused it as unauthorized (13 Unauthorized): changing one's own password needs the changeOwnPassword action on {db} (a custom role granting it)"
        )),
        ErrorKind::Command(c) if c.code == 13 => RotationError::SetSecret(format!(
            "{operation}: the server refused it as unauthorized (13 Unauthorized): reading and managing the users of {db} needs viewUser, createUser and changePassword on it, and grantRole on each database the copied roles live on (userAdmin there, or userAdminAnyDatabase / root)"
        )),
        ErrorKind::Command(c) if NOT_PRIMARY.contains(&c.code) => RotationError::SetSecret(format!(
            "{operation}: the server is not the replica set's primary ({} {}): users change only on the primary, and nothing was changed. Set the secret's host to the primary, or to the cluster endpoint, which always names it (a DocumentDB reader or instance endpoint may name a replica)",
            c.code, c.code_name
        )),
        ErrorKind::Command(c) => RotationError::SetSecret(format!(
            "{operation}: the server answered error {} ({})",
            c.code, c.code_name
        )),
        _ => RotationError::SetSecret(format!("{operation}: {}", short(e))),
    }
}

impl Database for MongoEngine {
    type Session = MongoSession;

    fn identity(&self) -> &EngineIdentity {
        &MONGODB
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    /// Through the connect policy ([`MongoDriver`], a driver that owns its socket): a direct
    /// connection to the secret's host (a DocumentDB member list naming other hosts is never
    /// followed with these credentials), `retryWrites=false`, SCRAM-SHA-1 for DocumentDB
    /// endpoints (every cluster accepts it) and the server's offer elsewhere, TLS verified for
    /// `host` unless the secret says `"ssl": false`. No plaintext fallback: a secret without
    /// `ssl` gets TLS or nothing. `tlsServerName` other than `host` is refused: the driver
    /// verifies the certificate for the host it connects to. The superuser authenticates in
    /// `admin`; everyone else in the secret's `dbname` (default `admin`). A user name the
    /// driver cannot send in SCRAM (`,` or `=`) is refused before anything is sent. The login's
    /// deadline comes after the driver's own timeouts, so a refused certificate is reported
    /// as a `TlsFailure`, never as an unreachable host.
    async fn connect(&self, secret: &DatabaseSecret, which: Which) -> Result<MongoSession> {
        if let Some(c) = secret
            .username
            .chars()
            .find(|c| SCRAM_UNSENDABLE.contains(c))
        {
            return Err(RotationError::malformed(
                which.label(),
                format!("username {} contains '{c}', which the MongoDB driver cannot send in a SCRAM login (it does not escape ',' and '=' as RFC 5802 requires, so the server reads another name and refuses it); rotate a user whose name has neither", secret.username),
            ));
        }
        let (client, transport) = self
            .policy
            .connect(&MongoDriver, &MONGODB, secret, which)
            .await?;
        Ok(MongoSession {
            client,
            db: secret.dbname.clone().unwrap_or_else(|| "admin".into()),
            transport,
            documentdb: names_documentdb(secret),
            restrictions_refused: false,
        })
    }

    fn transport(&self, session: &MongoSession) -> Transport {
        session.transport
    }

    async fn session_user(&self, session: &mut MongoSession) -> Result<String> {
        let status = self
            .command(
                session,
                doc! {"connectionStatus": 1},
                "read the session's user",
            )
            .await?;
        let users = status
            .get_document("authInfo")
            .and_then(|a| a.get_array("authenticatedUsers"))
            .map_err(|_| unexpected("connectionStatus has no authInfo.authenticatedUsers"))?;
        match users.as_slice() {
            [Bson::Document(u)] => match (u.get_str("user"), u.get_str("db")) {
                (Ok(user), Ok(db)) if db == session.db => Ok(user.to_string()),
                (Ok(user), Ok(db)) => Err(RotationError::ConfusedDeputy(format!(
                    "the session is authenticated as {user} in {db}, not in the secret's database {}",
                    session.db
                ))),
                _ => Err(unexpected("an authenticated user without user and db")),
            },
            _ => Err(unexpected("not exactly one authenticated user")),
        }
    }

    /// Reads the session's privileges (`connectionStatus` with `showPrivileges: true`), never
    /// role names: a user-defined role can grant any action. Single user: `changeOwnPassword`
    /// (or `changePassword`) on its database. Superuser without a user to copy: `viewUser`,
    /// `createUser`, `changePassword` on the database (and `setAuthenticationRestriction` on
    /// MongoDB); alternating users are checked by [`Database::clone_privileges`].
    async fn privileges(
        &self,
        session: &mut MongoSession,
        need: Need,
        policy: &PasswordPolicy,
    ) -> Result<Vec<Check>> {
        let auth = self
            .session_auth(session, "read the session's privileges")
            .await?;
        let db = session.db.clone();
        let check = match need {
            Need::OwnPassword => {
                let own = auth
                    .privileges
                    .as_ref()
                    .map(|p| p.may("changeOwnPassword", &db) || p.may("changePassword", &db));
                Check {
                    name: names::OWN_PASSWORD,
                    ok: own != Some(false),
                    detail: match own {
                        Some(true) => format!("{} (roles: {}) holds changeOwnPassword (or changePassword) on database {db}", auth.user, auth.roles_listed()),
                        Some(false) => format!("{} (roles: {}) lacks the changeOwnPassword action on database {db}: without it setSecret fails with Unauthorized and nothing changes. No built-in role grants it; grant a user-defined role with changeOwnPassword on {db} (or on {{db: \"\", collection: \"\"}}), as the MongoDB manual's \"Change Your Password\" recipe does", auth.user, auth.roles_listed()),
                        None => format!("not checked: the server does not list the privileges of {} (connectionStatus showPrivileges); setSecret needs changeOwnPassword on {db}", auth.user),
                    },
                }
            }
            Need::ManageUsers => {
                let mut needs = vec![
                    Action::on("viewUser", &db, WHY_VIEW),
                    Action::on("createUser", &db, WHY_CREATE),
                    Action::on("changePassword", &db, WHY_PASSWORD),
                ];
                if session.server() == Server::MongoDb {
                    needs.push(Action::on(
                        "setAuthenticationRestriction",
                        &db,
                        WHY_RESTRICT,
                    ));
                }
                auth.check(
                    names::MANAGE_USERS,
                    &needs,
                    &format!("may read, create and set the passwords of the users of {db}"),
                )
            }
        };
        Ok(vec![check, self.transport_check(session, policy)])
    }

    /// What alternating users need of the superuser for `source` and its `clone`: reading
    /// users, creating the clone (`createUser`, `grantRole` on EVERY database the current
    /// user's roles live on, `setAuthenticationRestriction` when restrictions are copied),
    /// setting its password (`changePassword`), and, when the existing clone's roles differ
    /// from the current user's, `revokeRole` on every database.
    async fn clone_privileges(
        &self,
        session: &mut MongoSession,
        source: &str,
        clone: &str,
        policy: &PasswordPolicy,
    ) -> Result<Vec<Check>> {
        let auth = self
            .session_auth(session, "read the superuser's privileges")
            .await?;
        let db = session.db.clone();
        let server = session.server();
        let mut needs = vec![Action::on("viewUser", &db, WHY_VIEW)];
        let check = match self
            .access_of(session, source, "read the current user's access")
            .await
        {
            Ok(Some(access)) => {
                needs.extend(create_needs(&db, &access, server));
                let existing = self.access_of(session, clone, "read the clone").await?;
                let with_roles = existing.as_ref().is_some_and(|c| !access.same_roles(c));
                needs.extend(update_needs(&db, &access, server, with_roles));
                let dbs = access
                    .role_databases()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ");
                auth.check(names::MANAGE_USERS, &dedup(needs), &format!("may read the users of {db}, create {clone}, set its password, and grant roles on every database {source}'s roles live on ({dbs})"))
            }
            Ok(None) => Check {
                name: names::MANAGE_USERS,
                ok: false,
                detail: format!("user {source} does not exist in {db}: there is nothing to copy"),
            },
            Err(e) => Check {
                name: names::MANAGE_USERS,
                ok: false,
                detail: format!(
                    "{} (roles: {}) could not read user {source}: {e}",
                    auth.user,
                    auth.roles_listed()
                ),
            },
        };
        Ok(vec![check, self.transport_check(session, policy)])
    }

    async fn set_own_password(
        &self,
        session: &mut MongoSession,
        _current: &DatabaseSecret,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        check_documentdb_password(session, pending)?;
        let command = doc! {"updateUser": &pending.username, "pwd": pending.password().expose()};
        self.command(session, command, OWN_PASSWORD)
            .await
            .map(|_| ())
    }

    async fn user_exists(&self, session: &mut MongoSession, user: &str) -> Result<bool> {
        Ok(self
            .user_info(session, user, "look the user up")
            .await?
            .is_some())
    }

    /// One `updateUser` sets the password, the roles, the authentication restrictions (an
    /// empty list clears the clone's) and the mechanisms together: with the password, any
    /// supported set of mechanisms is stored anew (updateUser: only without `pwd` must they be
    /// a subset of the user's), so an update never needs the clone dropped. Then the clone is
    /// read back.
    async fn update_clone(
        &self,
        session: &mut MongoSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        session.documentdb |= names_documentdb(pending);
        check_documentdb_password(session, pending)?;
        self.update_with(session, source, pending).await
    }

    /// One `createUser` with the password, the roles, the restrictions and the mechanisms,
    /// then the clone read back; a concurrent creation (51003) is finished as an update.
    async fn create_clone(
        &self,
        session: &mut MongoSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        session.documentdb |= names_documentdb(pending);
        check_documentdb_password(session, pending)?;
        let access = self.current_access(session, source).await?;
        let needs = create_needs(&session.db, &access, session.server());
        self.require(session, &needs).await?;
        let mut command =
            doc! {"createUser": &pending.username, "pwd": pending.password().expose()};
        access.write_into(&mut command, session.server(), true);
        match run(session, command, "create the clone").await? {
            Ok(_) => {
                self.verify_copy(session, source, pending, "create the clone")
                    .await
            }
            Err(e) if matches!(e.kind.as_ref(), ErrorKind::Command(c) if c.code == 51003) => {
                self.update_with(session, source, pending).await
            }
            Err(e) => Err(command_error("create the clone", &session.db, &e)),
        }
    }

    /// The pending password logs in (a new session), and the clone holds exactly the current
    /// user's roles, authentication restrictions and mechanisms, read now.
    async fn change_is_complete(
        &self,
        session: &mut MongoSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<bool> {
        session.documentdb |= names_documentdb(pending);
        if self.connect(pending, Which::Pending).await.is_err() {
            return Ok(false);
        }
        let want = self.current_access(session, source).await?;
        let have = self
            .access_of(session, &pending.username, "read the clone")
            .await?;
        let fields = have.map_or_else(|| vec!["the user"], |have| want.differences(&have));
        if !fields.is_empty() {
            tracing::debug!(user = %pending.username, differences = %fields.join(", "), "the pending user is not yet a copy of the current user");
        }
        Ok(fields.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_core::PasswordDefaults;

    #[test]
    fn documentdb_password_rules() {
        assert_eq!(documentdb_password_problem("Abcdefg1"), None);
        assert_eq!(documentdb_password_problem(&"a".repeat(100)), None);
        for bad in [
            "Abcdef1",
            "Abcdefg1/",
            "Abcdefg1\"",
            "Abcdefg1@",
            "Abcd efg1",
            "Abcdefgé1",
        ] {
            let problem = documentdb_password_problem(bad).expect(bad);
            assert!(!problem.contains(bad), "the password is never quoted");
        }
        assert!(documentdb_password_problem(&"a".repeat(101)).is_some());
    }

    #[test]
    fn the_default_policy_generates_only_passwords_documentdb_accepts() {
        let policy =
            PasswordPolicy::from_lookup(crate::engines::MONGODB.password_defaults, |_| None)
                .unwrap();
        assert_eq!(documentdb_policy_problem(&policy), None);
        let standard = PasswordPolicy::from_lookup(PasswordDefaults::STANDARD, |name| {
            (name == "EXCLUDE_CHARACTERS").then(|| "'\\".to_string())
        })
        .unwrap();
        assert!(documentdb_policy_problem(&standard)
            .unwrap()
            .contains("/\"@"));
        let long = PasswordPolicy::from_lookup(crate::engines::MONGODB.password_defaults, |name| {
            (name == "PASSWORD_LENGTH").then(|| "120".to_string())
        })
        .unwrap();
        assert!(documentdb_policy_problem(&long).unwrap().contains("120"));
    }
}
