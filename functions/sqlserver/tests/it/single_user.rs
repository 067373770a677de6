//! Single user: the login changes its own password with OLD_PASSWORD, which needs no
//! permission; rotations as Secrets Manager runs them.

use crate::testbed::{try_session_as, Bed};
use rotation_core::labels::{versions_with, AWSCURRENT};
use rotation_testkit::assert_rotated;
use rotation_testkit::tds::ServerEncryption;
use serde_json::json;

#[tokio::test]
async fn a_login_rotates_its_own_password_over_verified_tls() {
    for encryption in [ServerEncryption::Off, ServerEncryption::On] {
        let bed = Bed::with("single", encryption, &[]).await;
        let (login, arn) = bed.login("single", "Initial-Pa55word-1", json!({})).await;
        for round in 1..=2 {
            let before = bed.server.password(&login);
            let run = bed.rotate(&arn).await;
            assert!(
                run.succeeded(),
                "{encryption:?} round {round}: {:?}",
                run.failure()
            );
            assert_rotated(&bed.driver.stages(&arn).await, &run);
            assert_ne!(bed.server.password(&login), before, "the password changed");
            bed.assert_current_logs_in(&arn).await;
        }
        assert_eq!(bed.current(&arn).await.0, login);
    }
}

#[tokio::test]
async fn each_step_twice_and_twice_at_once() {
    let bed = Bed::new("single").await;
    for at_once in [false, true] {
        let (_, arn) = bed.login("twice", "Initial-Pa55word-2", json!({})).await;
        let token = bed.rotate_each_step_twice(&arn, at_once).await;
        let stages = bed.driver.stages(&arn).await;
        assert_eq!(
            versions_with(&stages, AWSCURRENT),
            vec![token.as_str()],
            "at once: {at_once}"
        );
        bed.assert_current_logs_in(&arn).await;
    }
}

#[tokio::test]
async fn a_wrong_current_password_fails_before_anything_changes() {
    let bed = Bed::new("single").await;
    let (login, arn) = bed.login("wrong", "Initial-Pa55word-3", json!({})).await;
    bed.server.add_login(
        &login,
        "Someone-Else-Changed-1",
        rotation_testkit::tds::LoginKind::Plain,
    );
    let error = bed.failure_of(&arn).await;
    assert!(error.starts_with("AuthenticationFailed"), "{error}");
    assert!(error.contains("18456"), "{error}");
    assert_eq!(
        bed.server.password(&login).as_deref(),
        Some("Someone-Else-Changed-1"),
        "nothing changed"
    );
}

/// A contained database user (a password of its own in the database) changes it with
/// `ALTER USER ... OLD_PASSWORD`.
#[tokio::test]
async fn a_contained_database_user_rotates_with_alter_user() {
    let bed = Bed::new("single").await;
    let db = format!("contained_{}", rotation_testkit::unique());
    bed.server.add_contained_database(&db);
    let user = format!("cuser_{}", rotation_testkit::unique());
    bed.admin_sql(
        &db,
        &format!("CREATE USER [{user}] WITH PASSWORD = N'Contained-Pa55word-1'"),
    )
    .await;
    let arn = bed
        .secret(
            "sqlserver",
            &bed.secret_json(&user, "Contained-Pa55word-1", json!({"dbname": db})),
        )
        .await;
    for round in 1..=2 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
    }
    assert!(
        bed.server.password(&user).is_none(),
        "no server login of that name"
    );
    let port = bed.server.port();
    let (_, current) = bed.current(&arn).await;
    assert!(
        try_session_as(port, &user, &current, &db).await.is_ok(),
        "AWSCURRENT logs in"
    );
    let old = try_session_as(port, &user, "Contained-Pa55word-1", &db).await;
    assert_eq!(
        old.err().and_then(|e| e.code()),
        Some(18456),
        "the first password is refused"
    );
}
