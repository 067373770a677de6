//! The allow-list (`ELASTICACHE_USER_ARNS`, the template's `elastiCacheUserArns`): whoever can
//! write a secret this function rotates must not be able to point it at another user. A secret
//! naming a user outside the list is refused by every step, createSecret included (so nothing
//! is written), before any ElastiCache call; and the user changed must be the one the ARN
//! names, as DescribeUsers reports it.

use crate::testbed::Bed;
use rotation_core::labels::AWSPENDING;
use rotation_core::Step;
use serde_json::json;

fn refused_by_the_list(err: &str, user_arn: &str) -> bool {
    err.contains(user_arn)
        && err.contains("ELASTICACHE_USER_ARNS")
        && err.contains("elastiCacheUserArns")
}

/// The attack: AWSCURRENT rewritten to name another user, with a password the writer
/// chose, and no endpoint (nothing to prove the password with). Refused at createSecret.
#[tokio::test]
async fn a_writer_cannot_point_the_secret_at_a_user_outside_the_list() {
    let wide = Bed::new().await;
    let (_, owner_arn) = wide.user("owner", "Owner-Pa55word-000001").await;
    let (victim, victim_arn) = wide.user("victim", "Victim-Pa55word-00001").await;
    // This deployment may change `owner` only.
    let bed = Bed::with_vars(&[("ELASTICACHE_USER_ARNS", owner_arn)]).await;
    let json = bed.secret_json(
        &victim,
        &victim_arn,
        "Chosen-Pa55word-00001",
        false,
        json!({}),
    );
    let arn = bed.secret("cache", &json).await;
    let token = bed.driver.start(&arn).await.expect("RotateSecret");
    let err = bed
        .fails_changing_no_label(&arn, &token, Step::Create)
        .await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && refused_by_the_list(&err, &victim_arn),
        "{err}"
    );
    assert!(!err.contains("Chosen-Pa55word-00001"), "{err}");
    assert!(
        !bed.pending_value_exists(&arn, &token).await,
        "createSecret wrote nothing"
    );
    // Every later step refuses too (here before it finds no AWSPENDING value to read).
    for step in [Step::Set, Step::Test, Step::Finish] {
        bed.fails_changing_no_label(&arn, &token, step).await;
    }
    bed.redis.login(&victim, "Victim-Pa55word-00001").unwrap();
    assert_eq!(
        bed.redis.login(&victim, "Chosen-Pa55word-00001"),
        Err("WRONGPASS".into())
    );
}

/// setSecret, testSecret and finishSecret each check the list themselves: a deployment whose
/// list no longer holds the user (narrowed mid-rotation) changes nothing and promotes nothing.
#[tokio::test]
async fn set_test_and_finish_refuse_a_user_outside_the_list() {
    let wide = Bed::new().await;
    let (name, user_arn, arn) = wide
        .user_with_secret("scoped", "Initial-Pa55word-0001", true)
        .await;
    let (_, other_arn) = wide.user("other", "Other-Pa55word-000001").await;
    let narrow = Bed::with_vars(&[("ELASTICACHE_USER_ARNS", other_arn)]).await;
    let token = wide.start_and_create(&arn).await;

    let err = narrow
        .fails_changing_no_label(&arn, &token, Step::Set)
        .await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && refused_by_the_list(&err, &user_arn),
        "{err}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (_, pending) = wide.creds(&arn, AWSPENDING).await;
    assert_eq!(wide.redis.login(&name, &pending), Err("WRONGPASS".into()));

    // The deployment allowed to sets it, so testSecret and finishSecret have something to
    // refuse.
    wide.invoke(rotation_testkit::event(&arn, &token, Step::Set))
        .await
        .expect("setSecret");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let err = narrow
        .fails_changing_no_label(&arn, &token, Step::Test)
        .await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && refused_by_the_list(&err, &user_arn),
        "{err}"
    );
    let err = narrow
        .fails_changing_no_label(&arn, &token, Step::Finish)
        .await;
    assert!(
        err.starts_with("FinishSecretRefused: ") && refused_by_the_list(&err, &user_arn),
        "{err}"
    );
    wide.resume(&arn, &token).await;
}

/// The list is matched against the ARN as written; the user then changed is the one
/// DescribeUsers reports under that ARN, not merely one with the same ID in the function's
/// account.
#[tokio::test]
async fn a_user_arn_that_is_not_the_users_own_is_refused() {
    let bed = Bed::with_vars(&[(
        "ELASTICACHE_USER_ARNS",
        "arn:aws:elasticache:us-east-1:*:user:u-*".to_string(),
    )])
    .await;
    let (name, user_arn) = bed.user("account", "Initial-Pa55word-0001").await;
    let elsewhere = user_arn.replace(":123456789012:", ":210987654321:");
    assert_ne!(elsewhere, user_arn);
    let json = bed.secret_json(&name, &elsewhere, "Initial-Pa55word-0001", false, json!({}));
    let arn = bed.secret("cache", &json).await;
    let err = bed.failure_of(&arn).await;
    assert!(
        err.starts_with("ConfusedDeputy: ") && err.contains(&elsewhere) && err.contains(&user_arn),
        "{err}"
    );
    bed.redis.login(&name, "Initial-Pa55word-0001").unwrap();
}
