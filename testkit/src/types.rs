//! The one list of rotation types (`packaging/rotation-types.toml`, the registry), read with a
//! TOML parser (`toml_edit`) for the tests that hold each crate's engine declarations against it.

use std::collections::BTreeMap;

/// One `[[type]]` entry: its string, list-of-strings and boolean keys.
#[derive(Debug, Clone, Default)]
pub struct RotationType {
    strings: BTreeMap<String, String>,
    lists: BTreeMap<String, Vec<String>>,
    flags: BTreeMap<String, bool>,
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

    /// A boolean value; panics when the key is missing or not a boolean.
    pub fn flag(&self, key: &str) -> bool {
        *self
            .flags
            .get(key)
            .unwrap_or_else(|| panic!("rotation type without boolean key {key}: {self:?}"))
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

/// The `[[type]]` entries of a registry text; panics on invalid TOML or a value of another
/// kind than a string, a list of strings, a boolean or an inline table (`env`, not kept).
fn parse(text: &str) -> Vec<RotationType> {
    let doc: toml_edit::DocumentMut = text
        .parse()
        .unwrap_or_else(|e| panic!("packaging/rotation-types.toml is not valid TOML: {e}"));
    let types = doc
        .get("type")
        .and_then(toml_edit::Item::as_array_of_tables)
        .expect("packaging/rotation-types.toml has [[type]] entries");
    types
        .iter()
        .map(|table| {
            let mut t = RotationType::default();
            for (key, item) in table.iter() {
                let value = item
                    .as_value()
                    .unwrap_or_else(|| panic!("{key}: a table inside a [[type]] entry"));
                if let Some(s) = value.as_str() {
                    t.strings.insert(key.to_string(), s.to_string());
                } else if let Some(b) = value.as_bool() {
                    t.flags.insert(key.to_string(), b);
                } else if let Some(items) = value.as_array() {
                    let items = items
                        .iter()
                        .map(|i| {
                            i.as_str()
                                .unwrap_or_else(|| panic!("{key}: a list of strings"))
                                .to_string()
                        })
                        .collect();
                    t.lists.insert(key.to_string(), items);
                } else if value.as_inline_table().is_none() {
                    panic!("{key}: unexpected {} value", value.type_name());
                }
            }
            t
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_registry_with_a_toml_parser() {
        let types = rotation_types();
        assert!(types.len() >= 12, "{types:?}");
        for t in &types {
            for key in ["name", "sar_app", "binary", "crate", "exclude", "label"] {
                assert!(!t.get(key).is_empty(), "{}: {key}", t.get("name"));
            }
            assert!(!t.list("links").is_empty(), "{}: links", t.get("name"));
            t.list("engines");
            t.flag("superuser");
        }
        let mongo = types
            .iter()
            .find(|t| t.get("name") == "MongoDBSingleUser")
            .unwrap();
        // A literal string with a trailing space, quotes and a backslash, read as written.
        assert_eq!(mongo.get("exclude"), "/@\"'\\ ");
        assert_eq!(mongo.list("engines"), ["mongo", "docdb"]);
    }

    #[test]
    fn reads_what_a_line_by_line_reader_got_wrong() {
        let types = parse(
            r#"
# a comment
[[type]]
name = "A" # trailing comment
engines = [
  "x",   # one per line
  "y, z",
]
escaped = "a \"quoted\" \\ word"
multi = true

[other]
name = "not a type"
"#,
        );
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].get("name"), "A");
        assert_eq!(types[0].list("engines"), ["x", "y, z"]);
        assert_eq!(types[0].get("escaped"), "a \"quoted\" \\ word");
        assert!(types[0].flag("multi"));
    }

    #[test]
    #[should_panic(expected = "not valid TOML")]
    fn refuses_invalid_toml() {
        parse("[[type]]\nname = \"unterminated\n");
    }
}
