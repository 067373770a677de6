//! The one list of rotation types (`packaging/rotation-types.toml`), read for the tests that
//! hold each crate's engine declarations against it. The file is plain `key = value` lines
//! under `[[type]]` headers; values used here are strings and arrays of strings.

use std::collections::BTreeMap;

/// One `[[type]]` entry: its keys and their values (strings unquoted; arrays as lists).
#[derive(Debug, Clone, Default)]
pub struct RotationType {
    strings: BTreeMap<String, String>,
    lists: BTreeMap<String, Vec<String>>,
}

impl RotationType {
    /// A string value; panics when the key is missing or not a string.
    pub fn get(&self, key: &str) -> &str {
        self.strings
            .get(key)
            .unwrap_or_else(|| panic!("rotation type without string key {key}: {self:?}"))
    }

    /// A list-of-strings value; panics when the key is missing or not a list.
    pub fn list(&self, key: &str) -> &[String] {
        self.lists
            .get(key)
            .unwrap_or_else(|| panic!("rotation type without list key {key}: {self:?}"))
    }
}

/// Every rotation type, in file order.
pub fn rotation_types() -> Vec<RotationType> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../packaging/rotation-types.toml"
    );
    let text = std::fs::read_to_string(path).expect("packaging/rotation-types.toml is readable");
    parse(&text)
}

fn parse(text: &str) -> Vec<RotationType> {
    let mut types: Vec<RotationType> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "[[type]]" {
            types.push(RotationType::default());
            continue;
        }
        let (Some(current), Some((key, value))) = (types.last_mut(), line.split_once(" = ")) else {
            continue;
        };
        let value = value.trim();
        if let Some(items) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            let items = items
                .split(',')
                .map(|i| i.trim().trim_matches('"').to_string())
                .filter(|i| !i.is_empty())
                .collect();
            current.lists.insert(key.to_string(), items);
        } else if let Some(s) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            current.strings.insert(key.to_string(), s.to_string());
        } else if let Some(s) = value
            .strip_prefix("'''")
            .and_then(|v| v.strip_suffix("'''"))
        {
            current.strings.insert(key.to_string(), s.to_string());
        }
    }
    types
}

/// Panics unless the engines `crate_name` declares are exactly the ones the rotation-type list
/// packages from it: each type's binary is one of `identities`, with the same `engine` values
/// and the same `EXCLUDE_CHARACTERS` default, and each identity is packaged.
pub fn assert_engines_packaged(
    crate_name: &str,
    identities: &[&rotation_core::database::EngineIdentity],
) {
    let types: Vec<RotationType> = rotation_types()
        .into_iter()
        .filter(|t| t.get("crate") == crate_name)
        .collect();
    assert!(
        !types.is_empty(),
        "no rotation type is built from {crate_name}"
    );
    for t in &types {
        let binary = t.get("binary");
        let identity = identities
            .iter()
            .find(|i| i.binary == binary)
            .unwrap_or_else(|| panic!("{crate_name} declares no engine for binary {binary}"));
        assert_eq!(identity.engines, t.list("engines"), "{}", t.get("name"));
        assert_eq!(
            identity.password_defaults.exclude_characters,
            t.get("exclude"),
            "{}",
            t.get("name")
        );
    }
    for identity in identities {
        assert!(
            types.iter().any(|t| t.get("binary") == identity.binary),
            "binary {} is not packaged",
            identity.binary
        );
    }
}
