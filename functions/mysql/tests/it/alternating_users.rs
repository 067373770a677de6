//! Alternating-users MariaDB rotation against the sandbox MariaDB 10.11: the clone is made on
//! every host of the original, with its plugin, TLS requirement, limits, grants (exactly as
//! printed), roles and default role, kept in step on every rotation.

use crate::testbed::{Bed, Options};
use rotation_core::Step;
use rotation_mysql::{account, quote_ident, Flavor};
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
        bed.assert_pair_interchangeable(&arn).await;
        let logs = bed.db.logs();
        assert!(
            !logs
                .windows(current_pw.len())
                .any(|w| w == current_pw.as_bytes()),
            "round {round}: the password reached the general or binary log"
        );
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
        error.contains("81 characters, over the limit of 80 characters"),
        "{error}"
    );
    assert!(bed.db.hosts(&format!("{user}_clone")).await.is_empty());
}

#[tokio::test]
async fn username_character_limit_narrows_the_server_limit_as_the_official_function_reads_it() {
    let options = Options {
        username_character_limit: Some(16),
        ..Options::default()
    };
    let bed = Bed::with_options(Flavor::MARIADB, "alternating", options).await;
    let master_arn = bed
        .superuser_secret(&format!("master_{}", unique()), "master-Pa55", json!({}))
        .await;
    // 10 characters: with _clone, 16, at the limit.
    let fits = format!("k{}", &unique()[1..]);
    // 11 characters: with _clone, 17 (the server would take 80).
    let over = format!("k{}", unique());
    for user in [&fits, &over] {
        bed.create_user(user, "%", "limit-Pa55word", "").await;
    }
    let arn = bed
        .secret(&bed.secret_json(&fits, "limit-Pa55word", json!({"masterarn": master_arn})))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let arn = bed
        .secret(&bed.secret_json(&over, "limit-Pa55word", json!({"masterarn": master_arn})))
        .await;
    let run = bed.rotate(&arn).await;
    let (step, error) = run.failure().expect("refused");
    assert_eq!(step, Step::Create);
    assert!(
        error.contains("17 characters, over the limit of 16 characters")
            && error.contains("USERNAME_CHARACTER_LIMIT"),
        "{error}"
    );
    assert!(bed.db.hosts(&format!("{over}_clone")).await.is_empty());
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

#[tokio::test]
async fn grants_and_account_attributes_follow_the_pair_back_and_extras_are_revoked() {
    let capture = rotation_testkit::LogCapture::global();
    let bed = Bed::new("alternating").await;
    let (user, db, arn) = bed.alternating_pair_at("back", "%").await;
    let clone = format!("{user}_clone");
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    assert_eq!(bed.current(&arn).await.0, clone);
    bed.assert_pair_interchangeable(&arn).await;
    // While the clone is AWSCURRENT, a DBA grants it more and changes its account; the
    // original (AWSPREVIOUS, next to be AWSCURRENT) gets a privilege the clone lacks.
    let late = format!("late_{}", unique());
    bed.db
        .run(&format!(
            "CREATE DATABASE {l}; CREATE TABLE {l}.t (v INT); INSERT INTO {l}.t VALUES (42);
             GRANT SELECT ON {l}.* TO {c};
             ALTER USER {c} WITH MAX_STATEMENT_TIME 3 PASSWORD EXPIRE INTERVAL 30 DAY;
             GRANT INSERT, DELETE ON {d}.* TO {u};",
            l = quote_ident(&late),
            c = account(&clone, "%"),
            u = account(&user, "%"),
            d = quote_ident(&db),
        ))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (current, pw) = bed.current(&arn).await;
    assert_eq!(current, user, "back to the original");
    assert!(
        bed.db.can_read(&user, &pw, &late).await,
        "the grant made to the clone followed the pair back"
    );
    let shape = bed.db.account_shape(&user, "%").await;
    assert!(
        shape[0].contains("MAX_STATEMENT_TIME 3.000000")
            && shape[0].contains("PASSWORD EXPIRE INTERVAL 30 DAY"),
        "{shape:?}"
    );
    assert!(
        !shape
            .iter()
            .any(|g| g.contains("INSERT") || g.contains("DELETE")),
        "what the clone lacked was revoked: {shape:?}"
    );
    bed.assert_pair_interchangeable(&arn).await;
    let logs = capture.text();
    assert!(
        logs.contains("\"revoked\":\"INSERT ON `") && logs.contains("\"revoked\":\"DELETE ON `"),
        "the revoked privileges are logged by name"
    );
    capture.assert_none_of(&bed.created_passwords().await);
}

#[tokio::test]
async fn privileges_come_from_the_awscurrent_user_never_from_a_name() {
    // AWSCURRENT is `xq..._clone_clone`; the pending user is `xq..._clone`; an unrelated user
    // `xq...` exists. Stripping `_clone` from the pending name would give the pending user the
    // unrelated user's privileges.
    let bed = Bed::new("alternating").await;
    let stem = format!("xq{}", unique());
    let current = format!("{stem}_clone_clone");
    let (mine, theirs) = (format!("mine_{}", unique()), format!("theirs_{}", unique()));
    bed.create_user(&current, "%", "Cur-Pa55word", "").await;
    bed.create_user(&stem, "%", "Unrelated-Pa55", "").await;
    bed.db
        .run(&format!(
            "CREATE DATABASE {m}; CREATE TABLE {m}.t (v INT); INSERT INTO {m}.t VALUES (42);
             CREATE DATABASE {o}; CREATE TABLE {o}.t (v INT); INSERT INTO {o}.t VALUES (42);
             GRANT SELECT ON {m}.* TO {c}; GRANT SELECT ON {o}.* TO {s};",
            m = quote_ident(&mine),
            o = quote_ident(&theirs),
            c = account(&current, "%"),
            s = account(&stem, "%"),
        ))
        .await;
    let master_arn = bed
        .superuser_secret(&format!("master_{}", unique()), "master-Pa55", json!({}))
        .await;
    let arn = bed
        .secret(&bed.secret_json(&current, "Cur-Pa55word", json!({"masterarn": master_arn})))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (pending, pw) = bed.current(&arn).await;
    assert_eq!(pending, format!("{stem}_clone"));
    assert!(
        bed.db.can_read(&pending, &pw, &mine).await,
        "the current user's privileges"
    );
    assert!(
        !bed.db.can_read(&pending, &pw, &theirs).await,
        "never the unrelated user's"
    );
    bed.assert_pair_interchangeable(&arn).await;
}

#[tokio::test]
async fn a_change_across_several_accounts_is_accepted_only_once_every_account_has_it() {
    // The user has accounts on '%' and on 192.0.2.% (application servers elsewhere). The
    // function logs in through '%'; a login proves nothing about the other account.
    let bed = Bed::new("alternating").await;
    let proxy = rotation_testkit::DbFaultProxy::start(
        std::sync::Arc::new(crate::classifier::MyClassifier),
        bed.db.port,
    )
    .await;
    let pair = |tag: &'static str| {
        let (bed, proxy) = (&bed, &proxy);
        async move {
            let via = json!({"port": proxy.port, "ssl": false});
            let master = bed
                .superuser_secret(&format!("master_{}", unique()), "master-Pa55", via.clone())
                .await;
            let mut extra = via;
            extra["masterarn"] = json!(master);
            let (user, arn) = bed.user_with_secret(tag, "u-Pa55word", extra).await;
            bed.create_user(&user, "192.0.2.%", "u-Pa55word", "").await;
            (user, arn)
        }
    };
    // A clean rotation counts the changing statements: the last two are the password and the
    // unlock of the 192.0.2.% account.
    let (_, clean) = pair("several").await;
    proxy.clear();
    let run = bed.rotate(&clean).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, statements) = proxy.counts();
    for last in [statements - 1, statements] {
        let (_, arn) = pair("several").await;
        proxy.fail(rotation_testkit::DbFault::FailStatement, last, 1);
        let check = || -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>> {
            Box::pin(async {})
        };
        let done = bed.rotate_as_the_service_does(&arn, 3, &check).await;
        assert!(done.is_some(), "statement {last}: the rotation completes");
        assert_eq!(proxy.injected(), 1, "statement {last} failed once");
        // Every account of both users holds its secret's password (not a placeholder).
        bed.assert_pair_interchangeable(&arn).await;
    }
}
