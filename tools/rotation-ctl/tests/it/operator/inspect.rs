//! `preflight` and `inspect`: a healthy secret changes nothing, values are read only for
//! fingerprints, a refusal is shown per version, and text output escapes control characters.

use super::*;

#[tokio::test]
async fn preflight_and_inspect_a_healthy_secret_change_nothing() {
    let world = World::new("single").await;
    let (user, arn) = world.user("ctl-Pa55word").await;
    // Attach a rotation function (the driver's RotateSecret sets it) and finish that rotation,
    // so the secret has a rotation function and two versions.
    let run = world.harness.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let before = world.harness.driver.stages(&arn).await;

    let (code, text, _) = world.ctl(&["preflight", &arn]).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("current_login") && text.contains(&user),
        "{text}"
    );
    assert!(text.contains("all checks passed"), "{text}");
    let (name, payload) = world.api.invocations().pop().unwrap();
    assert!(name.ends_with(&format!("function:{FUNCTION}")), "{name}");
    assert_eq!(
        payload,
        json!({"Step": "preflight", "SecretId": arn, "Previous": false})
    );

    let (code, report) = world
        .json(&["preflight", &arn, "--function", "by-name"])
        .await;
    assert_eq!((code, &report["ok"]), (0, &json!(true)), "{report:#}");
    assert_eq!(world.api.invocations().pop().unwrap().0, "by-name");

    let (code, text, _) = world.ctl(&["inspect", &arn]).await;
    assert_eq!(code, 0);
    let current = world.harness.driver.value(&arn, AWSCURRENT).await;
    let current: Value = serde_json::from_str(&current).unwrap();
    assert!(text.contains("no rotation in progress"), "{text}");
    assert!(
        text.contains("rotation  on;") && text.contains("every 30 days"),
        "{text}"
    );
    let (_, inspected) = world.json(&["inspect", &arn, "--fingerprints"]).await;
    let versions = inspected["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{inspected:#}");
    let fingerprints: Vec<&str> = versions
        .iter()
        .map(|v| v["passwordFingerprint"].as_str().unwrap())
        .collect();
    assert!(fingerprints.iter().all(|f| f.len() == 16) && fingerprints[0] != fingerprints[1]);
    let mut labels: Vec<String> = versions.iter().map(|v| v["stages"].to_string()).collect();
    labels.sort();
    assert_eq!(
        labels,
        [r#"["AWSCURRENT"]"#, r#"["AWSPREVIOUS"]"#],
        "{inspected:#}"
    );
    assert!(!inspected
        .to_string()
        .contains(current["password"].as_str().unwrap()));
    assert_eq!(
        world.harness.driver.stages(&arn).await,
        before,
        "nothing changed"
    );
}

#[tokio::test]
async fn inspect_reads_values_only_for_fingerprints_and_shows_a_refusal_per_version() {
    let world = World::new("single").await;
    let (_, arn) = world.user("ctl-Pa55word").await;
    assert!(world.harness.rotate(&arn).await.succeeded());
    let proxy = CountingProxy::start(world.moto.endpoint()).await.unwrap();

    let (code, stdout, stderr) = world
        .ctl_through(&["inspect", &arn, "--output", "json"], proxy.endpoint())
        .await;
    assert_eq!(code, 0, "{stdout} {stderr}");
    let inspected: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(proxy.calls("GetSecretValue"), 0, "{:?}", proxy.operations());
    assert!(
        proxy.calls("ListSecretVersionIds") >= 1,
        "{:?}",
        proxy.operations()
    );
    let versions = inspected["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{inspected:#}");
    assert!(versions
        .iter()
        .all(|v| v.get("passwordFingerprint").is_none() && v["created"].is_string()));
    let (_, text, _) = world
        .ctl_through(&["inspect", &arn], proxy.endpoint())
        .await;
    assert!(
        !text.contains("FINGERPRINT") && text.contains("CREATED"),
        "{text}"
    );
    assert_eq!(proxy.calls("GetSecretValue"), 0);

    let (code, text, _) = world
        .ctl_through(&["inspect", &arn, "--fingerprints"], proxy.endpoint())
        .await;
    assert_eq!(code, 0);
    assert_eq!(proxy.calls("GetSecretValue"), 2, "one per labelled version");
    assert!(text.contains("PASSWORD FINGERPRINT"), "{text}");

    // An identity without GetSecretValue: each version says so; the command does not fail.
    proxy.deny("GetSecretValue");
    let (code, done) = {
        let (code, stdout, _) = world
            .ctl_through(
                &["inspect", &arn, "--fingerprints", "--output", "json"],
                proxy.endpoint(),
            )
            .await;
        (code, serde_json::from_str::<Value>(&stdout).unwrap())
    };
    assert_eq!(code, 0, "{done:#}");
    let versions = done["versions"].as_array().unwrap();
    assert!(
        versions
            .iter()
            .all(|v| v["passwordFingerprint"] == "(not permitted)"),
        "{done:#}"
    );
    let (code, text, _) = world
        .ctl_through(&["inspect", &arn, "--fingerprints"], proxy.endpoint())
        .await;
    assert_eq!(code, 0);
    assert!(
        text.contains("(not permitted)") && text.contains("kms:Decrypt"),
        "{text}"
    );
}

#[tokio::test]
async fn text_output_escapes_control_characters_from_a_secret() {
    let world = World::new("single").await;
    // A secret writer's username: erase the line and write "ok" over it, a C1 CSI, and a
    // newline that starts a forged row.
    let hostile = "ctl\u{1b}[2K\rok\u{9b}32m\nsecret_shape  ok  all fine";
    let arn = world
        .harness
        .secret(
            "ctl",
            &world.secret_json(hostile, "ctl-Pa55word", json!({})),
        )
        .await;
    let (code, report) = world
        .json(&["preflight", &arn, "--function", FUNCTION])
        .await;
    assert_eq!(code, 1);
    assert!(
        report
            .to_string()
            .contains("ctl\\u001b[2K\\rok\u{9b}32m\\nsecret_shape"),
        "JSON keeps the username as it is (serde_json's escapes): {report}"
    );
    // World::ctl fails on any raw control character in text output.
    let (code, text, _) = world
        .ctl(&["preflight", &arn, "--function", FUNCTION])
        .await;
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("ctl\\x1b[2K\\rok\\u{9b}32m\\nsecret_shape  ok  all fine"),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("secret_shape  ok  all")),
        "{text}"
    );
    assert!(text.contains("FAILED"), "{text}");
}
