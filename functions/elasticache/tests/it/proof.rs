//! Proof before change: when the secret names an endpoint, setSecret calls ModifyUser only
//! after the cache accepted `AUTH` with AWSCURRENT over verified TLS (as the database functions
//! first log in with AWSCURRENT). A password the cache refuses, or an endpoint the function
//! cannot reach, stops the rotation with nothing changed, and says why.

use std::time::Duration;

use crate::testbed::Bed;
use rotation_core::labels::{AWSCURRENT, AWSPENDING};
use rotation_core::Step;
use serde_json::json;

/// A user in the list, but AWSCURRENT holds a password its writer chose, not the user's: the
/// writer must not end up with a working password, nor the owner's clients locked out.
#[tokio::test]
async fn set_secret_proves_awscurrent_before_it_changes_the_user() {
    let bed = Bed::new().await;
    let (name, user_arn) = bed.user("proof", "Owner-Pa55word-000001").await;
    let json = bed.secret_json(&name, &user_arn, "Chosen-Pa55word-00001", true, json!({}));
    let arn = bed.secret("cache", &json).await;
    let token = bed.start_and_create(&arn).await;
    let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
    assert!(
        err.starts_with("AuthenticationFailed: ")
            && err.contains("AWSCURRENT")
            && err.contains("WRONGPASS")
            && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(!err.contains("Chosen-Pa55word-00001"), "{err}");
    // finishSecret does not set the pair either.
    let err = bed
        .fails_changing_no_label(&arn, &token, Step::Finish)
        .await;
    assert!(err.starts_with("FinishSecretRefused: "), "{err}");
    // Had ModifyUser run, the user would be `modifying` for 0.3 s, then change.
    tokio::time::sleep(Duration::from_millis(600)).await;
    bed.redis.login(&name, "Owner-Pa55word-000001").unwrap();
    assert_eq!(
        bed.redis.login(&name, "Chosen-Pa55word-00001"),
        Err("WRONGPASS".into())
    );
    let (_, pending) = bed.creds(&arn, AWSPENDING).await;
    assert_eq!(bed.redis.login(&name, &pending), Err("WRONGPASS".into()));
}

/// An endpoint the function cannot reach proves nothing: setSecret refuses (fail closed) and
/// says how to rotate without one; testSecret and finishSecret refuse too.
#[tokio::test]
async fn an_endpoint_the_function_cannot_reach_stops_the_rotation_before_any_change() {
    let bed = Bed::new().await;
    let (name, user_arn) = bed.user("unreach", "Initial-Pa55word-0001").await;
    // A closed port on loopback: no connection.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let json = bed.secret_json(
        &name,
        &user_arn,
        "Initial-Pa55word-0001",
        false,
        json!({"host": "127.0.0.1", "port": closed}),
    );
    let arn = bed.secret("cache", &json).await;
    let token = bed.start_and_create(&arn).await;
    for step in [Step::Set, Step::Test, Step::Finish] {
        let err = bed.fails_changing_no_label(&arn, &token, step).await;
        assert!(err.starts_with("DatabaseUnreachable: "), "{step}: {err}");
        assert!(
            err.contains(&format!("127.0.0.1:{closed}")),
            "{step}: {err}"
        );
        if step == Step::Set {
            assert!(
                err.contains("AWSCURRENT") && err.contains("remove host"),
                "{err}"
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    bed.redis.login(&name, "Initial-Pa55word-0001").unwrap();
    let (_, pending) = bed.creds(&arn, AWSPENDING).await;
    assert_eq!(bed.redis.login(&name, &pending), Err("WRONGPASS".into()));
    let (_, current) = bed.creds(&arn, AWSCURRENT).await;
    assert_eq!(current, "Initial-Pa55word-0001");
}
