//! What `verify` reports and leaves when a rotation fails, when the preflight fails, and
//! when the function or the attachment is not the one it expects.

use super::*;

/// The database user's password changes behind the secret after the preflight passed: the
/// rotation's setSecret is refused. verify names the step and its `errorType` (read from the
/// function's logs), exits 1, and AWSCURRENT stays where it was; the next rotation is not
/// started.
#[tokio::test]
async fn a_rotation_that_fails_is_reported_with_its_error_type_and_current_is_untouched() {
    for name in ["MySQLSingleUser", "PostgreSQLSingleUser"] {
        let bed = Bed::new(name).await;
        let (original, _, _) = bed.labels().await;
        let _player = bed.deployed.player(&bed.driver, &bed.arn).await;
        let changed = format!("Changed-{}", unique());
        let (user, password) = (bed.user.clone(), changed.clone());
        let hook: Hook = match &bed.server {
            Server::Postgres { .. } => {
                let pg = PgAdmin::from_env();
                Box::pin(async move {
                    pg.session("postgres")
                        .await
                        .batch_execute(&format!(
                            "ALTER ROLE {} PASSWORD {}",
                            ident(&user),
                            literal(&password)
                        ))
                        .await
                        .expect("ALTER ROLE");
                })
            }
            Server::Maria(_) => Box::pin(async move {
                MariaAdmin::from_env()
                    .run(&format!(
                        "ALTER USER '{user}'@'%' IDENTIFIED BY '{password}'"
                    ))
                    .await;
            }),
            _ => unreachable!(),
        };
        *bed.deployed.after_preflight.lock().unwrap() = Some(hook);

        let (code, stdout, stderr) = bed
            .deployed
            .ctl(
                &bed.driver,
                &bed.arn,
                &[&bed.password, &changed],
                &["verify", &bed.arn, "--rotations", "3", "--output", "json"],
            )
            .await;
        let done: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout} {stderr}"));
        assert_eq!(code, 1, "{name}: {done:#}");
        assert_eq!(
            (&done["ok"], &done["verified"]),
            (&json!(false), &json!(false))
        );
        assert_eq!(done["preflight"]["ok"], true, "{done:#}");
        let failure = &done["failure"];
        assert_eq!(failure["at"], "setSecret", "{done:#}");
        assert_eq!(failure["errorType"], "AuthenticationFailed", "{done:#}");
        let rotations = done["rotations"].as_array().unwrap();
        assert_eq!(
            rotations.len(),
            1,
            "the next rotation is not started: {done:#}"
        );
        assert_eq!(rotations[0]["ok"], false);
        assert_eq!(rotations[0]["currentUntouched"], true, "{done:#}");
        assert_eq!(rotations[0]["failure"], *failure);
        let (current, _, pending) = bed.labels().await;
        assert_eq!(current, original, "{name}: AWSCURRENT untouched");
        assert_eq!(pending, [rotations[0]["version"].as_str().unwrap()]);
        let token = rotations[0]["version"].as_str().unwrap().to_string();
        assert_eq!(
            bed.deployed.seen(),
            [
                "preflight".to_string(),
                format!("createSecret {token}"),
                format!("setSecret {token}"),
            ],
            "{name}"
        );

        // Run again: refused at once (AWSPENDING is on the failed rotation's version).
        let (code, text, _) = bed.ctl(&["verify", &bed.arn]).await;
        assert_eq!(code, 1, "{text}");
        assert!(
            text.contains("refusing to verify: AWSPENDING is on version")
                && text.contains(&token)
                && text.contains("rotation-ctl abort"),
            "{text}"
        );
        assert_eq!(bed.deployed.seen().len(), 3, "nothing invoked");
    }
}

/// A secret whose AWSCURRENT does not log in fails the preflight: nothing is rotated, the
/// failed check and its `errorType` are the answer, exit 1. A `--function` other than the
/// attached one, and a secret with no rotation function, are refused before anything is
/// invoked.
#[tokio::test]
async fn a_failed_preflight_rotates_nothing_and_an_unattached_secret_is_refused() {
    let bed = Bed::new("PostgreSQLSingleUser").await;
    let (code, text, _) = bed
        .ctl(&["verify", &bed.arn, "--function", "another-function"])
        .await;
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("refusing to verify: --function names")
            && text.contains(":function:another-function")
            && text.contains("rotation-ctl attach"),
        "{text}"
    );
    assert!(bed.deployed.seen().is_empty(), "{:?}", bed.deployed.seen());

    let Server::Postgres { pg, .. } = &bed.server else {
        unreachable!()
    };
    pg.session("postgres")
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD 'Other-Pa55word-1'",
            ident(&bed.user)
        ))
        .await
        .unwrap();
    let before = bed.labels().await;
    let player = bed.deployed.player(&bed.driver, &bed.arn).await;
    let (code, text, stderr) = bed.ctl(&["verify", &bed.arn, "--rotations", "2"]).await;
    assert_eq!(code, 1, "{text} {stderr}");
    assert!(
        text.contains("NOT verified: preflight failed: AuthenticationFailed: check current_login"),
        "{text}"
    );
    assert!(text.contains("Nothing was rotated."), "{text}");
    assert_eq!(bed.labels().await, before);
    assert!(player.played().is_empty(), "{:?}", player.played());
    assert_eq!(bed.deployed.seen(), ["preflight"]);

    let lone = bed
        .driver
        .create_secret(
            &format!("verify-lone-{}", unique()),
            r#"{"username": "u", "password": "x-Pa55word"}"#,
        )
        .await;
    let (code, stdout, _) = bed
        .deployed
        .ctl(
            &bed.driver,
            &lone,
            &[],
            &["verify", &lone, "--output", "json"],
        )
        .await;
    let done: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (code, &done["reason"]),
        (1, &json!("no rotation function")),
        "{done:#}"
    );
    assert_eq!(bed.deployed.seen(), ["preflight"], "nothing more invoked");
}
