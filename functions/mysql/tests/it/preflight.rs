//! Preflight on MariaDB: both strategies on the plain server, the password-policy server (the
//! plugin and what it means for this function's passwords), and a superuser that lacks
//! CREATE USER or GRANT OPTION. Nothing is changed by any of them.

use crate::testbed::{Bed, Options};
use mysql::{account, MARIADB};
use rotation_core::{PasswordDefaults, PasswordPolicy};
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
    let bed = Bed::with_options(MARIADB, "single", options.clone()).await;
    let (_, arn) = bed
        .user_with_secret("plug", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    let (_, detail) = check(&report, "password_policy");
    assert!(
        detail.contains("simple_password_check")
            && detail.contains("strict_password_validation is ON"),
        "{detail}"
    );
    // Settings under which no generated password can pass: the check fails, and says why.
    let short = PasswordPolicy::from_lookup(PasswordDefaults::STANDARD, |name| {
        (name == "PASSWORD_LENGTH").then(|| "6".to_string())
    })
    .unwrap();
    let bed = Bed::with_options(MARIADB, "single", options)
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
