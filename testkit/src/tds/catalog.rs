//! The server's state: logins, the fixed server roles and their members, server permissions,
//! and the databases ([`super::database`]); the server-level permission rules and the login
//! statements [MS Learn ALTER LOGIN, CREATE LOGIN, Password Policy, Server-level roles,
//! sys.server_principals; RDS "Master user account privileges"].

use super::database::Database;
use super::errors::{self, SqlError};
use super::perms::{self, Perm, SERVER_ROLES};

/// How a fixture login starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginKind {
    /// A member of `sysadmin` (every permission, CONTROL SERVER included). RDS has none.
    Sysadmin,
    /// The RDS master user: its documented server permissions (granted WITH GRANT OPTION),
    /// member of processadmin and setupadmin, a db_owner user in every user database; neither
    /// sysadmin nor CONTROL SERVER.
    RdsMaster,
    /// CONNECT SQL only.
    Plain,
}

/// The RDS master user's server permissions [RDS "Master user account privileges"].
pub const RDS_MASTER_PERMISSIONS: &[&str] = &[
    "ADMINISTER BULK OPERATIONS",
    "ALTER ANY CONNECTION",
    "ALTER ANY CREDENTIAL",
    "ALTER ANY EVENT SESSION",
    "ALTER ANY LINKED SERVER",
    "ALTER ANY LOGIN",
    "ALTER ANY SERVER AUDIT",
    "ALTER ANY SERVER ROLE",
    "ALTER SERVER STATE",
    "ALTER TRACE",
    "CONNECT SQL",
    "CREATE ANY DATABASE",
    "VIEW ANY DATABASE",
    "VIEW ANY DEFINITION",
    "VIEW SERVER STATE",
];

/// A SQL login (a row of sys.server_principals of type S, and of sys.sql_logins).
#[derive(Clone, Debug)]
pub struct Login {
    /// Its name as created.
    pub name: String,
    /// Its password (case-sensitive).
    pub password: String,
    /// principal_id.
    pub id: i32,
    /// sid (16 bytes, the stand-in's own values).
    pub sid: Vec<u8>,
    /// is_disabled.
    pub disabled: bool,
    /// default_database_name.
    pub default_db: String,
    /// is_policy_checked.
    pub check_policy: bool,
    /// is_expiration_checked.
    pub check_expiration: bool,
}

/// Who runs a statement: a login, or a contained database's user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// A server login (its name as created).
    Login(String),
    /// A contained database user: (database, user) as created.
    User(String, String),
}

/// Logins, server roles and permissions, databases.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// The logins.
    pub logins: Vec<Login>,
    /// sys.server_role_members: (role, member).
    pub server_members: Vec<(i32, i32)>,
    /// sys.server_permissions.
    pub server_perms: Vec<Perm>,
    /// The databases.
    pub databases: Vec<Database>,
    /// The session whose open transaction changed the catalog, and the catalog as it was
    /// before (restored by its ROLLBACK or its disconnection).
    pub dirty_tran: Option<(u16, Box<Catalog>)>,
    next_login: i32,
}

impl Default for Catalog {
    fn default() -> Self {
        let mut c = Catalog {
            logins: Vec::new(),
            server_members: Vec::new(),
            server_perms: Vec::new(),
            databases: Vec::new(),
            dirty_tran: None,
            next_login: 256,
        };
        // sa exists and is a sysadmin; disabled until a fixture gives it a password.
        c.logins.push(Login {
            name: "sa".into(),
            password: String::new(),
            id: 1,
            sid: vec![1],
            disabled: true,
            default_db: "master".into(),
            check_policy: true,
            check_expiration: false,
        });
        c.server_members.push((3, 1));
        // public holds VIEW ANY DATABASE [MS Learn Server-level roles].
        c.server_perms
            .push(server_perm(2, "VIEW ANY DATABASE", 'G'));
        for (id, name) in [(1, "master"), (2, "tempdb"), (3, "model"), (4, "msdb")] {
            let mut db = Database::new(name, id, 0, &[1]);
            if name != "model" {
                // guest may connect to master, tempdb and msdb [MS Learn Principals].
                db.grant_guest_connect();
            }
            c.databases.push(db);
        }
        c
    }
}

fn server_perm(grantee: i32, name: &str, state: char) -> Perm {
    Perm {
        class: 100,
        major: 0,
        grantee,
        grantor: 1,
        name: name.into(),
        state,
    }
}

