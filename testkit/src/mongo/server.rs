//! The stand-in server: starting it (and a replica set's secondaries), its TLS, and the
//! tests' view of its users, roles and counters.

use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

use super::authz;
use super::bson::Bson;
use super::personality::{Personality, OWN_PASSWORD_ROLE};
use super::restriction::Restriction;
use super::scram::Mechanism;
use super::session::{credentials, serve};
use super::state::{Counters, State, User};
use super::topology::{Member, Role};

/// The stand-in server, serving on a loopback port until dropped.
pub struct MongoStandIn {
    pub(super) personality: Personality,
    pub(super) port: u16,
    pub(super) state: Arc<Mutex<State>>,
    pub(super) member: Arc<Member>,
    pub(super) task: tokio::task::JoinHandle<()>,
}

impl Drop for MongoStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
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

    pub(super) fn serving(
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

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
