//! A fake engine for unit tests of the strategies (feature `test-support`): users and
//! passwords in memory, every login and change recorded in order, and faults on demand (refused
//! logins, failing changes, changes the server accepts but stores wrongly, a hook run at each
//! login to play a concurrent invocation).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Capabilities, Database, DatabaseSecret, EngineIdentity, Quirks, Which};
use crate::error::{Result, RotationError, ServerError};

/// What the fake saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeEvent {
    /// A login attempt.
    Login {
        /// Which credentials.
        which: Which,
        /// The user.
        user: String,
        /// Whether it was accepted.
        accepted: bool,
    },
    /// `set_own_password` for `user`.
    SetOwnPassword {
        /// The user.
        user: String,
    },
    /// `update_clone` for `user`.
    UpdateClone {
        /// The user.
        user: String,
        /// Whose privileges it gets.
        source: String,
    },
    /// `create_clone`.
    CreateClone {
        /// The new user.
        clone: String,
        /// Whose privileges it gets.
        source: String,
    },
}

/// A change the next call of an operation makes (or does not make).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The statement fails; nothing changes.
    Fail,
    /// The change is made, then the statement reports a failure (a race another invocation
    /// won: the password is what it should be).
    FailAfterApplying,
    /// The server accepts the change but stores another password.
    StoreWrongly,
    /// The change reaches one account of the user (the one a login from here matches) and
    /// then fails: the others keep the old password (engines with several accounts per user).
    ApplyPartly,
}

type LoginHook = Box<dyn FnMut(Which, &mut HashMap<String, String>) + Send>;

#[derive(Default)]
struct State {
    passwords: HashMap<String, String>,
    events: Vec<FakeEvent>,
    refused_users: HashSet<String>,
    faults: Vec<Fault>,
    on_login: Option<LoginHook>,
    capabilities: Option<Capabilities>,
    /// Users whose change reached only some of their accounts.
    partly_changed: HashSet<String>,
    /// Login user -> the user the session says it is (a proxied or anonymous account).
    session_users: HashMap<String, String>,
    /// Users, and which of their login attempts (1-based, counted from the fake's start) find
    /// the server unreachable.
    unreachable: HashMap<String, Vec<usize>>,
    /// Users, and which of their login attempts the server turns away for capacity.
    full: HashMap<String, Vec<usize>>,
    /// Login attempts so far, per user.
    attempts: HashMap<String, usize>,
}

/// The fake engine; clones share one state, so a test keeps a handle to inspect it.
#[derive(Clone)]
pub struct FakeDatabase {
    state: Arc<Mutex<State>>,
    /// What it declares (its quirks are set by the builders, before the fake is cloned).
    identity: EngineIdentity,
}

impl Default for FakeDatabase {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            identity: FAKE_IDENTITY,
        }
    }
}

impl std::fmt::Debug for FakeDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDatabase")
            .field("events", &self.lock().events)
            .finish()
    }
}

/// The session of a fake login.
#[derive(Debug, Clone)]
pub struct FakeSession {
    user: String,
}

impl FakeDatabase {
    /// The `engine` value the fake accepts.
    pub const ENGINE: &'static str = "fake";

    /// An empty fake.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds (or resets) `user` with `password`.
    pub fn with_user(self, user: &str, password: &str) -> Self {
        self.set_password_of(user, password);
        self
    }

    /// Sets `user`'s password behind the strategies' back.
    pub fn set_password_of(&self, user: &str, password: &str) {
        self.lock()
            .passwords
            .insert(user.to_string(), password.to_string());
    }

    /// The engine declares only `capabilities`.
    pub fn with_capabilities(self, capabilities: Capabilities) -> Self {
        self.lock().capabilities = Some(capabilities);
        self
    }

    /// The engine declares `quirks` (the clones made after this share them).
    pub fn with_quirks(mut self, quirks: Quirks) -> Self {
        self.identity.quirks = quirks;
        self
    }

    /// Users have several accounts (as on MySQL): the engine declares that one login no longer
    /// proves a change, and [`Fault::ApplyPartly`] leaves a user changed on one account only.
    pub fn with_several_accounts(self) -> Self {
        let quirks = Quirks {
            one_login_proves_a_change: false,
            ..self.identity.quirks
        };
        self.with_quirks(quirks)
    }

