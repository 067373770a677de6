//! Hostile names and passwords under every `sql_mode` that changes quoting: user names with
//! quotes, backticks, backslashes, every punctuation character and unicode; passwords drawn
//! from every punctuation character. Single user and alternating users, with the server's
//! default `sql_mode` and then with `NO_BACKSLASH_ESCAPES,ANSI_QUOTES`. No password reaches
//! the function's logs (captured at trace level) or the server's general and binary logs.
//!
//! One test: it changes the server's global `sql_mode`, which no other test may see half-way.
//! It holds the test bed's [`SqlModeChange`] (no other bed of the process exists meanwhile),
//! and `.config/nextest.toml` runs it alone (no other test process runs meanwhile).

use crate::testbed::SqlModeChange;
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_testkit::{policy_excluding_nothing, unique, LogCapture, PUNCTUATION};
use serde_json::json;

fn hostile_name(tag: &str) -> String {
    // 6 + 32 + 1 + 10 + 4 = 53 characters; the clone fits within 80.
    format!("h\\'`\"{PUNCTUATION} {tag}Ünï")
}

#[tokio::test]
async fn hostile_names_and_passwords_under_every_quoting_mode() {
    let capture = LogCapture::everything_at_trace();
    let policy = policy_excluding_nothing();
    let sql_mode = SqlModeChange::begin().await;
    let single = sql_mode.bed("single").await.with_policy(policy.clone());
    let alternating = sql_mode.bed("alternating").await.with_policy(policy);
    let mut secrets = Vec::new();
    for mode in ["DEFAULT", "'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'"] {
        single
            .db
            .run(&format!("SET GLOBAL sql_mode = {mode}"))
            .await;
        // Single user.
        let user = hostile_name(&unique());
        let first = format!("{PUNCTUATION}Ü-1");
        single.create_user(&user, "%", &first, "").await;
        let arn = single
            .secret(&single.secret_json(&user, &first, json!({"ssl": true})))
            .await;
        for round in 1..=2 {
            let run = single.rotate(&arn).await;
            assert!(
                run.succeeded(),
                "{mode} single round {round}: {:?}",
                run.failure()
            );
            let (u, pw) = single.current(&arn).await;
            assert_eq!(u, user);
            single
                .db
                .login(&user, &pw, true)
                .await
                .unwrap_or_else(|e| panic!("{mode}: {e}"));
        }
        secrets.extend(single.driver.passwords_of(&arn).await);
        // Alternating users: a hostile original and a hostile superuser.
        let user = hostile_name(&unique());
        let master = hostile_name(&unique());
        let (user_pw, master_pw) = (format!("{PUNCTUATION}u"), format!("{PUNCTUATION}m"));
        alternating.create_user(&user, "%", &user_pw, "").await;
        let db = format!("d_{}", unique());
        alternating
            .db
            .run(&format!(
                "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.t (v INT); INSERT INTO `{db}`.t VALUES (42); \
                 GRANT SELECT ON `{db}`.* TO {}",
                rotation_mysql::account(&user, "%")
            ))
            .await;
        let master_arn = alternating
            .superuser_secret(&master, &master_pw, json!({"ssl": true}))
            .await;
        let arn = alternating
            .secret(&alternating.secret_json(
                &user,
                &user_pw,
                json!({"masterarn": master_arn, "ssl": true}),
            ))
            .await;
        for round in 1..=3 {
            let run = alternating.rotate(&arn).await;
            assert!(
                run.succeeded(),
                "{mode} alternating round {round}: {:?}",
                run.failure()
            );
            for stage in [AWSCURRENT, AWSPREVIOUS] {
                let (u, pw) = alternating.creds(&arn, stage).await;
                assert!(
                    alternating.db.can_read(&u, &pw, &db).await,
                    "{mode} round {round}: {stage} {u}"
                );
            }
        }
        secrets.extend(alternating.driver.passwords_of(&arn).await);
        secrets.push(master_pw);
    }
    single.db.run("SET GLOBAL sql_mode = DEFAULT").await;
    capture.assert_none_of(&secrets);
    let logs = single.db.logs();
    for secret in &secrets {
        assert!(
            !logs.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a password reached the server's general or binary log"
        );
    }
}
