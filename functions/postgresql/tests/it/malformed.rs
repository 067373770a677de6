//! The hostile-input corpus: malformed events, malformed secrets, tampered AWSPENDING values,
//! injection attempts and names the server cannot take, each delivered to the PostgreSQL
//! function (single user and alternating users) against the sandbox server and moto. Every
//! case must fail with its typed error naming the problem, and afterwards the labels, every
//! version's value and the database must be exactly as before: AWSCURRENT still logs in and
//! no clone user appeared.

use std::collections::BTreeMap;

use crate::testbed::Bed;
use rotation_core::Step;
use rotation_testkit::event;
use serde_json::{json, Value};

/// Every version of a secret: its labels and its value (None: no value).
async fn snapshot(bed: &Bed, arn: &str) -> BTreeMap<String, (Vec<String>, Option<String>)> {
    let mut all = BTreeMap::new();
    for (version, labels) in bed.driver.stages(arn).await {
        let value = bed
            .driver
            .client()
            .get_secret_value()
            .secret_id(arn)
            .version_id(&version)
            .send()
            .await
            .ok()
            .and_then(|v| v.secret_string().map(str::to_string));
        all.insert(version, (labels, value));
    }
    all
}

/// Builds a payload from the secret ARN and the token of the rotation just started.
type MakePayload = Box<dyn Fn(&str, &str) -> Value>;

/// What a case delivers.
enum Delivery {
    /// This payload instead of a rotation event (for the rotation just started).
    Payload(MakePayload),
    /// createSecret on a secret whose AWSCURRENT is this value.
    Current(Value),
    /// createSecret, then AWSPENDING's `field` overwritten with the value, then setSecret.
    Tampered(&'static str, Value),
}

struct Case {
    name: &'static str,
    strategy: &'static str,
    delivery: Delivery,
    error_type: &'static str,
    needle: &'static str,
}

fn case(
    name: &'static str,
    strategy: &'static str,
    delivery: Delivery,
    error_type: &'static str,
    needle: &'static str,
) -> Case {
    Case {
        name,
        strategy,
        delivery,
        error_type,
        needle,
    }
}

fn payload(f: impl Fn(&str, &str) -> Value + 'static) -> Delivery {
    Delivery::Payload(Box::new(f))
}

/// A valid secret for `user`, with `changes` applied (a null removes the key); `changes` that
/// are not an object are the whole value.
fn secret_with(bed: &Bed, user: &str, changes: &Value) -> Value {
    let Some(changes) = changes.as_object() else {
        return changes.clone();
    };
    let mut v: Value =
        serde_json::from_str(&bed.secret_json(user, "Hostile-Pa55", json!({}))).unwrap();
    for (k, val) in changes {
        if val.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = val.clone();
        }
    }
    v
}