    /// Sessions of `login` say they are `session_user` (as MySQL's `CURRENT_USER()` does for a
    /// proxied or anonymous account, or a server that stores the name in another case).
    pub fn with_session_user(self, login: &str, session_user: &str) -> Self {
        self.lock()
            .session_users
            .insert(login.to_string(), session_user.to_string());
        self
    }

    /// The login attempts of `user` numbered in `attempts` (1-based, counting every attempt
    /// since the fake was made) find the server unreachable, as a connection limit, a timeout
    /// or a network fault would, whatever the password.
    pub fn unreachable_logins_of(&self, user: &str, attempts: &[usize]) {
        self.lock()
            .unreachable
            .insert(user.to_string(), attempts.to_vec());
    }

    /// After the next `skip` login attempts of `user`, the `n` following are turned away for
    /// capacity, whatever the password, as a server with no connection slot left does
    /// (`DatabaseAtCapacity`).
    pub fn full_for_logins_of(&self, user: &str, skip: usize, n: usize) {
        let mut state = self.lock();
        let first = state.attempts.get(user).copied().unwrap_or(0) + skip + 1;
        state
            .full
            .insert(user.to_string(), (first..first + n).collect());
    }

    /// True when `user`'s last change reached only some of its accounts.
    pub fn partly_changed(&self, user: &str) -> bool {
        self.lock().partly_changed.contains(user)
    }

