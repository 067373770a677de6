//! Quoting and password forms for MySQL-wire SQL. Nothing here depends on the server's
//! `sql_mode` but [`quote_string`], which is told whether backslash is an escape character.
//!
//! Identifiers and account parts are quoted with backticks, which mean the same under every
//! `sql_mode` (`ANSI_QUOTES` changes double quotes only, `NO_BACKSLASH_ESCAPES` string
//! literals only).

use sha1::{Digest, Sha1};

use rotation_core::SecretValue;

/// `name` quoted as an identifier (backticks, with backticks doubled).
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The account `user`@`host`, both parts quoted as identifiers.
pub fn account(user: &str, host: &str) -> String {
    format!("{}@{}", quote_ident(user), quote_ident(host))
}

/// `value` as a string literal. With `backslash_escapes` (the default `sql_mode`) backslashes
/// are doubled; under `NO_BACKSLASH_ESCAPES` they are literal and only quotes are doubled.
/// Returns None for a value holding a NUL character, which has no portable literal form.
pub fn quote_string(value: &str, backslash_escapes: bool) -> Option<String> {
    if value.contains('\0') {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' if backslash_escapes => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Some(out)
}

/// The `mysql_native_password` hash the server stores: `*` and the upper-case hex of
/// SHA1(SHA1(password)). Sending it keeps the plaintext out of the statement and the logs.
pub fn native_password_hash(password: &SecretValue) -> String {
    let inner = Sha1::digest(password.expose().as_bytes());
    let outer = Sha1::digest(inner);
    let mut out = String::with_capacity(41);
    out.push('*');
    for b in outer {
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// The MariaDB `ed25519` authentication string: the Ed25519 public key whose secret scalar is
/// the clamped first half of SHA-512(password), base64 without padding (43 characters).
pub fn ed25519_auth_string(password: &SecretValue) -> String {
    use base64::Engine as _;
    use sha2::Sha512;
    let digest = Sha512::digest(password.expose().as_bytes());
    let mut scalar = [0u8; 32];
    scalar.copy_from_slice(&digest[..32]);
    let public = curve25519_dalek::EdwardsPoint::mul_base_clamped(scalar).compress();
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(public.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_accounts_quote_backticks_only() {
        assert_eq!(quote_ident("app"), "`app`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_ident("it's \"x\" \\"), "`it's \"x\" \\`");
        assert_eq!(account("u`1", "10.0.%"), "`u``1`@`10.0.%`");
    }

    #[test]
    fn strings_follow_the_backslash_mode() {
        assert_eq!(quote_string("a'b\\c", true).unwrap(), "'a''b\\\\c'");
        assert_eq!(quote_string("a'b\\c", false).unwrap(), "'a''b\\c'");
        assert_eq!(quote_string("Ünï \"x\"", true).unwrap(), "'Ünï \"x\"'");
        assert_eq!(quote_string("a\0b", true), None);
    }

    #[test]
    fn native_hash_matches_the_server_function() {
        // MariaDB: SELECT PASSWORD('password').
        assert_eq!(
            native_password_hash(&SecretValue::new("password")),
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
        );
    }

    #[test]
    fn ed25519_string_matches_the_server() {
        // MariaDB 10.11: CREATE USER e IDENTIFIED VIA ed25519 USING PASSWORD('pw2'), then
        // SHOW CREATE USER.
        assert_eq!(
            ed25519_auth_string(&SecretValue::new("pw2")),
            "iGRouygp5VwPhO1Nw3XHv2nRNSJmY6g6Clsn5zqjRqU"
        );
    }
}
