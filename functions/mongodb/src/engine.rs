//! The MongoDB-wire engine: sessions from the core's connect policy through [`MongoDriver`] (a
//! direct connection to the secret's host, no retryable writes, SCRAM as the server offers it
//! and SHA-1 for DocumentDB endpoints, verified TLS against the function's trust anchors), and
//! the user commands of the two strategies: `updateUser` of one's own password, `usersInfo`,
//! `createUser` / `updateUser` of the clone with the current user's roles, authentication
//! restrictions and SCRAM mechanisms ([`crate::access`]) in the same command as the password,
//! read back after.

use mongodb::bson::{doc, Bson, Document};
use mongodb::error::ErrorKind;

use rotation_core::database::{
    Capabilities, ConnectPolicy, Database, DatabaseSecret, EngineIdentity, Need, Transport, Which,
};
use rotation_core::preflight::names;
use rotation_core::{Check, PasswordPolicy, Result, RotationError};

use crate::access::{Access, Server};
use crate::commands::{command_error, entry_of, run, unexpected, OWN_PASSWORD};
use crate::connect::MongoDriver;
use crate::documentdb::{check_documentdb_password, documentdb_policy_problem, names_documentdb};
use crate::engines::MONGODB;
use crate::error::MongoError;
use crate::needs::{
    create_needs, dedup, update_needs, SessionAuth, WHY_CREATE, WHY_PASSWORD, WHY_RESTRICT,
    WHY_VIEW,
};
use crate::privileges::{Need as Action, Privileges};
use crate::session::MongoSession;

/// Characters of a user name that the driver (3.2) puts unescaped into SCRAM's client-first
/// message, where RFC 5802 requires `=2C` and `=3D`: a login as such a user is refused.
const SCRAM_UNSENDABLE: [char; 2] = [',', '='];

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

    /// Reads the clone back after `operation` and holds it against `want`, what was read of
    /// the current user (`source`) for the write, field by field: the server must have applied
    /// what was sent (a server that silently ignored a field would leave a clone with other
    /// access). The current user is not read again: the write copied `want`, and a change to
    /// the current user since then is the next rotation's to copy.
    async fn verify_copy(
        &self,
        session: &mut MongoSession,
        want: &Access,
        source: &str,
        pending: &DatabaseSecret,
        operation: &'static str,
    ) -> Result<()> {
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
        self.verify_copy(session, &access, source, pending, "update the clone")
            .await
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
                self.verify_copy(session, &access, source, pending, "create the clone")
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
