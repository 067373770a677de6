//! The `redshift` binary's function ([`build`]) and Redshift's SQL: a [`Dialect`] of this
//! PostgreSQL-wire adapter.
//!
//! Passwords are sent in Redshift's md5 form (`'md5' || md5(password || user)`, the user name
//! as the server stores it), never as plaintext. The pending user gets the privileges of the
//! user AWSCURRENT names, enumerated (databases, tables, schemas) as the official function
//! does on creation; unlike it, also on every later rotation, taking back what the pending user
//! holds beyond them, so the pair stays interchangeable. Each change is one transaction.
use std::collections::BTreeSet;
use std::sync::Arc;

use rotation_core::database::{ConnectPolicy, EngineIdentity, Need, Strategy};
use rotation_core::preflight::names;
use rotation_core::{Check, PasswordPolicy, Result, RotationError, SecretValue, Settings};
use tokio_postgres::{Client, Transaction};

use crate::engine::{execute_secret_sql, stored_name, Dialect, PasswordForm, SessionLimits};
use crate::engines::REDSHIFT;
use crate::error::{column, sql_error, PgError};
use crate::redshift_admin::{RedshiftAdmins, RedshiftLookup};
use crate::sql::{quote_ident, quote_literal};
use crate::PgEngine;

/// The rotation the `redshift` function serves under `settings`: single user or alternating
/// users, with the Redshift APIs for Redshift-managed admin secrets (Redshift has no RDS API).
/// A password policy Redshift would refuse stops start-up. Feature `redshift`.
#[cfg(feature = "redshift")]
pub fn build(settings: &Settings) -> Result<Strategy<PgEngine<Redshift>>> {
    let api = Arc::new(crate::SdkRedshift::new());
    build_with(settings, ConnectPolicy::from_settings(settings)?, Some(api))
}

/// The `redshift` function with the connect policy and Redshift APIs given (tests redirect
/// hosts and use emulators); `api: None` rotates without them.
pub fn build_with(
    settings: &Settings,
    policy: ConnectPolicy,
    api: Option<Arc<dyn RedshiftLookup>>,
) -> Result<Strategy<PgEngine<Redshift>>> {
    check_policy(&settings.password)?;
    let strategy = Strategy::from_settings(settings, PgEngine::new(Redshift, policy))?;
    Ok(match api {
        Some(api) => strategy.with_managed_secrets(Arc::new(RedshiftAdmins(api))),
        None => strategy,
    })
}

/// Redshift passwords are 8 to 64 characters with an uppercase letter, a lowercase letter and a
/// digit: refuse at start-up a policy that could generate anything else.
pub fn check_policy(policy: &PasswordPolicy) -> Result<()> {
    let bad = |variable: &str, problem: &str| {
        Err(RotationError::Configuration {
            variable: variable.into(),
            problem: problem.into(),
        })
    };
    if !(8..=64).contains(&policy.length) {
        return bad("PASSWORD_LENGTH", "must be 8 to 64 for Redshift");
    }
    if policy.exclude_numbers || policy.exclude_uppercase || policy.exclude_lowercase {
        return bad(
            "EXCLUDE_NUMBERS/EXCLUDE_UPPERCASE/EXCLUDE_LOWERCASE",
            "must be false for Redshift, which requires a digit, an uppercase and a lowercase letter",
        );
    }
    if !policy.require_each_included_type {
        return bad(
            "REQUIRE_EACH_INCLUDED_TYPE",
            "must be true for Redshift, which requires a digit, an uppercase and a lowercase letter",
        );
    }
    Ok(())
}

/// Database privileges copied to a clone.
pub const DATABASE_PRIVILEGES: [&str; 2] = ["CREATE", "TEMPORARY"];
/// Table privileges copied to a clone.
pub const TABLE_PRIVILEGES: [&str; 5] = ["SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES"];
/// Schema privileges copied to a clone.
pub const SCHEMA_PRIVILEGES: [&str; 2] = ["CREATE", "USAGE"];

/// Schemas whose objects are never granted (system and Redshift-internal).
const SKIPPED_SCHEMAS: &str = "('pg_catalog', 'information_schema', 'pg_internal', 'pg_automv')";

/// Amazon Redshift (provisioned or Serverless).
#[derive(Debug, Clone, Copy, Default)]
pub struct Redshift;

