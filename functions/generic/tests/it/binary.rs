//! The real `generic` binary (its `main` and the shared `serve`), run as Lambda runs it (a child
//! process polling a loopback Lambda Runtime API, moto as Secrets Manager): it rotates a JSON
//! secret's password and keeps every other key.

use std::path::Path;

use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_generic::{GenericRotation, PASSWORD_DEFAULTS};
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

/// Every log line of an invocation carries Lambda's field names at the top level (the request
/// id as `function_request_id`, `cold_start` true on the process's first invocation only, the
/// secret ARN, the token, `service` the rotation type); each invocation ends with one
/// CloudWatch EMF line (function name, rotation type and step as dimensions; a step the
/// function does not know is `invalid`, so an invoker cannot mint metrics), unless
/// `EMIT_METRICS=false`.
#[tokio::test]
async fn the_binary_logs_the_invocation_context_and_one_metrics_line_per_step() {
    use rotation_testkit::{deployed_environment, FunctionProcess, Moto};
    use std::time::Duration;

    let bed = Harness::new(GenericRotation::default(), PASSWORD_DEFAULTS).await;
    let binary = Path::new(env!("CARGO_BIN_EXE_generic"));
    let moto = Moto::from_env();
    for emit in ["true", "false"] {
        let arn = bed
            .secret(
                "emf",
                &json!({"username": "app", "password": "Initial-Pa55word"}).to_string(),
            )
            .await;
        let env = deployed_environment(
            moto.endpoint(),
            "",
            &[
                ("ROTATION_STRATEGY", ""),
                ("ROTATION_TYPE", "Generic"),
                ("EMIT_METRICS", emit),
            ],
        );
        let mut function = FunctionProcess::start(binary, &env).await.unwrap();
        function
            .rotate(&bed.driver, &arn, Duration::from_secs(30))
            .await
            .unwrap();
        let invented =
            json!({"Step": "x\u{1b}[2Jnew-metric", "SecretId": arn, "ClientRequestToken": "t"});
        let answer = function.invoke(invented, Duration::from_secs(30)).await;
        assert!(
            answer.error().is_some_and(|e| e.starts_with("InvalidStep")),
            "{answer:?}"
        );
        let output = function.stop().await;
        let lines: Vec<Value> = output
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let metrics: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
        if emit == "false" {
            assert!(metrics.is_empty(), "EMIT_METRICS=false: {output}");
            continue;
        }
        let steps: Vec<&str> = metrics
            .iter()
            .map(|m| m["Step"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                "createSecret",
                "setSecret",
                "testSecret",
                "finishSecret",
                "invalid"
            ]
        );
        for m in &metrics[..4] {
            assert_eq!(m["RotationType"], "Generic");
            assert_eq!(m["FunctionName"], "rotation-under-test");
            assert_eq!(
                (m["Successes"].as_u64(), m["ErrorType"].as_str()),
                (Some(1), Some("None"))
            );
            assert!(m["Duration"].as_f64().unwrap() > 0.0);
        }
        assert_eq!(metrics[4]["ErrorType"], "InvalidStep");
        let summaries: Vec<&Value> = lines
            .iter()
            .filter(|l| l["message"] == "rotation step finished")
            .collect();
        assert_eq!(summaries.len(), 4, "{output}");
        for (n, line) in summaries.iter().enumerate() {
            assert_eq!(line["secret_arn"], arn.as_str(), "{line}");
            assert!(
                !line["function_request_id"]
                    .as_str()
                    .unwrap_or("")
                    .is_empty(),
                "{line}"
            );
            assert!(!line["token"].as_str().unwrap_or("").is_empty(), "{line}");
            assert_eq!(line["cold_start"], n == 0, "{line}");
            assert_eq!(line["service"], "Generic", "{line}");
            assert_eq!(line["level"], "INFO", "{line}");
            assert!(line.get("span").is_none(), "{line}");
            assert!(line["timestamp"].as_str().is_some(), "{line}");
        }
    }
}

