//! The `rotation-ctl` binary end to end, as an operator runs it: its own SDK clients against
//! moto (Secrets Manager, CloudWatch Logs) and the testkit's loopback Lambda Invoke stand-in,
//! which runs the PostgreSQL rotation function (built as its binary builds it) on the sandbox
//! server, and ships the function's log lines to moto's log group for the function, as Lambda
//! does. Every command's output is checked for every password the test made.

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use postgresql::{PgEngine, Postgres};
use rotation_core::database::{ConnectPolicy, Strategy, TrustAnchors};
use rotation_core::labels::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::{PasswordDefaults, Step};
use rotation_testkit::postgres::{ident, literal, PgAdmin};
use rotation_testkit::{event, unique, Handler, Harness, LambdaApi, Moto, Trust, REGION};
use serde_json::{json, Value};
use tracing::instrument::WithSubscriber;

type Function = Strategy<PgEngine<Postgres>>;

/// The name Lambda logs under: the last part of the rotation function ARN the test driver
/// gives RotateSecret.
const FUNCTION: &str = "rotation-driver-placeholder";

struct World {
    harness: Arc<Harness<Function>>,
    api: LambdaApi,
    pg: PgAdmin,
    moto: Moto,
    /// Each invocation's JSON log lines, shipped to moto after it answers.
    logs: aws_sdk_cloudwatchlogs::Client,
    interleave: Interleave,
}

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A setSecret to run right after the next preflight answers (secret ARN, token): a rotation
/// step that lands between an operator's check and change.
type Interleave = Arc<Mutex<Option<(String, String)>>>;

/// Runs one invocation as the deployed function does (preflight, or a rotation step), its log
/// lines in the function's JSON format shipped to `/aws/lambda/<name>` on moto.
async fn invoke(
    harness: Arc<Harness<Function>>,
    logs: aws_sdk_cloudwatchlogs::Client,
    name: String,
    payload: Value,
    interleave: Interleave,
) -> rotation_testkit::InvokeResult {
    let sink = Lines::default();
    let writer = sink.clone();
    let subscriber = rotation_core::telemetry::json_subscriber(
        move || writer.clone(),
        rotation_core::telemetry::filter("info"),
    );
    let h = &*harness;
    let result = async {
        if rotation_core::is_preflight(&payload) {
            rotation_core::handle_preflight(&h.store, &h.function, &h.policy, &payload).await
        } else {
            rotation_core::handle_invocation(&h.store, &h.function, &h.policy, &payload)
                .await
                .map(|_| Value::Null)
        }
    }
    .with_subscriber(subscriber)
    .await;
    if rotation_core::is_preflight(&payload) {
        let pending = interleave.lock().unwrap().take();
        if let Some((arn, token)) = pending {
            let set = event(&arn, &token, Step::Set);
            rotation_core::handle_invocation(&h.store, &h.function, &h.policy, &set)
                .await
                .expect("the interleaved setSecret");
        }
    }
    let group = format!("/aws/lambda/{}", name.rsplit(':').next().unwrap_or(&name));
    let _ = logs.create_log_group().log_group_name(&group).send().await;
    let stream = unique();
    logs.create_log_stream()
        .log_group_name(&group)
        .log_stream_name(&stream)
        .send()
        .await
        .expect("CreateLogStream");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let events: Vec<_> = text
        .lines()
        .map(|l| {
            InputLogEvent::builder()
                .timestamp(now)
                .message(l)
                .build()
                .unwrap()
        })
        .collect();
    if !events.is_empty() {
        logs.put_log_events()
            .log_group_name(&group)
            .log_stream_name(&stream)
            .set_log_events(Some(events))
            .send()
            .await
            .expect("PutLogEvents");
    }
    result.map_err(|e| (e.error_type().to_string(), e.to_string()))
}

