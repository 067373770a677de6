//! Alternating users: the pending login is made a copy of the current one on every rotation,
//! in both directions: login options (default database, CHECK_POLICY, CHECK_EXPIRATION), and,
//! in the secret's database, its user's role memberships and permissions (what the pending
//! login holds and the current one does not is taken away); in `master`, server permissions.
//! Contained databases are refused before anything changes.

use crate::testbed::Bed;
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_testkit::{unique, ProvingBed};
use serde_json::json;

#[tokio::test]
async fn the_pair_holds_the_same_roles_permissions_and_options_both_ways() {
    let bed = Bed::new("alternating").await;
    let db = format!("app_{}", unique());
    bed.server.add_database(&db);
    let (login, arn) = bed
        .strategy_login("pair", "Pair-Pa55word-1", json!({"dbname": db}))
        .await;
    bed.admin_sql(
        &db,
        &format!(
            "ALTER LOGIN [{login}] WITH DEFAULT_DATABASE = [{db}], CHECK_POLICY = OFF; \
             CREATE USER [{login}] FOR LOGIN [{login}]; \
             ALTER ROLE [db_datareader] ADD MEMBER [{login}]; \
             GRANT INSERT ON SCHEMA::[dbo] TO [{login}]; \
             GRANT VIEW DEFINITION TO [{login}] WITH GRANT OPTION; \
             DENY DELETE TO [{login}]"
        ),
    )
    .await;
    let clone = format!("{login}_clone");
    let want = bed.access_in(&db, &login).await;
    assert_eq!(want.0, vec!["db_datareader".to_string()]);
    assert_eq!(
        want.1.len(),
        4,
        "CONNECT, INSERT, VIEW DEFINITION, DELETE: {want:?}"
    );

    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "round 1: {:?}", run.failure());
    assert_eq!(bed.current(&arn).await.0, clone);
    bed.assert_current_logs_in(&arn).await;
    assert_eq!(
        bed.access_in(&db, &clone).await,
        want,
        "the clone is a copy"
    );
    let options = format!(
        "SELECT default_database_name FROM sys.sql_logins WHERE name = N'{clone}' AND is_policy_checked = 0"
    );
    assert_eq!(bed.admin_texts("master", &options).await, vec![db.clone()]);

    // The original gains a role and a permission the clone (now current) lacks, and the clone
    // gains one more: the next rotation takes them from the original and copies the clone's.
    bed.admin_sql(
        &db,
        &format!(
            "ALTER ROLE [db_datawriter] ADD MEMBER [{login}]; GRANT SELECT TO [{login}]; \
             GRANT CREATE TABLE TO [{clone}]"
        ),
    )
    .await;
    let want = bed.access_in(&db, &clone).await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "round 2: {:?}", run.failure());
    assert_eq!(bed.current(&arn).await.0, login);
    bed.assert_current_logs_in(&arn).await;
    assert_eq!(
        bed.access_in(&db, &login).await,
        want,
        "the original is a copy again"
    );
    let (previous, password) = bed.creds(&arn, AWSPREVIOUS).await;
    assert_eq!(previous, clone);
    assert_eq!(
        bed.server.password(&clone),
        Some(password),
        "AWSPREVIOUS still logs in"
    );
}

#[tokio::test]
async fn in_master_the_server_permissions_are_copied() {
    let bed = Bed::new("alternating").await;
    let (login, arn) = bed.fresh_pair("server").await;
    bed.admin_sql("master", &format!("GRANT VIEW SERVER STATE TO [{login}]"))
        .await;
    let want = bed.server_permissions(&login).await;
    assert!(
        want.iter().any(|p| p.starts_with("VIEW SERVER STATE")),
        "{want:?}"
    );
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let clone = format!("{login}_clone");
    assert_eq!(bed.server_permissions(&clone).await, want);
    bed.assert_current_logs_in(&arn).await;
}

#[tokio::test]
async fn a_contained_database_is_refused_for_alternating_users_and_nothing_changes() {
    let bed = Bed::new("alternating").await;
    let db = format!("contained_{}", unique());
    bed.server.add_contained_database(&db);
    let (login, arn) = bed
        .strategy_login("contained", "Pair-Pa55word-2", json!({"dbname": db}))
        .await;
    bed.admin_sql(&db, &format!("CREATE USER [{login}] FOR LOGIN [{login}]"))
        .await;
    let error = bed.failure_of(&arn).await;
    assert!(
        error.starts_with("UnsupportedServer") && error.contains("contained"),
        "{error}"
    );
    assert!(bed.server.password(&format!("{login}_clone")).is_none());
    let (user, password) = bed.creds(&arn, AWSCURRENT).await;
    assert_eq!(bed.server.password(&user), Some(password));
}

/// The login that owns the database maps to `dbo` there, which no other login can be: the copy
/// is refused before the pending password is set, and AWSCURRENT keeps working.
#[tokio::test]
async fn a_login_that_owns_the_database_is_refused() {
    let bed = Bed::new("alternating").await;
    let db = format!("owned_{}", unique());
    let (login, arn) = bed.fresh_pair("owner").await;
    bed.server.add_database_owned_by(&db, &login);
    let secret = {
        let (user, password) = bed.creds(&arn, AWSCURRENT).await;
        let master = bed
            .superuser_secret(
                &format!("m_{}", unique()),
                crate::testbed::MASTER_PASSWORD,
                json!({}),
            )
            .await;
        bed.secret_json(&user, &password, json!({"dbname": db, "masterarn": master}))
    };
    let owned = bed.secret("sqlserver", &secret).await;
    let error = bed.failure_of(&owned).await;
    assert!(
        error.starts_with("SetSecretFailed") && error.contains("owns database"),
        "{error}"
    );
    assert_eq!(
        bed.server
            .password(&format!("{login}_clone"))
            .map(|p| p.len()),
        Some(36),
        "the pending login has only its placeholder password"
    );
    bed.assert_current_logs_in(&owned).await;
}
