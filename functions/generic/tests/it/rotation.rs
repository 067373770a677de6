//! The generic function driven through full rotations against the moto server, over HTTP with
//! the real SDK client.

use rotation_core::labels::{self, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::Outcome;
use rotation_core::{RotationEvent, Step};
use rotation_testkit::assert_rotated;
use serde_json::{json, Value};

use crate::testbed::bed;

const INITIAL: &str = r#"{"username":"svc","password":"initial-password","endpoint":"https://svc.example","port":8443,"tags":["a","b"]}"#;

#[tokio::test]
async fn three_rotations_in_a_row() {
    let bed = bed().await;
    let arn = bed.secret("generic-three", INITIAL).await;
    let mut seen = vec!["initial-password".to_string()];
    for round in 1..=3 {
        let run = bed
            .driver
            .rotate(&arn, |e| async { bed.invoke(e).await.map(|_| ()) })
            .await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        let stages = bed.driver.stages(&arn).await;
        assert_rotated(&stages, &run);
        assert_eq!(
            stages
                .values()
                .filter(|l| l.iter().any(|l| l == AWSCURRENT))
                .count(),
            1
        );

        let current: Value =
            serde_json::from_str(&bed.driver.value(&arn, AWSCURRENT).await).unwrap();
        let previous: Value =
            serde_json::from_str(&bed.driver.value(&arn, AWSPREVIOUS).await).unwrap();
        let password = current["password"].as_str().unwrap().to_string();
        assert_eq!(
            previous["password"],
            json!(seen.last().unwrap()),
            "AWSPREVIOUS holds the prior password"
        );
        assert!(
            !seen.contains(&password),
            "round {round} made a new password"
        );
        bed.policy.check(&password).unwrap();
        let initial: Value = serde_json::from_str(INITIAL).unwrap();
        for key in ["username", "endpoint", "port", "tags"] {
            assert_eq!(current[key], initial[key], "{key} kept with its type");
        }
        seen.push(password);
    }
}

#[tokio::test]
async fn events_with_a_rotation_token_rotate_through_the_real_sdk_client() {
    // Secrets Manager sends RotationToken with every step; PutSecretValue carries it on.
    let bed = bed().await;
    let arn = bed.secret("generic-rotation-token", INITIAL).await;
    let token = bed.driver.start(&arn).await.unwrap();
    for step in Step::ALL {
        let event = RotationEvent {
            step,
            secret_id: arn.clone(),
            token: token.clone(),
            rotation_token: Some("e30.rotation-token-from-the-service".into()),
        };
        bed.invoke(event.to_value())
            .await
            .unwrap_or_else(|e| panic!("{step:?}: {e}"));
    }
    let stages = bed.driver.stages(&arn).await;
    assert_eq!(
        labels::versions_with(&stages, AWSCURRENT),
        vec![token.as_str()]
    );
}

#[tokio::test]
async fn every_step_twice_in_a_row_and_at_once() {
    let bed = bed().await;
    for at_once in [false, true] {
        let arn = bed.secret("generic-replay", INITIAL).await;
        let before = bed.driver.stages(&arn).await;
        let old_current = labels::versions_with(&before, AWSCURRENT)[0].to_string();
        let token = bed.driver.start(&arn).await.unwrap();
        for step in Step::ALL {
            let event = RotationEvent {
                step,
                secret_id: arn.clone(),
                token: token.clone(),
                rotation_token: None,
            }
            .to_value();
            if at_once {
                let (a, b) = tokio::join!(bed.invoke(event.clone()), bed.invoke(event.clone()));
                a.unwrap();
                b.unwrap();
            } else {
                bed.invoke(event.clone()).await.unwrap();
                let second = bed.invoke(event).await.unwrap();
                if step == Step::Create {
                    assert_eq!(second, Outcome::AlreadyCreated);
                }
                if step == Step::Finish {
                    assert_eq!(second, Outcome::AlreadyCurrent);
                }
            }
        }
        let stages = bed.driver.stages(&arn).await;
        assert_eq!(
            labels::versions_with(&stages, AWSCURRENT),
            vec![token.as_str()],
            "{stages:?}"
        );
        assert_eq!(
            labels::versions_with(&stages, AWSPREVIOUS),
            vec![old_current.as_str()]
        );
        assert!(
            labels::versions_with(&stages, AWSPENDING).is_empty(),
            "{stages:?}"
        );
        let value: Value = serde_json::from_str(&bed.driver.value(&arn, AWSCURRENT).await).unwrap();
        bed.policy
            .check(value["password"].as_str().unwrap())
            .unwrap();
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_typed_errors_and_changes_nothing() {
    let bed = bed().await;
    let arn = bed.secret("generic-bad", INITIAL).await;
    let token = bed.driver.start(&arn).await.unwrap();
    let before = bed.driver.stages(&arn).await;

    let unknown = RotationEvent {
        step: Step::Create,
        secret_id: arn.clone(),
        token: "0".repeat(36),
        rotation_token: None,
    };
    let err = bed.invoke(unknown.to_value()).await.unwrap_err();
    assert!(err.starts_with("UnknownVersion: "), "{err}");

    let err = bed
        .invoke(json!({"Step": "createSecret", "SecretId": arn}))
        .await
        .unwrap_err();
    assert!(
        err.starts_with("InvalidEvent: ") && err.contains("ClientRequestToken"),
        "{err}"
    );

    let err = bed
        .invoke(json!({"Step": "deleteSecret", "SecretId": arn, "ClientRequestToken": token}))
        .await
        .unwrap_err();
    assert!(err.starts_with("InvalidStep: "), "{err}");

    let missing = RotationEvent {
        step: Step::Create,
        secret_id: "no-such-secret".into(),
        token: token.clone(),
        rotation_token: None,
    };
    let err = bed.invoke(missing.to_value()).await.unwrap_err();
    assert!(
        err.starts_with("SecretsManagerError: ") && err.contains("ResourceNotFoundException"),
        "{err}"
    );

    assert_eq!(bed.driver.stages(&arn).await, before);

    // Rotation switched off after it started: every step refuses.
    bed.driver
        .client()
        .cancel_rotate_secret()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    let create = RotationEvent {
        step: Step::Create,
        secret_id: arn.clone(),
        token,
        rotation_token: None,
    };
    let err = bed.invoke(create.to_value()).await.unwrap_err();
    assert!(err.starts_with("RotationNotEnabled: "), "{err}");
}

#[tokio::test]
async fn a_secret_that_is_not_a_json_password_secret_fails_create_and_stays_current() {
    let bed = bed().await;
    let arn = bed
        .secret("generic-malformed", r#"{"user":"x","pass":"not-the-key"}"#)
        .await;
    let run = bed
        .driver
        .rotate(&arn, |e| async { bed.invoke(e).await.map(|_| ()) })
        .await;
    let (step, err) = run.failure().expect("must fail");
    assert_eq!(step, Step::Create);
    assert!(
        err.starts_with("MalformedSecret: ") && err.contains("password key is missing"),
        "{err}"
    );
    assert!(!err.contains("not-the-key"));
    assert_eq!(
        bed.driver.value(&arn, AWSCURRENT).await,
        r#"{"user":"x","pass":"not-the-key"}"#
    );
}

#[tokio::test]
async fn a_database_secret_is_refused_unless_the_deployment_opts_in() {
    // A user who swapped a SAR database app for the generic function must not get a rotation
    // that changes the secret's password without changing the database's.
    let bed = bed().await;
    let db_secret =
        r#"{"engine":"postgres","host":"db.internal","username":"app","password":"db-s3cr3t"}"#;
    let arn = bed.secret("generic-engine", db_secret).await;
    let token = bed.driver.start(&arn).await.unwrap();
    let before = bed.driver.stages(&arn).await;
    let event = RotationEvent {
        step: Step::Create,
        secret_id: arn.clone(),
        token: token.clone(),
        rotation_token: None,
    }
    .to_value();
    let err = bed.invoke(event.clone()).await.unwrap_err();
    assert!(err.starts_with("EngineKeyRefused: "), "{err}");
    assert!(
        err.contains("engine key ('postgres')") && err.contains("PostgreSQLSingleUser"),
        "{err}"
    );
    assert!(err.contains("ALLOW_ENGINE_KEY"), "{err}");
    assert!(!err.contains("db-s3cr3t"), "{err}");
    assert_eq!(bed.driver.stages(&arn).await, before, "nothing written");
    let pending = bed
        .driver
        .client()
        .get_secret_value()
        .secret_id(&arn)
        .version_id(&token)
        .version_stage(AWSPENDING)
        .send()
        .await;
    assert!(pending.is_err(), "no AWSPENDING value was stored");

    // Every engine this project ships a function for is pointed to it; an engine it has no
    // function for is named as such.
    for (engine, told) in [
        ("mysql", "rotationType MySQLSingleUser or MySQLMultiUser"),
        (
            "mariadb",
            "rotationType MariaDBSingleUser or MariaDBMultiUser",
        ),
        (
            "sqlserver-se",
            "rotationType SQLServerSingleUser or SQLServerMultiUser",
        ),
        ("oracle", "support table"),
    ] {
        let arn = bed
            .secret(
                &format!("generic-engine-{engine}"),
                &json!({"engine": engine, "host": "h", "username": "u", "password": "p"})
                    .to_string(),
            )
            .await;
        let run = bed
            .driver
            .rotate(&arn, |e| async { bed.invoke(e).await.map(|_| ()) })
            .await;
        let (step, err) = run.failure().expect("refused");
        assert_eq!(step, Step::Create);
        assert!(
            err.contains(&format!("'{engine}'")) && err.contains(told),
            "{err}"
        );
    }

    // Opted in: the same kind of secret rotates.
    let mut bed = bed;
    bed.function.allow_engine_key = true;
    let arn = bed.secret("generic-engine-ok", db_secret).await;
    let run = bed
        .driver
        .rotate(&arn, |e| async { bed.invoke(e).await.map(|_| ()) })
        .await;
    assert!(run.succeeded(), "{:?}", run.failure());
}

#[tokio::test]
async fn a_rotation_makes_twelve_secrets_manager_calls() {
    // createSecret 4 (Describe, Get AWSCURRENT, GetRandomPassword, Put: it writes first);
    // setSecret 2 (Describe, Get AWSPENDING); testSecret 2 (Get AWSPENDING by token, which
    // replaces DescribeSecret, and Get AWSCURRENT); finishSecret 4 (Describe, Get AWSPENDING
    // for the guard, two label moves).
    // The guard's own check (the password policy) needs no call.
    let bed = bed().await;
    let arn = bed.secret("generic-calls", INITIAL).await;
    let counting = rotation_testkit::CountingStore::new(bed.store.clone());
    let run = bed
        .driver
        .rotate(&arn, |e| {
            let (counting, bed) = (&counting, &bed);
            async move {
                rotation_core::handle_invocation(counting, &bed.function, &bed.policy, &e)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await;
    assert!(run.succeeded(), "{:?}", run.failure());
    assert_eq!(counting.take(), 12);
}

/// Canary: the sandbox's moto refuses a different value for a version that has one, as the
/// service does (moto itself overwrites). createSecret's write-first path and the tamper
/// helpers rely on this rule; if a moto upgrade lost it, the suites would test something else.
#[tokio::test]
async fn the_sandbox_moto_refuses_a_different_value_for_an_existing_version() {
    let bed = bed().await;
    let arn = bed.secret("generic-canary", INITIAL).await;
    let token = uuid::Uuid::new_v4().to_string();
    let put = |value: &'static str| {
        bed.driver
            .client()
            .put_secret_value()
            .secret_id(&arn)
            .client_request_token(&token)
            .secret_string(value)
            .version_stages(AWSPENDING)
            .send()
    };
    put(r#"{"password":"first-value"}"#)
        .await
        .expect("the first value");
    put(r#"{"password":"first-value"}"#)
        .await
        .expect("the same value again is accepted");
    let err = put(r#"{"password":"another-value"}"#)
        .await
        .expect_err("a different value for the version is refused");
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&err),
        Some("ResourceExistsException"),
        "{err:?}"
    );
    let stored = bed
        .driver
        .client()
        .get_secret_value()
        .secret_id(&arn)
        .version_id(&token)
        .version_stage(AWSPENDING)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.secret_string(),
        Some(r#"{"password":"first-value"}"#)
    );
}

/// Preflight of the generic function: the secret's shape and the rotation in progress, nothing
/// else (it changes no service, so a stale rotation is always safe to abort).
#[tokio::test]
async fn preflight_checks_the_shape_and_a_stale_rotation() {
    let h = bed().await;
    let arn = h
        .secret(
            "pre",
            &json!({"username": "app", "password": "Initial-Pa55word"}).to_string(),
        )
        .await;
    let report = h.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    let names: Vec<_> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["no_rotation_in_progress", "secrets_manager", "secret_shape"]
    );
    let token = h.start_and_create(&arn).await;
    let report = h.preflight(&arn, false).await;
    assert_eq!(report["ok"], false);
    assert_eq!(report["versions"]["pending"]["version"], token.as_str());
    assert_eq!(report["versions"]["pending"]["abortSafe"], true);

    let bad = h.secret("pre", "[1, 2]").await;
    let report = h.preflight(&bad, false).await;
    assert_eq!(report["ok"], false);
    let shape = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "secret_shape")
        .unwrap();
    assert_eq!(shape["ok"], false);
    assert!(
        shape["detail"]
            .as_str()
            .unwrap()
            .starts_with("MalformedSecret"),
        "{report:#}"
    );
}
