//! PostgreSQL's SQL for the rotation strategies.

use rotation_core::{Result, SecretValue};
use tokio_postgres::Transaction;

use crate::engine::{execute_secret_sql, Dialect};
use crate::sql::{quote_ident, quote_literal};

/// Engines the PostgreSQL function accepts.
pub const ENGINES: &[&str] = &["postgres", "aurora-postgresql"];

/// PostgreSQL (RDS, Aurora, self-managed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres {
    /// After creating a clone, make its sessions act as the original role
    /// (`ALTER ROLE clone SET role = original`), so objects either user creates have one owner.
    pub clone_acts_as_original: bool,
}

/// `ALTER ROLE ... WITH PASSWORD '<SCRAM-SHA-256 verifier>'`: the server stores the verifier as
/// it is; the plaintext never reaches the server, its statement log or `pg_stat_statements`.
pub fn alter_role_password_sql(user: &str, password: &SecretValue) -> String {
    let verifier = postgres_protocol::password::scram_sha_256(password.expose().as_bytes());
    format!(
        "ALTER ROLE {} WITH PASSWORD {}",
        quote_ident(user),
        quote_literal(&verifier)
    )
}

/// The statements that create the clone (one transaction).
pub fn create_clone_sql(
    clone: &str,
    original: &str,
    password: &SecretValue,
    acts_as_original: bool,
) -> String {
    let verifier = postgres_protocol::password::scram_sha_256(password.expose().as_bytes());
    let mut sql = format!(
        "CREATE ROLE {c} WITH LOGIN PASSWORD {v}; GRANT {o} TO {c};",
        c = quote_ident(clone),
        o = quote_ident(original),
        v = quote_literal(&verifier)
    );
    if acts_as_original {
        sql.push_str(&format!(
            " ALTER ROLE {} SET role = {};",
            quote_ident(clone),
            quote_literal(original)
        ));
    }
    sql
}

impl Dialect for Postgres {
    fn engines(&self) -> &'static [&'static str] {
        ENGINES
    }

    fn default_port(&self) -> u16 {
        5432
    }

    fn default_dbname(&self) -> &'static str {
        "postgres"
    }

    fn max_username_len(&self) -> usize {
        63
    }

    fn set_password_sql(&self, user: &str, password: &SecretValue) -> String {
        alter_role_password_sql(user, password)
    }

    fn user_exists_sql(&self) -> &'static str {
        "SELECT 1 FROM pg_roles WHERE rolname = $1"
    }

    async fn create_clone(
        &self,
        tx: &Transaction<'_>,
        clone: &str,
        original: &str,
        password: &SecretValue,
    ) -> Result<()> {
        let sql = create_clone_sql(clone, original, password, self.clone_acts_as_original);
        execute_secret_sql(tx, &sql, "create the clone user").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_statements_carry_a_verifier_not_the_password() {
        let pw = SecretValue::new("plain-Text-Pa55");
        let sql = alter_role_password_sql("Odd \"User\"", &pw);
        assert!(
            sql.starts_with("ALTER ROLE \"Odd \"\"User\"\"\" WITH PASSWORD 'SCRAM-SHA-256$4096:")
        );
        assert!(!sql.contains("plain-Text-Pa55"));
        let sql = create_clone_sql("u_clone", "u", &pw, true);
        assert!(!sql.contains("plain-Text-Pa55"));
        assert!(sql.contains("GRANT \"u\" TO \"u_clone\";"));
        assert!(sql.ends_with(" ALTER ROLE \"u_clone\" SET role = 'u';"));
        assert!(!create_clone_sql("u_clone", "u", &pw, false).contains("SET role"));
    }
}
