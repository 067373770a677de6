//! Preflight on MariaDB: both strategies on the plain server, the password-policy server (the
//! plugin and what it means for this function's passwords, and whether the general log would
//! record the plaintext password), and a superuser that lacks CREATE USER or GRANT OPTION.
//! Nothing is changed by any of them.

use crate::testbed::{Bed, Options};
use rotation_core::{PasswordDefaults, PasswordPolicy};
use rotation_mysql::{account, Flavor};
use rotation_testkit::unique;
use serde_json::json;

use rotation_testkit::report_check as check;

#[tokio::test]
async fn healthy_secrets_of_both_strategies_pass() {
    let single = Bed::new("single").await;
    let (user, arn) = single
        .user_with_secret("pre", "pre-Pa55word", json!({"ssl": true}))
        .await;
    let report = single.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(check(&report, "tls").1.starts_with("verified TLS"));
    assert!(check(&report, "current_login").1.contains(&user));
    assert!(check(&report, "own_password_privilege").0);
    let (ok, detail) = check(&report, "password_policy");
    assert!(ok && detail.contains("no password-validation"), "{detail}");

    let alternating = Bed::new("alternating").await;
    let (user, _, arn) = alternating.alternating_pair_at("pre", "%").await;
    let report = alternating.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    let (ok, detail) = check(&report, "manage_users_privilege");
    assert!(
        ok && detail.contains("CREATE USER and GRANT OPTION"),
        "{detail}"
    );
    assert!(check(&report, "clone_name")
        .1
        .contains(&format!("{user}_clone")));
    assert!(
        alternating
            .db
            .accounts(&format!("{user}_clone"))
            .await
            .is_empty(),
        "no clone was made"
    );
}

#[tokio::test]
async fn a_superuser_without_grant_option_or_create_user_fails_its_check() {
    let bed = Bed::new("alternating").await;
    let (user, _) = bed
        .user_with_secret("weak", "weak-Pa55word", json!({}))
        .await;
    for (grant, missing) in [
        ("GRANT ALL PRIVILEGES ON *.* TO {a}", "GRANT OPTION"),
        (
            "GRANT SELECT ON *.* TO {a} WITH GRANT OPTION",
            "CREATE USER",
        ),
    ] {
        let master = format!("weak_{}", unique());
        bed.create_user(&master, "%", "weak-Ma5ter", "").await;
        bed.db
            .run(&grant.replace("{a}", &account(&master, "%")))
            .await;
        let master_arn = bed
            .secret(&bed.secret_json(&master, "weak-Ma5ter", json!({})))
            .await;
        let arn = bed
            .secret(&bed.secret_json(&user, "weak-Pa55word", json!({"masterarn": master_arn})))
            .await;
        let report = bed.preflight(&arn, false).await;
        assert_eq!(report["ok"], false, "{report:#}");
        let (ok, detail) = check(&report, "manage_users_privilege");
        assert!(!ok && detail.contains(missing), "{grant}: {detail}");
    }
}

#[tokio::test]
async fn the_password_policy_plugin_is_reported_against_the_function_settings() {
    let options = Options {
        policy_server: true,
        ..Options::default()
    };
    let bed = Bed::with_options(Flavor::MARIADB, "single", options.clone()).await;
    let (_, arn) = bed
        .user_with_secret("plug", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    let report = bed.preflight(&arn, false).await;
    let (ok, detail) = check(&report, "password_policy");
    assert!(
        ok && detail.contains("simple_password_check")
            && detail.contains("strict_password_validation is ON"),
        "{detail}"
    );
    // The one failing check: this user may not leave the general log, which is on.
    let failing: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] != true)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(failing, ["password_logging"], "{report:#}");
    // Settings under which no generated password can pass: the check fails, and says why.
    let short = PasswordPolicy::from_lookup(PasswordDefaults::STANDARD, |name| {
        (name == "PASSWORD_LENGTH").then(|| "6".to_string())
    })
    .unwrap();
    let bed = Bed::with_options(Flavor::MARIADB, "single", options)
        .await
        .with_policy(short);
    let (_, arn) = bed
        .user_with_secret("plug", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], false);
    let (ok, detail) = check(&report, "password_policy");
    assert!(!ok && detail.contains("PASSWORD_LENGTH is 6"), "{detail}");
}

#[tokio::test]
async fn password_logging_is_reported_for_both_strategies_and_the_opt_in() {
    // The plain server takes hashes: nothing to log.
    let plain = Bed::new("single").await;
    let (_, arn) = plain
        .user_with_secret("hashes", "pre-Pa55word", json!({"ssl": true}))
        .await;
    let report = plain.preflight(&arn, false).await;
    let (ok, detail) = check(&report, "password_logging");
    assert!(ok && detail.contains("as a hash"), "{detail}");

    let options = Options {
        policy_server: true,
        ..Options::default()
    };
    // A single user without SUPER: the general log would record its new password.
    let single = Bed::with_options(Flavor::MARIADB, "single", options.clone()).await;
    let (user, arn) = single
        .user_with_secret("logs", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    let report = single.preflight(&arn, false).await;
    assert_eq!(report["ok"], false, "{report:#}");
    let (ok, detail) = check(&report, "password_logging");
    assert!(
        !ok && detail.contains("general_log is ON")
            && detail.contains("sql_log_off")
            && detail.contains(&user)
            && detail.contains("PasswordWouldBeLogged"),
        "{detail}"
    );
    // With the opt-in the same secret passes, and the report says what that means.
    let allowed = Bed::with_options(
        Flavor::MARIADB,
        "single",
        Options {
            allow_password_in_server_log: true,
            ..options.clone()
        },
    )
    .await;
    let report = allowed.preflight(&arn, false).await;
    let (ok, detail) = check(&report, "password_logging");
    assert!(
        ok && detail.contains("ALLOW_PASSWORD_IN_SERVER_LOG is true"),
        "{detail}"
    );
    // Alternating users: the superuser (SUPER) leaves the general log.
    let alternating = Bed::with_options(Flavor::MARIADB, "alternating", options).await;
    let (_, _, arn) = alternating.alternating_pair_at("logs", "%").await;
    let report = alternating.preflight(&arn, false).await;
    let (ok, detail) = check(&report, "password_logging");
    assert!(
        ok && detail.contains("can leave it (sql_log_off)"),
        "{detail}"
    );
}
