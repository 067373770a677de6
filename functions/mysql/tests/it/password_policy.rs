//! Both strategies on the sandbox's second MariaDB, which runs the password-validation plugin
//! `simple_password_check` in its default strict mode: the server refuses every statement that
//! sets a password as a hash, so the function detects the policy and sends the password itself,
//! over verified TLS, in the forms MariaDB writes to its binary log as a hash. The general log
//! is on (as on every sandbox MariaDB): a session that may set `sql_log_off` leaves it and
//! rotates with no password in any log; one that may not (a single user, an RDS-like master
//! user without SUPER) is refused with `PasswordWouldBeLogged` and changes nothing, unless the
//! deployer opted in (`ALLOW_PASSWORD_IN_SERVER_LOG`), and then the general log holds the
//! password.

use crate::testbed::{Bed, Options};
use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_mysql::{account, Flavor};
use rotation_testkit::{unique, LogCapture};
use serde_json::json;

async fn bed(strategy: &str) -> Bed {
    bed_with(strategy, false).await
}

async fn bed_with(strategy: &str, allow_password_in_server_log: bool) -> Bed {
    let options = Options {
        policy_server: true,
        allow_password_in_server_log,
        ..Options::default()
    };
    Bed::with_options(Flavor::MARIADB, strategy, options).await
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The fixtures' own passwords were set by the test in plaintext; the generated ones are what
/// the function sent.
fn generated(all: Vec<String>) -> Vec<String> {
    all.into_iter()
        .filter(|p| {
            ![
                "Initial-Pa55#word",
                "u-Pa55word",
                "master-Pa55",
                "Ma5ter-Pa55#w",
            ]
            .contains(&p.as_str())
        })
        .collect()
}

#[tokio::test]
async fn both_strategies_rotate_under_a_strict_password_policy_with_no_password_in_any_log() {
    let capture = LogCapture::global();
    let single = bed("single").await;
    let (user, arn) = single
        .user_with_secret("policy", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    // This user may leave the general log (sql_log_off needs SUPER on MariaDB).
    single
        .db
        .run(&format!("GRANT SUPER ON *.* TO {}", account(&user, "%")))
        .await;
    for round in 1..=2 {
        let run = single.rotate(&arn).await;
        assert!(run.succeeded(), "single round {round}: {:?}", run.failure());
        let (_, pw) = single.current(&arn).await;
        single.db.login(&user, &pw, true).await.expect("AWSCURRENT");
        assert!(
            !contains(&single.db.logs(), pw.as_bytes()),
            "single round {round}: the password reached the general or binary log"
        );
    }
    let alternating = bed("alternating").await;
    let (_, db, pair) = alternating.alternating_pair_at("policy", "%").await;
    for round in 1..=3 {
        let run = alternating.rotate(&pair).await;
        assert!(
            run.succeeded(),
            "alternating round {round}: {:?}",
            run.failure()
        );
        for stage in [AWSCURRENT, AWSPREVIOUS] {
            let (u, pw) = alternating.creds(&pair, stage).await;
            assert!(alternating.db.can_read(&u, &pw, &db).await, "{stage} {u}");
        }
        alternating.assert_pair_interchangeable(&pair).await;
        let (_, pw) = alternating.current(&pair).await;
        assert!(
            !contains(&alternating.db.logs(), pw.as_bytes()),
            "alternating round {round}: the password reached the general or binary log"
        );
    }
    let logs = alternating.db.logs();
    let mut passwords = generated(single.driver.passwords_of(&arn).await);
    assert_eq!(passwords.len(), 2, "two generated single-user passwords");
    let alternating_passwords = generated(alternating.driver.passwords_of(&pair).await);
    assert_eq!(
        alternating_passwords.len(),
        3,
        "three generated alternating passwords"
    );
    passwords.extend(alternating_passwords);
    for password in &passwords {
        assert!(
            !contains(&logs, password.as_bytes()),
            "a generated password reached the general or binary log"
        );
    }
    capture.assert_none_of(&passwords);
}

#[tokio::test]
async fn a_single_user_who_cannot_leave_the_general_log_is_refused_unless_the_deployer_opts_in() {
    let capture = LogCapture::global();
    let refused = bed("single").await;
    let (user, arn) = refused
        .user_with_secret("logged", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    let stored_before = refused.db.accounts(&user).await;
    let run = refused.rotate(&arn).await;
    let (step, error) = run.failure().expect("refused");
    assert_eq!(step, rotation_core::Step::Set, "{error}");
    for part in [
        "PasswordWouldBeLogged",
        "general query log",
        "general_log is ON",
        "sql_log_off",
        "Nothing was changed",
        "ALLOW_PASSWORD_IN_SERVER_LOG=true",
    ] {
        assert!(error.contains(part), "{part}: {error}");
    }
    // Nothing changed: AWSCURRENT still logs in with the same stored hash.
    refused
        .db
        .login(&user, "Initial-Pa55#word", true)
        .await
        .expect("AWSCURRENT unchanged");
    assert_eq!(refused.db.accounts(&user).await, stored_before);
    let pending = generated(refused.driver.passwords_of(&arn).await);
    assert_eq!(pending.len(), 1, "the AWSPENDING password");
    assert!(
        !contains(&refused.db.logs(), pending[0].as_bytes()),
        "the refused password reached the general or binary log"
    );
    capture.assert_none_of(&pending);

    // Opting in is accepting the password in the general log: it rotates, and the log has it.
    let allowed = bed_with("single", true).await;
    let (user, arn) = allowed
        .user_with_secret("optin", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    let run = allowed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, pw) = allowed.current(&arn).await;
    allowed
        .db
        .login(&user, &pw, true)
        .await
        .expect("AWSCURRENT");
    let general = std::fs::read(&allowed.db.general_log).expect("the general log");
    assert!(
        contains(&general, pw.as_bytes()),
        "with the opt-in the general log holds the password"
    );
    assert!(
        !contains(&allowed.db.binary_logs(), pw.as_bytes()),
        "the binary log holds the hash only"
    );
    assert!(
        capture
            .text()
            .contains("ALLOW_PASSWORD_IN_SERVER_LOG allows"),
        "the opt-in is logged as a warning"
    );
}

#[tokio::test]
async fn alternating_users_whose_superuser_cannot_leave_the_general_log_change_nothing() {
    let bed = bed("alternating").await;
    let user = format!("nolog_{}", unique());
    bed.create_user(&user, "%", "u-Pa55word", "").await;
    // An RDS-like master user: it manages users but has no SUPER, so no sql_log_off.
    let master = format!("master_{}", unique());
    bed.create_user(&master, "%", "Ma5ter-Pa55#w", "").await;
    bed.db
        .run(&format!(
            "GRANT ALL PRIVILEGES ON *.* TO {a} WITH GRANT OPTION; REVOKE SUPER ON *.* FROM {a}",
            a = account(&master, "%")
        ))
        .await;
    let master_arn = bed
        .secret(&bed.secret_json(&master, "Ma5ter-Pa55#w", json!({"ssl": true})))
        .await;
    let arn = bed
        .secret(&bed.secret_json(
            &user,
            "u-Pa55word",
            json!({"masterarn": master_arn, "ssl": true}),
        ))
        .await;
    let run = bed.rotate(&arn).await;
    let (step, error) = run.failure().expect("refused");
    assert_eq!(step, rotation_core::Step::Set, "{error}");
    assert!(
        error.starts_with("PasswordWouldBeLogged") && error.contains(&master),
        "the error names the session user that cannot leave the log: {error}"
    );
    assert!(
        bed.db.accounts(&format!("{user}_clone")).await.is_empty(),
        "no clone account was created"
    );
    bed.db
        .login(&user, "u-Pa55word", true)
        .await
        .expect("AWSCURRENT unchanged");
    for password in generated(bed.driver.passwords_of(&arn).await) {
        assert!(
            !contains(&bed.db.logs(), password.as_bytes()),
            "the refused password reached the general or binary log"
        );
    }
}

#[tokio::test]
async fn a_generated_password_the_policy_refuses_is_a_clear_error_and_changes_nothing() {
    // No punctuation: simple_password_check wants one character that is not a letter or digit.
    // The opt-in lets the statement reach the policy (this user may not leave the general log).
    let bed = bed_with("single", true).await.with_policy(
        rotation_core::PasswordPolicy::from_lookup(
            rotation_core::PasswordDefaults::STANDARD,
            |k| (k == "EXCLUDE_PUNCTUATION").then(|| "true".to_string()),
        )
        .unwrap(),
    );
    let (user, arn) = bed
        .user_with_secret("weak", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    let run = bed.rotate(&arn).await;
    let (_, error) = run.failure().expect("refused");
    assert!(
        error.starts_with("DatabaseError")
            && error.contains("1819")
            && error.contains("password-validation policy"),
        "{error}"
    );
    bed.db
        .login(&user, "Initial-Pa55#word", true)
        .await
        .expect("AWSCURRENT unchanged");
}
