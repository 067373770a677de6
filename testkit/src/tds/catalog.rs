//! The server's state: SQL logins (name, password, server permissions), the databases a login
//! may open, and the permission rules of ALTER LOGIN / CREATE LOGIN [MS Learn ALTER LOGIN,
//! CREATE LOGIN, Password Policy; RDS "Master user account privileges"].

use super::errors::{self, SqlError};

/// What a login may do at server level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginKind {
    /// A member of `sysadmin` (every permission, CONTROL SERVER included). RDS has none.
    Sysadmin,
    /// The RDS master user: `ALTER ANY LOGIN` (and the rest of its documented grants, which the
    /// stand-in does not use), neither `sysadmin` nor `CONTROL SERVER`.
    RdsMaster,
    /// CONNECT SQL only: may change its own password, with OLD_PASSWORD.
    Plain,
}

impl LoginKind {
    fn alter_any_login(self) -> bool {
        matches!(self, LoginKind::Sysadmin | LoginKind::RdsMaster)
    }

    fn control_server(self) -> bool {
        self == LoginKind::Sysadmin
    }
}

/// A SQL login.
#[derive(Clone, Debug)]
pub struct Login {
    /// Its name as created.
    pub name: String,
    /// Its password (case-sensitive).
    pub password: String,
    /// Its permissions.
    pub kind: LoginKind,
}

/// Logins and databases.
#[derive(Debug)]
pub struct Catalog {
    logins: Vec<Login>,
    databases: Vec<String>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog {
            logins: Vec::new(),
            databases: vec!["master".into()],
        }
    }
}

/// Names compare as the server's default collation does (case-insensitive).
fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The password checks the stand-in models: empty (15116) and over 128 characters (15117).
/// Windows' complexity policy under CHECK_POLICY is the host's and is not modelled.
fn check_password(password: &str) -> Result<(), SqlError> {
    match password.chars().count() {
        0 => Err(errors::password_too_short()),
        n if n > 128 => Err(errors::password_too_long()),
        _ => Ok(()),
    }
}

impl Catalog {
    /// Adds or replaces a login (a fixture).
    pub fn add_login(&mut self, name: &str, password: &str, kind: LoginKind) {
        self.logins.retain(|l| !same(&l.name, name));
        self.logins.push(Login {
            name: name.into(),
            password: password.into(),
            kind,
        });
    }

    /// Adds a database any login may open.
    pub fn add_database(&mut self, name: &str) {
        if !self.databases.iter().any(|d| same(d, name)) {
            self.databases.push(name.into());
        }
    }

    /// The login, by name.
    pub fn login(&self, name: &str) -> Option<&Login> {
        self.logins.iter().find(|l| same(&l.name, name))
    }

    /// The database's name as created.
    pub fn database(&self, name: &str) -> Option<&str> {
        self.databases
            .iter()
            .find(|d| same(d, name))
            .map(String::as_str)
    }

    /// SQL authentication: the login's name as created, when the password is right.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<String> {
        self.login(name)
            .filter(|l| l.password == password)
            .map(|l| l.name.clone())
    }

    /// `ALTER LOGIN target WITH PASSWORD = new [OLD_PASSWORD = old]` run by `caller`.
    pub fn alter_password(
        &mut self,
        caller: &str,
        target: &str,
        new: &str,
        old: Option<&str>,
    ) -> Result<(), SqlError> {
        let refused = || errors::cannot_alter_login(target);
        let kind = self.login(caller).ok_or_else(refused)?.kind;
        let t = self.login(target).ok_or_else(refused)?;
        let own = same(&t.name, caller);
        let allowed = if kind.alter_any_login() {
            // Resetting a sysadmin's or CONTROL SERVER grantee's password needs CONTROL SERVER.
            own || !t.kind.control_server() || kind.control_server()
        } else {
            own && old.is_some()
        };
        // A wrong OLD_PASSWORD is refused with 15151 too (its own number: unverified).
        if !allowed || old.is_some_and(|o| o != t.password) {
            return Err(refused());
        }
        check_password(new)?;
        let name = t.name.clone();
        let login = self
            .logins
            .iter_mut()
            .find(|l| l.name == name)
            .expect("found above");
        login.password = new.into();
        Ok(())
    }

    /// `CREATE LOGIN name WITH PASSWORD = password` run by `caller`.
    pub fn create_login(
        &mut self,
        caller: &str,
        name: &str,
        password: &str,
    ) -> Result<(), SqlError> {
        let kind = self.login(caller).map(|l| l.kind);
        if !kind.is_some_and(LoginKind::alter_any_login) {
            return Err(errors::no_permission());
        }
        if self.login(name).is_some() {
            return Err(errors::principal_exists(name));
        }
        check_password(password)?;
        self.logins.push(Login {
            name: name.into(),
            password: password.into(),
            kind: LoginKind::Plain,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.add_login("admin", "Admin-pw-1", LoginKind::RdsMaster);
        c.add_login("sa", "Sa-pw-1", LoginKind::Sysadmin);
        c.add_login("app", "App-pw-1", LoginKind::Plain);
        c.add_login("other", "Other-pw-1", LoginKind::Plain);
        c
    }

    #[test]
    fn a_plain_login_changes_only_its_own_password_and_only_with_the_old_one() {
        let mut c = catalog();
        let n = |r: Result<(), SqlError>| r.unwrap_err().number;
        assert_eq!(n(c.alter_password("app", "app", "New-pw-1", None)), 15151);
        assert_eq!(
            n(c.alter_password("app", "app", "New-pw-1", Some("wrong"))),
            15151
        );
        assert_eq!(
            n(c.alter_password("app", "other", "New-pw-1", Some("Other-pw-1"))),
            15151
        );
        assert_eq!(n(c.alter_password("app", "nobody", "x", Some("y"))), 15151);
        c.alter_password("APP", "app", "New-pw-1", Some("App-pw-1"))
            .unwrap();
        assert_eq!(c.authenticate("app", "New-pw-1").as_deref(), Some("app"));
        assert!(c.authenticate("app", "App-pw-1").is_none());
        assert_eq!(n(c.create_login("app", "x", "p")), 15247);
    }

    #[test]
    fn the_rds_master_resets_others_but_not_a_sysadmin() {
        let mut c = catalog();
        c.alter_password("admin", "app", "Reset-pw-1", None)
            .unwrap();
        assert_eq!(
            c.alter_password("admin", "sa", "x", None)
                .unwrap_err()
                .number,
            15151
        );
        c.alter_password("sa", "admin", "Reset-pw-2", None).unwrap();
        c.create_login("admin", "new", "New-pw-1").unwrap();
        assert_eq!(
            c.create_login("admin", "NEW", "p").unwrap_err().number,
            15025
        );
        assert_eq!(c.create_login("admin", "e", "").unwrap_err().number, 15116);
        assert_eq!(
            c.create_login("admin", "l", &"x".repeat(129))
                .unwrap_err()
                .number,
            15117
        );
    }
}