fn corpus() -> Vec<Case> {
    use Delivery::{Current, Tampered};
    let ev = |step: &'static str| move |arn: &str, token: &str| json!({"SecretId": arn, "ClientRequestToken": token, "Step": step});
    vec![
        // Events.
        case(
            "no SecretId",
            "single",
            payload(|_, t| json!({"ClientRequestToken": t, "Step": "setSecret"})),
            "InvalidEvent",
            "SecretId",
        ),
        case(
            "no token",
            "single",
            payload(|a, _| json!({"SecretId": a, "Step": "setSecret"})),
            "InvalidEvent",
            "ClientRequestToken",
        ),
        case(
            "no Step",
            "single",
            payload(|a, t| json!({"SecretId": a, "ClientRequestToken": t})),
            "InvalidEvent",
            "Step",
        ),
        case(
            "Step a number",
            "single",
            payload(|a, t| json!({"SecretId": a, "ClientRequestToken": t, "Step": 2})),
            "InvalidEvent",
            "Step",
        ),
        case(
            "unknown Step",
            "single",
            payload(ev("rotateSecret")),
            "InvalidStep",
            "rotateSecret",
        ),
        case(
            "SecretId a number",
            "single",
            payload(|_, t| json!({"SecretId": 7, "ClientRequestToken": t, "Step": "setSecret"})),
            "InvalidEvent",
            "SecretId",
        ),
        case(
            "payload an array",
            "single",
            payload(|_, _| json!(["createSecret"])),
            "InvalidEvent",
            "object",
        ),
        case(
            "payload null",
            "single",
            payload(|_, _| Value::Null),
            "InvalidEvent",
            "object",
        ),
        case(
            "unknown secret",
            "single",
            payload(
                |_, t| json!({"SecretId": "no-such-secret-x", "ClientRequestToken": t, "Step": "setSecret"}),
            ),
            "SecretsManagerError",
            "ResourceNotFound",
        ),
        case(
            "unknown token",
            "single",
            payload(
                |a, _| json!({"SecretId": a, "ClientRequestToken": "00000000-0000-4000-8000-000000000000", "Step": "setSecret"}),
            ),
            "UnknownVersion",
            "no stage",
        ),
        case(
            "SQL in the token",
            "alternating",
            payload(
                |a, _| json!({"SecretId": a, "ClientRequestToken": "'; DROP ROLE postgres; --", "Step": "setSecret"}),
            ),
            "UnknownVersion",
            "no stage",
        ),
        // AWSCURRENT values createSecret must refuse before writing anything.
        case(
            "not JSON",
            "single",
            Current(json!("{not json")),
            "MalformedSecret",
            "not valid JSON",
        ),
        case(
            "a JSON array",
            "single",
            Current(json!([1, 2])),
            "MalformedSecret",
            "JSON array",
        ),
        case(
            "no host",
            "single",
            Current(json!({"host": null})),
            "MalformedSecret",
            "host key is missing",
        ),
        case(
            "no username",
            "single",
            Current(json!({"username": null})),
            "MalformedSecret",
            "username key is missing",
        ),
        case(
            "no password",
            "single",
            Current(json!({"password": null})),
            "MalformedSecret",
            "password key is missing",
        ),
        case(
            "password a number",
            "single",
            Current(json!({"password": 12345})),
            "MalformedSecret",
            "password key must be a string",
        ),
        case(
            "port not a number",
            "single",
            Current(json!({"port": "fivefour"})),
            "MalformedSecret",
            "port key",
        ),
        case(
            "port too large",
            "single",
            Current(json!({"port": 70000})),
            "MalformedSecret",
            "port key",
        ),
        case(
            "port zero",
            "single",
            Current(json!({"port": 0})),
            "MalformedSecret",
            "port key",
        ),
        case(
            "ssl not a boolean",
            "single",
            Current(json!({"ssl": "maybe"})),
            "MalformedSecret",
            "ssl key",
        ),
        case(
            "empty host",
            "single",
            Current(json!({"host": ""})),
            "MalformedSecret",
            "host key is an empty string",
        ),
        case(
            "wrong engine",
            "single",
            Current(json!({"engine": "mysql"})),
            "WrongEngine",
            "mysql",
        ),
        case(
            "no engine",
            "single",
            Current(json!({"engine": null})),
            "WrongEngine",
            "no engine key",
        ),
        case(
            "engine a number",
            "single",
            Current(json!({"engine": 5})),
            "MalformedSecret",
            "engine key must be a string",
        ),
        case(
            "no masterarn",
            "alternating",
            Current(json!({"masterarn": null})),
            "MalformedSecret",
            "masterarn key is missing",
        ),
        case(
            "masterarn a number",
            "alternating",
            Current(json!({"masterarn": 42})),
            "MalformedSecret",
            "masterarn key must be a string",
        ),
        case(
            "name too long to clone",
            "alternating",
            Current(json!({"username": "l".repeat(58), "masterarn": "arn:x"})),
            "MalformedSecret",
            "limit of 63 bytes",
        ),
        case(
            "unicode name too long to clone",
            "alternating",
            Current(json!({"username": "Ü".repeat(29), "masterarn": "arn:x"})),
            "MalformedSecret",
            "64 bytes",
        ),
        // AWSPENDING tampered with between createSecret and setSecret.
        case(
            "pending user",
            "single",
            Tampered("username", json!("postgres")),
            "ConfusedDeputy",
            "user postgres",
        ),
        case(
            "pending host",
            "single",
            Tampered("host", json!("localhost")),
            "ConfusedDeputy",
            "localhost",
        ),
        case(
            "pending port",
            "single",
            Tampered("port", json!(9)),
            "ConfusedDeputy",
            ":9",
        ),
        case(
            "pending dbname",
            "single",
            Tampered("dbname", json!("template1")),
            "ConfusedDeputy",
            "dbname",
        ),
        case(
            "pending engine",
            "single",
            Tampered("engine", json!("aurora-postgresql")),
            "ConfusedDeputy",
            "engine",
        ),
        case(
            "pending ssl off",
            "single",
            Tampered("ssl", json!(false)),
            "ConfusedDeputy",
            "ssl",
        ),
        case(
            "pending tlsServerName",
            "single",
            Tampered("tlsServerName", json!("evil.example")),
            "ConfusedDeputy",
            "tlsServerName",
        ),
        case(
            "pending SQL user",
            "single",
            Tampered("username", json!("x\"; DROP ROLE postgres; --")),
            "ConfusedDeputy",
            "DROP ROLE",
        ),
        case(
            "pending user (alternating)",
            "alternating",
            Tampered("username", json!("postgres")),
            "ConfusedDeputy",
            "user postgres",
        ),
        case(
            "pending user named as another user's clone (alternating)",
            "alternating",
            Tampered("username", json!("postgres_clone")),
            "ConfusedDeputy",
            "user postgres_clone",
        ),
        case(
            "pending user a clone of a clone (alternating)",
            "alternating",
            Tampered("username", json!("x_clone_clone")),
            "ConfusedDeputy",
            "user x_clone_clone",
        ),
        case(
            "pending masterarn",
            "alternating",
            Tampered(
                "masterarn",
                json!("arn:aws:secretsmanager:us-east-1:123456789012:secret:other"),
            ),
            "ConfusedDeputy",
            "masterarn",
        ),
        case(
            "pending dbname (alternating)",
            "alternating",
            Tampered("dbname", json!("template1")),
            "ConfusedDeputy",
            "dbname",
        ),
        case(
            "pending port (alternating)",
            "alternating",
            Tampered("port", json!(9)),
            "ConfusedDeputy",
            ":9",
        ),
    ]
}

