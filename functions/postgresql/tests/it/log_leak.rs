//! Captures every log line, at trace level, of database rotations (PostgreSQL and Redshift,
//! single and alternating users, with a superuser secret) and proves that no password, and no
//! md5 password hash (which md5 authentication accepts as the password), appears in them.

use crate::testbed::{Bed, Trust};
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_core::SecretValue;
use rotation_postgresql::engines::REDSHIFT;
use rotation_postgresql::redshift::{md5_password, Redshift};
use rotation_testkit::unique;
use rotation_testkit::LogCapture;
use serde_json::json;

#[tokio::test]
async fn no_password_or_hash_reaches_the_logs() {
    let capture = LogCapture::everything_at_trace();
    let mut secrets: Vec<String> = Vec::new();

    let rs: Bed<Redshift> = Bed::with_dialect(
        Redshift,
        "alternating",
        Trust::SandboxCa,
        REDSHIFT.password_defaults,
    )
    .await;
    let pg = Bed::alternating().await;
    for (bed_name, dbname) in [("redshift", "dev"), ("postgres", "postgres")] {
        let tag = unique();
        let user = format!("leak_{tag}");
        let master = format!("leak_master_{tag}");
        let (user_pw, master_pw) = (format!("User-{tag}-Pa55"), format!("Master-{tag}-Pa55"));
        secrets.extend([user_pw.clone(), master_pw.clone()]);
        let admin_bed = if bed_name == "redshift" {
            &rs.pg
        } else {
            &pg.pg
        };
        admin_bed
            .create_login(dbname, &user, &user_pw, bed_name == "redshift", &[])
            .await;
        admin_bed
            .session(dbname)
            .await
            .batch_execute(&format!(
                "CREATE ROLE \"{master}\" LOGIN SUPERUSER PASSWORD '{master_pw}'"
            ))
            .await
            .unwrap();
        macro_rules! rotate_twice {
            ($bed:expr) => {{
                let bed = $bed;
                let master_arn = bed.secret(&bed.secret_json(&master, &master_pw, json!({}))).await;
                let arn = bed
                    .secret(&bed.secret_json(&user, &user_pw, json!({"masterarn": master_arn, "ssl": true})))
                    .await;
                for _ in 0..2 {
                    let run = bed.rotate(&arn).await;
                    assert!(run.succeeded(), "{:?}", run.failure());
                    for stage in [AWSCURRENT, AWSPREVIOUS] {
                        let (u, pw) = bed.creds(&arn, stage).await;
                        secrets.push(md5_password(&u, &SecretValue::new(pw.as_str())));
                        secrets.push(pw);
                    }
                }
                // A failing rotation logs its error too: AWSCURRENT's password is wrong.
                let broken = bed
                    .secret(&bed.secret_json(&user, "Wrong-Pa55-in-secret", json!({"masterarn": master_arn})))
                    .await;
                assert!(bed.rotate(&broken).await.failure().is_some());
                secrets.push("Wrong-Pa55-in-secret".into());
            }};
        }
        if bed_name == "redshift" {
            rotate_twice!(&rs);
        } else {
            rotate_twice!(&pg);
        }
    }

    let logs = capture.text();
    assert!(
        logs.matches("rotation step finished").count() >= 16,
        "the capture holds the rotations"
    );
    assert!(logs.contains("rotation step failed"));
    // The debug trail of alternating users is there: each check, each login attempt with its
    // outcome, each statement's operation (the generic binary's test checks the invocation
    // context every line carries under the runtime).
    for trail in [
        "checked: AWSPENDING is the other user of the pair on the same server",
        "checked: AWSCURRENT logs in, and the superuser secret is for its server",
        "copying the current user to the pending one",
        "\"login attempt\"",
        "\"statement\"",
        "proving the change: AWSPENDING logs in",
    ] {
        assert!(logs.contains(trail), "no debug trail line {trail}");
    }
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a password or md5 hash leaked into the logs"
        );
    }
    eprintln!(
        "checked {} bytes of logs for {} secrets",
        logs.len(),
        secrets.len()
    );
}