impl Catalog {
    /// Refuses a catalog statement of `spid` while another session's transaction holds
    /// uncommitted changes (SQL Server would block it: locking is not modelled); a write in a
    /// transaction (`trancount` > 0) keeps the catalog as it was, for a ROLLBACK.
    pub fn enter(&mut self, spid: u16, trancount: u32, write: bool) -> Result<(), SqlError> {
        match &self.dirty_tran {
            Some((owner, _)) if *owner != spid => Err(errors::not_modelled(&format!(
                "a catalog statement while session {owner}'s transaction holds uncommitted changes (SQL Server would wait for it)"
            ))),
            None if write && trancount > 0 => {
                self.dirty_tran = Some((spid, Box::new(self.clone())));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The end of `spid`'s transaction: kept (commit) or undone.
    pub fn end_tran(&mut self, spid: u16, commit: bool) {
        if self.dirty_tran.as_ref().is_some_and(|(o, _)| *o == spid) {
            let (_, before) = self.dirty_tran.take().expect("checked");
            if !commit {
                *self = *before;
            }
        }
    }
}

/// Names compare as the server's default collation does (case-insensitive).
pub fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The password checks the stand-in models: empty (15116) and over 128 characters (15117).
/// Windows' complexity policy under CHECK_POLICY is the host's and is not modelled.
pub fn check_password(password: &str) -> Result<(), SqlError> {
    match password.chars().count() {
        0 => Err(errors::password_too_short()),
        n if n > 128 => Err(errors::password_too_long()),
        _ => Ok(()),
    }
}

/// Options of CREATE LOGIN / ALTER LOGIN besides the password.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginOptions {
    /// DEFAULT_DATABASE.
    pub default_db: Option<String>,
    /// CHECK_POLICY.
    pub check_policy: Option<bool>,
    /// CHECK_EXPIRATION.
    pub check_expiration: Option<bool>,
}

impl Catalog {
    /// Adds or replaces a login (a fixture).
    pub fn add_login(&mut self, name: &str, password: &str, kind: LoginKind) {
        let id = match self.login(name) {
            Some(l) => l.id,
            None => {
                self.next_login += 1;
                self.next_login - 1
            }
        };
        self.logins.retain(|l| l.id != id);
        self.server_members.retain(|(_, m)| *m != id);
        self.server_perms.retain(|p| p.grantee != id);
        let sid = if id == 1 { vec![1] } else { login_sid(id) };
        self.logins.push(Login {
            name: name.into(),
            password: password.into(),
            id,
            sid: sid.clone(),
            disabled: false,
            default_db: "master".into(),
            check_policy: true,
            check_expiration: false,
        });
        match kind {
            LoginKind::Sysadmin => self.server_members.push((3, id)),
            LoginKind::Plain => self.server_perms.push(server_perm(id, "CONNECT SQL", 'G')),
            LoginKind::RdsMaster => {
                for p in RDS_MASTER_PERMISSIONS {
                    self.server_perms.push(server_perm(id, p, 'W'));
                }
                self.server_members.extend([(6, id), (7, id)]);
                for db in self.databases.iter_mut().filter(|d| d.id > 4) {
                    db.add_owner_user(name, &sid);
                }
            }
        }
    }

    /// Adds a database (containment 0 or 1) whose guest may connect, so that any login may
    /// open it; every RDS master login gets a db_owner user there.
    pub fn add_database(&mut self, name: &str, containment: u8) {
        self.add_database_owned(name, containment, &[1]);
    }

    /// [`Catalog::add_database`] owned by the login whose sid is `owner_sid` (as when that
    /// login creates it: dbo maps to the owner's sid [MS Learn, Principals (dbo)]).
    pub fn add_database_owned(&mut self, name: &str, containment: u8, owner_sid: &[u8]) {
        if self.database(name).is_some() {
            return;
        }
        let id = self.databases.iter().map(|d| d.id).max().unwrap_or(4) + 1;
        let mut db = Database::new(name, id, containment, owner_sid);
        db.grant_guest_connect();
        for l in &self.logins {
            if self
                .server_perms
                .iter()
                .any(|p| p.grantee == l.id && p.name == "ALTER ANY LOGIN" && p.state == 'W')
                && l.sid != owner_sid
            {
                db.add_owner_user(&l.name, &l.sid);
            }
        }
        self.databases.push(db);
    }

    /// The login, by name.
    pub fn login(&self, name: &str) -> Option<&Login> {
        self.logins.iter().find(|l| same(&l.name, name))
    }

    /// The database's name as created.
    pub fn database(&self, name: &str) -> Option<&str> {
        self.db(name).map(|d| d.name.as_str())
    }

    /// The database.
    pub fn db(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|d| same(&d.name, name))
    }

    /// The database, to change.
    pub fn db_mut(&mut self, name: &str) -> Option<&mut Database> {
        self.databases.iter_mut().find(|d| same(&d.name, name))
    }

    /// SQL authentication. A LOGIN7 naming a contained database tries that database's users
    /// with passwords first, then the logins [MS Learn Contained database users].
    pub fn authenticate(&self, name: &str, password: &str, database: &str) -> Option<Who> {
        if let Some(db) = self.db(database).filter(|d| d.containment == 1) {
            if let Some(u) = db.principal(name).filter(|u| u.password.is_some()) {
                return (u.password.as_deref() == Some(password))
                    .then(|| Who::User(db.name.clone(), u.name.clone()));
            }
        }
        self.login(name)
            .filter(|l| l.password == password && !l.disabled)
            .map(|l| Who::Login(l.name.clone()))
    }

    /// The caller's login id (None for a contained user).
    pub fn login_id(&self, who: &Who) -> Option<i32> {
        match who {
            Who::Login(n) => self.login(n).map(|l| l.id),
            Who::User(..) => None,
        }
    }

    /// The server roles `id` is a member of, public included.
    fn server_roles(&self, id: i32) -> Vec<i32> {
        let mut out = vec![2];
        out.extend(
            self.server_members
                .iter()
                .filter(|(_, m)| *m == id)
                .map(|(r, _)| *r),
        );
        out
    }

    /// Whether the login is a member of the server role.
    pub fn in_server_role(&self, id: i32, role: i32) -> bool {
        self.server_roles(id).contains(&role)
    }

    /// Whether the caller holds a server permission: sysadmin, a grant to it or one of its
    /// roles (of the permission or CONTROL SERVER) and no deny, or a fixed role's.
    pub fn has_server(&self, who: &Who, perm: &str) -> bool {
        let Some(id) = self.login_id(who) else {
            return false;
        };
        if self.in_server_role(id, 3) {
            return true;
        }
        let mut ids = self.server_roles(id);
        ids.push(id);
        let rows = |state: &[char]| {
            self.server_perms.iter().any(|p| {
                ids.contains(&p.grantee)
                    && (p.name == perm || p.name == "CONTROL SERVER")
                    && state.contains(&p.state)
            })
        };
        if rows(&['D']) {
            return false;
        }
        let fixed = ids.iter().any(|r| {
            SERVER_ROLES
                .iter()
                .any(|(i, n)| i == r && perms::fixed_server_role(n).contains(&perm))
        });
        rows(&['G', 'W']) || fixed
    }

    /// Whether the caller may grant a server permission: sysadmin, or the permission (or
    /// CONTROL SERVER) held WITH GRANT OPTION.
    pub fn server_grantable(&self, who: &Who, perm: &str) -> bool {
        let Some(id) = self.login_id(who) else {
            return false;
        };
        self.in_server_role(id, 3)
            || self.has_server(who, perm)
                && self.server_perms.iter().any(|p| {
                    (p.grantee == id || self.server_roles(id).contains(&p.grantee))
                        && (p.name == perm || p.name == "CONTROL SERVER")
                        && p.state == 'W'
                })
    }

    fn control_server(&self, id: i32) -> bool {
        self.in_server_role(id, 3)
            || self
                .server_perms
                .iter()
                .any(|p| p.grantee == id && p.name == "CONTROL SERVER" && p.state != 'D')
    }

    /// `ALTER LOGIN target WITH PASSWORD = new [OLD_PASSWORD = old]` run by `who`.
    pub fn alter_password(
        &mut self,
        who: &Who,
        target: &str,
        new: &str,
        old: Option<&str>,
    ) -> Result<(), SqlError> {
        let refused = || errors::cannot_alter_login(target);
        let caller = self.login_id(who).ok_or_else(refused)?;
        let t = self.login(target).ok_or_else(refused)?;
        let own = t.id == caller;
        let allowed = if self.has_server(who, "ALTER ANY LOGIN") {
            // Resetting a sysadmin's or CONTROL SERVER grantee's password needs CONTROL SERVER.
            own || !self.control_server(t.id) || self.control_server(caller)
        } else {
            own && old.is_some()
        };
        // A wrong OLD_PASSWORD is refused with 15151 too (its own number: unverified).
        if !allowed || old.is_some_and(|o| o != t.password) {
            return Err(refused());
        }
        check_password(new)?;
        let id = t.id;
        self.logins
            .iter_mut()
            .find(|l| l.id == id)
            .expect("found")
            .password = new.into();
        Ok(())
    }

    /// `ALTER LOGIN target WITH DEFAULT_DATABASE / CHECK_POLICY / CHECK_EXPIRATION` and
    /// `ENABLE` / `DISABLE` (`enable`): ALTER ANY LOGIN, else 15151.
    pub fn alter_login(
        &mut self,
        who: &Who,
        target: &str,
        o: &LoginOptions,
        enable: Option<bool>,
    ) -> Result<(), SqlError> {
        let id = match self.login(target) {
            Some(t) if self.has_server(who, "ALTER ANY LOGIN") => t.id,
            _ => return Err(errors::cannot_alter_login(target)),
        };
        let default_db = match &o.default_db {
            Some(d) => Some(
                self.database(d)
                    .ok_or_else(|| errors::no_such_default_db(d))?
                    .to_string(),
            ),
            None => None,
        };
        let l = self.logins.iter().find(|l| l.id == id).expect("found");
        let policy = o.check_policy.unwrap_or(l.check_policy);
        let mut expiration = o.check_expiration.unwrap_or(l.check_expiration);
        if !policy && o.check_expiration == Some(true) {
            return Err(errors::expiration_needs_policy());
        }
        if !policy {
            expiration = false;
        }
        let l = self.logins.iter_mut().find(|l| l.id == id).expect("found");
        if let Some(d) = default_db {
            l.default_db = d;
        }
        l.check_policy = policy;
        l.check_expiration = expiration;
        if let Some(e) = enable {
            l.disabled = !e;
        }
        Ok(())
    }

    /// `CREATE LOGIN name WITH PASSWORD = password [, options]` run by `who`; the new login
    /// holds CONNECT SQL.
    pub fn create_login(
        &mut self,
        who: &Who,
        name: &str,
        password: &str,
        o: &LoginOptions,
    ) -> Result<(), SqlError> {
        if !self.has_server(who, "ALTER ANY LOGIN") {
            return Err(errors::no_permission());
        }
        if self.login(name).is_some() || SERVER_ROLES.iter().any(|(_, r)| same(r, name)) {
            return Err(errors::principal_exists(name));
        }
        let default_db = match &o.default_db {
            Some(d) => self
                .database(d)
                .ok_or_else(|| errors::no_such_default_db(d))?
                .to_string(),
            None => "master".into(),
        };
        let policy = o.check_policy.unwrap_or(true);
        if !policy && o.check_expiration == Some(true) {
            return Err(errors::expiration_needs_policy());
        }
        check_password(password)?;
        let id = self.next_login;
        self.next_login += 1;
        self.logins.push(Login {
            name: name.into(),
            password: password.into(),
            id,
            sid: login_sid(id),
            disabled: false,
            default_db,
            check_policy: policy,
            check_expiration: o.check_expiration.unwrap_or(false),
        });
        self.server_perms.push(server_perm(id, "CONNECT SQL", 'G'));
        Ok(())
    }

    /// The name of a server principal (login or fixed role) by id.
    pub fn server_principal_name(&self, id: i32) -> Option<String> {
        self.logins
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.name.clone())
            .or_else(|| {
                SERVER_ROLES
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, n)| n.to_string())
            })
    }

    /// A server principal's id by name (login or fixed role).
    pub fn server_principal_id(&self, name: &str) -> Option<i32> {
        self.login(name).map(|l| l.id).or_else(|| {
            SERVER_ROLES
                .iter()
                .find(|(_, n)| same(n, name))
                .map(|(i, _)| *i)
        })
    }
}

/// A login's SID: 16 bytes, the stand-in's own (SQL Server makes a GUID-like one).
pub fn login_sid(id: i32) -> Vec<u8> {
    let mut s = vec![0x5A, 0x7D, 0x53, 0x51, 0x4C, 0x53, 0x49, 0x44, 0, 0, 0, 0];
    s.extend_from_slice(&id.to_be_bytes());
    s
}

#[cfg(test)]
mod tests;
