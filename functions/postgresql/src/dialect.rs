//! PostgreSQL's SQL for the rotation strategies.

use tokio_postgres::{Client, Transaction};

use rotation_core::database::{EngineIdentity, Need};
use rotation_core::preflight::names;
use rotation_core::{Check, SecretValue};

use crate::engine::{execute_secret_sql, hashed_password, Dialect, PasswordForm, SessionLimits};
use crate::engines::POSTGRESQL;
use crate::error::{column, sql_error, PgError};
use crate::sql::{quote_ident, quote_literal};

/// The oldest server supported: PostgreSQL 10 (`server_version_num` 100000).
pub const MIN_SERVER_VERSION_NUM: i32 = 100_000;

/// PostgreSQL (RDS, Aurora, self-managed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres {
    /// After creating a clone, make its sessions act as the original role
    /// (`ALTER ROLE clone SET role = original`), so objects either user creates have one owner.
    pub clone_acts_as_original: bool,
}

/// The form in which a server with `server_version_num` and `password_encryption` (as the
/// session sees them) stores passwords. Servers older than 10 and settings this code does not
/// know are refused: sending the wrong form would silently change how clients must log in
/// (RDS defaulted to md5 up to PostgreSQL 13, and md5-only clients and poolers break on SCRAM).
pub fn postgres_password_form(
    server_version_num: i32,
    password_encryption: &str,
) -> Result<PasswordForm, PgError> {
    if server_version_num < MIN_SERVER_VERSION_NUM {
        return Err(PgError::UnsupportedServer(format!(
            "PostgreSQL server_version_num {server_version_num} is older than 10; upgrade the server or use the official rotation function"
        )));
    }
    match password_encryption.trim().to_ascii_lowercase().as_str() {
        "scram-sha-256" => Ok(PasswordForm::ScramSha256),
        // PostgreSQL 10 to 13 also accept "on", an alias of md5.
        "md5" | "on" => Ok(PasswordForm::Md5),
        other => Err(PgError::UnsupportedServer(format!(
            "password_encryption is '{other}', expected scram-sha-256 or md5"
        ))),
    }
}

/// `ALTER ROLE ... WITH PASSWORD '<hashed form>'`: the server stores the hash as it is.
pub fn alter_role_password_sql(
    user: &str,
    stored_name: &str,
    password: &SecretValue,
    form: PasswordForm,
) -> String {
    format!(
        "ALTER ROLE {} WITH PASSWORD {}",
        quote_ident(user),
        quote_literal(&hashed_password(form, stored_name, password))
    )
}

/// The statements that create the clone (one transaction), a member of `source`, the user
/// AWSCURRENT names. PostgreSQL keeps a quoted name as written, so the clone's name is its md5
/// salt.
pub fn create_clone_sql(
    clone: &str,
    source: &str,
    password: &SecretValue,
    form: PasswordForm,
    acts_as_original: bool,
) -> String {
    let mut sql = format!(
        "CREATE ROLE {c} WITH LOGIN PASSWORD {v}; GRANT {o} TO {c};",
        c = quote_ident(clone),
        o = quote_ident(source),
        v = quote_literal(&hashed_password(form, clone, password))
    );
    if acts_as_original {
        sql.push_str(&format!(
            " ALTER ROLE {} SET role = {};",
            quote_ident(clone),
            quote_literal(source)
        ));
    }
    sql
}

/// Whether `$1` is a member of `$2`, and `$2` of `$1` (directly or not).
pub const MEMBERSHIP_SQL: &str =
    "SELECT pg_has_role($1::text, $2::text, 'MEMBER'), pg_has_role($2::text, $1::text, 'MEMBER')";

/// `GRANT "source" TO "user"`.
pub fn grant_membership_sql(source: &str, user: &str) -> String {
    format!("GRANT {} TO {}", quote_ident(source), quote_ident(user))
}

