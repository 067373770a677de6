//! One database: its principals (users, fixed roles), role members, permissions and schemas
//! [MS Learn sys.database_principals, sys.database_role_members, sys.database_permissions,
//! sys.schemas, Database-level roles, Principals (Database Engine)].

use super::catalog::same;
use super::ddl::TableColumn;
use super::perms::{self, Perm, DATABASE_ROLES};

/// A row of sys.database_principals.
#[derive(Clone, Debug)]
pub struct DbPrincipal {
    /// principal_id.
    pub id: i32,
    /// name.
    pub name: String,
    /// type: 'S' SQL user, 'R' database role.
    pub kind: char,
    /// sid (NULL for INFORMATION_SCHEMA and sys).
    pub sid: Option<Vec<u8>>,
    /// default_schema_name (users only).
    pub default_schema: Option<String>,
    /// authentication_type: 0 none, 1 instance, 2 database.
    pub auth: i32,
    /// A contained user's password.
    pub password: Option<String>,
}

impl DbPrincipal {
    /// type_desc.
    pub fn type_desc(&self) -> &'static str {
        if self.kind == 'R' {
            "DATABASE_ROLE"
        } else {
            "SQL_USER"
        }
    }
}

/// A database.
#[derive(Clone, Debug)]
pub struct Database {
    /// name.
    pub name: String,
    /// database_id.
    pub id: i32,
    /// containment: 0 NONE, 1 PARTIAL.
    pub containment: u8,
    /// sys.database_principals.
    pub principals: Vec<DbPrincipal>,
    /// sys.database_role_members: (role, member).
    pub members: Vec<(i32, i32)>,
    /// sys.database_permissions.
    pub perms: Vec<Perm>,
    /// sys.schemas: (schema_id, name, principal_id of the owner).
    pub schemas: Vec<(i32, String, i32)>,
    /// User tables (sys.objects of type U): (object_id, name, schema_id).
    pub objects: Vec<(i32, String, i32)>,
    /// Their columns (sys.columns): (object_id, column_id, the column).
    pub columns: Vec<(i32, i32, TableColumn)>,
    next_id: i32,
}

impl Database {
    /// A new database with its system users, fixed roles and schemas; dbo's sid is the owner's.
    pub fn new(name: &str, id: i32, containment: u8, owner_sid: &[u8]) -> Self {
        let user = |id: i32, name: &str, sid: Option<Vec<u8>>, auth: i32| DbPrincipal {
            id,
            name: name.into(),
            kind: 'S',
            sid,
            default_schema: Some("dbo".into()),
            auth,
            password: None,
        };
        let role = |id: i32, name: &str| DbPrincipal {
            id,
            name: name.into(),
            kind: 'R',
            sid: Some(role_sid(id)),
            default_schema: None,
            auth: 0,
            password: None,
        };
        let mut principals = vec![
            role(0, "public"),
            user(1, "dbo", Some(owner_sid.to_vec()), 1),
            user(2, "guest", Some(vec![0]), 0),
            user(3, "INFORMATION_SCHEMA", None, 0),
            user(4, "sys", None, 0),
        ];
        principals[3].default_schema = None;
        principals[4].default_schema = None;
        principals.extend(DATABASE_ROLES.iter().map(|(i, n)| role(*i, n)));
        let mut schemas = vec![
            (1, "dbo".to_string(), 1),
            (2, "guest".to_string(), 2),
            (3, "INFORMATION_SCHEMA".to_string(), 3),
            (4, "sys".to_string(), 4),
        ];
        schemas.extend(DATABASE_ROLES.iter().map(|(i, n)| (*i, n.to_string(), *i)));
        Database {
            name: name.into(),
            id,
            containment,
            principals,
            members: vec![(16384, 1)],
            perms: Vec::new(),
            schemas,
            objects: Vec::new(),
            columns: Vec::new(),
            next_id: 5,
        }
    }

    /// GRANT CONNECT TO guest (so every login may open the database).
    pub fn grant_guest_connect(&mut self) {
        self.perms.push(Perm {
            class: 0,
            major: 0,
            grantee: 2,
            grantor: 1,
            name: "CONNECT".into(),
            state: 'G',
        });
    }

    /// A user for the login `name` / `sid`, member of db_owner (the RDS master user's).
    pub fn add_owner_user(&mut self, name: &str, sid: &[u8]) {
        if self
            .principals
            .iter()
            .any(|p| p.sid.as_deref() == Some(sid))
        {
            return;
        }
        let id = self.add_principal(name, 'S', Some(sid.to_vec()), Some("dbo".into()), 1, None);
        self.members.push((16384, id));
        self.perms.push(Perm {
            class: 0,
            major: 0,
            grantee: id,
            grantor: 1,
            name: "CONNECT".into(),
            state: 'G',
        });
    }

