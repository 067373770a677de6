//! Amazon DocumentDB's input rules, as the DocumentDB personalities enforce them on
//! `createUser` and `updateUser`.
//!
//! Documented (Amazon DocumentDB developer guide, "Amazon DocumentDB cluster settings" and the
//! CreateDBCluster / ModifyDBCluster API references, `MasterUserPassword` /
//! `MasterUsername`; the elastic-cluster API says the same of its administrator):
//! - password: 8 to 100 printable ASCII characters, none of `/`, `"`, `@`; a space is
//!   refused too, by the API's error text (aws/aws-cdk#17347);
//! - master user name: 1 to 63 letters or digits, the first a letter, not a reserved word.
//!
//! [U] What `createUser` / `updateUser` accept for other users is not documented. Modelled
//! here, the stricter reading where it cannot hurt a documented case: the password rules
//! above for every user, and names of 1 to 63 characters. The master's letters-and-digits
//! rule is not applied to other users: AWS's own multi-user rotation function creates
//! `<user>_clone` users on DocumentDB. The error DocumentDB answers is [U]: 2 BadValue here.

/// The shortest password DocumentDB accepts.
pub const PASSWORD_MIN: usize = 8;
/// The longest password DocumentDB accepts.
pub const PASSWORD_MAX: usize = 100;
/// Printable ASCII characters DocumentDB refuses in a password.
pub const PASSWORD_REFUSED: &str = "/\"@ ";
/// The longest user name modelled ([U] for users other than the master user).
pub const USER_NAME_MAX: usize = 63;

/// Why DocumentDB refuses `password`, if it does (the message never quotes the password).
pub fn password_refusal(password: &str) -> Option<String> {
    let length = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Some(format!(
            "the password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long (it has {length})"
        ));
    }
    if let Some(c) = password
        .chars()
        .find(|c| !(' '..='~').contains(c) || PASSWORD_REFUSED.contains(*c))
    {
        let what = if c.is_ascii_graphic() || c == ' ' {
            format!("'{c}'")
        } else {
            format!("U+{:04X}", u32::from(c))
        };
        return Some(format!(
            "the password must be printable ASCII other than /, \", @ and space (it holds {what})"
        ));
    }
    None
}

/// Why DocumentDB refuses the user name `name` for `createUser`, if it does ([U]).
pub fn user_name_refusal(name: &str) -> Option<String> {
    let length = name.chars().count();
    (!(1..=USER_NAME_MAX).contains(&length)).then(|| {
        format!("the user name must be 1 to {USER_NAME_MAX} characters long (it has {length})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_password_rules() {
        assert_eq!(password_refusal("Abcdefg1"), None);
        assert_eq!(password_refusal(&"a".repeat(100)), None);
        assert_eq!(password_refusal("!#$%&'()*+,-.:;<=>?[\\]^_`{|}~"), None);
        assert!(password_refusal("Abcdef1").is_some());
        assert!(password_refusal(&"a".repeat(101)).is_some());
        for bad in [
            "Abcdefg1/",
            "Abcdefg1\"",
            "Abcdefg1@",
            "Abcd efg1",
            "Abcdefg1\t",
            "Abcdefgé1",
        ] {
            assert!(password_refusal(bad).is_some(), "{bad:?}");
        }
        assert!(!password_refusal("Abcdefg1@").unwrap().contains("Abcdefg1"));
    }

    #[test]
    fn user_names_of_1_to_63_characters() {
        assert_eq!(user_name_refusal("app_user_clone"), None);
        assert_eq!(user_name_refusal(&"u".repeat(63)), None);
        assert!(user_name_refusal(&"u".repeat(64)).is_some());
        assert!(user_name_refusal("").is_some());
    }
}
