//! What a MySQL-wire server is: family and version from `VERSION()`, and whether backslash
//! escapes strings in its session `sql_mode`. The SQL for each change is chosen from this, never
//! from the function that runs (a MySQL function can meet a MariaDB server).

use std::fmt;

/// The server family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Oracle MySQL (and Aurora MySQL, which reports a MySQL version).
    MySql,
    /// MariaDB (its version string says so).
    MariaDb,
}

/// A server, as read once per changing session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    /// MySQL or MariaDB.
    pub family: Family,
    /// major, minor, patch.
    pub version: (u32, u32, u32),
    /// False under `NO_BACKSLASH_ESCAPES`.
    pub backslash_escapes: bool,
    /// MariaDB with a password-validation plugin and `strict_password_validation` (its
    /// default): every statement that sets a password as a hash is refused, so passwords are
    /// sent as plaintext (over TLS only). Read separately; false from [`Server::detect`].
    pub plaintext_passwords: bool,
}

/// The oldest MySQL this adapter changes passwords on (`ALTER USER ... IDENTIFIED WITH ... AS`).
pub const MIN_MYSQL: (u32, u32, u32) = (5, 7, 6);
/// The oldest MariaDB this adapter changes passwords on (`mysql.user` as a view of
/// `mysql.global_priv`, `ALTER USER`, `IDENTIFIED VIA ... USING`).
pub const MIN_MARIADB: (u32, u32, u32) = (10, 4, 0);

impl Server {
    /// Reads `VERSION()` and `@@SESSION.sql_mode`. Fails, naming the version, for anything
    /// unrecognised or older than [`MIN_MYSQL`] / [`MIN_MARIADB`].
    pub fn detect(version: &str, sql_mode: &str) -> Result<Self, String> {
        let family = if version.to_ascii_lowercase().contains("mariadb") {
            Family::MariaDb
        } else {
            Family::MySql
        };
        // MariaDB behind some proxies reports "5.5.5-10.11.6-MariaDB"; the real version
        // follows the "5.5.5-" prefix.
        let text = match family {
            Family::MariaDb => version.strip_prefix("5.5.5-").unwrap_or(version),
            Family::MySql => version,
        };
        let mut parsed = parse_version(text)
            .ok_or_else(|| format!("cannot read the server version from '{version}'"))?;
        // Aurora MySQL 3 reports "8.0.mysql_aurora.3.05.2": no MySQL patch number, but every
        // Aurora MySQL 3 release is compatible with MySQL 8.0.23 or later (what decides which
        // account options its statements may name).
        if family == Family::MySql && version.contains("mysql_aurora") && parsed.0 == 8 {
            parsed = parsed.max((8, 0, 23));
        }
        let minimum = match family {
            Family::MySql => MIN_MYSQL,
            Family::MariaDb => MIN_MARIADB,
        };
        if parsed < minimum {
            return Err(format!(
                "{family} {}.{}.{} is older than {}.{}.{}, the oldest this function supports",
                parsed.0, parsed.1, parsed.2, minimum.0, minimum.1, minimum.2
            ));
        }
        let backslash_escapes = !sql_mode
            .split(',')
            .any(|m| m.trim().eq_ignore_ascii_case("NO_BACKSLASH_ESCAPES"));
        Ok(Self {
            family,
            version: parsed,
            backslash_escapes,
            plaintext_passwords: false,
        })
    }

    /// True for MySQL at `min` or later (false for MariaDB).
    pub fn mysql_at_least(&self, min: (u32, u32, u32)) -> bool {
        self.family == Family::MySql && self.version >= min
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::MySql => "MySQL",
            Family::MariaDb => "MariaDB",
        })
    }
}

fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_versions() {
        let m = Server::detect("8.0.35", "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES").unwrap();
        assert_eq!(
            (m.family, m.version, m.backslash_escapes),
            (Family::MySql, (8, 0, 35), true)
        );
        // The official "starts with 8" test breaks here; this does not.
        let m = Server::detect("9.1.0-commercial", "").unwrap();
        assert_eq!(m.version, (9, 1, 0));
        assert!(m.mysql_at_least((8, 0, 13)));
        let m = Server::detect("8.0.mysql_aurora.3.05.2", "").unwrap();
        assert_eq!(
            m.version,
            (8, 0, 23),
            "Aurora MySQL 3 is at least MySQL 8.0.23"
        );
        let m = Server::detect("5.7.44-log", "NO_BACKSLASH_ESCAPES").unwrap();
        assert!(!m.backslash_escapes);
        let m = Server::detect(
            "10.11.6-MariaDB-0+deb12u1-log",
            "ansi_quotes,no_backslash_escapes",
        )
        .unwrap();
        assert_eq!(
            (m.family, m.version, m.backslash_escapes),
            (Family::MariaDb, (10, 11, 6), false)
        );
        assert!(!m.mysql_at_least((5, 7, 0)));
        let m = Server::detect("5.5.5-10.6.16-MariaDB", "").unwrap();
        assert_eq!(m.version, (10, 6, 16));
    }

    #[test]
    fn old_or_unreadable_servers_are_refused() {
        assert!(Server::detect("5.6.51", "")
            .unwrap_err()
            .contains("MySQL 5.6.51"));
        assert!(Server::detect("10.3.39-MariaDB", "")
            .unwrap_err()
            .contains("MariaDB 10.3.39"));
        assert!(Server::detect("banana", "")
            .unwrap_err()
            .contains("'banana'"));
    }
}
