//! A server that turns logins away for capacity, against the sandbox PostgreSQL: a role at its
//! `CONNECTION LIMIT` (SQLSTATE 53300, "too many connections for role"), filled by sessions
//! this test holds. A per-role limit fills only that role's slots, so the tests running beside
//! it on the same server are not disturbed (the server's own `max_connections` is never
//! touched). Wherever the refusal comes (a login, the check after the password change,
//! testSecret, finishSecret's guard) it is `DatabaseAtCapacity`, AWSCURRENT never moves, and
//! the next delivery of the same step completes once a slot is free.

use crate::testbed::Bed;
use rotation_core::labels::{self, AWSCURRENT, AWSPENDING};
use rotation_core::Step;
use rotation_testkit::{event, DbFaultProxy, DbProvingBed};
use serde_json::json;
use tokio_postgres::Client;

/// Sets `user`'s `CONNECTION LIMIT` (-1: none).
async fn limit(bed: &Bed, user: &str, slots: i32) {
    bed.pg
        .session(bed.dbname)
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} CONNECTION LIMIT {slots}",
            rotation_testkit::postgres::ident(user)
        ))
        .await
        .expect("set the role's connection limit");
}

/// A session of `user` (plaintext, straight to the server), held until dropped.
async fn hold(bed: &Bed, user: &str, password: &str) -> Client {
    bed.pg
        .login(user, password, bed.dbname, false)
        .await
        .unwrap_or_else(|e| panic!("{user} logs in to hold a slot: {e}"))
}

/// Asserts `err` is the capacity error for the `which` login, with the server's code and
/// message, and none of `passwords`; returns it.
fn at_capacity<'a>(err: &'a str, which: &str, passwords: &[&str]) -> &'a str {
    assert!(err.starts_with("DatabaseAtCapacity: "), "{err}");
    assert!(
        err.contains(&format!("refused the {which} login"))
            && err.contains("SQLSTATE 53300: too many connections for role"),
        "{err}"
    );
    assert!(err.contains("safe to retry"), "{err}");
    for password in passwords {
        assert!(!err.contains(password), "a password in: {err}");
    }
    err
}

/// The version AWSCURRENT is on.
async fn current_version(bed: &Bed, arn: &str) -> String {
    labels::versions_with(&bed.driver.stages(arn).await, AWSCURRENT)[0].to_string()
}

#[tokio::test]
async fn single_user_at_its_connection_limit_fails_at_the_login_and_changes_nothing() {
    let bed = Bed::single().await;
    let (user, arn) = bed
        .user_with_secret("full_login", "full-Pa55word", json!({}))
        .await;
    let token = bed.start_and_create(&arn).await;
    let (_, pending) = bed.creds(&arn, AWSPENDING).await;
    limit(&bed, &user, 1).await;
    let held = hold(&bed, &user, "full-Pa55word").await;
    // The server really is full for this role: even the right password is turned away.
    assert_eq!(
        bed.login(&user, "full-Pa55word", false).await,
        Err("53300".into())
    );
    let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
    at_capacity(&err, AWSCURRENT, &["full-Pa55word", &pending]);
    // Nothing changed: once the slot is free, AWSCURRENT logs in and AWSPENDING does not.
    drop(held);
    limit(&bed, &user, -1).await;
    bed.login(&user, "full-Pa55word", false)
        .await
        .expect("AWSCURRENT still logs in");
    assert_eq!(bed.login(&user, &pending, false).await, Err("28P01".into()));
    // The next delivery of setSecret, and the rest of the rotation, complete.
    bed.resume(&arn, &token).await;
    assert_eq!(current_version(&bed, &arn).await, token);
    bed.login(&user, &pending, false).await.unwrap();
}

