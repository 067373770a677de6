//! `resume`, `abort` and `rollback` on rotations stopped at each step, racing setSecrets, and
//! the typed errors and exit codes.

use super::*;

#[tokio::test]
async fn a_single_user_rotation_past_set_secret_is_resumed_never_aborted() {
    let world = World::new("single").await;
    let (user, arn) = world.user("ctl-Pa55word").await;
    let token = world.harness.driver.start(&arn).await.unwrap();
    world.step(&arn, &token, Step::Create).await.unwrap();
    world.step(&arn, &token, Step::Set).await.unwrap();

    let (code, text, _) = world.ctl(&["inspect", &arn]).await;
    assert_eq!(code, 0);
    assert!(
        text.contains(&format!("version {token} carries AWSPENDING")),
        "{text}"
    );
    assert!(
        text.contains("the last step that finished is setSecret"),
        "{text}"
    );

    let (code, text, _) = world.ctl(&["preflight", &arn]).await;
    assert_eq!(
        code, 1,
        "a rotation in progress fails the preflight: {text}"
    );
    assert!(text.contains("no_rotation_in_progress  FAILED"), "{text}");

    let (code, text, _) = world.ctl(&["abort", &arn]).await;
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("refusing to abort") && text.contains("already holds the pending password"),
        "{text}"
    );
    assert!(world.harness.pending_value_exists(&arn, &token).await);
    assert_eq!(
        rotation_core::labels::versions_with(&world.harness.driver.stages(&arn).await, AWSPENDING),
        vec![token.as_str()],
        "AWSPENDING stays"
    );

    let (code, text, stderr) = world.ctl(&["resume", &arn]).await;
    assert_eq!(code, 0, "{text} {stderr}");
    assert!(
        stderr.contains("[2/4] setSecret"),
        "progress is shown: {stderr}"
    );
    assert!(
        text.contains(&format!("AWSCURRENT is version {token}")),
        "{text}"
    );
    let (u, pw) = world.harness.current(&arn).await;
    assert_eq!(u, user);
    assert!(world.pg.login(&user, &pw, "postgres", true).await.is_ok());
    let (code, text, _) = world.ctl(&["resume", &arn]).await;
    assert_eq!(code, 0);
    assert!(text.contains("nothing to resume"), "{text}");
}

#[tokio::test]
async fn a_rotation_before_set_secret_is_aborted_and_the_failure_is_read_from_the_logs() {
    let world = World::new("single").await;
    let (user, arn) = world.user("ctl-Pa55word").await;
    let token = world.harness.driver.start(&arn).await.unwrap();
    world.step(&arn, &token, Step::Create).await.unwrap();
    // The database's password changes behind the rotation's back: setSecret is refused.
    set_password(&world, &user, "ctl-Changed1").await;
    let (error_type, _) = world.step(&arn, &token, Step::Set).await.unwrap_err();
    assert_eq!(error_type, "AuthenticationFailed");

    let (_, inspected) = world.json(&["inspect", &arn]).await;
    let progress = &inspected["rotationInProgress"];
    assert_eq!(progress["version"], token.as_str());
    let stopped = progress["stoppedAt"].as_str().unwrap();
    assert!(
        stopped.contains("createSecret")
            && stopped.contains("setSecret failed: AuthenticationFailed"),
        "{stopped}"
    );

    // Put the password back; the pending one never reached the server: abort is safe.
    set_password(&world, &user, "ctl-Pa55word").await;
    let (code, done) = world.json(&["abort", &arn]).await;
    assert_eq!((code, &done["aborted"]), (0, &json!(true)), "{done:#}");
    let stages = world.harness.driver.stages(&arn).await;
    assert!(rotation_core::labels::versions_with(&stages, AWSPENDING).is_empty());
    assert_eq!(world.harness.current(&arn).await.1, "ctl-Pa55word");
    let (code, text, _) = world.ctl(&["abort", &arn]).await;
    assert_eq!(code, 0);
    assert!(text.contains("nothing to abort"), "{text}");
}

