//! Alternating-users PostgreSQL rotation against the sandbox PostgreSQL 15, with a superuser
//! secret, driven through the rotation driver and moto.

use crate::testbed::{Bed, Trust};
use rotation_core::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::Step;
use rotation_testkit::assert_rotated;
use rotation_testkit::unique;
use serde_json::{json, Value};

#[tokio::test]
async fn four_rotations_alternate_and_both_users_keep_working() {
    let bed = Bed::alternating().await;
    let (user, _, arn, table) = bed.alternating_pair("four").await;
    let clone = format!("{user}_clone");
    for round in 1..=4 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        assert_rotated(&bed.driver.stages(&arn).await, &run);
        let (cur_user, cur_pw) = bed.creds(&arn, AWSCURRENT).await;
        let (prev_user, prev_pw) = bed.creds(&arn, AWSPREVIOUS).await;
        let expected = if round % 2 == 1 { &clone } else { &user };
        assert_eq!(&cur_user, expected, "round {round}");
        assert_ne!(cur_user, prev_user);
        assert!(
            bed.can_read(&cur_user, &cur_pw, &table).await,
            "AWSCURRENT reads, round {round}"
        );
        assert!(
            bed.can_read(&prev_user, &prev_pw, &table).await,
            "AWSPREVIOUS reads, round {round}"
        );
        let v: Value = serde_json::from_str(&bed.driver.value(&arn, AWSCURRENT).await).unwrap();
        assert!(v["masterarn"].is_string(), "masterarn kept");
    }
    assert!(bed
        .pg
        .stored_password(&clone)
        .await
        .starts_with("SCRAM-SHA-256$"));
}

#[tokio::test]
async fn the_superuser_is_never_used_when_the_current_credentials_are_wrong() {
    let bed = Bed::alternating().await;
    let (user, master, arn, _) = bed.alternating_pair("guard").await;
    let admin = bed.pg.session("postgres").await;
    admin
        .batch_execute(&format!(
            "ALTER ROLE \"{user}\" PASSWORD 'changed-behind-our-back'"
        ))
        .await
        .unwrap();
    let run = bed.rotate(&arn).await;
    let (step, err) = run.failure().expect("must fail");
    assert_eq!(step, Step::Set);
    assert!(
        err.starts_with("AuthenticationFailed: ") && err.contains("AWSCURRENT"),
        "{err}"
    );
    assert!(err.contains("superuser secret was not used"), "{err}");
    let log = bed.pg.log_text();
    assert!(
        !log.contains(&format!("user={master}")),
        "no session was opened as the superuser"
    );
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_roles WHERE rolname = $1",
            &[&format!("{user}_clone")],
        )
        .await
        .unwrap();
    assert!(exists.is_none(), "no clone was created");
}

#[tokio::test]
async fn a_pending_secret_for_another_user_is_refused() {
    let bed = Bed::alternating().await;
    let (user, _, arn, _) = bed.alternating_pair("deputy").await;
    let victim = format!("victim_{}", unique());
    bed.pg
        .create_login("postgres", &victim, "victim-Pa55", false, &[])
        .await;
    let token = bed.driver.start(&arn).await.unwrap();
    let ev = |step| rotation_testkit::event(&arn, &token, step);
    bed.invoke(ev(Step::Create)).await.unwrap();
    let pending: Value = serde_json::from_str(&bed.driver.value(&arn, AWSPENDING).await).unwrap();
    assert_eq!(pending["username"], format!("{user}_clone"));
    let tampered = bed
        .tamper_pending(&arn, &token, "username", json!(victim))
        .await;
    let err = bed
        .invoke(rotation_testkit::event(&arn, &tampered, Step::Set))
        .await
        .unwrap_err();
    assert!(err.starts_with("ConfusedDeputy: "), "{err}");
    bed.login(&victim, "victim-Pa55", false)
        .await
        .expect("victim untouched");
}