/// With every crate at `trace` and the SDK's `LOG_SIGNABLE_BODY=true` (which makes its signer
/// print request bodies: PutSecretValue's secret), no password reaches the output, in any
/// form (as written, JSON-, SQL- or URL-encoded): the function removes the switch at start-up.
#[tokio::test]
async fn no_request_body_is_printed_even_when_the_sdk_is_asked_to() {
    use rotation_testkit::{deployed_environment, escaped_forms, FunctionProcess, Moto};
    use std::time::Duration;

    let bed = Harness::new(GenericRotation::default(), PASSWORD_DEFAULTS).await;
    let binary = Path::new(env!("CARGO_BIN_EXE_generic"));
    let moto = Moto::from_env();
    let first = "Initial-Body-Pa55word!#";
    let arn = bed
        .secret(
            "body",
            &json!({"username": "app", "password": first}).to_string(),
        )
        .await;
    let env = deployed_environment(
        moto.endpoint(),
        "",
        &[
            ("ROTATION_STRATEGY", ""),
            ("RUST_LOG", "trace"),
            ("LOG_SIGNABLE_BODY", "true"),
        ],
    );
    let mut function = FunctionProcess::start(binary, &env).await.unwrap();
    function
        .rotate(&bed.driver, &arn, Duration::from_secs(30))
        .await
        .unwrap();
    let output = function.stop().await;
    let current: Value = serde_json::from_str(&bed.driver.value(&arn, AWSCURRENT).await).unwrap();
    let new = current["password"].as_str().unwrap();
    assert!(
        output.contains("\"level\":\"TRACE\""),
        "trace lines are printed"
    );
    assert!(
        output.contains("LOG_SIGNABLE_BODY"),
        "its removal is logged"
    );
    for password in [first, new] {
        for form in escaped_forms(password) {
            assert!(!output.contains(&form), "a password reached the output");
        }
    }
}

/// A step that cannot finish before Lambda's deadline (Secrets Manager accepts the connection
/// and never answers) answers `StepTimedOut` before the deadline, instead of being killed
/// without an answer; with the usual 30 s, the SDK's own timeouts end the stalled call first
/// with a typed `SecretsManagerError` naming it. The process goes on serving.
#[tokio::test]
async fn a_stalled_call_ends_with_a_typed_answer_before_lambdas_deadline() {
    use rotation_core::Step;
    use rotation_testkit::{deployed_environment, event, Answer, FunctionProcess};
    use std::time::{Duration, Instant};

    // Accepts connections, reads, never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let binary = Path::new(env!("CARGO_BIN_EXE_generic"));
    let env = deployed_environment(&endpoint, "", &[("ROTATION_STRATEGY", "")]);
    let mut function = FunctionProcess::start(binary, &env).await.unwrap();
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stalled-AbCdEf";
    let token = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

    function.set_invocation_time(Duration::from_secs(3));
    let started = Instant::now();
    let answer = function
        .invoke(event(arn, token, Step::Create), Duration::from_secs(10))
        .await;
    let took = started.elapsed();
    let error = answer.error().unwrap_or_default();
    assert!(
        error.starts_with("StepTimedOut: the createSecret step"),
        "{answer:?}"
    );
    assert!(
        took < Duration::from_secs(3),
        "answered before the deadline: {took:?}"
    );

    function.set_invocation_time(Duration::from_secs(30));
    let started = Instant::now();
    let answer = function
        .invoke(event(arn, token, Step::Create), Duration::from_secs(40))
        .await;
    let took = started.elapsed();
    let error = answer.error().unwrap_or_default();
    assert!(error.starts_with("SecretsManagerError"), "{answer:?}");
    assert!(error.contains("DescribeSecret"), "{error}");
    assert!(
        took < Duration::from_secs(20),
        "the SDK's timeout, not the deadline: {took:?}"
    );
    assert!(matches!(answer, Answer::Error { .. }));
    function.stop().await;
}
