//! The real `generic` binary (its `main` and the shared `serve`), run as Lambda runs it (a child
//! process polling a loopback Lambda Runtime API, moto as Secrets Manager): it rotates a JSON
//! secret's password and keeps every other key.

use std::path::Path;

use generic::{GenericRotation, PASSWORD_DEFAULTS};
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_testkit::{rotate_with_binary, Harness};
use serde_json::{json, Value};

#[tokio::test]
async fn the_generic_binary_rotates_a_json_secret() {
    let bed = Harness::new(GenericRotation::default(), PASSWORD_DEFAULTS).await;
    let arn = bed
        .secret(
            "bin",
            &json!({"username": "app", "password": "Initial-Pa55word", "team": "kept"}).to_string(),
        )
        .await;
    let binary = Path::new(env!("CARGO_BIN_EXE_generic"));
    rotate_with_binary(binary, "", "", &bed.driver, &arn).await;
    let current: Value = serde_json::from_str(&bed.driver.value(&arn, AWSCURRENT).await).unwrap();
    let previous: Value = serde_json::from_str(&bed.driver.value(&arn, AWSPREVIOUS).await).unwrap();
    assert_eq!(previous["password"], "Initial-Pa55word");
    assert_ne!(current["password"], previous["password"]);
    assert_eq!(current["team"], "kept");
    assert_eq!(current["username"], "app");
}
