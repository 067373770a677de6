//! Running the security statements of [`super::ddl`] with SQL Server's permission rules [MS
//! Learn: CREATE USER and ALTER USER (ALTER ANY USER; OLD_PASSWORD), ALTER ROLE (db_owner for
//! fixed roles), ALTER SERVER ROLE (membership of the fixed role, or sysadmin), GRANT / DENY /
//! REVOKE (the grantor holds the permission WITH GRANT OPTION or one implying it; server scope
//! only in master), Contained database users].

use super::catalog::{check_password, same, Catalog, Who};
use super::database::Database;
use super::ddl::{Ddl, On, PermStmt, Verb};
use super::errors::{self, SqlError};
use super::expr::Ctx;
use super::perms::{self, Perm};

/// The session's user in `db`: its own (by SID; a contained user by name), dbo for a sysadmin,
/// else guest where guest may connect; None when the database cannot be opened.
pub fn db_user(c: &Catalog, who: &Who, db: &str) -> Option<i32> {
    let d = c.db(db)?;
    let own = match who {
        Who::User(home, name) if same(home, &d.name) => d.principal(name).map(|p| p.id),
        Who::User(..) => None,
        Who::Login(n) => {
            let l = c.login(n)?;
            if c.in_server_role(l.id, 3) {
                return Some(1);
            }
            d.user_for_sid(&l.sid)
        }
    };
    own.or_else(|| {
        d.perms
            .iter()
            .any(|p| p.class == 0 && p.grantee == 2 && p.name == "CONNECT" && p.state != 'D')
            .then_some(2)
    })
}

/// Runs a statement of [`Ddl`] in database `db`.
pub fn run(c: &mut Catalog, who: &Who, db: &str, d: &Ddl) -> Result<(), SqlError> {
    let uid =
        db_user(c, who, db).ok_or_else(|| errors::not_modelled("a session without a user"))?;
    match d {
        Ddl::AlterLogin {
            login,
            password,
            options,
            enable,
        } => {
            c.alter_login(who, login, options, *enable)?;
            if let Some((new, old)) = password {
                c.alter_password(who, login, new, old.as_deref())?;
            }
            Ok(())
        }
        Ddl::CreateUser {
            user,
            login,
            password,
            schema,
        } => create_user(
            c,
            db,
            uid,
            user,
            login.as_deref(),
            password.as_deref(),
            schema,
        ),
        Ddl::AlterUserPassword {
            user,
            password,
            old,
        } => {
            let refused = || errors::cannot_alter_user(user);
            let dbm = c.db_mut(db).expect("the session's database");
            let any = dbm.has(uid, "ALTER ANY USER", 0, 0);
            let t = dbm
                .principal(user)
                .filter(|p| p.kind == 'S')
                .ok_or_else(refused)?;
            let current = t.password.clone().ok_or_else(|| {
                errors::not_modelled("ALTER USER ... PASSWORD for a user without a password")
            })?;
            let own = t.id == uid;
            if !(any || own && old.is_some()) || old.as_ref().is_some_and(|o| *o != current) {
                return Err(refused());
            }
            check_password(password)?;
            let id = t.id;
            let p = dbm
                .principals
                .iter_mut()
                .find(|p| p.id == id)
                .expect("found");
            p.password = Some(password.clone());
            Ok(())
        }
        Ddl::AlterRole {
            server: false,
            role,
            member,
            add,
        } => {
            let dbm = c.db_mut(db).expect("the session's database");
            let refused = || errors::cannot_alter_role(role);
            let r = dbm
                .principal(role)
                .filter(|p| p.kind == 'R')
                .ok_or_else(refused)?;
            // Fixed roles: db_owner only; public's membership cannot change.
            if !dbm.is_owner(uid) {
                return Err(refused());
            }
            if r.id == 0 {
                return Err(errors::public_membership());
            }
            let r = r.id;
            let m = dbm
                .principal(member)
                .ok_or_else(|| errors::cannot_add_principal(member))?;
            if m.id <= 4 {
                return Err(errors::special_principal(&m.name));
            }
            let m = m.id;
            dbm.members.retain(|x| *x != (r, m));
            if *add {
                dbm.members.push((r, m));
            }
            Ok(())
        }
        Ddl::AlterRole {
            server: true,
            role,
            member,
            add,
        } => {
            let refused = || errors::cannot_alter_server_role(role);
            let r = perms::SERVER_ROLES
                .iter()
                .find(|(_, n)| same(n, role))
                .map(|(i, _)| *i)
                .ok_or_else(refused)?;
            let me = c.login_id(who).ok_or_else(refused)?;
            if r == 2 {
                return Err(errors::public_membership());
            }
            if !(c.in_server_role(me, r) || c.in_server_role(me, 3)) {
                return Err(refused());
            }
            let m = c
                .login(member)
                .filter(|l| l.id != 1)
                .ok_or_else(|| errors::cannot_add_principal(member))?
                .id;
            c.server_members.retain(|x| *x != (r, m));
            if *add {
                c.server_members.push((r, m));
            }
            Ok(())
        }
        Ddl::Permission(s) => permission(c, who, db, uid, s),
        Ddl::CreateTable(schema, table, columns) => {
            let d = c.db_mut(db).expect("the session's database");
            // CREATE TABLE in the database and ALTER on the schema [MS Learn CREATE TABLE].
            if !d.has(uid, "CREATE TABLE", 0, 0) {
                return Err(errors::create_table_denied(&d.name));
            }
            let default = d
                .principal_by_id(uid)
                .and_then(|p| p.default_schema.clone());
            let s = schema.clone().or(default).unwrap_or_else(|| "dbo".into());
            let sid = d
                .schema_id(&s)
                .filter(|sid| d.has(uid, "ALTER", 3, *sid) || d.has(uid, "ALTER ANY SCHEMA", 0, 0));
            let sid = sid.ok_or_else(|| errors::schema_denied(&s))?;
            if d.objects.iter().any(|o| o.2 == sid && same(&o.1, table)) {
                return Err(errors::object_exists(table));
            }
            for (i, col) in columns.iter().enumerate() {
                if columns[..i].iter().any(|c| same(&c.name, &col.name)) {
                    return Err(errors::duplicate_column(&col.name, table));
                }
            }
            // Object ids: the stand-in's own numbers; column ids from 1 in order.
            let id = 1_013_578_649 + 16 * d.objects.len() as i32;
            d.objects.push((id, table.clone(), sid));
            for (col, n) in columns.iter().zip(1..) {
                d.columns.push((id, n, col.clone()));
            }
            Ok(())
        }
    }
}

