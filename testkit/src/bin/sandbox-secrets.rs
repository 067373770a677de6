//! Secrets Manager chores for the demo, against the sandbox's moto server (`MOTO_ENDPOINT`):
//!
//!   sandbox-secrets create NAME JSON     create a secret (AWSCURRENT = JSON)
//!   sandbox-secrets start NAME TOKEN     start a rotation as RotateSecret does
//!   sandbox-secrets table NAME           print versions, labels and a password fingerprint
//!   sandbox-secrets login NAME           log in to the sandbox PostgreSQL (or, for MySQL-wire
//!                                        engines, MariaDB) with AWSCURRENT and AWSPREVIOUS,
//!                                        and say which credentials work

use std::hash::{Hash, Hasher};

use rotation_testkit::{Moto, PgAdmin, RotationDriver};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let moto = Moto::from_env();
    let driver = RotationDriver::new(&moto).await;
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["create", name, json] => {
            println!("{}", driver.create_secret(name, json).await);
        }
        ["start", name, token] => {
            if let Err(e) = driver.start_with_token(name, token).await {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        ["table", name] => table(&driver, name).await,
        ["login", name] => login(&driver, name).await,
        _ => {
            eprintln!("usage: sandbox-secrets create NAME JSON | start NAME TOKEN | table NAME | login NAME");
            std::process::exit(2);
        }
    }
}

/// Prints one row per version: id, labels, and a short fingerprint of its password (never the
/// password itself), so a reader can see which value moved where.
async fn table(driver: &RotationDriver, name: &str) {
    let stages = driver.stages(name).await;
    println!("{:<38} {:<26} password fingerprint", "VersionId", "Stages");
    for (version, labels) in &stages {
        let out = driver
            .client()
            .get_secret_value()
            .secret_id(name)
            .version_id(version)
            .set_version_stage(labels.first().cloned())
            .send()
            .await;
        let fingerprint = match out.ok().and_then(|o| o.secret_string().map(str::to_string)) {
            Some(value) => {
                let password = serde_json::from_str::<serde_json::Value>(&value)
                    .ok()
                    .and_then(|v| v["password"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let mut h = std::collections::hash_map::DefaultHasher::new();
                password.hash(&mut h);
                format!("{:08x}", h.finish() >> 32)
            }
            None => "(no value)".to_string(),
        };
        println!("{version:<38} {:<26} {fingerprint}", labels.join(","));
    }
}

/// Tries the AWSCURRENT and AWSPREVIOUS credentials against the sandbox PostgreSQL, or the
/// sandbox MariaDB for a `mariadb` secret.
async fn login(driver: &RotationDriver, name: &str) {
    let pg = PgAdmin::from_env();
    let maria = rotation_testkit::maria::MariaAdmin::from_env();
    for stage in ["AWSCURRENT", "AWSPREVIOUS"] {
        let value: serde_json::Value =
            serde_json::from_str(&driver.value(name, stage).await).expect("the secret is JSON");
        let user = value["username"].as_str().unwrap_or_default();
        let password = value["password"].as_str().unwrap_or_default();
        let dbname = value["dbname"].as_str().unwrap_or("dev");
        let mysql_wire = ["mariadb", "mysql", "aurora-mysql"]
            .contains(&value["engine"].as_str().unwrap_or_default());
        let outcome = if mysql_wire {
            match maria.login(user, password, true).await {
                Ok(()) => "login accepted".to_string(),
                Err(code) => format!("login refused (MySQL error {code})"),
            }
        } else {
            match pg.login(user, password, dbname, false).await {
                Ok(_) => "login accepted".to_string(),
                Err(e) => format!(
                    "login refused (SQLSTATE {})",
                    e.code().map(|c| c.code()).unwrap_or("none")
                ),
            }
        };
        println!("  {stage:<11} user {user:<22} {outcome}");
    }
}
