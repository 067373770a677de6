//! Alternating-users MariaDB rotation against the sandbox MariaDB 10.11: the clone is made on
//! every host of the original, with its plugin, TLS requirement, limits, grants (exactly as
//! printed), roles and default role, kept in step on every rotation.

use rotation_core::mysql::{account, quote_ident};
use rotation_core::Step;
use rotation_testkit::maria::Bed;
use rotation_testkit::unique;
use serde_json::json;

#[tokio::test]
async fn four_rotations_alternate_and_both_users_read() {
    let bed = Bed::new("alternating").await;
    let (user, db, arn) = bed.alternating_pair_at("alt", "%").await;
    let clone = format!("{user}_clone");
    let extra_db = format!("late_{}", unique());
    let mut expected = [clone.clone(), user.clone()].into_iter().cycle();
    for round in 1..=4 {
        if round == 3 {
            // A grant added to the original between rotations reaches the clone next time.
            bed.db
                .run(&format!(
                    "CREATE DATABASE {d}; CREATE TABLE {d}.t (v INT); INSERT INTO {d}.t VALUES (42); \
                     GRANT SELECT ON {d}.* TO {a}",
                    d = quote_ident(&extra_db),
                    a = account(&user, "%")
                ))
                .await;
        }
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        let (current_user, current_pw) = bed.current(&arn).await;
        assert_eq!(current_user, expected.next().unwrap(), "round {round}");
        let (previous_user, previous_pw) = bed.creds(&arn, "AWSPREVIOUS").await;
        assert_ne!(previous_user, current_user);
        assert!(
            bed.db.can_read(&current_user, &current_pw, &db).await,
            "round {round}: AWSCURRENT reads"
        );
        assert!(
            bed.db.can_read(&previous_user, &previous_pw, &db).await,
            "round {round}: AWSPREVIOUS reads"
        );
        if round >= 3 {
            assert!(
                bed.db.can_read(&current_user, &current_pw, &extra_db).await,
                "round {round}: the late grant reached {current_user}"
            );
        }
    }
}

#[tokio::test]
async fn the_clone_copies_hosts_tls_limits_wildcard_grants_and_roles() {
    let bed = Bed::new("alternating").await;
    let (user, db, arn) = bed.alternating_pair_at("copy", "127.0.0.1").await;
    let role = format!("role_{}", unique());
    let master = bed.master_of(&arn).await;
    let wild = format!("w_{}", unique());
    // A second host, a TLS requirement and limits, a wildcard database grant with an escaped
    // underscore, a grant on every database matching `%`, a role and a default role.
    bed.db
        .run(&format!(
            "CREATE USER {lh} IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19';
             ALTER USER {a} REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 1000 MAX_USER_CONNECTIONS 7;
             GRANT SELECT, INSERT ON `{wild}\\_db`.* TO {a} WITH GRANT OPTION;
             GRANT SHOW VIEW ON `%`.* TO {a};
             CREATE ROLE {r}; GRANT SELECT ON {d}.* TO {r}; GRANT {r} TO {a};
             GRANT {r} TO {m} WITH ADMIN OPTION;
             SET DEFAULT ROLE {r} FOR {a};",
            lh = account(&user, "localhost"),
            a = account(&user, "127.0.0.1"),
            r = quote_ident(&role),
            d = quote_ident(&db),
            m = account(&master, "%"),
        ))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let clone = format!("{user}_clone");
    assert_eq!(
        bed.db.hosts(&clone).await,
        vec!["127.0.0.1".to_string(), "localhost".to_string()]
    );
    let original_grants = normalized_grants(&bed, &user).await;
    assert_eq!(normalized_grants(&bed, &clone).await, original_grants);
    assert!(
        original_grants
            .iter()
            .any(|g| g.contains(&format!("`{wild}\\_db`.*")) && g.ends_with("WITH GRANT OPTION")),
        "{original_grants:?}"
    );
    assert!(
        original_grants
            .iter()
            .any(|g| g.contains("REQUIRE SSL") && g.contains("MAX_USER_CONNECTIONS 7")),
        "{original_grants:?}"
    );
    assert!(
        original_grants
            .iter()
            .any(|g| g.starts_with("SET DEFAULT ROLE")),
        "{original_grants:?}"
    );
    let (_, pw) = bed.current(&arn).await;
    assert!(bed.db.can_read(&clone, &pw, &db).await, "the clone reads");
    assert_eq!(
        bed.db.login(&clone, &pw, false).await,
        Err("1045".into()),
        "REQUIRE SSL copied"
    );
}

