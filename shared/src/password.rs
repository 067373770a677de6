//! The password policy, read from the environment variables the official functions read.

use crate::error::{Result, RotationError};

/// Punctuation as GetRandomPassword uses it.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Per-engine defaults for the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordDefaults {
    /// `PASSWORD_LENGTH` when unset.
    pub length: u32,
    /// `EXCLUDE_CHARACTERS` when unset.
    pub exclude_characters: &'static str,
}

impl PasswordDefaults {
    /// The official functions' default for most engines: 32 characters, no `/@"'\`.
    pub const STANDARD: Self = Self {
        length: 32,
        exclude_characters: "/@\"'\\",
    };
    /// PostgreSQL and Redshift also exclude `:` (it breaks connection URIs).
    pub const POSTGRES: Self = Self {
        length: 32,
        exclude_characters: ":/@\"'\\",
    };
}

/// The inputs of GetRandomPassword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// `PASSWORD_LENGTH`.
    pub length: u32,
    /// `EXCLUDE_CHARACTERS`.
    pub exclude_characters: String,
    /// `EXCLUDE_NUMBERS`.
    pub exclude_numbers: bool,
    /// `EXCLUDE_PUNCTUATION`.
    pub exclude_punctuation: bool,
    /// `EXCLUDE_UPPERCASE`.
    pub exclude_uppercase: bool,
    /// `EXCLUDE_LOWERCASE`.
    pub exclude_lowercase: bool,
    /// `REQUIRE_EACH_INCLUDED_TYPE`.
    pub require_each_included_type: bool,
}

/// The character classes GetRandomPassword draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    /// a-z
    Lowercase,
    /// A-Z
    Uppercase,
    /// 0-9
    Number,
    /// [`PUNCTUATION`]
    Punctuation,
}

impl CharClass {
    /// The class of `c`, if it is one GetRandomPassword uses.
    pub fn of(c: char) -> Option<Self> {
        match c {
            'a'..='z' => Some(Self::Lowercase),
            'A'..='Z' => Some(Self::Uppercase),
            '0'..='9' => Some(Self::Number),
            c if PUNCTUATION.contains(c) => Some(Self::Punctuation),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Lowercase => "a lowercase letter",
            Self::Uppercase => "an uppercase letter",
            Self::Number => "a digit",
            Self::Punctuation => "a punctuation character",
        }
    }
}

