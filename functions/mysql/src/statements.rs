//! The text of every statement the MySQL-wire engine sends, chosen from what the server is
//! ([`Server`]) and the account's authentication plugin ([`Plugin`]). Pure functions, tested
//! as exact text (most MySQL-only statements cannot be run here).
//!
//! Passwords are sent hashed wherever the server accepts a hash for that account: on MariaDB
//! (`mysql_native_password`, `ed25519`) unless a password-validation plugin in strict mode makes
//! it refuse hashes, and on MySQL for another user with `mysql_native_password`. The other cases
//! carry the plaintext ([`carries_plaintext`]); the engine sends those only over TLS (or when
//! the secret says `"ssl": false`).

use crate::server::{Family, Server};
use crate::sql::{account, ed25519_auth_string, native_password_hash, quote_string};
use rotation_core::SecretValue;
use rotation_core::{Result, RotationError};

/// An account's authentication plugin, as far as password changes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// `mysql_native_password`: SHA1(SHA1(password)), settable as a hash everywhere.
    Native,
    /// MySQL `caching_sha2_password`.
    CachingSha2,
    /// MySQL `sha256_password`.
    Sha256,
    /// MariaDB `ed25519`.
    Ed25519,
}

impl Plugin {
    /// The plugin named `name` (as `mysql.user.plugin` or `SHOW CREATE USER` print it); an
    /// empty name is the native plugin. Anything else (IAM, PAM, sockets, ...) is refused: those
    /// accounts have no password to rotate.
    pub fn parse(name: &str, user: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "mysql_native_password" => Ok(Self::Native),
            "caching_sha2_password" => Ok(Self::CachingSha2),
            "sha256_password" => Ok(Self::Sha256),
            "ed25519" => Ok(Self::Ed25519),
            _ => Err(RotationError::UnsupportedServer(format!(
                "the account of user {user} authenticates with the {} plugin, which has no password this function can rotate",
                name.trim()
            ))),
        }
    }

    /// The plugin's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Native => "mysql_native_password",
            Self::CachingSha2 => "caching_sha2_password",
            Self::Sha256 => "sha256_password",
            Self::Ed25519 => "ed25519",
        }
    }
}

/// `value` as a string literal for `server`'s `sql_mode`.
pub fn literal(server: &Server, value: &str) -> Result<String> {
    quote_string(value, server.backslash_escapes).ok_or_else(|| {
        RotationError::malformed(
            "AWSPENDING",
            "the password holds a NUL character, which MySQL statements cannot carry",
        )
    })
}

/// True when setting a password for `plugin` on `server` sends the plaintext: MySQL's SHA-256
/// plugins, and MariaDB when a password-validation plugin refuses hashes.
pub fn carries_plaintext(server: &Server, plugin: Plugin) -> bool {
    match server.family {
        Family::MySql => matches!(plugin, Plugin::CachingSha2 | Plugin::Sha256),
        Family::MariaDb => server.plaintext_passwords,
    }
}

/// The `IDENTIFIED ...` clause giving an account using `plugin` the password `password`, hashed
/// wherever `server` accepts a hash for that plugin.
pub fn identified(server: &Server, plugin: Plugin, password: &SecretValue) -> Result<String> {
    let plain = || literal(server, password.expose());
    match (server.family, plugin) {
        (Family::MariaDb, Plugin::Native) if server.plaintext_passwords => {
            Ok(format!("IDENTIFIED BY {}", plain()?))
        }
        (Family::MariaDb, Plugin::Ed25519) if server.plaintext_passwords => Ok(format!(
            "IDENTIFIED VIA ed25519 USING PASSWORD({})",
            plain()?
        )),
        (Family::MariaDb, Plugin::Native) => Ok(format!(
            "IDENTIFIED BY PASSWORD '{}'",
            native_password_hash(password)
        )),
        (Family::MariaDb, Plugin::Ed25519) => Ok(format!(
            "IDENTIFIED VIA ed25519 USING '{}'",
            ed25519_auth_string(password)
        )),
        (Family::MySql, Plugin::Native) => Ok(format!(
            "IDENTIFIED WITH mysql_native_password AS '{}'",
            native_password_hash(password)
        )),
        (Family::MySql, Plugin::CachingSha2 | Plugin::Sha256) => {
            Ok(format!("IDENTIFIED WITH {} BY {}", plugin.name(), plain()?))
        }
        (family, plugin) => Err(RotationError::UnsupportedServer(format!(
            "{family} has no {} plugin",
            plugin.name()
        ))),
    }
}

