//! A server that turns logins away for capacity, against the sandbox MariaDB: an account at
//! its `MAX_USER_CONNECTIONS` (MySQL error 1226, ER_USER_LIMIT_REACHED), filled by sessions
//! this test holds. A per-account limit fills only that account's slots, so the tests running
//! beside it on the same server are not disturbed (the server's `max_connections` and
//! `max_user_connections` are never touched). Wherever the refusal comes it is
//! `DatabaseAtCapacity`, AWSCURRENT never moves, and the next delivery of the same step
//! completes once a slot is free.

use crate::testbed::Bed;
use mysql_async::Conn;
use rotation_core::labels::{self, AWSCURRENT, AWSPENDING};
use rotation_core::Step;
use rotation_testkit::maria::account;
use rotation_testkit::{event, DbFaultProxy, DbProvingBed};
use serde_json::json;

/// Sets `user`@`%`'s `MAX_USER_CONNECTIONS` (0: none).
async fn limit(bed: &Bed, user: &str, slots: u32) {
    bed.db
        .run(&format!(
            "ALTER USER {} WITH MAX_USER_CONNECTIONS {slots}",
            account(user, "%")
        ))
        .await;
}

/// A session of `user` (plaintext, straight to the server), held until released.
async fn hold(bed: &Bed, user: &str, password: &str) -> Conn {
    bed.db
        .connect(user, password, false)
        .await
        .unwrap_or_else(|e| panic!("{user} logs in to hold a slot: {e}"))
}

/// A new user `<prefix>_<unique>`@`%` allowed `slots` sessions at once, and its secret with
/// `extra` keys: (user, ARN).
async fn limited_user(
    bed: &Bed,
    prefix: &str,
    slots: u32,
    extra: serde_json::Value,
) -> (String, String) {
    let user = format!("{prefix}_{}", rotation_testkit::unique());
    bed.create_user(
        &user,
        "%",
        "full-Pa55word",
        &format!("WITH MAX_USER_CONNECTIONS {slots}"),
    )
    .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "full-Pa55word", extra))
        .await;
    (user, arn)
}

/// Asserts `err` is the capacity error for the `which` login, with the server's code, and
/// none of `passwords`.
fn at_capacity(err: &str, which: &str, passwords: &[&str]) {
    assert!(err.starts_with("DatabaseAtCapacity: "), "{err}");
    assert!(
        err.contains(&format!("refused the {which} login"))
            && err.contains("MySQL error 1226")
            && err.contains("max_user_connections"),
        "{err}"
    );
    for password in passwords {
        assert!(!err.contains(password), "a password in: {err}");
    }
}

async fn current_version(bed: &Bed, arn: &str) -> String {
    labels::versions_with(&bed.driver.stages(arn).await, AWSCURRENT)[0].to_string()
}

#[tokio::test]
async fn single_user_at_its_connection_limit_fails_at_the_login_and_in_finish_moving_nothing() {
    let bed = Bed::new("single").await;
    let (user, arn) = limited_user(&bed, "full_login", 1, json!({})).await;
    let token = bed.start_and_create(&arn).await;
    let (_, pending) = bed.creds(&arn, AWSPENDING).await;
    let held = hold(&bed, &user, "full-Pa55word").await;
    // The server really is full for this account: even the right password is turned away.
    assert_eq!(
        bed.db.login(&user, "full-Pa55word", false).await,
        Err("1226".into())
    );
    let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
    at_capacity(&err, AWSCURRENT, &["full-Pa55word", &pending]);
    let _ = held.disconnect().await;
    limit(&bed, &user, 0).await;
    bed.db
        .login(&user, "full-Pa55word", false)
        .await
        .expect("AWSCURRENT still logs in: nothing changed");
    assert_eq!(
        bed.db.login(&user, &pending, false).await,
        Err("1045".into())
    );

    // setSecret and testSecret complete; then finishSecret's check finds the account full.
    for step in [Step::Set, Step::Test] {
        bed.invoke(event(&arn, &token, step))
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
    }
    // The limit first: MariaDB counts an account's sessions only while it has a limit.
    limit(&bed, &user, 1).await;
    let held = hold(&bed, &user, &pending).await;
    let err = bed
        .fails_changing_no_label(&arn, &token, Step::Finish)
        .await;
    at_capacity(&err, AWSPENDING, &["full-Pa55word", &pending]);
    let _ = held.disconnect().await;
    limit(&bed, &user, 0).await;
    bed.invoke(event(&arn, &token, Step::Finish))
        .await
        .expect("the next finishSecret completes");
    assert_eq!(current_version(&bed, &arn).await, token);
    bed.db.login(&user, &pending, false).await.unwrap();
}

#[tokio::test]
async fn single_user_full_after_the_change_is_at_capacity_not_set_back_and_the_retry_completes() {
    let bed = Bed::new("single").await;
    let proxy = DbFaultProxy::start(bed.classifier(), bed.server_port()).await;
    // Two sessions allowed, so the account's sessions are counted from the start.
    let (user, arn) = limited_user(
        &bed,
        "full_set",
        2,
        json!({"port": proxy.port, "ssl": false}),
    )
    .await;
    let token = bed.start_and_create(&arn).await;
    let (_, pending) = bed.creds(&arn, AWSPENDING).await;
    let before = bed.driver.stages(&arn).await;
    // The function's session has sent its password change: before the server sees it,
    // another session of the account takes the second slot and the account is limited to one,
    // so the check of the new password, and every retry after the changing session is closed,
    // find the account full.
    let paused = proxy.pause_before_change(1);
    let fill = async {
        let held = hold(&bed, &user, "full-Pa55word").await;
        limit(&bed, &user, 1).await;
        held
    };
    let (result, held) = tokio::join!(
        bed.invoke(event(&arn, &token, Step::Set)),
        paused.hold_then(fill)
    );
    let err = result.expect_err("the check of the new password is turned away");
    at_capacity(&err, AWSPENDING, &["full-Pa55word", &pending]);
    assert!(
        err.contains("the old password was not set back")
            && err.contains("the next setSecret finds that it logs in"),
        "{err}"
    );
    assert_eq!(bed.driver.stages(&arn).await, before, "no label moved");
    assert_eq!(
        bed.db.login(&user, &pending, false).await,
        Err("1226".into()),
        "still full"
    );
    let _ = held.disconnect().await;
    limit(&bed, &user, 0).await;
    bed.db
        .login(&user, &pending, false)
        .await
        .expect("the new password is the server's");
    bed.invoke(event(&arn, &token, Step::Set))
        .await
        .expect("the next setSecret completes");
    bed.resume(&arn, &token).await;
    assert_eq!(current_version(&bed, &arn).await, token);
}