#[tokio::test]
async fn every_hostile_input_is_refused_with_a_typed_error_and_changes_nothing() {
    let single = Bed::single().await;
    let alternating = Bed::alternating().await;
    let cases = corpus();
    // 41 cases before the pair hardening, plus the two clone-name cases.
    assert_eq!(cases.len(), 43, "{} cases", cases.len());
    for c in cases {
        let bed = if c.strategy == "single" {
            &single
        } else {
            &alternating
        };
        let (user, _, good_arn, _) = bed.alternating_pair("hostile").await;
        let arn = match &c.delivery {
            Delivery::Current(changes) => {
                let value = secret_with(bed, &user, changes);
                let text = match value.as_str() {
                    Some(raw) => raw.to_string(),
                    None => value.to_string(),
                };
                bed.secret(&text).await
            }
            _ => good_arn,
        };
        let mut token = bed.driver.start(&arn).await.unwrap();
        if let Delivery::Tampered(field, value) = &c.delivery {
            bed.invoke(event(&arn, &token, Step::Create))
                .await
                .unwrap_or_else(|e| panic!("{}: create: {e}", c.name));
            token = bed.tamper_pending(&arn, &token, field, value.clone()).await;
        }
        let before = snapshot(bed, &arn).await;
        let delivered = match &c.delivery {
            Delivery::Payload(f) => f(&arn, &token),
            Delivery::Current(_) => event(&arn, &token, Step::Create),
            Delivery::Tampered(..) => event(&arn, &token, Step::Set),
        };
        let err = bed.invoke(delivered).await.expect_err(c.name);
        assert!(
            err.starts_with(&format!("{}: ", c.error_type)) && err.contains(c.needle),
            "{}: {err}",
            c.name
        );
        assert!(
            !err.contains("Hostile-Pa55") && !err.contains("u-Pa55word"),
            "{}: {err}",
            c.name
        );
        assert_eq!(
            snapshot(bed, &arn).await,
            before,
            "{}: labels and values",
            c.name
        );
        if !matches!(c.delivery, Delivery::Current(_)) {
            bed.login(&user, "u-Pa55word", false)
                .await
                .unwrap_or_else(|e| panic!("{}: AWSCURRENT no longer logs in: {e}", c.name));
        }
        let clone = bed
            .pg
            .session("postgres")
            .await
            .query_opt(
                "SELECT 1 FROM pg_roles WHERE rolname = $1",
                &[&format!("{user}_clone")],
            )
            .await
            .unwrap();
        assert!(clone.is_none(), "{}: a clone appeared", c.name);
    }
    // The superuser the injection attempts named is still there.
    let postgres = single
        .pg
        .session("postgres")
        .await
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = 'postgres'", &[])
        .await
        .unwrap();
    assert!(postgres.is_some());
}