/// The md5 password form Redshift accepts: `md5` + hex md5 of password then user name. The
/// salt must be the name exactly as the server stores it: Redshift keeps the case of a quoted
/// name when `enable_case_sensitive_identifier` is on and folds it to lowercase otherwise, so
/// callers read the stored name from the server (`session_user`, or the catalog).
pub fn md5_password(stored_name: &str, password: &SecretValue) -> String {
    postgres_protocol::password::md5(password.expose().as_bytes(), stored_name)
}

/// `ALTER USER "u" PASSWORD 'md5...'`, salted with `stored_name`.
pub fn alter_user_password_sql(user: &str, stored_name: &str, password: &SecretValue) -> String {
    format!(
        "ALTER USER {} PASSWORD {}",
        quote_ident(user),
        quote_literal(&md5_password(stored_name, password))
    )
}

/// `CREATE USER "c" PASSWORD 'md5...'`, salted with the name as written (checked against the
/// stored name right after, see [`created_name_sql`]).
pub fn create_user_sql(user: &str, password: &SecretValue) -> String {
    format!(
        "CREATE USER {} PASSWORD {}",
        quote_ident(user),
        quote_literal(&md5_password(user, password))
    )
}

/// The name a user created as `$1` got: as written, or folded to lowercase.
pub fn created_name_sql() -> &'static str {
    "SELECT usename::text FROM pg_user WHERE usename::text IN ($1::text, lower($1::text)) \
     ORDER BY (usename::text = $1::text) DESC LIMIT 1"
}

/// The databases on which user `$1` holds `privilege`.
pub fn databases_with_privilege_sql(privilege: &str) -> String {
    format!("SELECT datname::text FROM pg_database WHERE HAS_DATABASE_PRIVILEGE($1, datname, '{privilege}') ORDER BY 1")
}

/// The tables (schema, name) on which user `$1` holds `privilege`.
pub fn tables_with_privilege_sql(privilege: &str) -> String {
    format!(
        "SELECT schemaname::text, tablename::text FROM pg_tables WHERE schemaname NOT IN {SKIPPED_SCHEMAS} \
         AND HAS_TABLE_PRIVILEGE($1, QUOTE_IDENT(schemaname) || '.' || QUOTE_IDENT(tablename), '{privilege}') ORDER BY 1, 2"
    )
}

/// The schemas (that hold tables) on which user `$1` holds `privilege`.
pub fn schemas_with_privilege_sql(privilege: &str) -> String {
    format!(
        "SELECT DISTINCT schemaname::text FROM pg_tables WHERE schemaname NOT IN {SKIPPED_SCHEMAS} \
         AND HAS_SCHEMA_PRIVILEGE($1, schemaname, '{privilege}') ORDER BY 1"
    )
}

/// `GRANT privilege ON DATABASE "db" TO "clone"` (one database per statement: datashare
/// databases cannot be mixed with others).
pub fn grant_database_sql(privilege: &str, database: &str, clone: &str) -> String {
    format!(
        "GRANT {privilege} ON DATABASE {} TO {}",
        quote_ident(database),
        quote_ident(clone)
    )
}