#[tokio::test]
async fn rollback_only_to_a_previous_version_that_logs_in_and_never_mid_rotation() {
    // Alternating users: AWSPREVIOUS is the other user, which still logs in.
    let world = World::new("alternating").await;
    let (user, arn) = world.pair().await;
    let run = world.harness.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let stages = world.harness.driver.stages(&arn).await;
    let old = rotation_core::labels::versions_with(&stages, AWSPREVIOUS)[0].to_string();
    let new = rotation_core::labels::versions_with(&stages, AWSCURRENT)[0].to_string();

    // Mid-rotation: refused, nothing moves.
    let token = world.harness.driver.start(&arn).await.unwrap();
    world.step(&arn, &token, Step::Create).await.unwrap();
    let (code, text, _) = world.ctl(&["rollback", &arn]).await;
    assert_eq!(code, 1);
    assert!(text.contains("rotation is in progress"), "{text}");
    let (code, text, _) = world.ctl(&["abort", &arn]).await;
    assert_eq!(code, 0, "{text}");

    let (code, text, _) = world.ctl(&["rollback", &arn]).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("AWSCURRENT is version {old} again")),
        "{text}"
    );
    let stages = world.harness.driver.stages(&arn).await;
    assert_eq!(
        rotation_core::labels::versions_with(&stages, AWSCURRENT),
        vec![old.as_str()]
    );
    assert_eq!(
        rotation_core::labels::versions_with(&stages, AWSPREVIOUS),
        vec![new.as_str()]
    );
    let (u, pw) = world.harness.current(&arn).await;
    assert_eq!(u, user);
    assert!(world.pg.login(&u, &pw, "postgres", true).await.is_ok());
    // The pair rotates on from there.
    assert!(world.harness.rotate(&arn).await.succeeded());

    // An alternating rotation past setSecret can be aborted (AWSCURRENT is the other user),
    // but the other user now holds the pending password: AWSPREVIOUS no longer logs in, and a
    // rollback is refused.
    let token = world.harness.driver.start(&arn).await.unwrap();
    world.step(&arn, &token, Step::Create).await.unwrap();
    world.step(&arn, &token, Step::Set).await.unwrap();
    let (code, text, _) = world.ctl(&["abort", &arn]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("AWSPREVIOUS no longer logs in"), "{text}");
    let (u, pw) = world.harness.current(&arn).await;
    assert!(
        world.pg.login(&u, &pw, "postgres", true).await.is_ok(),
        "AWSCURRENT works"
    );
    let before = world.harness.driver.stages(&arn).await;
    let (code, text, _) = world.ctl(&["rollback", &arn]).await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("is refused by the server"), "{text}");
    assert_eq!(world.harness.driver.stages(&arn).await, before);

    // Single user: AWSPREVIOUS's password is gone from the server: refused.
    let world = World::new("single").await;
    let (_, arn) = world.user("ctl-Pa55word").await;
    assert!(world.harness.rotate(&arn).await.succeeded());
    let before = world.harness.driver.stages(&arn).await;
    let (code, done) = world.json(&["rollback", &arn]).await;
    assert_eq!(code, 1, "{done:#}");
    assert!(
        done["reason"].as_str().unwrap().contains("refused"),
        "{done:#}"
    );
    assert_eq!(world.harness.driver.stages(&arn).await, before);
}

#[tokio::test]
async fn errors_are_typed_and_exit_codes_say_what_happened() {
    let world = World::new("single").await;
    let (code, _, stderr) = world.ctl(&["explode", "x"]).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown command explode") && stderr.contains("usage:"),
        "{stderr}"
    );
    let (code, v) = world.json(&["inspect", "no-such-secret-anywhere"]).await;
    assert_eq!(code, 2);
    assert_eq!(v["error"]["type"], "SecretsManagerError");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ResourceNotFoundException"),
        "{v:#}"
    );
    // A secret with no rotation function and no --function.
    let arn = world
        .harness
        .secret("ctl", &world.secret_json("nobody", "x-Pa55word", json!({})))
        .await;
    let (code, v) = world.json(&["preflight", &arn]).await;
    assert_eq!(
        (code, v["error"]["type"].as_str()),
        (1, Some("Refused")),
        "{v:#}"
    );
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--function"));
}

