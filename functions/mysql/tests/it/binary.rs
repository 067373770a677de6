//! The real `mysql` and `mariadb` binaries (their `main` and the shared `serve`), run as Lambda
//! runs them (a child process polling a loopback Lambda Runtime API, moto as Secrets Manager
//! and RDS, the sandbox MariaDB as the database): each rotates a single-user secret and an
//! alternating-users pair with what its own `main` builds.

use std::path::Path;

use crate::testbed::{Bed, Options};
use rotation_core::labels::AWSCURRENT;
use rotation_mysql::Flavor;
use rotation_testkit::{rotate_with_binary, DbProvingBed, ProvingBed};
use serde_json::json;

async fn rotates_single_and_alternating_users(flavor: Flavor, binary: &Path) {
    let bed = Bed::with_options(flavor, "single", Options::default()).await;
    let (user, arn) = bed
        .new_user_with_secret("binsingle", "Single-Pa55word-1", json!({"ssl": true}))
        .await;
    rotate_with_binary(binary, "single", &bed.db.ca, &bed.driver, &arn).await;
    let (_, new) = bed.creds(&arn, AWSCURRENT).await;
    ProvingBed::login(&bed, &user, &new)
        .await
        .expect("the new password logs in");
    assert!(ProvingBed::login(&bed, &user, "Single-Pa55word-1")
        .await
        .is_err());

    let (user, arn) = bed.fresh_pair("bin").await;
    rotate_with_binary(binary, "alternating", &bed.db.ca, &bed.driver, &arn).await;
    let (clone, password) = bed.creds(&arn, AWSCURRENT).await;
    assert_eq!(clone, format!("{user}_clone"));
    ProvingBed::login(&bed, &clone, &password)
        .await
        .expect("the clone logs in");
}

#[tokio::test]
async fn the_mysql_binary_rotates_single_and_alternating_users() {
    rotates_single_and_alternating_users(Flavor::MYSQL, Path::new(env!("CARGO_BIN_EXE_mysql")))
        .await;
}

#[tokio::test]
async fn the_mariadb_binary_rotates_single_and_alternating_users() {
    rotates_single_and_alternating_users(Flavor::MARIADB, Path::new(env!("CARGO_BIN_EXE_mariadb")))
        .await;
}
