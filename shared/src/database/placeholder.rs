//! The password a new clone account has until its privileges are copied, for engines that
//! cannot create an account without one (MySQL and MariaDB lock the account as well; SQL
//! Server logins need a password at `CREATE LOGIN`): the pending password is set last, so the
//! pending credentials log in only once the copy is done.

use crate::error::{Result, RotationError};
use crate::secret::SecretValue;

/// 128 random bits from the OS, never stored and never known, with one character of each class
/// a password policy asks for (MySQL `validate_password`, MariaDB `simple_password_check`, SQL
/// Server's `CHECK_POLICY` complexity check it when it is sent).
pub fn placeholder_password() -> Result<SecretValue> {
    let mut bytes = [0u8; 16];
    // aws-lc-rs is already linked for TLS.
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| RotationError::SetSecret("the OS random source failed".into()))?;
    Ok(SecretValue::new(format!(
        "{:032x}Zq7#",
        u128::from_le_bytes(bytes)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_meet_every_password_policy_and_differ() {
        let a = placeholder_password().unwrap();
        let b = placeholder_password().unwrap();
        assert_ne!(a.expose(), b.expose());
        let p = a.expose();
        assert_eq!(p.len(), 36);
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        assert!(p.chars().any(|c| c.is_ascii_punctuation()));
    }
}
