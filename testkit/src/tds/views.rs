//! The catalog views, with SQL Server's column names and types [MS Learn sys.databases,
//! sys.server_principals, sys.sql_logins, sys.server_role_members, sys.server_permissions,
//! sys.database_principals, sys.database_role_members, sys.database_permissions, sys.schemas,
//! sys.objects, sys.columns, sys.types, and the views of [`EMPTY`]].
//! Only the columns listed here exist in the stand-in; any other is refused (50000).
//! Metadata visibility: a caller without ALTER ANY LOGIN sees, of the logins, its own and sa;
//! without ALTER ANY USER, of the users, its own and the system users; user-defined roles
//! only as a member or with ALTER ANY ROLE [MS Learn sys.server_principals,
//! sys.database_principals "Permissions"]. The other views show every row.

use super::errors::{self, SqlError};
use super::expr::Ctx;
use super::perms::{Perm, SERVER_ROLES};
use super::tokens::{ColumnType as T, Value as V};

const VIEWS: &[&str] = &[
    "sys.databases",
    "sys.server_principals",
    "sys.sql_logins",
    "sys.server_role_members",
    "sys.server_permissions",
    "sys.database_principals",
    "sys.database_role_members",
    "sys.database_permissions",
    "sys.schemas",
    "sys.objects",
    "sys.columns",
    "sys.types",
    "sys.assemblies",
    "sys.xml_schema_collections",
    "sys.service_message_types",
    "sys.service_contracts",
    "sys.services",
    "sys.remote_service_bindings",
    "sys.routes",
    "sys.fulltext_catalogs",
    "sys.symmetric_keys",
    "sys.certificates",
    "sys.asymmetric_keys",
];

/// The views of securables the stand-in cannot create: always empty, with their name, id and
/// owner columns [MS Learn sys.assemblies, sys.xml_schema_collections,
/// sys.service_message_types, sys.service_contracts, sys.services,
/// sys.remote_service_bindings, sys.routes, sys.fulltext_catalogs, sys.symmetric_keys,
/// sys.certificates, sys.asymmetric_keys]. The system rows SQL Server lists in some of them
/// (Service Broker's message types and contracts, the AutoCreatedLocal route, master's service
/// master key) are not modelled.
const EMPTY: &[(&str, &str)] = &[
    ("sys.assemblies", "assembly_id"),
    ("sys.xml_schema_collections", "xml_collection_id"),
    ("sys.service_message_types", "message_type_id"),
    ("sys.service_contracts", "service_contract_id"),
    ("sys.services", "service_id"),
    ("sys.remote_service_bindings", "remote_service_binding_id"),
    ("sys.routes", "route_id"),
    ("sys.fulltext_catalogs", "fulltext_catalog_id"),
    ("sys.symmetric_keys", "symmetric_key_id"),
    ("sys.certificates", "certificate_id"),
    ("sys.asymmetric_keys", "asymmetric_key_id"),
];

/// The built-in types the stand-in's tables may use, as sys.types lists them: (name,
/// system_type_id, user_type_id, max_length) [MS Learn sys.types; sysname is nvarchar(128)].
const TYPES: &[(&str, i32, i32, i32)] = &[
    ("int", 56, 56, 4),
    ("varchar", 167, 167, 8000),
    ("nvarchar", 231, 231, 8000),
    ("sysname", 231, 256, 256),
];

/// Whether the stand-in has the view.
pub fn known(view: &str) -> bool {
    VIEWS.contains(&view)
}

type Cols = Vec<(String, T)>;

fn cols(list: &[(&str, T)]) -> Cols {
    list.iter().map(|(n, t)| (n.to_string(), *t)).collect()
}

const SYSNAME: T = T::NVarChar(128);
const DESC: T = T::NVarChar(60);

fn s(v: &str) -> V {
    V::Str(v.to_string())
}

fn opt(v: Option<&str>) -> V {
    v.map_or(V::Null, s)
}

fn perm_cols() -> Cols {
    cols(&[
        ("class", T::TinyInt),
        ("class_desc", DESC),
        ("major_id", T::Int),
        ("minor_id", T::Int),
        ("grantee_principal_id", T::Int),
        ("grantor_principal_id", T::Int),
        ("type", T::Char(4)),
        ("permission_name", SYSNAME),
        ("state", T::Char(1)),
        ("state_desc", DESC),
    ])
}