    /// Adds a principal; its id.
    pub fn add_principal(
        &mut self,
        name: &str,
        kind: char,
        sid: Option<Vec<u8>>,
        default_schema: Option<String>,
        auth: i32,
        password: Option<String>,
    ) -> i32 {
        let id = self.next_id;
        self.next_id += 1;
        self.principals.push(DbPrincipal {
            id,
            name: name.into(),
            kind,
            sid,
            default_schema,
            auth,
            password,
        });
        id
    }

    /// The principal by name.
    pub fn principal(&self, name: &str) -> Option<&DbPrincipal> {
        self.principals.iter().find(|p| same(&p.name, name))
    }

    /// The principal by id.
    pub fn principal_by_id(&self, id: i32) -> Option<&DbPrincipal> {
        self.principals.iter().find(|p| p.id == id)
    }

    /// The user mapped to a login's sid.
    pub fn user_for_sid(&self, sid: &[u8]) -> Option<i32> {
        self.principals
            .iter()
            .find(|p| p.kind == 'S' && p.sid.as_deref() == Some(sid))
            .map(|p| p.id)
    }

    /// `id`, public and every role `id` is in (roles nest).
    pub fn principal_set(&self, id: i32) -> Vec<i32> {
        let mut out = vec![id, 0];
        let mut i = 0;
        while i < out.len() {
            let m = out[i];
            for (r, _) in self.members.iter().filter(|(_, x)| *x == m) {
                if !out.contains(r) {
                    out.push(*r);
                }
            }
            i += 1;
        }
        out
    }

    /// Whether `id` is dbo or in db_owner.
    pub fn is_owner(&self, id: i32) -> bool {
        id == 1 || self.principal_set(id).contains(&16384)
    }

    /// The securables whose permission covers `(class, major)`: itself, its schema, the database.
    fn covering(&self, class: u8, major: i32) -> Vec<(u8, i32)> {
        let mut out = vec![(0, 0)];
        if class != 0 {
            out.push((class, major));
        }
        if class == 1 {
            if let Some(o) = self.objects.iter().find(|o| o.0 == major) {
                out.push((3, o.2));
            }
        }
        out
    }

    /// Whether user `id` holds `perm` on `(class, major)`: db_owner, a grant (of it or CONTROL)
    /// on it or an enclosing securable to one of its principals, or a fixed role's; any deny
    /// wins (except for db_owner).
    pub fn has(&self, id: i32, perm: &str, class: u8, major: i32) -> bool {
        if self.is_owner(id) {
            return true;
        }
        let set = self.principal_set(id);
        let on = self.covering(class, major);
        let rows = |states: &[char]| {
            self.perms.iter().any(|p| {
                set.contains(&p.grantee)
                    && on.contains(&(p.class, p.major))
                    && (p.name == perm || p.name == "CONTROL")
                    && states.contains(&p.state)
            })
        };
        let role_names: Vec<&str> = set
            .iter()
            .filter_map(|r| DATABASE_ROLES.iter().find(|(i, _)| i == r).map(|(_, n)| *n))
            .collect();
        if rows(&['D'])
            || role_names
                .iter()
                .any(|n| perms::fixed_database_denies(n).contains(&perm))
        {
            return false;
        }
        rows(&['G', 'W'])
            || role_names
                .iter()
                .any(|n| perms::fixed_database_role(n).contains(&perm))
    }

    /// Whether user `id` may grant `perm` on `(class, major)`: db_owner, or the permission (or
    /// CONTROL) held WITH GRANT OPTION there or on an enclosing securable.
    pub fn grantable(&self, id: i32, perm: &str, class: u8, major: i32) -> bool {
        if self.is_owner(id) {
            return true;
        }
        let set = self.principal_set(id);
        let on = self.covering(class, major);
        self.has(id, perm, class, major)
            && self.perms.iter().any(|p| {
                set.contains(&p.grantee)
                    && on.contains(&(p.class, p.major))
                    && (p.name == perm || p.name == "CONTROL")
                    && p.state == 'W'
            })
    }

    /// The table `[schema.]name`: without a schema, in the user's default schema, else dbo.
    pub fn object(&self, uid: i32, schema: Option<&str>, name: &str) -> Option<i32> {
        let default = self
            .principal_by_id(uid)
            .and_then(|p| p.default_schema.clone());
        let schemas: Vec<String> = match schema {
            Some(s) => vec![s.to_string()],
            None => default.into_iter().chain(["dbo".to_string()]).collect(),
        };
        schemas.iter().find_map(|s| {
            let sid = self.schema_id(s)?;
            self.objects
                .iter()
                .find(|o| o.2 == sid && same(&o.1, name))
                .map(|o| o.0)
        })
    }

    /// The schema's id by name.
    pub fn schema_id(&self, name: &str) -> Option<i32> {
        self.schemas
            .iter()
            .find(|(_, n, _)| same(n, name))
            .map(|(i, _, _)| *i)
    }
}

/// A fixed role's sid: the stand-in's own bytes (SQL Server's are longer).
fn role_sid(id: i32) -> Vec<u8> {
    let mut s = vec![1, 5, 0, 0, 0, 0, 0, 9];
    s.extend_from_slice(&id.to_be_bytes());
    s
}
