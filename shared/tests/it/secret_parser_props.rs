//! Property tests of the secret parsers: whatever the secret string (random text, random JSON,
//! database secrets with random values of every type), parsing never panics, and no error
//! message ever contains a value of the secret, only key names and positions.

use proptest::prelude::*;
use rotation_core::database::DatabaseSecret;
use rotation_core::{JsonSecret, SecretValue};
use serde_json::{json, Map, Value};

/// A marker no message may contain; every generated value embeds it.
const MARK: &str = "Zq9Mark";

fn marked_text() -> impl Strategy<Value = String> {
    "[ -~]{0,12}".prop_map(|s| format!("{s}{MARK}{s}"))
}

/// Any JSON value, with every string and key carrying the marker.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        marked_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(marked_text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const KEYS: [&str; 10] = [
    "engine",
    "host",
    "username",
    "password",
    "dbname",
    "port",
    "masterarn",
    "ssl",
    "tlsServerName",
    "dbInstanceIdentifier",
];

/// A secret with the database keys, each absent or holding any JSON value.
fn database_like() -> impl Strategy<Value = Value> {
    prop::collection::vec(prop::option::of(json_value()), KEYS.len()).prop_map(|values| {
        let mut m = Map::new();
        for (k, v) in KEYS.iter().zip(values) {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        }
        Value::Object(m)
    })
}

fn check(text: &str) {
    let value = SecretValue::new(text);
    for which in ["AWSCURRENT", "AWSPENDING"] {
        if let Err(e) = JsonSecret::parse(&value, which) {
            let msg = e.to_string();
            assert!(!msg.contains(MARK), "{msg}");
            assert!(msg.contains(which), "{msg}");
        }
        if let Err(e) = DatabaseSecret::parse(&value, which) {
            let msg = e.to_string();
            assert!(!msg.contains(MARK), "{msg}");
            assert_eq!(e.error_type(), "MalformedSecret");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics_or_echoes(text in "\\PC{0,64}") {
        check(&format!("{text}{MARK}"));
    }

    #[test]
    fn random_json_never_panics_or_echoes(value in json_value()) {
        check(&value.to_string());
    }

    #[test]
    fn database_shaped_secrets_never_panic_or_echo(value in database_like()) {
        check(&value.to_string());
    }
}