fn create_user(
    c: &mut Catalog,
    db: &str,
    uid: i32,
    user: &str,
    login: Option<&str>,
    password: Option<&str>,
    schema: &Option<String>,
) -> Result<(), SqlError> {
    let d = c.db(db).expect("the session's database");
    if !d.has(uid, "ALTER ANY USER", 0, 0) {
        return Err(errors::no_permission());
    }
    if d.principal(user).is_some() {
        return Err(errors::user_exists(user));
    }
    let (sid, auth) = match password {
        Some(p) => {
            if d.containment != 1 {
                return Err(errors::password_user_needs_containment());
            }
            check_password(p)?;
            (
                crate::tds::catalog::login_sid(0x4000_0000 + d.principals.len() as i32),
                2,
            )
        }
        None => {
            let name = login.unwrap_or(user);
            let l = c.login(name).ok_or_else(|| errors::not_a_login(name))?;
            if d.user_for_sid(&l.sid).is_some() {
                return Err(errors::login_has_user());
            }
            (l.sid.clone(), 1)
        }
    };
    let schema = Some(schema.clone().unwrap_or_else(|| "dbo".into()));
    let d = c.db_mut(db).expect("the session's database");
    let id = d.add_principal(
        user,
        'S',
        Some(sid),
        schema,
        auth,
        password.map(str::to_string),
    );
    // A new user holds CONNECT on its database.
    d.perms.push(Perm {
        class: 0,
        major: 0,
        grantee: id,
        grantor: 1,
        name: "CONNECT".into(),
        state: 'G',
    });
    Ok(())
}

fn permission(
    c: &mut Catalog,
    who: &Who,
    db: &str,
    uid: i32,
    s: &PermStmt,
) -> Result<(), SqlError> {
    let server = s.on == On::Scope && s.perms.iter().all(|p| perms::server_code(p).is_some());
    let mut rows_to_apply = Vec::new();
    if server {
        if !same(db, "master") {
            return Err(errors::server_scope_in_master());
        }
        let me = c.login_id(who).ok_or_else(errors::grantor_lacks)?;
        for p in &s.perms {
            if !c.server_grantable(who, p) {
                return Err(errors::grantor_lacks());
            }
        }
        for name in &s.to {
            let g = c
                .server_principal_id(name)
                .ok_or_else(|| errors::cannot_find_login(name))?;
            if g == me || g == 1 {
                return Err(errors::not_modelled("permissions of sa or of oneself"));
            }
            for p in &s.perms {
                rows_to_apply.push(Perm {
                    class: 100,
                    major: 0,
                    grantee: g,
                    grantor: me,
                    name: p.clone(),
                    state: state(s),
                });
            }
        }
        for row in rows_to_apply {
            if !perms::apply(
                &mut c.server_perms,
                row,
                s.verb == Verb::Revoke,
                s.grant_option,
                s.cascade,
            ) {
                return Err(errors::cascade_needed());
            }
        }
        return Ok(());
    }
    let d: &Database = c.db(db).expect("the session's database");
    let (class, major) = match &s.on {
        On::Scope => (0, 0),
        On::Schema(n) => (
            3,
            d.schema_id(n)
                .ok_or_else(|| errors::cannot_find_schema(n))?,
        ),
        On::Object(schema, n) => (
            1,
            d.object(uid, schema.as_deref(), n)
                .ok_or_else(|| errors::cannot_find_object(n))?,
        ),
    };
    for p in &s.perms {
        match perms::database_code(p) {
            Some((_, on_schema)) if class == 0 || on_schema => {}
            Some(_) => return Err(errors::not_modelled(&format!("{p} on a schema or object"))),
            None if perms::server_code(p).is_some() => return Err(errors::server_scope_in_master()),
            None => return Err(errors::not_modelled(&format!("the permission {p}"))),
        }
        if !d.grantable(uid, p, class, major) {
            return Err(errors::grantor_lacks());
        }
    }
    for name in &s.to {
        let g = d
            .principal(name)
            .ok_or_else(|| errors::cannot_find_user(name))?;
        if g.id == uid || [1, 3, 4].contains(&g.id) {
            return Err(errors::not_modelled(
                "permissions of dbo, sys, INFORMATION_SCHEMA or oneself",
            ));
        }
        for p in &s.perms {
            rows_to_apply.push(Perm {
                class,
                major,
                grantee: g.id,
                grantor: uid,
                name: p.clone(),
                state: state(s),
            });
        }
    }
    let d = c.db_mut(db).expect("the session's database");
    for row in rows_to_apply {
        if !perms::apply(
            &mut d.perms,
            row,
            s.verb == Verb::Revoke,
            s.grant_option,
            s.cascade,
        ) {
            return Err(errors::cascade_needed());
        }
    }
    Ok(())
}