#[tokio::test]
async fn an_abort_that_a_set_secret_overtakes_puts_awspending_back() {
    let world = World::new("single").await;
    let (user, arn) = world.user("ctl-Pa55word").await;
    let token = world.harness.driver.start(&arn).await.unwrap();
    world.step(&arn, &token, Step::Create).await.unwrap();
    // The preflight sees AWSCURRENT logging in (abort safe); then Secrets Manager's retry of
    // setSecret lands before the label is taken off.
    *world.hooks.interleave.lock().unwrap() = Some((arn.clone(), token.clone()));
    let (code, done) = world.json(&["abort", &arn]).await;
    assert_eq!(code, 1, "{done:#}");
    assert!(
        done["reason"]
            .as_str()
            .unwrap()
            .contains("AWSPENDING put back"),
        "{done:#}"
    );
    let stages = world.harness.driver.stages(&arn).await;
    assert_eq!(
        rotation_core::labels::versions_with(&stages, AWSPENDING),
        vec![token.as_str()],
        "AWSPENDING is back on the rotation's version"
    );
    let (code, text, _) = world.ctl(&["resume", &arn]).await;
    assert_eq!(code, 0, "{text}");
    let (u, pw) = world.harness.current(&arn).await;
    assert_eq!(u, user);
    assert!(world.pg.login(&u, &pw, "postgres", true).await.is_ok());
}

#[tokio::test]
async fn an_abort_waits_out_a_set_secret_that_started_before_the_label_went() {
    let world = World::new("single").await;
    let (user, arn) = world.user("ctl-Pa55word").await;
    let token = world.harness.driver.start(&arn).await.unwrap();
    world.step(&arn, &token, Step::Create).await.unwrap();
    // Secrets Manager's setSecret starts while abort checks: it passes its token check and
    // reads the pending password before the label goes, then is slow; it changes the
    // password after abort took AWSPENDING off (once a check after the change has answered,
    // or half a second on), well within the function's 2-second timeout.
    let (done, finished) = tokio::sync::oneshot::channel();
    let release = Arc::new(Semaphore::new(0));
    *world.hooks.held.lock().unwrap() = Some(HeldSet {
        arn: arn.clone(),
        token: token.clone(),
        reached: Arc::new(Semaphore::new(0)),
        release: release.clone(),
        done,
    });
    let releaser = {
        let (driver, hooks, arn, token) = (
            world.harness.driver.clone(),
            world.hooks.clone(),
            arn.clone(),
            token.clone(),
        );
        tokio::spawn(async move {
            loop {
                let stages = driver.stages(&arn).await;
                if !versions_with(&stages, AWSPENDING).contains(&token.as_str()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let removed = Instant::now();
            let before = hooks.preflights.load(Ordering::SeqCst);
            while hooks.preflights.load(Ordering::SeqCst) == before
                && removed.elapsed() < Duration::from_millis(500)
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            release.add_permits(1);
        })
    };

    let (code, text, stderr) = world.ctl(&["abort", &arn]).await;
    releaser.await.unwrap();
    let set = finished.await.unwrap();
    assert!(
        set.is_ok(),
        "the held setSecret changed the password: {set:?}"
    );
    // The server holds the pending password now. Either AWSCURRENT still logs in, or the abort
    // was undone (AWSPENDING back on the rotation's version, so it can be finished).
    let (u, pw) = world.harness.current(&arn).await;
    let current_logs_in = world.pg.login(&u, &pw, "postgres", true).await.is_ok();
    let (_, _, pending) = labels(&world, &arn).await;
    assert!(
        current_logs_in || pending == std::slice::from_ref(&token),
        "AWSCURRENT does not log in and AWSPENDING is gone (on {pending:?}): {text} {stderr}"
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("AWSPENDING is back on"), "{text}");
    assert!(
        stderr.contains(&format!("waiting {} s", TIMEOUT_SECONDS + 2)),
        "it says it waits, and how long: {stderr}"
    );
    let (code, text, _) = world.ctl(&["resume", &arn]).await;
    assert_eq!(code, 0, "{text}");
    let (u, pw) = world.harness.current(&arn).await;
    assert_eq!(u, user);
    assert!(
        world.pg.login(&u, &pw, "postgres", true).await.is_ok(),
        "AWSCURRENT logs in"
    );
}