/// The statement that gives the existing account `user`@`host` (already on `plugin`) the
/// password `password`. Under a strict password-validation plugin MariaDB takes `SET PASSWORD
/// FOR ... = PASSWORD('...')`, which it writes to the binary log as the hash (an `ALTER USER
/// ... IDENTIFIED BY` would be logged as sent).
pub fn set_password_sql(
    server: &Server,
    user: &str,
    host: &str,
    plugin: Plugin,
    password: &SecretValue,
) -> Result<String> {
    let who = account(user, host);
    if server.family == Family::MariaDb && server.plaintext_passwords {
        return Ok(format!(
            "SET PASSWORD FOR {who} = PASSWORD({})",
            literal(server, password.expose())?
        ));
    }
    Ok(format!(
        "ALTER USER {who} {}",
        identified(server, plugin, password)?
    ))
}

/// The statement a user runs to change its own password (no privilege needed). MariaDB takes
/// the hash for the account's plugin (or, under a strict password-validation plugin,
/// `PASSWORD('...')`); MySQL only takes the plaintext (`ALTER USER USER()`), with `REPLACE`
/// and the current password when the account requires it.
pub fn own_password_sql(
    server: &Server,
    plugin: Plugin,
    password: &SecretValue,
    replace: Option<&SecretValue>,
) -> Result<String> {
    match (server.family, plugin) {
        (Family::MariaDb, Plugin::Native | Plugin::Ed25519) if server.plaintext_passwords => {
            Ok(format!(
                "SET PASSWORD = PASSWORD({})",
                literal(server, password.expose())?
            ))
        }
        (Family::MariaDb, Plugin::Native) => Ok(format!(
            "SET PASSWORD = '{}'",
            native_password_hash(password)
        )),
        (Family::MariaDb, Plugin::Ed25519) => Ok(format!(
            "SET PASSWORD = '{}'",
            ed25519_auth_string(password)
        )),
        (Family::MySql, Plugin::Native | Plugin::CachingSha2 | Plugin::Sha256) => {
            let mut sql = format!(
                "ALTER USER USER() IDENTIFIED BY {}",
                literal(server, password.expose())?
            );
            if let Some(current) = replace {
                sql.push_str(&format!(" REPLACE {}", literal(server, current.expose())?));
            }
            Ok(sql)
        }
        (family, plugin) => Err(RotationError::UnsupportedServer(format!(
            "{family} has no {} plugin",
            plugin.name()
        ))),
    }
}

/// True when the own-password statement for `plugin` on `server` carries the plaintext.
pub fn own_password_carries_plaintext(server: &Server) -> bool {
    server.family == Family::MySql || server.plaintext_passwords
}

/// A statement that carries a plaintext password, wrapped so that MariaDB keeps it out of its
/// slow query log whatever the statement's duration (any session may do this; the general log
/// is turned off separately where the session has the privilege). MySQL rewrites passwords out
/// of its logs itself.
pub fn out_of_slow_log(server: &Server, statement: String) -> String {
    match server.family {
        Family::MariaDb => format!("SET STATEMENT long_query_time = 31536000 FOR {statement}"),
        Family::MySql => statement,
    }
}