/// `GRANT privilege ON TABLE "s"."t", ... TO "clone"`.
pub fn grant_tables_sql(privilege: &str, tables: &[(String, String)], clone: &str) -> String {
    let list = tables
        .iter()
        .map(|(s, t)| format!("{}.{}", quote_ident(s), quote_ident(t)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "GRANT {privilege} ON TABLE {list} TO {}",
        quote_ident(clone)
    )
}

/// `GRANT privilege ON SCHEMA "s" TO "clone"`.
pub fn grant_schema_sql(privilege: &str, schema: &str, clone: &str) -> String {
    format!(
        "GRANT {privilege} ON SCHEMA {} TO {}",
        quote_ident(schema),
        quote_ident(clone)
    )
}

/// One privilege a user holds, in the categories copied: on a database, a table (schema,
/// name) or a schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Held {
    /// `privilege` ON DATABASE.
    Database(&'static str, String),
    /// `privilege` ON TABLE schema.name.
    Table(&'static str, String, String),
    /// `privilege` ON SCHEMA.
    Schema(&'static str, String),
}

impl Held {
    /// `GRANT ... TO "user"`.
    pub fn grant_sql(&self, user: &str) -> String {
        match self {
            Held::Database(p, d) => grant_database_sql(p, d, user),
            Held::Table(p, s, t) => grant_tables_sql(p, &[(s.clone(), t.clone())], user),
            Held::Schema(p, s) => grant_schema_sql(p, s, user),
        }
    }

    /// `REVOKE ... FROM "user"`.
    pub fn revoke_sql(&self, user: &str) -> String {
        let user = quote_ident(user);
        match self {
            Held::Database(p, d) => {
                format!("REVOKE {p} ON DATABASE {} FROM {user}", quote_ident(d))
            }
            Held::Table(p, s, t) => format!(
                "REVOKE {p} ON TABLE {}.{} FROM {user}",
                quote_ident(s),
                quote_ident(t)
            ),
            Held::Schema(p, s) => format!("REVOKE {p} ON SCHEMA {} FROM {user}", quote_ident(s)),
        }
    }

    fn names(&self) -> String {
        match self {
            Held::Database(p, d) => format!("{p} ON DATABASE {d}"),
            Held::Table(p, s, t) => format!("{p} ON TABLE {s}.{t}"),
            Held::Schema(p, s) => format!("{p} ON SCHEMA {s}"),
        }
    }
}

/// What `user` holds in the categories copied, read from the catalog.
pub async fn privileges(
    client: &impl tokio_postgres::GenericClient,
    user: &str,
) -> Result<BTreeSet<Held>, PgError> {
    let mut held = BTreeSet::new();
    let op = "read a user's privileges";
    let read = sql_error(op);
    for privilege in DATABASE_PRIVILEGES {
        for row in client
            .query(&databases_with_privilege_sql(privilege), &[&user])
            .await
            .map_err(&read)?
        {
            held.insert(Held::Database(privilege, column(&row, 0, op)?));
        }
    }
    for privilege in TABLE_PRIVILEGES {
        for row in client
            .query(&tables_with_privilege_sql(privilege), &[&user])
            .await
            .map_err(&read)?
        {
            held.insert(Held::Table(
                privilege,
                column(&row, 0, op)?,
                column(&row, 1, op)?,
            ));
        }
    }
    for privilege in SCHEMA_PRIVILEGES {
        for row in client
            .query(&schemas_with_privilege_sql(privilege), &[&user])
            .await
            .map_err(&read)?
        {
            held.insert(Held::Schema(privilege, column(&row, 0, op)?));
        }
    }
    Ok(held)
}

/// The databases, tables and schemas `$1` owns: never taken from it (an owner's privileges on
/// its own objects are how it keeps using what it made).
pub const OWNED_SQL: &str = "SELECT 'd', datname::text, '' FROM pg_database d JOIN pg_user u ON d.datdba = u.usesysid WHERE u.usename = $1 \
     UNION ALL SELECT 't', schemaname::text, tablename::text FROM pg_tables WHERE tableowner = $1 \
     UNION ALL SELECT 's', nspname::text, '' FROM pg_namespace n JOIN pg_user u ON n.nspowner = u.usesysid WHERE u.usename = $1";

/// True when `held` is on an object `owned` (rows of [`OWNED_SQL`]) lists.
fn is_owned(held: &Held, owned: &[(String, String, String)]) -> bool {
    owned
        .iter()
        .any(|(kind, a, b)| match (held, kind.as_str()) {
            (Held::Database(_, d), "d") => d == a,
            (Held::Table(_, s, t), "t") => s == a && t == b,
            (Held::Schema(_, s), "s") => s == a,
            _ => false,
        })
}

/// The GRANT statements that give `clone` what `source` holds, read from the catalog.
pub async fn privilege_grants(
    client: &impl tokio_postgres::GenericClient,
    source: &str,
    clone: &str,
) -> Result<Vec<String>, PgError> {
    Ok(privileges(client, source)
        .await?
        .iter()
        .map(|h| h.grant_sql(clone))
        .collect())
}

/// Gives `user` what `source` holds and takes back what it holds beyond that (except on
/// objects it owns), logging by name what was taken back.
pub async fn match_privileges(
    client: &impl tokio_postgres::GenericClient,
    source: &str,
    user: &str,
) -> Result<(), PgError> {
    let wanted = privileges(client, source).await?;
    let held = privileges(client, user).await?;
    let op = "read what the pending user owns";
    let mut owned = Vec::new();
    for row in client
        .query(OWNED_SQL, &[&user])
        .await
        .map_err(sql_error(op))?
    {
        owned.push((
            column(&row, 0, op)?,
            column(&row, 1, op)?,
            column(&row, 2, op)?,
        ));
    }
    for extra in held.difference(&wanted).filter(|h| !is_owned(h, &owned)) {
        client
            .batch_execute(&extra.revoke_sql(user))
            .await
            .map_err(sql_error("revoke what the current user does not hold"))?;
        tracing::info!(
            user,
            revoked = %extra.names(),
            current_user = source,
            "revoked from the pending user what the current user does not hold, so the two stay interchangeable"
        );
    }
    for grant in wanted.difference(&held) {
        client
            .batch_execute(&grant.grant_sql(user))
            .await
            .map_err(sql_error("copy a privilege to the pending user"))?;
    }
    Ok(())
}

impl Dialect for Redshift {
    fn identity(&self) -> &'static EngineIdentity {
        &REDSHIFT
    }

    /// Redshift stores md5 only; it has `statement_timeout` but no `lock_timeout`.
    async fn prepare_session(
        &self,
        client: &Client,
        limits: &SessionLimits,
    ) -> Result<PasswordForm, PgError> {
        let statement_ms = limits.statement_timeout.as_millis().to_string();
        client
            .query_one(
                "SELECT set_config('statement_timeout', $1, false)",
                &[&statement_ms],
            )
            .await
            .map_err(sql_error("set the statement timeout"))?;
        Ok(PasswordForm::Md5)
    }

    fn set_password_sql(
        &self,
        user: &str,
        stored_name: &str,
        password: &SecretValue,
        _form: PasswordForm,
    ) -> String {
        alter_user_password_sql(user, stored_name, password)
    }

    /// Every user may change its own password; changing another's and copying privileges
    /// needs a superuser. The password rules were checked against the policy at start-up.
    async fn privileges(&self, client: &Client, need: Need) -> Result<Vec<Check>, PgError> {
        let operation = "read the user's attributes";
        let row = client
            .query_one(
                "SELECT usesuper FROM pg_user WHERE usename = session_user",
                &[],
            )
            .await
            .map_err(sql_error(operation))?;
        let superuser: bool = column(&row, 0, operation)?;
        let check = match need {
            Need::OwnPassword => Check {
                name: names::OWN_PASSWORD,
                ok: true,
                detail: "Redshift lets every user change its own password".into(),
            },
            Need::ManageUsers => Check {
                name: names::MANAGE_USERS,
                ok: superuser,
                detail: if superuser {
                    "the superuser secret's user is a superuser".into()
                } else {
                    "the superuser secret's user is not a superuser, so it cannot set another user's password or copy privileges: use the cluster's admin user".into()
                },
            },
        };
        Ok(vec![
            check,
            Check {
                name: names::PASSWORD_POLICY,
                ok: true,
                detail: "Redshift's password rules (8 to 64 characters, an uppercase and a lowercase letter, a digit) were checked against this function's password settings at start-up".into(),
            },
        ])
    }

    /// Every user whose name equals `$1` ignoring case: Redshift folds names, and one that
    /// differs from the secret's only in case is refused.
    fn user_exists_sql(&self) -> &'static str {
        "SELECT usename::text FROM pg_user WHERE lower(usename::text) = lower($1::text) ORDER BY 1"
    }

    fn folds_case(&self) -> bool {
        true
    }

    async fn create_clone(
        &self,
        tx: &Transaction<'_>,
        clone: &str,
        source: &str,
        password: &SecretValue,
        _form: PasswordForm,
    ) -> Result<(), PgError> {
        execute_secret_sql(
            tx,
            &create_user_sql(clone, password),
            "create the clone user",
        )
        .await?;
        // If the server folded the name, the hash was salted with the wrong name: set it again
        // with the stored one, in the same transaction.
        let stored = stored_name(tx, created_name_sql(), clone).await?;
        if stored != clone {
            execute_secret_sql(
                tx,
                &alter_user_password_sql(clone, &stored, password),
                "set the clone's password for its stored name",
            )
            .await?;
        }
        for grant in privilege_grants(tx, source, clone).await? {
            tx.batch_execute(&grant)
                .await
                .map_err(sql_error("copy a privilege to the clone"))?;
        }
        Ok(())
    }

    /// The password (md5, salted with the stored name), then the privileges of `source` in the
    /// categories copied, taking back what `user` holds beyond them (not on objects it owns).
    async fn update_clone(
        &self,
        tx: &Transaction<'_>,
        user: &str,
        stored_name: &str,
        source: &str,
        password: &SecretValue,
        _form: PasswordForm,
    ) -> Result<(), PgError> {
        execute_secret_sql(
            tx,
            &alter_user_password_sql(user, stored_name, password),
            "set the password",
        )
        .await?;
        match_privileges(tx, source, user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_statements_carry_the_md5_form() {
        let pw = SecretValue::new("ez");
        // Redshift's documented example: password "ez", user "user1".
        assert_eq!(
            md5_password("user1", &pw),
            "md5153c434b4b77c89e6b94f12c5393af5b"
        );
        // The salt is the stored name, case and all (a mixed-case name is not folded here).
        assert_ne!(md5_password("User1", &pw), md5_password("user1", &pw));
        assert_eq!(
            alter_user_password_sql("user1", "user1", &pw),
            "ALTER USER \"user1\" PASSWORD 'md5153c434b4b77c89e6b94f12c5393af5b'"
        );
        assert_eq!(
            create_user_sql("a \"b\"", &SecretValue::new("plain-secret"))
                .split(" PASSWORD ")
                .next()
                .unwrap(),
            "CREATE USER \"a \"\"b\"\"\""
        );
        assert!(!create_user_sql("u", &SecretValue::new("plain-secret")).contains("plain-secret"));
    }

    #[test]
    fn the_policy_must_produce_redshift_passwords() {
        let policy = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            PasswordPolicy::from_lookup(REDSHIFT.password_defaults, move |k| {
                vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
            .unwrap()
        };
        assert!(check_policy(&policy(&[])).is_ok());
        for bad in [
            vec![("PASSWORD_LENGTH", "65")],
            vec![("PASSWORD_LENGTH", "7")],
            vec![("EXCLUDE_NUMBERS", "true")],
            vec![("EXCLUDE_UPPERCASE", "true")],
            vec![("REQUIRE_EACH_INCLUDED_TYPE", "false")],
        ] {
            assert_eq!(
                check_policy(&policy(&bad)).unwrap_err().error_type(),
                "ConfigurationError"
            );
        }
    }

    #[test]
    fn privilege_statements_are_exact() {
        assert_eq!(
            databases_with_privilege_sql("TEMPORARY"),
            "SELECT datname::text FROM pg_database WHERE HAS_DATABASE_PRIVILEGE($1, datname, 'TEMPORARY') ORDER BY 1"
        );
        assert_eq!(
            tables_with_privilege_sql("SELECT"),
            "SELECT schemaname::text, tablename::text FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_internal', 'pg_automv') \
             AND HAS_TABLE_PRIVILEGE($1, QUOTE_IDENT(schemaname) || '.' || QUOTE_IDENT(tablename), 'SELECT') ORDER BY 1, 2"
        );
        assert_eq!(
            schemas_with_privilege_sql("USAGE"),
            "SELECT DISTINCT schemaname::text FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_internal', 'pg_automv') \
             AND HAS_SCHEMA_PRIVILEGE($1, schemaname, 'USAGE') ORDER BY 1"
        );
        assert_eq!(
            grant_database_sql("CREATE", "dev", "u_clone"),
            "GRANT CREATE ON DATABASE \"dev\" TO \"u_clone\""
        );
        assert_eq!(
            grant_tables_sql(
                "SELECT",
                &[
                    ("public".into(), "t1".into()),
                    ("Sales".into(), "Q \"1\"".into())
                ],
                "u_clone"
            ),
            "GRANT SELECT ON TABLE \"public\".\"t1\", \"Sales\".\"Q \"\"1\"\"\" TO \"u_clone\""
        );
        assert_eq!(
            grant_schema_sql("USAGE", "sales", "u_clone"),
            "GRANT USAGE ON SCHEMA \"sales\" TO \"u_clone\""
        );
    }
}
