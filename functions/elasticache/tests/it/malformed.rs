//! Input that must change nothing: a crafted AWSPENDING naming another user, a secret whose
//! username is not the user's name, a user this deployment does not rotate (USER_NAME), an
//! unknown user, a user without a password, malformed secrets, and a password policy
//! ElastiCache would refuse. Each gets a typed error that names the problem, never a password.

use crate::testbed::Bed;
use rotation_core::labels::AWSCURRENT;
use rotation_core::Step;
use serde_json::json;

#[tokio::test]
async fn a_pending_secret_naming_another_user_changes_nobody() {
    let bed = Bed::new().await;
    let (other, other_arn) = bed.user("bystander", "Bystander-Pa55word-1").await;
    for (field, value) in [("user_arn", json!(other_arn)), ("username", json!(other))] {
        let (_, _, arn) = bed
            .user_with_secret("victim", "Initial-Pa55word-0001", true)
            .await;
        let token = bed.start_and_create(&arn).await;
        let tampered = bed.tamper_pending(&arn, &token, field, value).await;
        let err = bed
            .fails_changing_no_label(&arn, &tampered, Step::Set)
            .await;
        assert!(
            err.starts_with("ConfusedDeputy: ") && err.contains(field),
            "{err}"
        );
        bed.stage_logs_in(&arn, AWSCURRENT).await.unwrap();
    }
    bed.redis.login(&other, "Bystander-Pa55word-1").unwrap();
}

#[tokio::test]
async fn a_username_that_is_not_the_users_name_or_not_user_name_is_refused() {
    let bed = Bed::new().await;
    let (name, user_arn) = bed.user("named", "Initial-Pa55word-0001").await;
    let json = bed.secret_json(
        "someone_else",
        &user_arn,
        "Initial-Pa55word-0001",
        false,
        json!({}),
    );
    let arn = bed.secret("cache", &json).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains(&name),
        "{err}"
    );
    bed.redis.login(&name, "Initial-Pa55word-0001").unwrap();

    let only = Bed::with_vars(&[("USER_NAME", "only_this_one".to_string())]).await;
    let (name, _, arn) = only
        .user_with_secret("notthisone", "Initial-Pa55word-0001", true)
        .await;
    let err = only.failure_of(&arn).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains("USER_NAME"),
        "{err}"
    );
    only.redis.login(&name, "Initial-Pa55word-0001").unwrap();
}

#[tokio::test]
async fn an_unknown_user_or_one_without_a_password_is_refused() {
    let bed = Bed::new().await;
    let missing = "arn:aws:elasticache:us-east-1:123456789012:user:u-nobody-here";
    let json = bed.secret_json("nobody", missing, "Initial-Pa55word-0001", false, json!({}));
    let arn = bed.secret("cache", &json).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("MalformedSecret: ") && err.contains("u-nobody-here"),
        "{err}"
    );

    let tag = rotation_testkit::unique();
    let out = bed
        .ec
        .create_user()
        .user_id(format!("u-{tag}"))
        .user_name(format!("open_{tag}"))
        .engine("redis")
        .no_password_required(true)
        .access_string("on ~* +@all")
        .send()
        .await
        .expect("CreateUser");
    let json = bed.secret_json(
        &format!("open_{tag}"),
        out.arn().unwrap(),
        "Initial-Pa55word-0001",
        false,
        json!({}),
    );
    let arn = bed.secret("cache", &json).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("SetSecretFailed: ") && err.contains("not a password"),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_secrets_name_the_key_and_never_the_password() {
    let bed = Bed::new().await;
    for (json, key) in [
        (
            json!({"username": "a", "password": "Secret-Value-00001"}),
            "user_arn",
        ),
        (
            json!({"user_arn": "arn:aws:elasticache:us-east-1:1:cluster:c", "username": "a", "password": "Secret-Value-00001"}),
            "user_arn",
        ),
        (
            json!({"user_arn": "arn:aws:elasticache:us-east-1:1:user:u-x", "password": "Secret-Value-00001"}),
            "username",
        ),
        (
            json!({"user_arn": "arn:aws:elasticache:us-east-1:1:user:u-x", "username": "a", "password": "Secret-Value-00001", "port": 70000, "host": "h"}),
            "port",
        ),
    ] {
        let arn = bed.secret("cache", &json.to_string()).await;
        let err = bed.failure_of(&arn).await;
        assert!(
            err.starts_with("MalformedSecret: ") && err.contains(key),
            "{err}"
        );
        assert!(!err.contains("Secret-Value-00001"), "{err}");
    }
}

#[test]
fn a_policy_elasticache_would_refuse_stops_start_up() {
    for (variable, value) in [("PASSWORD_LENGTH", "12"), ("EXCLUDE_CHARACTERS", "'\\")] {
        let settings = rotation_testkit::settings(
            rotation_elasticache::PASSWORD_DEFAULTS,
            &[
                (variable, value.to_string()),
                ("ELASTICACHE_USER_ARNS", crate::testbed::bed_users()),
            ],
        );
        let anchors = rotation_core::anchors::TrustAnchors::new(None, false).unwrap();
        let err = rotation_elasticache::build_with(
            &settings,
            std::sync::Arc::new(rotation_elasticache::SdkElastiCache::new()),
            anchors,
        )
        .unwrap_err();
        assert_eq!(err.error_type(), "ConfigurationError");
        assert!(err.to_string().contains(variable), "{err}");
    }
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_tls_failure_and_changes_nothing() {
    let bed = Bed::new().await;
    let (name, user_arn) = bed.user("tlsname", "Initial-Pa55word-0001").await;
    let json = bed.secret_json(
        &name,
        &user_arn,
        "Initial-Pa55word-0001",
        true,
        json!({"tlsServerName": "not-the-cache.example"}),
    );
    let arn = bed.secret("cache", &json).await;
    let err = bed.failure_of(&arn).await;
    assert!(err.starts_with("TlsFailure: "), "{err}");
    assert!(!err.contains("Initial-Pa55word-0001"), "{err}");
    // Nothing was sent to ElastiCache: the user still has only its first password.
    bed.redis.login(&name, "Initial-Pa55word-0001").unwrap();
    let (_, pending) = bed.creds(&arn, rotation_core::labels::AWSPENDING).await;
    assert_eq!(bed.redis.login(&name, &pending), Err("WRONGPASS".into()));
}

/// The template requires `elastiCacheUserArns`; a function without the list could change any
/// user its role reaches, so it does not start.
#[test]
fn no_elasticache_user_arns_stops_start_up() {
    for value in ["", " , "] {
        let settings = rotation_testkit::settings(
            rotation_elasticache::PASSWORD_DEFAULTS,
            &[("ELASTICACHE_USER_ARNS", value.to_string())],
        );
        let anchors = rotation_core::anchors::TrustAnchors::new(None, false).unwrap();
        let err = rotation_elasticache::build_with(
            &settings,
            std::sync::Arc::new(rotation_elasticache::SdkElastiCache::new()),
            anchors,
        )
        .unwrap_err();
        assert_eq!(err.error_type(), "ConfigurationError");
        assert!(
            err.to_string().contains("ELASTICACHE_USER_ARNS")
                && err.to_string().contains("elastiCacheUserArns"),
            "{err}"
        );
    }
}