impl PasswordPolicy {
    /// The policy from any variable lookup (unset or empty -> default).
    pub fn from_lookup(
        defaults: PasswordDefaults,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let flag = |name: &str, default: bool| crate::flags::flag_value(name, get(name), default);
        let length = match get("PASSWORD_LENGTH") {
            None => defaults.length,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=4096).contains(n))
                .ok_or_else(|| RotationError::Configuration {
                    variable: "PASSWORD_LENGTH".into(),
                    problem: format!("is '{v}'; use a whole number from 1 to 4096"),
                })?,
        };
        let policy = Self {
            length,
            exclude_characters: get("EXCLUDE_CHARACTERS")
                .unwrap_or_else(|| defaults.exclude_characters.to_string()),
            exclude_numbers: flag("EXCLUDE_NUMBERS", false)?,
            exclude_punctuation: flag("EXCLUDE_PUNCTUATION", false)?,
            exclude_uppercase: flag("EXCLUDE_UPPERCASE", false)?,
            exclude_lowercase: flag("EXCLUDE_LOWERCASE", false)?,
            require_each_included_type: flag("REQUIRE_EACH_INCLUDED_TYPE", true)?,
        };
        policy.check_satisfiable()?;
        Ok(policy)
    }

    /// The character classes this policy allows (each with at least one usable character).
    pub fn included_classes(&self) -> Vec<CharClass> {
        [
            (CharClass::Lowercase, self.exclude_lowercase),
            (CharClass::Uppercase, self.exclude_uppercase),
            (CharClass::Number, self.exclude_numbers),
            (CharClass::Punctuation, self.exclude_punctuation),
        ]
        .into_iter()
        .filter(|(class, excluded)| !excluded && !self.alphabet_of(*class).is_empty())
        .map(|(class, _)| class)
        .collect()
    }

    /// The characters of `class` that the policy allows.
    pub fn alphabet_of(&self, class: CharClass) -> Vec<char> {
        let all: Vec<char> = match class {
            CharClass::Lowercase => ('a'..='z').collect(),
            CharClass::Uppercase => ('A'..='Z').collect(),
            CharClass::Number => ('0'..='9').collect(),
            CharClass::Punctuation => PUNCTUATION.chars().collect(),
        };
        all.into_iter()
            .filter(|c| !self.exclude_characters.contains(*c))
            .collect()
    }

    fn check_satisfiable(&self) -> Result<()> {
        let classes = self.included_classes();
        if classes.is_empty() {
            return Err(RotationError::Configuration {
                variable: "EXCLUDE_*".into(),
                problem: "exclude every character; allow at least one character class".into(),
            });
        }
        if self.require_each_included_type && (self.length as usize) < classes.len() {
            return Err(RotationError::Configuration {
                variable: "PASSWORD_LENGTH".into(),
                problem: format!(
                    "is {} but REQUIRE_EACH_INCLUDED_TYPE needs at least {} characters",
                    self.length,
                    classes.len()
                ),
            });
        }
        Ok(())
    }

    /// Checks that `password` could have come from this policy. The error names the rule broken,
    /// never the password or any character of it.
    pub fn check(&self, password: &str) -> std::result::Result<(), String> {
        let len = password.chars().count();
        if len != self.length as usize {
            return Err(format!(
                "the password has {len} characters, the policy asks for {}",
                self.length
            ));
        }
        let included = self.included_classes();
        for c in password.chars() {
            if self.exclude_characters.contains(c) {
                return Err(
                    "the password contains a character listed in EXCLUDE_CHARACTERS".into(),
                );
            }
            match CharClass::of(c) {
                Some(class) if included.contains(&class) => {}
                _ => return Err("the password contains a character of an excluded class".into()),
            }
        }
        if self.require_each_included_type {
            for class in included {
                if !password.chars().any(|c| CharClass::of(c) == Some(class)) {
                    return Err(format!(
                        "the password lacks {}, which REQUIRE_EACH_INCLUDED_TYPE demands",
                        class.name()
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn policy(vars: &[(&str, &str)]) -> Result<PasswordPolicy> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PasswordPolicy::from_lookup(PasswordDefaults::POSTGRES, |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_official_functions() {
        let p = policy(&[]).unwrap();
        assert_eq!(p.length, 32);
        assert_eq!(p.exclude_characters, ":/@\"'\\");
        assert!(!p.exclude_numbers && !p.exclude_punctuation);
        assert!(!p.exclude_uppercase && !p.exclude_lowercase);
        assert!(p.require_each_included_type);
        assert_eq!(
            PasswordPolicy::from_lookup(PasswordDefaults::STANDARD, |_| None)
                .unwrap()
                .exclude_characters,
            "/@\"'\\"
        );
    }

    #[test]
    fn reads_every_variable() {
        let p = policy(&[
            ("PASSWORD_LENGTH", "20"),
            ("EXCLUDE_CHARACTERS", "abc"),
            ("EXCLUDE_NUMBERS", "YES"),
            ("EXCLUDE_PUNCTUATION", "1"),
            ("EXCLUDE_UPPERCASE", "true"),
            ("EXCLUDE_LOWERCASE", "n"),
            ("REQUIRE_EACH_INCLUDED_TYPE", "False"),
        ])
        .unwrap();
        assert_eq!(p.length, 20);
        assert_eq!(p.exclude_characters, "abc");
        assert!(p.exclude_numbers && p.exclude_punctuation && p.exclude_uppercase);
        assert!(!p.exclude_lowercase && !p.require_each_included_type);
        assert_eq!(p.included_classes(), vec![CharClass::Lowercase]);
        // Empty values (what an empty template parameter gives) mean "default".
        assert_eq!(policy(&[("PASSWORD_LENGTH", "")]).unwrap().length, 32);
    }

    #[test]
    fn bad_values_are_configuration_errors_naming_the_variable() {
        for (var, val) in [
            ("PASSWORD_LENGTH", "long"),
            ("PASSWORD_LENGTH", "0"),
            ("PASSWORD_LENGTH", "5000"),
            ("EXCLUDE_NUMBERS", "maybe"),
            ("REQUIRE_EACH_INCLUDED_TYPE", "2"),
        ] {
            let err = policy(&[(var, val)]).unwrap_err();
            assert_eq!(err.error_type(), "ConfigurationError");
            assert!(err.to_string().contains(var), "{err}");
        }
        let all = policy(&[
            ("EXCLUDE_NUMBERS", "true"),
            ("EXCLUDE_PUNCTUATION", "true"),
            ("EXCLUDE_UPPERCASE", "true"),
            ("EXCLUDE_LOWERCASE", "true"),
        ]);
        assert_eq!(all.unwrap_err().error_type(), "ConfigurationError");
        assert!(policy(&[("PASSWORD_LENGTH", "3")]).is_err());
        assert!(policy(&[
            ("PASSWORD_LENGTH", "3"),
            ("REQUIRE_EACH_INCLUDED_TYPE", "no")
        ])
        .is_ok());
    }

    #[test]
    fn check_enforces_length_exclusions_and_types() {
        let p = policy(&[("PASSWORD_LENGTH", "8")]).unwrap();
        assert!(p.check("aB3$aB3$").is_ok());
        assert!(p.check("aB3$aB3").unwrap_err().contains("7 characters"));
        assert!(p
            .check("aB3:aB3$")
            .unwrap_err()
            .contains("EXCLUDE_CHARACTERS"));
        assert!(p.check("aB3xaB3x").unwrap_err().contains("punctuation"));
        assert!(p
            .check("aB3\u{e9}aB3$")
            .unwrap_err()
            .contains("excluded class"));
        let no_digits = policy(&[("PASSWORD_LENGTH", "4"), ("EXCLUDE_NUMBERS", "y")]).unwrap();
        assert!(no_digits.check("aB1$").is_err());
    }
}
