//! The real `postgresql` and `redshift` binaries (their `main` and the shared `serve`), run as
//! Lambda runs them:
//! a child process polling a loopback Lambda Runtime API, with moto as Secrets Manager and RDS
//! and the sandbox PostgreSQL as the database. What only a whole process shows is tested here:
//! environment variables as the template sets them (an empty `rdsEndpoint` parameter gives
//! `AWS_ENDPOINT_URL_RDS=""`, which the SDK would take as an endpoint and abort on), the
//! process panic hook and start-up guard, and that nothing the process prints holds a
//! password. Every AWS endpoint is moto's; proxy variables on a dead loopback port catch any
//! request that would go elsewhere.

use std::path::Path;
use std::time::Duration;

use crate::testbed::{Bed, Trust};
use rotation_core::Step;
use rotation_postgresql::engines::REDSHIFT;
use rotation_postgresql::Redshift;
use rotation_testkit::{
    deployed_environment, event, rotate_with_binary, unique, Answer, FunctionProcess, Moto,
};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

/// Runs a rotation of an alternating-users secret that names an RDS instance (moto's) up to
/// setSecret, with the binary's environment holding `empty` set to "" (and every AWS endpoint
/// moto's through `AWS_ENDPOINT_URL`). createSecret must succeed; setSecret asks the RDS API
/// and, since the secret's host is not the instance's endpoint, must answer `ConfusedDeputy`
/// naming the address moto returned, twice (the process goes on serving). Nothing the process
/// prints may hold a password. Returns the output.
async fn set_secret_answers_with(empty: &[&str]) -> String {
    let bed = Bed::alternating().await;
    let moto = Moto::from_env();
    let instance = format!("rdsbin-{}", unique());
    let (address, _) = moto.managed_instance(&instance, "postgres", None).await;
    let master = format!("binmaster_{}", unique());
    let master_password = "Master-Pa55word-bin";
    let master_arn = bed
        .superuser_secret(&master, master_password, json!({"ssl": true}))
        .await;
    let user = format!("binchild_{}", unique());
    let password = "Child-Pa55word-bin";
    bed.pg
        .create_login("postgres", &user, password, false, &[])
        .await;
    let extra = json!({"masterarn": master_arn, "ssl": true, "dbInstanceIdentifier": instance});
    let arn = bed.secret(&bed.secret_json(&user, password, extra)).await;
    let token = bed.driver.start(&arn).await.expect("RotateSecret");

    let empty: Vec<(&str, &str)> = empty.iter().map(|name| (*name, "")).collect();
    let env = deployed_environment(moto.endpoint(), &bed.pg.ca, &empty);
    let binary = Path::new(env!("CARGO_BIN_EXE_postgresql"));
    let mut function = FunctionProcess::start(binary, &env)
        .await
        .expect("the binary starts");
    let created = function
        .invoke(event(&arn, &token, Step::Create), WAIT)
        .await;
    assert!(
        matches!(created, Answer::Success(_)),
        "createSecret: {created:?}\n{}",
        function.output()
    );
    for attempt in 1..=2 {
        let set = function.invoke(event(&arn, &token, Step::Set), WAIT).await;
        let error = set
            .error()
            .unwrap_or_else(|| panic!("setSecret {attempt}: {set:?}\n{}", function.output()));
        assert!(
            error.starts_with("ConfusedDeputy: ") && error.contains(&address),
            "setSecret {attempt}: {error}"
        );
    }
    let pending = bed
        .driver
        .value(&arn, rotation_core::labels::AWSPENDING)
        .await;
    let new_password = serde_json::from_str::<serde_json::Value>(&pending).unwrap()["password"]
        .as_str()
        .expect("a pending password")
        .to_string();
    let output = function.stop().await;
    assert!(output.contains("rotation step failed"), "{output}");
    for secret in [password, master_password, new_password.as_str()] {
        assert!(!output.contains(secret), "a password reached the output");
    }
    output
}