/// `CREATE USER IF NOT EXISTS` for a new clone account: locked, with a placeholder password
/// (`identified` with an unknowable value), so that it cannot log in before its privileges and
/// its real password are in place.
pub fn create_locked_sql(user: &str, host: &str, placeholder: &str) -> String {
    format!(
        "CREATE USER IF NOT EXISTS {} {placeholder} ACCOUNT LOCK",
        account(user, host)
    )
}

/// MySQL 8.0 and later keep default roles in `mysql.default_roles`, not in `SHOW GRANTS`: the
/// statement giving `clone` the same ones (`NONE` when there are none, so a clone never keeps
/// default roles the original lacks).
pub fn default_roles_sql(clone: &str, roles: &[(String, String)]) -> String {
    if roles.is_empty() {
        return format!("ALTER USER {clone} DEFAULT ROLE NONE");
    }
    let list: Vec<String> = roles.iter().map(|(u, h)| account(u, h)).collect();
    format!("ALTER USER {clone} DEFAULT ROLE {}", list.join(", "))
}

/// The session time limits: a blocked statement fails on the server well inside the
/// function's timeout instead of committing after the invocation gave up.
pub fn session_limits_sql(server: &Server) -> &'static str {
    match server.family {
        Family::MariaDb => "SET SESSION lock_wait_timeout = 5, innodb_lock_wait_timeout = 5, max_statement_time = 10",
        Family::MySql => "SET SESSION lock_wait_timeout = 5, innodb_lock_wait_timeout = 5, max_execution_time = 10000",
    }
}

/// MariaDB: whether a password-validation plugin is active with `strict_password_validation`,
/// which makes the server refuse every statement that sets a password as a hash.
pub const MARIADB_POLICY_SQL: &str = "SELECT @@GLOBAL.strict_password_validation, \
     (SELECT COUNT(*) FROM information_schema.PLUGINS \
      WHERE PLUGIN_TYPE = 'PASSWORD VALIDATION' AND PLUGIN_STATUS = 'ACTIVE')";

#[cfg(test)]
mod tests {
    use super::*;

    fn mysql(version: &str) -> Server {
        Server::detect(version, "").unwrap()
    }

    fn strict(mut server: Server) -> Server {
        server.plaintext_passwords = true;
        server
    }

    fn pw(s: &str) -> SecretValue {
        SecretValue::new(s)
    }

    const HASH: &str = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19";

    #[test]
    fn mysql_statements_as_exact_text() {
        let m8 = mysql("8.0.36");
        assert_eq!(
            identified(&m8, Plugin::Native, &pw("password")).unwrap(),
            format!("IDENTIFIED WITH mysql_native_password AS '{HASH}'")
        );
        assert_eq!(
            identified(&m8, Plugin::CachingSha2, &pw("p'w\\")).unwrap(),
            "IDENTIFIED WITH caching_sha2_password BY 'p''w\\\\'"
        );
        let nbe = Server::detect("9.1.0", "NO_BACKSLASH_ESCAPES,ANSI_QUOTES").unwrap();
        assert_eq!(
            identified(&nbe, Plugin::Sha256, &pw("p'w\\")).unwrap(),
            "IDENTIFIED WITH sha256_password BY 'p''w\\'"
        );
        assert_eq!(
            own_password_sql(&m8, Plugin::CachingSha2, &pw("new'"), None).unwrap(),
            "ALTER USER USER() IDENTIFIED BY 'new'''"
        );
        assert_eq!(
            own_password_sql(&nbe, Plugin::Native, &pw("n\\"), Some(&pw("o\\"))).unwrap(),
            "ALTER USER USER() IDENTIFIED BY 'n\\' REPLACE 'o\\'"
        );
        assert!(identified(&m8, Plugin::Ed25519, &pw("x")).is_err());
        assert_eq!(
            default_roles_sql(
                "`app_clone`@`%`",
                &[("r1".into(), "%".into()), ("r`2".into(), "h".into())]
            ),
            "ALTER USER `app_clone`@`%` DEFAULT ROLE `r1`@`%`, `r``2`@`h`"
        );
        assert_eq!(
            default_roles_sql("`c`@`%`", &[]),
            "ALTER USER `c`@`%` DEFAULT ROLE NONE"
        );
        assert_eq!(
            session_limits_sql(&m8),
            "SET SESSION lock_wait_timeout = 5, innodb_lock_wait_timeout = 5, max_execution_time = 10000"
        );
        assert_eq!(
            set_password_sql(&m8, "u", "10.0.%", Plugin::Native, &pw("password")).unwrap(),
            format!("ALTER USER `u`@`10.0.%` IDENTIFIED WITH mysql_native_password AS '{HASH}'")
        );
        assert!(
            carries_plaintext(&m8, Plugin::CachingSha2) && !carries_plaintext(&m8, Plugin::Native)
        );
        assert_eq!(out_of_slow_log(&m8, "X".into()), "X");
    }

