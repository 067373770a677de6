//! Two secrets naming the same ElastiCache user: not refused (nothing ElastiCache reports tells
//! another secret's password from this secret's previous one, or from a password set by hand),
//! documented in docs/engines.md instead, and shown here. A user holds at most two passwords, and a
//! rotation keeps exactly its own pending and current ones, so rotating secret A drops secret
//! B's password: B's clients are locked out. B's next rotation then stops at setSecret's proof
//! (B's AWSCURRENT no longer authenticates), so it cannot lock A's clients out in turn.

use crate::testbed::Bed;
use rotation_core::labels::AWSCURRENT;

#[tokio::test]
async fn two_secrets_naming_one_user_lock_each_other_out() {
    let bed = Bed::new().await;
    let (name, user_arn) = bed
        .user_with_passwords(
            "shared",
            &["Secret-A-Pa55word-0001", "Secret-B-Pa55word-0001"],
        )
        .await;
    let a = bed
        .secret(
            "cache-a",
            &bed.secret_json(
                &name,
                &user_arn,
                "Secret-A-Pa55word-0001",
                true,
                serde_json::json!({}),
            ),
        )
        .await;
    let b = bed
        .secret(
            "cache-b",
            &bed.secret_json(
                &name,
                &user_arn,
                "Secret-B-Pa55word-0001",
                true,
                serde_json::json!({}),
            ),
        )
        .await;
    bed.stage_logs_in(&b, AWSCURRENT).await.unwrap();

    let run = bed.rotate(&a).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    bed.stage_logs_in(&a, AWSCURRENT).await.unwrap();
    // B's clients are locked out: the user now holds A's new and A's old password only.
    assert_eq!(
        bed.stage_logs_in(&b, AWSCURRENT).await,
        Err("WRONGPASS".into())
    );

    // B's rotation cannot take the user back: its AWSCURRENT is refused before ModifyUser.
    let err = bed.failure_of(&b).await;
    assert!(
        err.starts_with("AuthenticationFailed: ") && err.contains("AWSCURRENT"),
        "{err}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    bed.stage_logs_in(&a, AWSCURRENT).await.unwrap();
}
