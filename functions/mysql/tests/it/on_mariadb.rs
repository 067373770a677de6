//! The MySQL function's strategies end to end. No MySQL server is available here, so these run
//! against the sandbox MariaDB with `engine: mysql` secrets: the adapter chooses its SQL from
//! the server it meets, so this proves the function's wiring (engines, the 32-character name
//! limit, both strategies), not MySQL's own statements, which are unit-tested as exact text in
//! `shared/src/mysql`.

use crate::testbed::{Bed, Options};
use rotation_core::Step;
use rotation_mysql::Flavor;
use rotation_testkit::unique;
use serde_json::json;

async fn bed(strategy: &str) -> Bed {
    Bed::with_options(Flavor::MYSQL, strategy, Options::default()).await
}

#[tokio::test]
async fn single_user_rotates_an_engine_mysql_secret() {
    let bed = bed("single").await;
    let (user, arn) = bed
        .user_with_secret("my", "My-Pa55word", json!({"ssl": true}))
        .await;
    for round in 1..=2 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
    }
    let (_, new) = bed.current(&arn).await;
    bed.db
        .login(&user, &new, true)
        .await
        .expect("the new password logs in");
    assert_eq!(
        bed.db.login(&user, "My-Pa55word", true).await,
        Err("1045".into())
    );
}

#[tokio::test]
async fn alternating_users_alternate_and_names_are_limited_to_32_characters() {
    let bed = bed("alternating").await;
    let (user, db, arn) = bed.alternating_pair_at("my", "%").await;
    for round in 1..=2 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        let (u, pw) = bed.current(&arn).await;
        assert!(bed.db.can_read(&u, &pw, &db).await, "round {round}: {u}");
    }
    assert_eq!(bed.current(&arn).await.0, user);

    // 27 characters: with _clone, 33.
    let long = format!("l{}{}", unique(), "x".repeat(16));
    bed.create_user(&long, "%", "Long-Pa55", "").await;
    let master = bed.master_of(&arn).await;
    let master_arn = bed
        .secret(&bed.secret_json(&master, "master-Pa55", json!({"ssl": true})))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&long, "Long-Pa55", json!({"masterarn": master_arn})))
        .await;
    let run = bed.rotate(&arn).await;
    let (step, error) = run.failure().expect("refused");
    assert_eq!(step, Step::Create);
    assert!(
        error.contains("33 characters, over the limit of 32 characters"),
        "{error}"
    );
}