fn perm_row(p: &Perm) -> Vec<V> {
    vec![
        V::Int(p.class.into()),
        s(p.class_desc()),
        V::Int(p.major),
        V::Int(0),
        V::Int(p.grantee),
        V::Int(p.grantor),
        s(p.code()),
        s(&p.name),
        s(&p.state.to_string()),
        s(p.state_desc()),
    ]
}

/// The view's columns and rows for the session.
pub fn rows(view: &str, ctx: &Ctx) -> Result<(Cols, Vec<Vec<V>>), SqlError> {
    let c = ctx.catalog;
    let db = c
        .db(ctx.db)
        .ok_or_else(|| errors::not_modelled("a session without a database"))?;
    let me = c.login_id(ctx.who);
    Ok(match view {
        "sys.databases" => (
            cols(&[
                ("name", SYSNAME),
                ("database_id", T::Int),
                ("containment", T::TinyInt),
                ("containment_desc", DESC),
                ("owner_sid", T::VarBinary(85)),
                ("state", T::TinyInt),
                ("state_desc", DESC),
                ("is_read_only", T::Bit),
            ]),
            c.databases
                .iter()
                .map(|d| {
                    let desc = if d.containment == 1 {
                        "PARTIAL"
                    } else {
                        "NONE"
                    };
                    let owner = d.principal_by_id(1).and_then(|p| p.sid.clone());
                    vec![
                        s(&d.name),
                        V::Int(d.id),
                        V::Int(d.containment.into()),
                        s(desc),
                        owner.map_or(V::Null, V::Bytes),
                        V::Int(0),
                        s("ONLINE"),
                        V::Int(0),
                    ]
                })
                .collect(),
        ),
        "sys.server_principals" | "sys.sql_logins" => {
            let logins_only = view == "sys.sql_logins";
            let mut cs = cols(&[
                ("name", SYSNAME),
                ("principal_id", T::Int),
                ("sid", T::VarBinary(85)),
                ("type", T::Char(1)),
                ("type_desc", DESC),
                ("is_disabled", T::Int),
                ("default_database_name", SYSNAME),
                ("is_fixed_role", T::Bit),
            ]);
            if logins_only {
                cs.extend(cols(&[
                    ("is_policy_checked", T::Bit),
                    ("is_expiration_checked", T::Bit),
                ]));
            }
            let all = c.has_server(ctx.who, "ALTER ANY LOGIN");
            let mut out = Vec::new();
            for l in c
                .logins
                .iter()
                .filter(|l| all || Some(l.id) == me || l.id == 1)
            {
                let mut r = vec![
                    s(&l.name),
                    V::Int(l.id),
                    V::Bytes(l.sid.clone()),
                    s("S"),
                    s("SQL_LOGIN"),
                    V::Int(l.disabled.into()),
                    s(&l.default_db),
                ];
                r.push(V::Int(0));
                if logins_only {
                    r.extend([
                        V::Int(l.check_policy.into()),
                        V::Int(l.check_expiration.into()),
                    ]);
                }
                out.push(r);
            }
            if !logins_only {
                for (id, name) in SERVER_ROLES {
                    out.push(vec![
                        s(name),
                        V::Int(*id),
                        V::Bytes(vec![*id as u8]),
                        s("R"),
                        s("SERVER_ROLE"),
                        V::Int(0),
                        V::Null,
                        V::Int((*id != 2).into()),
                    ]);
                }
            }
            out.sort_by_key(|r| match r[1] {
                V::Int(i) => i,
                _ => 0,
            });
            (cs, out)
        }
        "sys.server_role_members" | "sys.database_role_members" => {
            let members = if view == "sys.server_role_members" {
                &c.server_members
            } else {
                &db.members
            };
            (
                cols(&[
                    ("role_principal_id", T::Int),
                    ("member_principal_id", T::Int),
                ]),
                members
                    .iter()
                    .map(|(r, m)| vec![V::Int(*r), V::Int(*m)])
                    .collect(),
            )
        }
        "sys.server_permissions" => (perm_cols(), c.server_perms.iter().map(perm_row).collect()),
        "sys.database_permissions" => (perm_cols(), db.perms.iter().map(perm_row).collect()),
        "sys.database_principals" => {
            let uid = ctx.user_id();
            let users = uid.is_some_and(|u| db.has(u, "ALTER ANY USER", 0, 0));
            let roles = uid.is_some_and(|u| db.has(u, "ALTER ANY ROLE", 0, 0));
            let mine = uid.map(|u| db.principal_set(u)).unwrap_or_default();
            let visible = |id: i32, kind: char| {
                id <= 4
                    || id >= 16384
                    || Some(id) == uid
                    || (kind == 'S' && users)
                    || (kind == 'R' && (roles || mine.contains(&id)))
            };
            let rows = db
                .principals
                .iter()
                .filter(|p| visible(p.id, p.kind))
                .map(|p| {
                    let auth = match p.auth {
                        1 => "INSTANCE",
                        2 => "DATABASE",
                        _ => "NONE",
                    };
                    vec![
                        s(&p.name),
                        V::Int(p.id),
                        s(&p.kind.to_string()),
                        s(p.type_desc()),
                        opt(p.default_schema.as_deref()),
                        p.sid.clone().map_or(V::Null, V::Bytes),
                        V::Int(p.auth),
                        s(auth),
                        V::Int((p.kind == 'R' && p.id >= 16384).into()),
                    ]
                })
                .collect();
            (
                cols(&[
                    ("name", SYSNAME),
                    ("principal_id", T::Int),
                    ("type", T::Char(1)),
                    ("type_desc", DESC),
                    ("default_schema_name", SYSNAME),
                    ("sid", T::VarBinary(85)),
                    ("authentication_type", T::Int),
                    ("authentication_type_desc", DESC),
                    ("is_fixed_role", T::Bit),
                ]),
                rows,
            )
        }
        "sys.schemas" => (
            cols(&[
                ("name", SYSNAME),
                ("schema_id", T::Int),
                ("principal_id", T::Int),
            ]),
            db.schemas
                .iter()
                .map(|(id, n, o)| vec![s(n), V::Int(*id), V::Int(*o)])
                .collect(),
        ),
        "sys.objects" => (
            cols(&[
                ("name", SYSNAME),
                ("object_id", T::Int),
                ("schema_id", T::Int),
                ("type", T::Char(2)),
                ("type_desc", DESC),
            ]),
            db.objects
                .iter()
                .map(|(id, n, sid)| vec![s(n), V::Int(*id), V::Int(*sid), s("U"), s("USER_TABLE")])
                .collect(),
        ),
        "sys.columns" => (
            cols(&[
                ("object_id", T::Int),
                ("name", SYSNAME),
                ("column_id", T::Int),
                ("system_type_id", T::TinyInt),
                ("user_type_id", T::Int),
                ("max_length", T::SmallInt),
                ("is_nullable", T::Bit),
            ]),
            db.columns
                .iter()
                .map(|(object, id, col)| {
                    let ty = col.kind.type_id();
                    vec![
                        V::Int(*object),
                        s(&col.name),
                        V::Int(*id),
                        V::Int(ty),
                        V::Int(ty),
                        V::Int(col.kind.max_length()),
                        V::Int(1),
                    ]
                })
                .collect(),
        ),
        "sys.types" => (
            cols(&[
                ("name", SYSNAME),
                ("system_type_id", T::TinyInt),
                ("user_type_id", T::Int),
                ("schema_id", T::Int),
                ("principal_id", T::Int),
                ("max_length", T::SmallInt),
                ("is_user_defined", T::Bit),
            ]),
            TYPES
                .iter()
                .map(|(n, system, user, len)| {
                    vec![
                        s(n),
                        V::Int(*system),
                        V::Int(*user),
                        V::Int(4),
                        V::Null,
                        V::Int(*len),
                        V::Int(0),
                    ]
                })
                .collect(),
        ),
        v => match EMPTY.iter().find(|(name, _)| *name == v) {
            Some((_, id)) => {
                let mut cs = cols(&[("name", SYSNAME), (id, T::Int), ("principal_id", T::Int)]);
                if v == "sys.xml_schema_collections" {
                    cs.push(("schema_id".into(), T::Int));
                }
                (cs, Vec::new())
            }
            None => return Err(errors::not_modelled(&format!("the view {v}"))),
        },
    })
}