    /// `user`'s password now, if the user exists.
    pub fn password_of(&self, user: &str) -> Option<String> {
        self.lock().passwords.get(user).cloned()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<FakeEvent> {
        self.lock().events.clone()
    }

    /// The login attempts so far: (which, user, accepted).
    pub fn logins(&self) -> Vec<(Which, String, bool)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                FakeEvent::Login {
                    which,
                    user,
                    accepted,
                } => Some((which, user, accepted)),
                _ => None,
            })
            .collect()
    }

    /// The changes so far (every event but logins).
    pub fn changes(&self) -> Vec<FakeEvent> {
        self.events()
            .into_iter()
            .filter(|e| !matches!(e, FakeEvent::Login { .. }))
            .collect()
    }

    /// Every login of `user` is refused, whatever the password.
    pub fn refuse_logins_of(&self, user: &str) {
        self.lock().refused_users.insert(user.to_string());
    }

    /// The next password change (of any kind) suffers `fault`. Faults queue up.
    pub fn fault_next_change(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Runs `hook` at the start of every login, with the password table (to play another
    /// invocation changing a password between two of ours).
    pub fn on_login(&self, hook: impl FnMut(Which, &mut HashMap<String, String>) + Send + 'static) {
        self.lock().on_login = Some(Box::new(hook));
    }

    fn change(&self, event: FakeEvent, user: &str, password: &str) -> Result<()> {
        let mut state = self.lock();
        state.events.push(event);
        let fault = (!state.faults.is_empty()).then(|| state.faults.remove(0));
        let failed = || RotationError::Database {
            operation: "change a password (fake)".into(),
            server: Some(Box::new(ServerError {
                scheme: "SQLSTATE",
                code: "XX000".into(),
                message: Some("injected failure".into()),
            })),
            source: None,
        };
        state.partly_changed.remove(user);
        match fault {
            Some(Fault::Fail) => Err(failed()),
            Some(Fault::ApplyPartly) => {
                state.passwords.insert(user.into(), password.into());
                state.partly_changed.insert(user.into());
                Err(failed())
            }
            Some(Fault::FailAfterApplying) => {
                state.passwords.insert(user.into(), password.into());
                Err(failed())
            }
            Some(Fault::StoreWrongly) => {
                state
                    .passwords
                    .insert(user.into(), format!("{password}-stored-wrongly"));
                Ok(())
            }
            None => {
                state.passwords.insert(user.into(), password.into());
                Ok(())
            }
        }
    }
}

/// The fake engine's identity: PostgreSQL's port and name limit, no AWS-managed domain, no
/// quirk unless a test declares one.
const FAKE_IDENTITY: EngineIdentity = EngineIdentity {
    binary: "fake",
    engines: &[FakeDatabase::ENGINE],
    default_port: 5432,
    default_dbname: None,
    username_limit: super::NameLimit::Bytes(63),
    aws_managed_domains: &[],
    password_defaults: crate::password::PasswordDefaults::POSTGRES,
    quirks: Quirks::NONE,
};

impl Database for FakeDatabase {
    type Session = FakeSession;

    fn identity(&self) -> &EngineIdentity {
        &self.identity
    }

    fn capabilities(&self) -> Capabilities {
        self.lock().capabilities.unwrap_or(Capabilities::ALL)
    }

    async fn connect(&self, secret: &DatabaseSecret, which: Which) -> Result<FakeSession> {
        let mut state = self.lock();
        if let Some(mut hook) = state.on_login.take() {
            hook(which, &mut state.passwords);
            state.on_login = Some(hook);
        }
        let user = secret.username.clone();
        let attempt = {
            let n = state.attempts.entry(user.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if state
            .unreachable
            .get(&user)
            .is_some_and(|at| at.contains(&attempt))
        {
            return Err(RotationError::DatabaseUnreachable {
                which: which.label().into(),
                host: secret.host.clone(),
                port: 5432,
                detail: "injected: too many connections".into(),
            });
        }
        if state
            .full
            .get(&user)
            .is_some_and(|at| at.contains(&attempt))
        {
            return Err(RotationError::DatabaseAtCapacity {
                which: which.label().into(),
                user: user.clone(),
                host: secret.host.clone(),
                port: 5432,
                server: Box::new(ServerError {
                    scheme: "SQLSTATE",
                    code: "53300".into(),
                    message: Some("injected: too many connections".into()),
                }),
                hint: String::new(),
            });
        }
        let accepted = !state.refused_users.contains(&user)
            && state.passwords.get(&user).map(String::as_str) == Some(secret.password().expose());
        state.events.push(FakeEvent::Login {
            which,
            user: user.clone(),
            accepted,
        });
        if accepted {
            let user = state.session_users.get(&user).cloned().unwrap_or(user);
            Ok(FakeSession { user })
        } else {
            Err(RotationError::AuthenticationFailed {
                which: which.label().into(),
                user,
                host: secret.host.clone(),
                server: None,
                hint: String::new(),
            })
        }
    }

    fn transport(&self, _session: &FakeSession) -> super::Transport {
        super::Transport::VerifiedTls
    }

    /// From the declared capabilities.
    async fn privileges(
        &self,
        _session: &mut FakeSession,
        need: super::Need,
        _policy: &crate::PasswordPolicy,
    ) -> Result<Vec<crate::Check>> {
        use crate::preflight::names;
        let can = self.capabilities();
        let (name, ok) = match need {
            super::Need::OwnPassword => (names::OWN_PASSWORD, can.own_password),
            super::Need::ManageUsers => (
                names::MANAGE_USERS,
                can.other_users_password && can.clone_with_privileges,
            ),
        };
        Ok(vec![crate::Check {
            name,
            ok,
            detail: format!("the fake engine's capabilities: {can:?}"),
        }])
    }

    async fn session_user(&self, session: &mut FakeSession) -> Result<String> {
        Ok(session.user.clone())
    }

    async fn set_own_password(
        &self,
        session: &mut FakeSession,
        _current: &DatabaseSecret,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let user = session.user.clone();
        let event = FakeEvent::SetOwnPassword { user: user.clone() };
        self.change(event, &user, pending.password().expose())
    }

    async fn user_exists(&self, _session: &mut FakeSession, user: &str) -> Result<bool> {
        Ok(self.lock().passwords.contains_key(user))
    }

    async fn update_clone(
        &self,
        _session: &mut FakeSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let user = &pending.username;
        let event = FakeEvent::UpdateClone {
            user: user.clone(),
            source: source.to_string(),
        };
        self.change(event, user, pending.password().expose())
    }

    async fn create_clone(
        &self,
        _session: &mut FakeSession,
        source: &str,
        pending: &DatabaseSecret,
    ) -> Result<()> {
        let clone = &pending.username;
        let event = FakeEvent::CreateClone {
            clone: clone.clone(),
            source: source.to_string(),
        };
        self.change(event, clone, pending.password().expose())
    }

    async fn change_is_complete(
        &self,
        _session: &mut FakeSession,
        _source: &str,
        pending: &DatabaseSecret,
    ) -> Result<bool> {
        let state = self.lock();
        let user = &pending.username;
        Ok(!state.partly_changed.contains(user)
            && state.passwords.get(user).map(String::as_str) == Some(pending.password().expose()))
    }
}