    #[test]
    fn mariadb_statements_carry_hashes_unless_a_strict_policy_refuses_them() {
        let maria = mysql("10.11.6-MariaDB");
        assert_eq!(
            identified(&maria, Plugin::Native, &pw("password")).unwrap(),
            format!("IDENTIFIED BY PASSWORD '{HASH}'")
        );
        assert_eq!(
            own_password_sql(&maria, Plugin::Native, &pw("password"), None).unwrap(),
            format!("SET PASSWORD = '{HASH}'")
        );
        let ed = identified(&maria, Plugin::Ed25519, &pw("password")).unwrap();
        assert!(ed.starts_with("IDENTIFIED VIA ed25519 USING '") && !ed.contains("password'"));
        assert!(identified(&maria, Plugin::CachingSha2, &pw("x")).is_err());
        assert!(!carries_plaintext(&maria, Plugin::Native));
        assert_eq!(
            set_password_sql(&maria, "u", "%", Plugin::Ed25519, &pw("pw2")).unwrap(),
            "ALTER USER `u`@`%` IDENTIFIED VIA ed25519 USING 'iGRouygp5VwPhO1Nw3XHv2nRNSJmY6g6Clsn5zqjRqU'"
        );
        let policed = strict(maria);
        assert!(carries_plaintext(&policed, Plugin::Native));
        assert_eq!(
            identified(&policed, Plugin::Native, &pw("p'w")).unwrap(),
            "IDENTIFIED BY 'p''w'"
        );
        assert_eq!(
            identified(&policed, Plugin::Ed25519, &pw("p")).unwrap(),
            "IDENTIFIED VIA ed25519 USING PASSWORD('p')"
        );
        assert_eq!(
            set_password_sql(&policed, "u", "%", Plugin::Ed25519, &pw("p")).unwrap(),
            "SET PASSWORD FOR `u`@`%` = PASSWORD('p')"
        );
        assert_eq!(
            own_password_sql(&policed, Plugin::Native, &pw("p"), None).unwrap(),
            "SET PASSWORD = PASSWORD('p')"
        );
        assert_eq!(
            out_of_slow_log(&policed, "SET PASSWORD = PASSWORD('p')".into()),
            "SET STATEMENT long_query_time = 31536000 FOR SET PASSWORD = PASSWORD('p')"
        );
        assert_eq!(
            create_locked_sql("c", "%", "IDENTIFIED BY 'x'"),
            "CREATE USER IF NOT EXISTS `c`@`%` IDENTIFIED BY 'x' ACCOUNT LOCK"
        );
    }

    #[test]
    fn plugins_without_passwords_are_refused_by_name() {
        assert_eq!(Plugin::parse("", "u").unwrap(), Plugin::Native);
        assert_eq!(Plugin::parse("ED25519", "u").unwrap(), Plugin::Ed25519);
        let err = Plugin::parse("AWSAuthenticationPlugin", "app").unwrap_err();
        assert!(
            err.to_string().contains("AWSAuthenticationPlugin plugin"),
            "{err}"
        );
        assert_eq!(err.error_type(), "UnsupportedServer");
    }
}