impl World {
    async fn new(strategy: &str) -> Self {
        let pg = PgAdmin::from_env();
        let (extra, built_in) = Trust::SandboxCa.anchors(&pg.ca, &pg.other_ca);
        let policy = ConnectPolicy::new(TrustAnchors::new(extra, built_in).unwrap());
        let settings = rotation_testkit::settings(
            PasswordDefaults::POSTGRES,
            &[("ROTATION_STRATEGY", strategy.to_string())],
        );
        let function = postgresql::postgresql_with(&settings, policy, None).unwrap();
        let harness = Arc::new(Harness::new(function, PasswordDefaults::POSTGRES).await);
        let moto = Moto::from_env();
        let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk_config().await);
        let interleave = Interleave::default();
        let (h, l, i) = (harness.clone(), logs.clone(), interleave.clone());
        let handler: Handler = Arc::new(move |name, payload| {
            Box::pin(invoke(h.clone(), l.clone(), name, payload, i.clone()))
        });
        let api = LambdaApi::start(handler).await.unwrap();
        Self {
            harness,
            api,
            pg,
            moto,
            logs,
            interleave,
        }
    }

    fn secret_json(&self, user: &str, password: &str, extra: Value) -> String {
        let mut v = json!({"engine": "postgres", "host": self.pg.host, "port": self.pg.port,
            "username": user, "password": password, "dbname": "postgres", "ssl": true});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v.to_string()
    }

    /// A login user and its secret; (user, ARN).
    async fn user(&self, password: &str) -> (String, String) {
        let user = format!("ctl_{}", unique());
        self.pg
            .create_login("postgres", &user, password, false, &[])
            .await;
        let arn = self
            .harness
            .secret("ctl", &self.secret_json(&user, password, json!({})))
            .await;
        (user, arn)
    }

    /// A user, a superuser and the user's alternating secret; (user, ARN).
    async fn pair(&self) -> (String, String) {
        let (user, _) = self.user("ctl-Pa55word").await;
        let master = format!("ctlmaster_{}", unique());
        self.pg
            .session("postgres")
            .await
            .batch_execute(&format!(
                "CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}",
                ident(&master),
                literal("ctl-Ma5ter")
            ))
            .await
            .unwrap();
        let master_arn = self
            .harness
            .secret("ctlm", &self.secret_json(&master, "ctl-Ma5ter", json!({})))
            .await;
        let arn = self
            .harness
            .secret(
                "ctl",
                &self.secret_json(&user, "ctl-Pa55word", json!({"masterarn": master_arn})),
            )
            .await;
        (user, arn)
    }

    /// One step through the stand-in's handler (as Lambda would run it for Secrets Manager).
    async fn step(&self, arn: &str, token: &str, step: Step) -> rotation_testkit::InvokeResult {
        invoke(
            self.harness.clone(),
            self.logs.clone(),
            FUNCTION.to_string(),
            event(arn, token, step),
            Interleave::default(),
        )
        .await
    }

    /// Runs `rotation-ctl ARGS`: (exit code, stdout, stderr). Fails the test if any password
    /// the test made appears in either stream.
    async fn ctl(&self, args: &[&str]) -> (i32, String, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_rotation-ctl"))
            .args(args)
            .env_clear()
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            // Empty means unset: without that, this would be the endpoint of every client.
            .env("AWS_ENDPOINT_URL", "")
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_LAMBDA", self.api.endpoint())
            .stdin(Stdio::null())
            .output()
            .await
            .expect("rotation-ctl runs");
        let (stdout, stderr) = (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
        let mut passwords = self.harness.created_passwords().await;
        passwords.extend(["ctl-Pa55word".into(), "ctl-Ma5ter".into()]);
        for p in passwords {
            assert!(
                !stdout.contains(&p) && !stderr.contains(&p),
                "a password in the output of {args:?}"
            );
        }
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }

    async fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let (code, stdout, stderr) = self.ctl(&all).await;
        let v = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout} {stderr}"));
        (code, v)
    }
}

#[tokio::test]
async fn preflight_and_inspect_a_healthy_secret_change_nothing() {
    let world = World::new("single").await;
    let (user, arn) = world.user("ctl-Pa55word").await;
    // Attach a rotation function (the driver's RotateSecret sets it) and finish that rotation,
    // so the secret has a rotation function and two versions.
    let run = world.harness.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let before = world.harness.driver.stages(&arn).await;

    let (code, text, _) = world.ctl(&["preflight", &arn]).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("current_login") && text.contains(&user),
        "{text}"
    );
    assert!(text.contains("all checks passed"), "{text}");
    let (name, payload) = world.api.invocations().pop().unwrap();
    assert!(name.ends_with(&format!("function:{FUNCTION}")), "{name}");
    assert_eq!(
        payload,
        json!({"Step": "preflight", "SecretId": arn, "Previous": false})
    );

    let (code, report) = world
        .json(&["preflight", &arn, "--function", "by-name"])
        .await;
    assert_eq!((code, &report["ok"]), (0, &json!(true)), "{report:#}");
    assert_eq!(world.api.invocations().pop().unwrap().0, "by-name");

    let (code, text, _) = world.ctl(&["inspect", &arn]).await;
    assert_eq!(code, 0);
    let current = world.harness.driver.value(&arn, AWSCURRENT).await;
    let current: Value = serde_json::from_str(&current).unwrap();
    assert!(text.contains("no rotation in progress"), "{text}");
    assert!(
        text.contains("rotation  on;") && text.contains("every 30 days"),
        "{text}"
    );
    let (_, inspected) = world.json(&["inspect", &arn]).await;
    let versions = inspected["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{inspected:#}");
    let fingerprints: Vec<&str> = versions
        .iter()
        .map(|v| v["passwordFingerprint"].as_str().unwrap())
        .collect();
    assert!(fingerprints.iter().all(|f| f.len() == 16) && fingerprints[0] != fingerprints[1]);
    let mut labels: Vec<String> = versions.iter().map(|v| v["stages"].to_string()).collect();
    labels.sort();
    assert_eq!(
        labels,
        [r#"["AWSCURRENT"]"#, r#"["AWSPREVIOUS"]"#],
        "{inspected:#}"
    );
    assert!(!inspected
        .to_string()
        .contains(current["password"].as_str().unwrap()));
    assert_eq!(
        world.harness.driver.stages(&arn).await,
        before,
        "nothing changed"
    );
}

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
    world
        .pg
        .session("postgres")
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD 'ctl-Changed1'",
            ident(&user)
        ))
        .await
        .unwrap();
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
    world
        .pg
        .session("postgres")
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD 'ctl-Pa55word'",
            ident(&user)
        ))
        .await
        .unwrap();
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
    *world.interleave.lock().unwrap() = Some((arn.clone(), token.clone()));
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