fn state(s: &PermStmt) -> char {
    match s.verb {
        Verb::Deny => 'D',
        Verb::Grant if s.grant_option => 'W',
        _ => 'G',
    }
}

/// `IS_SRVROLEMEMBER(role [, login])`, `IS_ROLEMEMBER(role [, principal])` and
/// `HAS_PERMS_BY_NAME(securable, class, permission)` for the SERVER (securable NULL), DATABASE,
/// SCHEMA and OBJECT classes: 1 or 0, NULL for an unknown role, principal, class or permission
/// [MS Learn IS_SRVROLEMEMBER, IS_ROLEMEMBER, HAS_PERMS_BY_NAME].
pub fn security_function(
    ctx: &Ctx,
    f: &str,
    a: &[Option<String>],
) -> Result<Option<bool>, SqlError> {
    let c = ctx.catalog;
    let d = c
        .db(ctx.db)
        .ok_or_else(|| errors::not_modelled("a session without a database"))?;
    Ok(match (f, a) {
        ("IS_SRVROLEMEMBER", [role, rest @ ..]) if rest.len() <= 1 => {
            let r = role.as_deref().and_then(|role| {
                perms::SERVER_ROLES
                    .iter()
                    .find(|(_, n)| same(n, role))
                    .map(|(i, _)| *i)
            });
            let login = match rest.first() {
                Some(l) => l.as_deref().and_then(|l| c.login(l)).map(|l| l.id),
                None => c.login_id(ctx.who),
            };
            r.zip(login).map(|(r, l)| c.in_server_role(l, r))
        }
        ("IS_ROLEMEMBER", [role, rest @ ..]) if rest.len() <= 1 => {
            let r = role
                .as_deref()
                .and_then(|r| d.principal(r))
                .filter(|p| p.kind == 'R');
            let who = match rest.first() {
                Some(p) => p.as_deref().and_then(|p| d.principal(p)).map(|p| p.id),
                None => ctx.user_id(),
            };
            r.zip(who).map(|(r, w)| d.principal_set(w).contains(&r.id))
        }
        ("HAS_PERMS_BY_NAME", [_, _, Some(perm)]) if perm.eq_ignore_ascii_case("ANY") => {
            return Err(errors::not_modelled("HAS_PERMS_BY_NAME(.., 'ANY')"))
        }
        ("HAS_PERMS_BY_NAME", [securable, class, Some(perm)]) => {
            let perm = perm.to_uppercase();
            let class = class.as_deref().map(str::to_uppercase);
            match (securable.as_deref(), class.as_deref()) {
                (None, None | Some("SERVER")) => {
                    perms::server_code(&perm).map(|_| c.has_server(ctx.who, &perm))
                }
                (Some(name), Some("DATABASE")) => {
                    let target = c.db(name);
                    let known = perms::database_code(&perm).is_some();
                    target.filter(|_| known).map(|t| {
                        db_user(c, ctx.who, &t.name).is_some_and(|u| t.has(u, &perm, 0, 0))
                    })
                }
                (Some(name), Some(k @ ("SCHEMA" | "OBJECT"))) => {
                    let uid = ctx.user_id();
                    let on = if k == "SCHEMA" {
                        d.schema_id(name).map(|s| (3, s))
                    } else {
                        let (schema, table) = match name.split_once('.') {
                            Some((s, t)) => (Some(s), t),
                            None => (None, name),
                        };
                        uid.and_then(|u| d.object(u, schema, table)).map(|o| (1, o))
                    };
                    let known = perms::database_code(&perm).is_some_and(|(_, on)| on);
                    on.filter(|_| known)
                        .map(|(cl, m)| uid.is_some_and(|u| d.has(u, &perm, cl, m)))
                }
                _ => return Err(errors::not_modelled("HAS_PERMS_BY_NAME of that class")),
            }
        }
        _ => return Err(errors::not_modelled(&format!("{f} with those arguments"))),
    })
}