impl Dialect for Postgres {
    fn identity(&self) -> &'static EngineIdentity {
        &POSTGRESQL
    }

    async fn prepare_session(
        &self,
        client: &Client,
        limits: &SessionLimits,
    ) -> Result<PasswordForm, PgError> {
        let statement_ms = limits.statement_timeout.as_millis().to_string();
        let lock_ms = limits.lock_timeout.as_millis().to_string();
        let row = client
            .query_one(
                "SELECT current_setting('server_version_num')::int4, current_setting('password_encryption'), \
                 set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false)",
                &[&statement_ms, &lock_ms],
            )
            .await
            .map_err(sql_error("read the server version and password_encryption, set the time limits"))?;
        let operation = "read the server version and password_encryption";
        let version: i32 = column(&row, 0, operation)?;
        let encryption: String = column(&row, 1, operation)?;
        postgres_password_form(version, &encryption)
    }

    fn set_password_sql(
        &self,
        user: &str,
        stored_name: &str,
        password: &SecretValue,
        form: PasswordForm,
    ) -> String {
        alter_role_password_sql(user, stored_name, password, form)
    }

    fn user_exists_sql(&self) -> &'static str {
        "SELECT rolname::text FROM pg_roles WHERE rolname = $1"
    }

    /// Every role may change its own password (VALID UNTIL is kept, so it is reported); managing
    /// users needs SUPERUSER or CREATEROLE.
    async fn privileges(&self, client: &Client, need: Need) -> Result<Vec<Check>, PgError> {
        let operation = "read the user's role attributes";
        let row = client
            .query_one(
                "SELECT rolsuper, rolcreaterole, COALESCE(rolvaliduntil::text, '') \
                 FROM pg_roles WHERE rolname = session_user",
                &[],
            )
            .await
            .map_err(sql_error(operation))?;
        let superuser: bool = column(&row, 0, operation)?;
        let createrole: bool = column(&row, 1, operation)?;
        let valid_until: String = column(&row, 2, operation)?;
        let mut checks = Vec::new();
        match need {
            Need::OwnPassword => checks.push(Check {
                name: names::OWN_PASSWORD,
                ok: true,
                detail: if valid_until.is_empty() || valid_until == "infinity" {
                    "PostgreSQL lets every role change its own password (not checked: a standby, or RDS's rds.restrict_password_commands)".into()
                } else {
                    format!("PostgreSQL lets every role change its own password (not checked: a standby, or RDS's rds.restrict_password_commands); this role's password expires at {valid_until} (VALID UNTIL), and a changed password keeps that date")
                },
            }),
            Need::ManageUsers => checks.push(Check {
                name: names::MANAGE_USERS,
                ok: superuser || createrole,
                detail: match (superuser, createrole) {
                    (true, _) => "the superuser secret's role is a SUPERUSER".into(),
                    (false, true) => "the superuser secret's role has CREATEROLE (on PostgreSQL 16 and later it must also hold ADMIN OPTION on the rotated role to grant its membership; not checked here)".into(),
                    (false, false) => "the superuser secret's role has neither SUPERUSER nor CREATEROLE, so it cannot create the clone or set its password: ALTER ROLE ... CREATEROLE, or use another superuser secret".into(),
                },
            }),
        }
        checks.push(Check {
            name: names::PASSWORD_POLICY,
            ok: true,
            detail: "passwords are sent as SCRAM-SHA-256 or md5 verifiers computed by the function, so a server-side password check (the passwordcheck module) sees no plaintext to judge".into(),
        });
        Ok(checks)
    }

    async fn create_clone(
        &self,
        tx: &Transaction<'_>,
        clone: &str,
        source: &str,
        password: &SecretValue,
        form: PasswordForm,
    ) -> Result<(), PgError> {
        let sql = create_clone_sql(clone, source, password, form, self.clone_acts_as_original);
        execute_secret_sql(tx, &sql, "create the clone user").await
    }

    /// The password, and membership of `source` unless one of the two is already a member of
    /// the other: the clone (a member of the original role) has the original's privileges,
    /// and the original is not made a member of its clone (that would be a cycle).
    async fn update_clone(
        &self,
        tx: &Transaction<'_>,
        user: &str,
        stored_name: &str,
        source: &str,
        password: &SecretValue,
        form: PasswordForm,
    ) -> Result<(), PgError> {
        let sql = alter_role_password_sql(user, stored_name, password, form);
        execute_secret_sql(tx, &sql, "set the password").await?;
        let operation = "check the pair's membership";
        let row = tx
            .query_one(MEMBERSHIP_SQL, &[&user, &source])
            .await
            .map_err(sql_error(operation))?;
        let (pending_in_source, source_in_pending): (bool, bool) =
            (column(&row, 0, operation)?, column(&row, 1, operation)?);
        if !pending_in_source && !source_in_pending {
            tx.batch_execute(&grant_membership_sql(source, user))
                .await
                .map_err(sql_error(
                    "make the pending user a member of the current user's role",
                ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_statements_carry_a_hash_not_the_password() {
        let pw = SecretValue::new("plain-Text-Pa55");
        let user = "Odd \"User\"";
        let sql = alter_role_password_sql(user, user, &pw, PasswordForm::ScramSha256);
        assert!(
            sql.starts_with("ALTER ROLE \"Odd \"\"User\"\"\" WITH PASSWORD 'SCRAM-SHA-256$4096:")
        );
        assert!(!sql.contains("plain-Text-Pa55"));
        let md5 = alter_role_password_sql(user, user, &pw, PasswordForm::Md5);
        let expected = postgres_protocol::password::md5(b"plain-Text-Pa55", user);
        assert!(
            md5.ends_with(&format!("WITH PASSWORD '{expected}'")),
            "{md5}"
        );
        let sql = create_clone_sql("u_clone", "u", &pw, PasswordForm::ScramSha256, true);
        assert!(!sql.contains("plain-Text-Pa55"));
        assert!(sql.contains("GRANT \"u\" TO \"u_clone\";"));
        assert!(sql.ends_with(" ALTER ROLE \"u_clone\" SET role = 'u';"));
        let sql = create_clone_sql("U_clone", "U", &pw, PasswordForm::Md5, false);
        assert!(!sql.contains("SET role"));
        let salted = postgres_protocol::password::md5(b"plain-Text-Pa55", "U_clone");
        assert!(
            sql.contains(&salted),
            "md5 salted with the clone's name as written"
        );
    }

    #[test]
    fn the_password_form_follows_the_server_and_old_or_unknown_servers_are_refused() {
        use PasswordForm::{Md5, ScramSha256};
        assert_eq!(
            postgres_password_form(150004, "scram-sha-256").unwrap(),
            ScramSha256
        );
        assert_eq!(postgres_password_form(130011, "md5").unwrap(), Md5);
        assert_eq!(postgres_password_form(100023, "on").unwrap(), Md5);
        assert_eq!(
            postgres_password_form(170000, "SCRAM-SHA-256").unwrap(),
            ScramSha256
        );
        for (version, setting, needle) in [
            (90624, "md5", "older than 10"),
            (150004, "off", "'off'"),
            (150004, "plain", "'plain'"),
        ] {
            let err = rotation_core::RotationError::from(
                postgres_password_form(version, setting).unwrap_err(),
            );
            assert_eq!(err.error_type(), "UnsupportedServer");
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