#[tokio::test]
async fn single_user_full_after_the_change_is_at_capacity_not_set_back_and_the_retry_completes() {
    let bed = Bed::single().await;
    let proxy = DbFaultProxy::start(bed.classifier(), bed.server_port()).await;
    let (user, arn) = bed
        .user_with_secret(
            "full_set",
            "full-Pa55word",
            json!({"port": proxy.port, "ssl": false}),
        )
        .await;
    let token = bed.start_and_create(&arn).await;
    let (_, pending) = bed.creds(&arn, AWSPENDING).await;
    let before = bed.driver.stages(&arn).await;
    // The function's session is logged in and has sent its ALTER ROLE: before the server
    // sees it, another session of the role takes the one slot the role is then limited to, so
    // the check of the new password, and every retry after the changing session is closed,
    // find the role full.
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
    // Still full after the function left: its own sessions are gone, the held one is not.
    assert_eq!(bed.login(&user, &pending, false).await, Err("53300".into()));
    drop(held);
    limit(&bed, &user, -1).await;
    // The change stands (single user: AWSCURRENT's password is the server's no more, as
    // after any setSecret), and the next delivery of setSecret sees it and completes.
    bed.login(&user, &pending, false)
        .await
        .expect("the new password is the server's");
    bed.invoke(event(&arn, &token, Step::Set))
        .await
        .expect("the next setSecret completes");
    bed.resume(&arn, &token).await;
    assert_eq!(current_version(&bed, &arn).await, token);
    assert_eq!(
        bed.login(&user, "full-Pa55word", false).await,
        Err("28P01".into())
    );
}

#[tokio::test]
async fn single_user_limited_to_one_session_still_rotates() {
    // The changing session holds the role's one slot when the new password is first checked;
    // it is closed, and the check is tried again as the slot frees up.
    let bed = Bed::single().await;
    let (user, arn) = bed
        .user_with_secret("one_slot", "one-Pa55word", json!({}))
        .await;
    limit(&bed, &user, 1).await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, new) = bed.current(&arn).await;
    bed.login(&user, &new, false).await.unwrap();
}

#[tokio::test]
async fn alternating_users_full_after_the_change_in_test_and_in_finish_never_move_awscurrent() {
    let bed = Bed::alternating().await;
    let (user, _, arn, table) = bed.alternating_pair("full").await;
    // A first rotation makes the clone AWSCURRENT; the second sets the original user's
    // password again, while that user is at its connection limit.
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (clone, clone_password) = bed.current(&arn).await;
    assert_eq!(clone, format!("{user}_clone"));
    limit(&bed, &user, 1).await;
    let held = hold(&bed, &user, "u-Pa55word").await;
    let token = bed.start_and_create(&arn).await;
    let (pending_user, pending) = bed.creds(&arn, AWSPENDING).await;
    assert_eq!(pending_user, user);

    // setSecret: the change is made, its check is turned away.
    let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
    at_capacity(&err, AWSPENDING, &["u-Pa55word", &pending, &clone_password]);
    assert!(
        err.contains("AWSCURRENT is another user and keeps working"),
        "{err}"
    );
    assert!(bed.can_read(&clone, &clone_password, &table).await);
    drop(held);
    limit(&bed, &user, -1).await;
    bed.invoke(event(&arn, &token, Step::Set))
        .await
        .expect("the next setSecret completes");

    // testSecret and finishSecret, while the pending user is full again.
    let held = hold(&bed, &user, &pending).await;
    limit(&bed, &user, 1).await;
    let err = bed.fails_changing_no_label(&arn, &token, Step::Test).await;
    at_capacity(&err, AWSPENDING, &[&pending]);
    let err = bed
        .fails_changing_no_label(&arn, &token, Step::Finish)
        .await;
    at_capacity(&err, AWSPENDING, &[&pending]);
    assert_eq!(
        bed.current(&arn).await,
        (clone.clone(), clone_password.clone())
    );
    assert!(
        bed.can_read(&clone, &clone_password, &table).await,
        "AWSCURRENT still logs in"
    );

    // Capacity back: the same steps complete.
    drop(held);
    limit(&bed, &user, -1).await;
    for step in [Step::Test, Step::Finish] {
        bed.invoke(event(&arn, &token, step))
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
    }
    assert_eq!(current_version(&bed, &arn).await, token);
    assert!(bed.can_read(&user, &pending, &table).await);
}
