//! The Redshift function against the sandbox PostgreSQL standing in for Redshift: database `dev`
//! with md5 password authentication, as Redshift uses. Every statement here is one both engines
//! accept; Redshift-only behaviour is covered by the exact-statement unit tests.

use crate::testbed::{Bed, Trust};
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_postgresql::engines::REDSHIFT;
use rotation_postgresql::redshift::Redshift;
use rotation_testkit::assert_rotated;
use rotation_testkit::unique;
use serde_json::json;

async fn bed(strategy: &str) -> Bed<Redshift> {
    Bed::with_dialect(
        Redshift,
        strategy,
        Trust::SandboxCa,
        REDSHIFT.password_defaults,
    )
    .await
}

#[tokio::test]
async fn single_user_three_rotations_with_md5_passwords() {
    let bed = bed("single").await;
    let user = format!("rs_single_{}", unique());
    bed.pg
        .create_login("dev", &user, "Initial-Pa55", true, &[])
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "Initial-Pa55", json!({"ssl": true})))
        .await;
    let mut old = "Initial-Pa55".to_string();
    for round in 1..=3 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        assert_rotated(&bed.driver.stages(&arn).await, &run);
        let (_, new) = bed.current(&arn).await;
        assert_eq!(bed.login(&user, &old, false).await, Err("28P01".into()));
        bed.login(&user, &new, false).await.unwrap();
        assert!(
            bed.pg.stored_password(&user).await.starts_with("md5"),
            "stored in Redshift's md5 form"
        );
        old = new;
    }
}

#[tokio::test]
async fn alternating_users_copy_privileges_to_the_clone() {
    let bed = bed("alternating").await;
    let tag = unique();
    let user = format!("rs_alt_{tag}");
    let master = format!("rs_master_{tag}");
    let schema = format!("sales_{tag}");
    bed.pg
        .create_login("dev", &user, "User-Pa55", true, &[])
        .await;
    let admin = bed.pg.session("dev").await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{master}\" LOGIN SUPERUSER PASSWORD 'Master-Pa55';
             CREATE SCHEMA \"{schema}\";
             CREATE TABLE \"{schema}\".orders (v int); INSERT INTO \"{schema}\".orders VALUES (7);
             CREATE TABLE \"{schema}\".secret_stuff (v int);
             GRANT USAGE ON SCHEMA \"{schema}\" TO \"{user}\";
             GRANT SELECT, INSERT ON \"{schema}\".orders TO \"{user}\";"
        ))
        .await
        .unwrap();
    let master_arn = bed
        .secret(&bed.secret_json(&master, "Master-Pa55", json!({})))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "User-Pa55", json!({"masterarn": master_arn})))
        .await;
    for round in 1..=3 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        assert_rotated(&bed.driver.stages(&arn).await, &run);
        for stage in [AWSCURRENT, AWSPREVIOUS] {
            let (u, pw) = bed.creds(&arn, stage).await;
            let client = bed
                .pg
                .login(&u, &pw, "dev", false)
                .await
                .unwrap_or_else(|e| panic!("{stage} {u}: {e}"));
            let v: i32 = client
                .query_one(&format!("SELECT v FROM \"{schema}\".orders"), &[])
                .await
                .unwrap_or_else(|e| panic!("{stage} {u} reads orders: {e}"))
                .get(0);
            assert_eq!(v, 7);
            assert!(
                client
                    .query(&format!("SELECT v FROM \"{schema}\".secret_stuff"), &[])
                    .await
                    .is_err(),
                "{u} gets no more than the original user had"
            );
        }
    }
    // The clone got the privileges by grants, not by membership of the original user.
    let clone = format!("{user}_clone");
    let member = admin
        .query_opt("SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = $1", &[&clone])
        .await
        .unwrap();
    assert!(member.is_none());
    let can_insert: bool = admin
        .query_one(
            &format!("SELECT has_table_privilege($1, '\"{schema}\".orders', 'INSERT')"),
            &[&clone],
        )
        .await
        .unwrap()
        .get(0);
    assert!(can_insert);
}

#[tokio::test]
async fn mixed_case_user_names_get_an_md5_salted_with_the_stored_name() {
    // The stand-in keeps the case of a quoted name, as Redshift does with
    // enable_case_sensitive_identifier on: a hash salted with the lowercased name would never
    // log in.
    let bed = bed("single").await;
    let user = format!("RsMixed_{}", unique());
    bed.pg
        .create_login("dev", &user, "Mixed-Pa55", true, &[])
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "Mixed-Pa55", json!({})))
        .await;
    bed.rotations_store_md5(&arn, &user, 2).await;

    let bed = bed_alternating().await;
    let tag = unique();
    let user = format!("RsAlt_Mixed_{tag}");
    let master = format!("RsMaster_{tag}");
    bed.pg
        .create_login("dev", &user, "User-Pa55", true, &[])
        .await;
    let master_arn = bed
        .superuser_secret(&master, "Master-Pa55", json!({}))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "User-Pa55", json!({"masterarn": master_arn})))
        .await;
    for round in 1..=3 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        for stage in [AWSCURRENT, AWSPREVIOUS] {
            let (u, pw) = bed.creds(&arn, stage).await;
            bed.login(&u, &pw, false)
                .await
                .unwrap_or_else(|e| panic!("round {round} {stage} {u}: {e}"));
        }
    }
}

async fn bed_alternating() -> Bed<Redshift> {
    bed("alternating").await
}

#[tokio::test]
async fn a_pending_user_stored_in_another_case_is_refused_before_any_change() {
    // Redshift folds names: a pending user whose stored name differs from the secret's only in
    // case would get a password salted with the wrong name, and never log in.
    let bed = bed_alternating().await;
    let tag = unique();
    let user = format!("rscase_{tag}");
    let folded_clone = format!("RSCASE_{tag}_clone");
    bed.pg
        .create_login("dev", &user, "User-Pa55", true, &[])
        .await;
    bed.pg
        .create_login("dev", &folded_clone, "Other-Pa55", true, &[])
        .await;
    let master_arn = bed
        .superuser_secret(&format!("rsmaster_{tag}"), "Master-Pa55", json!({}))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "User-Pa55", json!({"masterarn": master_arn})))
        .await;
    let run = bed.rotate(&arn).await;
    let (step, error) = run.failure().expect("refused");
    assert_eq!(step, rotation_core::Step::Set);
    assert!(
        error.starts_with("MalformedSecret") && error.contains("differs only in case"),
        "{error}"
    );
    assert!(!bed.clone_exists(&user).await, "no clone was created");
    bed.login(&folded_clone, "Other-Pa55", false)
        .await
        .expect("the other user is untouched");
    bed.login(&user, "User-Pa55", false)
        .await
        .expect("AWSCURRENT is untouched");
}
