//! `attach`: its checks before it rotates a healthy secret, an unhealthy secret left attached
//! and unrotated, and a RotateSecret refused.

use super::*;

#[tokio::test]
async fn attach_checks_before_it_rotates_and_rotates_a_healthy_secret() {
    let world = World::new("single").await;
    let (user, arn) = world.user("ctl-Pa55word").await;
    let (original, _, _) = labels(&world, &arn).await;
    // Secrets Manager's part, as the service plays it: the configuration test, then the
    // rotation's four steps, each through the function.
    let player = world.player(&arn, true).await;

    let (code, text, stderr) = world
        .ctl(&[
            "attach",
            &arn,
            "--function",
            FUNCTION,
            "--days",
            "30",
            "--duration",
            "4",
        ])
        .await;
    assert_eq!(code, 0, "{text} {stderr}");
    let (current, previous, pending) = labels(&world, &arn).await;
    assert_eq!(previous, original, "the old AWSCURRENT is AWSPREVIOUS");
    assert!(pending.is_empty() && current.len() == 1 && current != original);
    let token = &current[0];
    assert!(text.contains("all checks passed"), "{text}");
    assert!(
        text.contains(&format!("rotation finished: AWSCURRENT is version {token}")),
        "{text}"
    );
    // The function's role could read the secret only once attached: the configuration test
    // ran, then the preflight, and only then the rotation.
    let played = player.played();
    let Some(Played::ConfigurationTest {
        version: test,
        result,
    }) = played.first()
    else {
        panic!("no configuration test: {played:?}")
    };
    assert!(result.is_ok(), "{played:?}");
    assert_eq!(
        world.seen(),
        [
            format!("testSecret {test}"),
            "preflight".to_string(),
            format!("createSecret {token}"),
            format!("setSecret {token}"),
            format!("testSecret {token}"),
            format!("finishSecret {token}"),
        ]
    );
    let d = world
        .harness
        .driver
        .client()
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.rotation_lambda_arn(), Some(function_arn().as_str()));
    assert_eq!(d.rotation_enabled(), Some(true));
    let (u, pw) = world.harness.current(&arn).await;
    assert_eq!(u, user);
    assert_ne!(pw, "ctl-Pa55word");
    assert!(
        world.pg.login(&u, &pw, "postgres", true).await.is_ok(),
        "the new AWSCURRENT logs in"
    );
    assert!(world
        .pg
        .login(&u, "ctl-Pa55word", "postgres", true)
        .await
        .is_err());

    // Attaching again to the same function: checked and rotated again.
    let (code, done) = world.json(&["attach", &arn, "--function", FUNCTION]).await;
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(
        (
            &done["attached"],
            &done["rotated"],
            &done["preflight"]["ok"]
        ),
        (&json!(true), &json!(true), &json!(true)),
        "{done:#}"
    );
    // The secret's own rules are kept (moto keeps only AutomaticallyAfterDays of them).
    assert_eq!(done["rules"], "every 30 days", "{done:#}");
    let (current, previous, _) = labels(&world, &arn).await;
    assert_eq!(&previous, std::slice::from_ref(token));
    assert_eq!(done["current"], current[0].as_str());
    let (u, pw) = world.harness.current(&arn).await;
    assert!(world.pg.login(&u, &pw, "postgres", true).await.is_ok());
}

#[tokio::test]
async fn attach_leaves_an_unhealthy_secret_attached_and_unrotated() {
    let world = World::new("single").await;
    let (user, arn) = world.user("ctl-Pa55word").await;
    // The secret's password is not the server's.
    set_password(&world, &user, "ctl-Other1x").await;
    let (original, _, _) = labels(&world, &arn).await;
    // moto as it is: the configuration test's copy keeps its AWSPENDING (the service takes it
    // off); the player only runs rotations, and none must start.
    let player = world.player(&arn, false).await;

    let started = Instant::now();
    let (code, text, stderr) = world
        .ctl(&["attach", &arn, "--function", FUNCTION, "--days", "7"])
        .await;
    let took = started.elapsed();
    assert_eq!(code, 1, "{text} {stderr}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("current_login ") && l.contains(" FAILED ")),
        "{text}"
    );
    assert!(text.contains("some checks FAILED: "), "{text}");
    assert!(
        text.contains("Nothing was rotated. Rotation stays attached to")
            && text.contains(&format!("rotation-ctl attach {arn} --function {FUNCTION}"))
            && text.contains(&format!("cancel-rotate-secret --secret-id {arn}")),
        "{text}"
    );
    assert!(
        text.contains("still on") && text.contains("taken off"),
        "the tool took the configuration test's leftover label off: {text}"
    );
    assert!(
        took >= Duration::from_secs(TIMEOUT_SECONDS.into()),
        "it waited out the configuration test ({took:?})"
    );
    assert_eq!(
        labels(&world, &arn).await,
        (original.clone(), vec![], vec![]),
        "nothing rotated, nothing left pending"
    );
    assert!(player.played().is_empty(), "{:?}", player.played());
    assert_eq!(world.seen(), ["preflight"]);
    assert_eq!(
        attached_function(&world, &arn).await.as_deref(),
        Some(function_arn().as_str()),
        "attached"
    );
    assert!(world
        .pg
        .login(&user, "ctl-Other1x", "postgres", true)
        .await
        .is_ok());

    // Fixed, and attached again: rotated.
    set_password(&world, &user, "ctl-Pa55word").await;
    let (code, text, _) = world.ctl(&["attach", &arn, "--function", FUNCTION]).await;
    assert_eq!(code, 0, "{text}");
    let (current, previous, pending) = labels(&world, &arn).await;
    assert_eq!((previous, pending.len()), (original, 0));
    let (u, pw) = world.harness.current(&arn).await;
    assert_eq!(current.len(), 1);
    assert!(world.pg.login(&u, &pw, "postgres", true).await.is_ok());
}

#[tokio::test]
async fn attach_stops_when_rotate_secret_is_refused() {
    let world = World::new("single").await;
    let (_, arn) = world.user("ctl-Pa55word").await;
    let before = labels(&world, &arn).await;
    // An operator without secretsmanager:RotateSecret.
    let proxy = CountingProxy::start(world.moto.endpoint()).await.unwrap();
    proxy.deny("RotateSecret");
    let (code, stdout, stderr) = world
        .ctl_through(
            &["attach", &arn, "--function", FUNCTION, "--days", "30"],
            proxy.endpoint(),
        )
        .await;
    assert_eq!(code, 2, "{stdout} {stderr}");
    assert!(
        stderr.contains("Secrets Manager RotateSecret failed")
            && stderr.contains("AccessDeniedException"),
        "{stderr}"
    );
    assert_eq!(proxy.calls("RotateSecret"), 1, "{:?}", proxy.operations());
    assert!(
        world.seen().is_empty(),
        "no preflight, no step: {:?}",
        world.seen()
    );
    assert_eq!(labels(&world, &arn).await, before);
    assert_eq!(
        attached_function(&world, &arn).await.as_deref(),
        None,
        "nothing attached"
    );
}