#[tokio::test]
async fn an_empty_rds_endpoint_variable_is_unset_and_set_secret_answers_with_a_typed_error() {
    // The template's default deployment: parameter rdsEndpoint left empty.
    let output = set_secret_answers_with(&["AWS_ENDPOINT_URL_RDS"]).await;
    assert!(
        output.contains(r#""variables":"AWS_ENDPOINT_URL_RDS""#),
        "the start-up log names what was unset: {output}"
    );
}

#[tokio::test]
async fn every_empty_aws_variable_is_unset_before_the_sdk_reads_it() {
    // Each of the first four made the process panic: an empty endpoint when the client builds
    // a request, an empty retry setting while the SDK configuration loads (at start-up, so the
    // process exited before answering anything). The rest are read by the SDK too.
    set_secret_answers_with(&[
        "AWS_ENDPOINT_URL_RDS",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_SDK_UA_APP_ID",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_REQUEST_CHECKSUM_CALCULATION",
        "AWS_RESPONSE_CHECKSUM_VALIDATION",
    ])
    .await;
}

#[tokio::test]
async fn a_panic_at_start_up_stops_it_with_a_typed_error_and_its_location_only() {
    // The SDK panics while it loads its configuration when AWS_MAX_ATTEMPTS is not a number
    // (a value no deployment should have, but the environment is input like any other).
    let moto = Moto::from_env();
    let ca = rotation_testkit::sandbox_var("SANDBOX_PG_CA");
    let env = deployed_environment(moto.endpoint(), &ca, &[("AWS_MAX_ATTEMPTS", "many")]);
    let binary = Path::new(env!("CARGO_BIN_EXE_postgresql"));
    let mut function = FunctionProcess::start(binary, &env)
        .await
        .expect("the binary starts");
    let answer = function
        .invoke(event("arn:unused", "token", Step::Create), WAIT)
        .await;
    assert!(matches!(answer, Answer::Exited(_)), "{answer:?}");
    let output = function.stop().await;
    // The process panic hook logged the location; the start-up guard made it a typed error.
    assert!(
        output.contains(r#""error_type":"InternalError""#)
            && output.contains(r#""message":"start-up failed""#)
            && output.contains("retry_config.rs:"),
        "{output}"
    );
    // Neither the default hook's line nor the panic message.
    assert!(!output.contains("panicked at"), "{output}");
    assert!(!output.contains("many"), "{output}");
}

#[tokio::test]
async fn the_postgresql_binary_rotates_single_and_alternating_users() {
    let binary = Path::new(env!("CARGO_BIN_EXE_postgresql"));
    let bed = Bed::single().await;
    let (user, arn) = bed
        .user_with_secret("binsingle", "Single-Pa55word-1", json!({"ssl": true}))
        .await;
    rotate_with_binary(binary, "single", &bed.pg.ca, &bed.driver, &arn).await;
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, false)
        .await
        .expect("the new password logs in");
    assert_eq!(
        bed.login(&user, "Single-Pa55word-1", false).await,
        Err("28P01".into())
    );

    let (user, _, arn, table) = bed.alternating_pair("bin").await;
    rotate_with_binary(binary, "alternating", &bed.pg.ca, &bed.driver, &arn).await;
    let (clone, password) = bed.current(&arn).await;
    assert_eq!(clone, format!("{user}_clone"));
    assert!(bed.can_read(&clone, &password, &table).await);
}

#[tokio::test]
async fn the_redshift_binary_rotates_single_and_alternating_users() {
    let binary = Path::new(env!("CARGO_BIN_EXE_redshift"));
    let bed = Bed::with_dialect(
        Redshift,
        "single",
        Trust::SandboxCa,
        REDSHIFT.password_defaults,
    )
    .await;
    let user = format!("binrs_{}", unique());
    bed.pg
        .create_login("dev", &user, "Rs-Pa55word-1", true, &[])
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "Rs-Pa55word-1", json!({"ssl": true})))
        .await;
    rotate_with_binary(binary, "single", &bed.pg.ca, &bed.driver, &arn).await;
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, false)
        .await
        .expect("the new password logs in");
    assert!(bed.pg.stored_password(&user).await.starts_with("md5"));

    let master = format!("binrs_master_{}", unique());
    bed.pg
        .session("dev")
        .await
        .batch_execute(&format!(
            "CREATE ROLE \"{master}\" LOGIN SUPERUSER PASSWORD 'Master-Pa55-rs'"
        ))
        .await
        .expect("create the master user");
    let master_arn = bed
        .secret(&bed.secret_json(&master, "Master-Pa55-rs", json!({"ssl": true})))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, &new, json!({"masterarn": master_arn, "ssl": true})))
        .await;
    rotate_with_binary(binary, "alternating", &bed.pg.ca, &bed.driver, &arn).await;
    let (clone, password) = bed.current(&arn).await;
    assert_eq!(clone, format!("{user}_clone"));
    bed.login(&clone, &password, false)
        .await
        .expect("the clone logs in");
}

/// The deployed binary answers `{"Step": "preflight", ...}` with its report (not `null`), a
/// rotation step with `null`, a malformed preflight with `InvalidEvent`; each invocation ends
/// with one metrics line (step `preflight` for the first), and nothing printed holds a password.
#[tokio::test]
async fn the_binary_answers_a_preflight_with_its_report() {
    let bed = Bed::alternating().await;
    let (user, _, arn, _) = bed.alternating_pair("binpre").await;
    let moto = Moto::from_env();
    let env = deployed_environment(
        moto.endpoint(),
        &bed.pg.ca,
        &[
            ("ROTATION_TYPE", "PostgreSQLMultiUser"),
            ("EMIT_METRICS", "true"),
        ],
    );
    let binary = Path::new(env!("CARGO_BIN_EXE_postgresql"));
    let mut function = FunctionProcess::start(binary, &env).await.unwrap();
    let answer = function
        .invoke(json!({"Step": "preflight", "SecretId": arn}), WAIT)
        .await;
    let Answer::Success(body) = &answer else {
        panic!("{answer:?}\n{}", function.output());
    };
    let report: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "superuser_login" && c["ok"] == true));
    assert!(body.contains(&user));
    let bad = function
        .invoke(json!({"Step": "preflight", "SecretId": ""}), WAIT)
        .await;
    let bad = bad.error().unwrap_or_default();
    assert!(
        bad.starts_with("InvalidEvent: ")
            && bad.contains("field SecretId is empty (a preflight event is"),
        "{bad}"
    );
    let token = bed.driver.start(&arn).await.unwrap();
    let created = function
        .invoke(event(&arn, &token, Step::Create), WAIT)
        .await;
    assert_eq!(created, Answer::Success("null".into()));
    let output = function.stop().await;
    let metrics: Vec<serde_json::Value> = output
        .lines()
        .filter(|l| l.contains("\"_aws\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<_> = metrics.iter().map(|m| m["Step"].clone()).collect();
    assert_eq!(
        steps,
        [
            json!("preflight"),
            json!("preflight"),
            json!("createSecret")
        ],
        "{output}"
    );
    assert_eq!(metrics[1]["ErrorType"], "InvalidEvent");
    assert!(output.contains("preflight finished"), "{output}");
    for password in bed.created_passwords().await {
        assert!(!output.contains(&password), "a password reached the output");
    }
}