#[tokio::test]
async fn a_name_too_long_to_clone_fails_create_and_changes_nothing() {
    let bed = Bed::alternating().await;
    // 58 bytes: with "_clone" 64, one more than PostgreSQL allows.
    let user = format!("{}{}", "l".repeat(48), unique());
    bed.pg
        .create_login("postgres", &user, "long-Pa55", false, &[])
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "long-Pa55", json!({"masterarn": "arn:unused"})))
        .await;
    let run = bed.rotate(&arn).await;
    let (step, err) = run.failure().expect("must fail");
    assert_eq!(step, Step::Create);
    assert!(
        err.starts_with("MalformedSecret: ") && err.contains("limit of 63 bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn every_step_twice_in_a_row_and_twice_at_once() {
    let bed = Bed::alternating().await;
    for at_once in [false, true] {
        let (user, _, arn, table) = bed.alternating_pair("replay").await;
        bed.rotate_each_step_twice(&arn, at_once).await;
        let (cur_user, cur_pw) = bed.creds(&arn, AWSCURRENT).await;
        assert_eq!(cur_user, format!("{user}_clone"));
        assert!(bed.can_read(&cur_user, &cur_pw, &table).await);
        assert!(
            bed.can_read(&user, "u-Pa55word", &table).await,
            "the original user still works"
        );
    }
}

#[tokio::test]
async fn with_the_option_clone_sessions_act_as_the_original_role() {
    let bed = Bed::new("alternating", Trust::SandboxCa, true).await;
    let (user, _, arn, _) = bed.alternating_pair("owner").await;
    let admin = bed.pg.session("postgres").await;
    admin
        .batch_execute(&format!("GRANT CREATE ON SCHEMA public TO \"{user}\""))
        .await
        .unwrap();
    assert!(bed.rotate(&arn).await.succeeded());
    let (clone, pw) = bed.creds(&arn, AWSCURRENT).await;
    assert_eq!(clone, format!("{user}_clone"));
    let session = bed.pg.login(&clone, &pw, "postgres", false).await.unwrap();
    let table = format!("made_by_clone_{}", unique());
    session
        .batch_execute(&format!("CREATE TABLE \"{table}\" (v int)"))
        .await
        .unwrap();
    let owner: String = admin
        .query_one(
            "SELECT tableowner::text FROM pg_tables WHERE tablename = $1",
            &[&table],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        owner, user,
        "objects made by the clone belong to the original role"
    );
    // The next rotation (back to the original user) still works, and testSecret checked the
    // login user, not the role the session acts as.
    assert!(bed.rotate(&arn).await.succeeded());
}

#[tokio::test]
async fn privileges_come_from_the_awscurrent_user_never_from_a_name() {
    // AWSCURRENT is `pgx..._clone_clone`; the pending user `pgx..._clone` is new; an unrelated
    // role `pgx...` exists. `GRANT "pgx..."` (the pending name without `_clone`) would hand the
    // unrelated role's privileges over.
    let bed = Bed::alternating().await;
    let stem = format!("pgx{}", unique());
    let current = format!("{stem}_clone_clone");
    let (mine, theirs) = (format!("mine_{}", unique()), format!("theirs_{}", unique()));
    bed.pg
        .create_login("postgres", &current, "Cur-Pa55word", false, &[])
        .await;
    bed.pg
        .create_login("postgres", &stem, "Unrelated-Pa55", false, &[])
        .await;
    bed.pg
        .session("postgres")
        .await
        .batch_execute(&format!(
            "CREATE TABLE \"{mine}\" (v int); INSERT INTO \"{mine}\" VALUES (42); GRANT SELECT ON \"{mine}\" TO \"{current}\";
             CREATE TABLE \"{theirs}\" (v int); INSERT INTO \"{theirs}\" VALUES (42); GRANT SELECT ON \"{theirs}\" TO \"{stem}\";"
        ))
        .await
        .unwrap();
    let master = bed
        .superuser_secret(&format!("master_{}", unique()), "master-Pa55", json!({}))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&current, "Cur-Pa55word", json!({"masterarn": master})))
        .await;
    for round in 1..=3 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        for stage in [AWSCURRENT, AWSPREVIOUS] {
            let (u, pw) = bed.creds(&arn, stage).await;
            assert!(
                bed.can_read(&u, &pw, &mine).await,
                "round {round}: {stage} {u}"
            );
            assert!(
                !bed.can_read(&u, &pw, &theirs).await,
                "round {round}: {stage} {u} never gets the unrelated role's privileges"
            );
        }
    }
}