/// `who`@127.0.0.1's grants with the grantee replaced by `X` and the password hash dropped.
async fn normalized_grants(bed: &Bed, who: &str) -> Vec<String> {
    let mut rows = bed.db.grants(who, "127.0.0.1").await;
    for row in rows.iter_mut() {
        *row = row.replace(&format!("`{who}`@"), "`X`@");
        if let Some(at) = row.find(" IDENTIFIED BY PASSWORD") {
            let rest = row[at..]
                .find(" REQUIRE")
                .map(|r| row[at + r..].to_string())
                .unwrap_or_default();
            row.truncate(at);
            row.push_str(&rest);
        }
    }
    rows.sort();
    rows
}

#[tokio::test]
async fn a_name_over_the_limit_is_refused_and_changes_nothing() {
    let bed = Bed::new("alternating").await;
    // 75 characters: with _clone, 81.
    let user = format!("long_{}{}", unique(), "x".repeat(60));
    bed.create_user(&user, "%", "long-Pa55word", "").await;
    let master_arn = bed
        .superuser_secret(&format!("master_{}", unique()), "master-Pa55", json!({}))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&user, "long-Pa55word", json!({"masterarn": master_arn})))
        .await;
    let run = bed.rotate(&arn).await;
    let (step, error) = run.failure().expect("refused");
    assert_eq!(step, Step::Create);
    assert!(
        error.contains("81 characters, over the server's limit of 80 characters"),
        "{error}"
    );
    assert!(bed.db.hosts(&format!("{user}_clone")).await.is_empty());
}

#[tokio::test]
async fn each_step_twice_and_twice_at_once() {
    let bed = Bed::new("alternating").await;
    for at_once in [false, true] {
        let (_, db, arn) = bed.alternating_pair_at("replay", "%").await;
        for _ in 0..2 {
            bed.rotate_each_step_twice(&arn, at_once).await;
            let (u, pw) = bed.current(&arn).await;
            assert!(bed.db.can_read(&u, &pw, &db).await, "{u}");
        }
    }
}

#[tokio::test]
async fn a_superuser_on_another_server_is_refused() {
    let bed = Bed::new("alternating").await;
    let (user, _, arn) = bed.alternating_pair_at("deputy", "%").await;
    let other = bed
        .secret(&json!({"engine": "mariadb", "host": bed.db.host, "port": 1, "username": "root", "password": "x"}).to_string())
        .await;
    let mut v: serde_json::Value =
        serde_json::from_str(&bed.driver.value(&arn, "AWSCURRENT").await).unwrap();
    v["masterarn"] = json!(other);
    let arn2 = bed.secret(&v.to_string()).await;
    let run = bed.rotate(&arn2).await;
    let (_, error) = run.failure().expect("refused");
    assert!(error.starts_with("ConfusedDeputy"), "{error}");
    assert!(
        bed.db.hosts(&format!("{user}_clone")).await.is_empty(),
        "no clone made"
    );
}

#[tokio::test]
async fn a_grant_the_superuser_cannot_give_fails_the_step_and_the_clone_does_not_log_in() {
    let bed = Bed::new("alternating").await;
    let (user, _, arn) = bed.alternating_pair_at("noadmin", "%").await;
    let role = format!("role_{}", unique());
    // The superuser has every privilege but no ADMIN OPTION on this role.
    bed.db
        .run(&format!(
            "CREATE ROLE {r}; GRANT {r} TO {a};",
            r = quote_ident(&role),
            a = account(&user, "%")
        ))
        .await;
    let run = bed.rotate(&arn).await;
    let (step, error) = run.failure().expect("refused");
    assert_eq!(step, Step::Set);
    assert!(
        error.contains("copy a grant to the pending user") && error.contains("1698"),
        "{error}"
    );
    let (pending_user, pending_pw) = bed.creds(&arn, "AWSPENDING").await;
    assert_eq!(
        bed.db.login(&pending_user, &pending_pw, true).await,
        Err("1045".into())
    );
    let (current_user, current_pw) = bed.current(&arn).await;
    assert_eq!(current_user, user);
    bed.db
        .login(&user, &current_pw, true)
        .await
        .expect("AWSCURRENT untouched");
}
