//! The `rotation-ctl` binary end to end, as an operator runs it: its own SDK clients against
//! moto (Secrets Manager, CloudWatch Logs) and the testkit's loopback Lambda stand-in (Invoke,
//! GetFunctionConfiguration with a 2-second timeout), which runs the PostgreSQL rotation
//! function (built as its binary builds it) on the sandbox server, and ships the function's
//! log lines to moto's log group for the function, as Lambda does. Where Secrets Manager
//! would invoke the function after RotateSecret (moto does not), the testkit's
//! [`RotationPlayer`] does, through the same function. Every command's output is checked for
//! every password the test made, and its text output for raw control characters.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rotation_core::database::{ConnectPolicy, Strategy, TrustAnchors};
use rotation_core::labels::{versions_with, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::{
    PasswordDefaults, PasswordPolicy, SdkStore, SecretMetadata, SecretStore, SecretValue,
    SecretVersion, Step,
};
use rotation_postgresql::{PgEngine, Postgres};
use rotation_testkit::postgres::{ident, literal, PgAdmin};
use rotation_testkit::{
    event, unique, CountingProxy, FunctionSettings, Handler, Harness, LambdaApi, Moto, Played,
    RotationPlayer, StepInvoker, Trust, REGION,
};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tracing::instrument::WithSubscriber;

type Function = Strategy<PgEngine<Postgres>>;

/// The name Lambda logs under: the last part of the rotation function ARN the test driver
/// gives RotateSecret.
const FUNCTION: &str = "rotation-driver-placeholder";

/// The function's timeout, as the Lambda stand-in answers it.
const TIMEOUT_SECONDS: u32 = 2;

struct World {
    harness: Arc<Harness<Function>>,
    api: LambdaApi,
    pg: PgAdmin,
    moto: Moto,
    /// Each invocation's JSON log lines, shipped to moto after it answers.
    logs: aws_sdk_cloudwatchlogs::Client,
    hooks: Arc<Hooks>,
}

/// What the tests make happen around the function's invocations, and what they saw.
#[derive(Default)]
struct Hooks {
    /// A setSecret to run right after the next preflight answers (secret ARN, token): a
    /// rotation step that lands between an operator's check and change.
    interleave: Mutex<Option<(String, String)>>,
    /// A setSecret to start when the next preflight answers, held after it read its AWSPENDING
    /// value until released: one that started before an operator's change and runs on.
    held: Mutex<Option<HeldSet>>,
    /// Preflights answered so far.
    preflights: AtomicUsize,
    /// Every invocation, in order: `preflight`, or `STEP TOKEN`.
    seen: Mutex<Vec<String>>,
}

/// A setSecret of rotation `token` of `arn`, held by [`Held`].
struct HeldSet {
    arn: String,
    token: String,
    /// A permit once it has read its AWSPENDING value.
    reached: Arc<Semaphore>,
    /// It goes on once a permit is added.
    release: Arc<Semaphore>,
    /// Its result, once it ends.
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// The function's store for a held setSecret: every call passes, but once the AWSPENDING value
/// of `token` has been read (the step passed its token check and holds the pending password),
/// the next call waits for `release`.
struct Held {
    inner: SdkStore,
    token: String,
    past: AtomicBool,
    reached: Arc<Semaphore>,
    release: Arc<Semaphore>,
}

impl Held {
    async fn gate(&self) {
        if self.past.load(Ordering::SeqCst) {
            // The permit goes back when dropped: one release lets every later call through.
            let _ = self.release.acquire().await;
        }
    }
}

impl SecretStore for Held {
    async fn describe(&self, secret_id: &str) -> rotation_core::Result<SecretMetadata> {
        self.gate().await;
        self.inner.describe(secret_id).await
    }

    async fn get_version(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> rotation_core::Result<SecretVersion> {
        self.gate().await;
        let out = self.inner.get_version(secret_id, stage, version_id).await;
        if out.is_ok() && stage == AWSPENDING && version_id == Some(self.token.as_str()) {
            self.past.store(true, Ordering::SeqCst);
            self.reached.add_permits(1);
        }
        out
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        rotation_token: Option<&str>,
        value: &SecretValue,
    ) -> rotation_core::Result<()> {
        self.gate().await;
        self.inner
            .put_pending(secret_id, token, rotation_token, value)
            .await
    }

    async fn update_stage(
        &self,
        secret_id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> rotation_core::Result<()> {
        self.gate().await;
        self.inner
            .update_stage(secret_id, stage, move_to, remove_from)
            .await
    }

    async fn random_password(&self, policy: &PasswordPolicy) -> rotation_core::Result<SecretValue> {
        self.gate().await;
        self.inner.random_password(policy).await
    }
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

/// Runs one invocation as the deployed function does (preflight, or a rotation step), its log
/// lines in the function's JSON format shipped to `/aws/lambda/<name>` on moto.
async fn invoke(
    harness: Arc<Harness<Function>>,
    logs: aws_sdk_cloudwatchlogs::Client,
    name: String,
    payload: Value,
    hooks: Arc<Hooks>,
) -> rotation_testkit::InvokeResult {
    hooks
        .seen
        .lock()
        .unwrap()
        .push(if rotation_core::is_preflight(&payload) {
            "preflight".to_string()
        } else {
            format!(
                "{} {}",
                payload["Step"].as_str().unwrap_or("?"),
                payload["ClientRequestToken"].as_str().unwrap_or("?")
            )
        });
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
        let pending = hooks.interleave.lock().unwrap().take();
        if let Some((arn, token)) = pending {
            let set = event(&arn, &token, Step::Set);
            rotation_core::handle_invocation(&h.store, &h.function, &h.policy, &set)
                .await
                .expect("the interleaved setSecret");
        }
        let held = hooks.held.lock().unwrap().take();
        if let Some(held) = held {
            let reached = held.reached.clone();
            let harness = harness.clone();
            tokio::spawn(async move {
                let store = Held {
                    inner: harness.store.clone(),
                    token: held.token.clone(),
                    past: AtomicBool::new(false),
                    reached: held.reached,
                    release: held.release,
                };
                let set = event(&held.arn, &held.token, Step::Set);
                let h = &*harness;
                let result = rotation_core::handle_invocation(&store, &h.function, &h.policy, &set)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{}: {e}", e.error_type()));
                let _ = held.done.send(result);
            });
            // The preflight answers once the setSecret holds the pending password.
            tokio::time::timeout(Duration::from_secs(30), reached.acquire())
                .await
                .expect("the held setSecret reads its AWSPENDING value")
                .unwrap()
                .forget();
        }
        hooks.preflights.fetch_add(1, Ordering::SeqCst);
    }
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    common::ship_logs(&logs, name.rsplit(':').next().unwrap_or(&name), &text).await;
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
        let function =
            rotation_postgresql::postgresql::build_with(&settings, policy, None).unwrap();
        let harness = Arc::new(Harness::new(function, PasswordDefaults::POSTGRES).await);
        let moto = Moto::from_env();
        let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk_config().await);
        let hooks = Arc::new(Hooks::default());
        let (h, l, k) = (harness.clone(), logs.clone(), hooks.clone());
        let handler: Handler = Arc::new(move |name, payload| {
            Box::pin(invoke(h.clone(), l.clone(), name, payload, k.clone()))
        });
        let settings = FunctionSettings {
            timeout_seconds: TIMEOUT_SECONDS,
            ..FunctionSettings::default()
        };
        let api = LambdaApi::start_with(handler, settings).await.unwrap();
        Self {
            harness,
            api,
            pg,
            moto,
            logs,
            hooks,
        }
    }

    /// Plays Secrets Manager's invocations of the function after RotateSecret for `arn` (moto
    /// makes none); with `configuration_tests`, also its test for `RotateImmediately=false`.
    async fn player(&self, arn: &str, configuration_tests: bool) -> RotationPlayer {
        let (h, l, k) = (self.harness.clone(), self.logs.clone(), self.hooks.clone());
        let invoker: StepInvoker = Arc::new(move |payload| {
            let (h, l, k) = (h.clone(), l.clone(), k.clone());
            Box::pin(async move {
                invoke(h, l, FUNCTION.to_string(), payload, k)
                    .await
                    .map(|_| ())
                    .map_err(|(t, m)| format!("{t}: {m}"))
            })
        });
        RotationPlayer::start(
            self.harness.driver.client().clone(),
            arn,
            invoker,
            configuration_tests,
        )
        .await
    }

    /// The invocations seen so far, in order.
    fn seen(&self) -> Vec<String> {
        self.hooks.seen.lock().unwrap().clone()
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
            Arc::new(Hooks::default()),
        )
        .await
    }

    /// Runs `rotation-ctl ARGS`: (exit code, stdout, stderr). Fails the test if any password
    /// the test made appears in either stream, or a raw control character in text output.
    async fn ctl(&self, args: &[&str]) -> (i32, String, String) {
        self.ctl_through(args, self.moto.endpoint()).await
    }

    /// [`World::ctl`] with Secrets Manager at `secrets_manager` (a proxy in front of moto).
    async fn ctl_through(&self, args: &[&str], secrets_manager: &str) -> (i32, String, String) {
        let (code, stdout, stderr) = common::run_ctl(
            args,
            REGION,
            secrets_manager,
            self.moto.endpoint(),
            self.api.endpoint(),
        )
        .await;
        let mut passwords = self.harness.created_passwords().await;
        passwords.extend(["ctl-Pa55word".into(), "ctl-Ma5ter".into()]);
        for p in passwords {
            assert!(
                !stdout.contains(&p) && !stderr.contains(&p),
                "a password in the output of {args:?}"
            );
        }
        // JSON is serde_json's (control characters escaped in strings, C1 excepted: JSON
        // allows them); text is the tool's own and holds none but its line breaks.
        let text = !args.contains(&"json");
        for (name, stream) in [("stdout", &stdout), ("stderr", &stderr)] {
            if let Some(c) = stream
                .chars()
                .find(|c| *c != '\n' && c.is_control() && (text || name == "stderr"))
            {
                panic!("a raw {c:?} in the {name} of {args:?}: {stream:?}");
            }
        }
        (code, stdout, stderr)
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
    let (_, inspected) = world.json(&["inspect", &arn, "--fingerprints"]).await;
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

/// The labels of `arn` as (AWSCURRENT, AWSPREVIOUS, AWSPENDING) version lists.
/// Sets `user`'s password on the sandbox server by hand, as an operator or another tool would.
async fn set_password(world: &World, user: &str, password: &str) {
    world
        .pg
        .session("postgres")
        .await
        .batch_execute(&format!("ALTER ROLE {} PASSWORD '{password}'", ident(user)))
        .await
        .unwrap();
}

/// The rotation function the secret names (DescribeSecret's RotationLambdaARN).
async fn attached_function(world: &World, arn: &str) -> Option<String> {
    world
        .harness
        .driver
        .client()
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .unwrap()
        .rotation_lambda_arn()
        .map(str::to_string)
}

async fn labels(world: &World, arn: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    world.harness.driver.labels(arn).await
}

/// The rotation function moto knows (the one the stand-in's configuration names).
fn function_arn() -> String {
    format!(
        "arn:aws:lambda:{REGION}:{}:function:{FUNCTION}",
        rotation_testkit::MOTO_ACCOUNT
    )
}

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
async fn inspect_reads_values_only_for_fingerprints_and_shows_a_refusal_per_version() {
    let world = World::new("single").await;
    let (_, arn) = world.user("ctl-Pa55word").await;
    assert!(world.harness.rotate(&arn).await.succeeded());
    let proxy = CountingProxy::start(world.moto.endpoint()).await.unwrap();

    let (code, stdout, stderr) = world
        .ctl_through(&["inspect", &arn, "--output", "json"], proxy.endpoint())
        .await;
    assert_eq!(code, 0, "{stdout} {stderr}");
    let inspected: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(proxy.calls("GetSecretValue"), 0, "{:?}", proxy.operations());
    assert!(
        proxy.calls("ListSecretVersionIds") >= 1,
        "{:?}",
        proxy.operations()
    );
    let versions = inspected["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{inspected:#}");
    assert!(versions
        .iter()
        .all(|v| v.get("passwordFingerprint").is_none() && v["created"].is_string()));
    let (_, text, _) = world
        .ctl_through(&["inspect", &arn], proxy.endpoint())
        .await;
    assert!(
        !text.contains("FINGERPRINT") && text.contains("CREATED"),
        "{text}"
    );
    assert_eq!(proxy.calls("GetSecretValue"), 0);

    let (code, text, _) = world
        .ctl_through(&["inspect", &arn, "--fingerprints"], proxy.endpoint())
        .await;
    assert_eq!(code, 0);
    assert_eq!(proxy.calls("GetSecretValue"), 2, "one per labelled version");
    assert!(text.contains("PASSWORD FINGERPRINT"), "{text}");

    // An identity without GetSecretValue: each version says so; the command does not fail.
    proxy.deny("GetSecretValue");
    let (code, done) = {
        let (code, stdout, _) = world
            .ctl_through(
                &["inspect", &arn, "--fingerprints", "--output", "json"],
                proxy.endpoint(),
            )
            .await;
        (code, serde_json::from_str::<Value>(&stdout).unwrap())
    };
    assert_eq!(code, 0, "{done:#}");
    let versions = done["versions"].as_array().unwrap();
    assert!(
        versions
            .iter()
            .all(|v| v["passwordFingerprint"] == "(not permitted)"),
        "{done:#}"
    );
    let (code, text, _) = world
        .ctl_through(&["inspect", &arn, "--fingerprints"], proxy.endpoint())
        .await;
    assert_eq!(code, 0);
    assert!(
        text.contains("(not permitted)") && text.contains("kms:Decrypt"),
        "{text}"
    );
}

#[tokio::test]
async fn text_output_escapes_control_characters_from_a_secret() {
    let world = World::new("single").await;
    // A secret writer's username: erase the line and write "ok" over it, a C1 CSI, and a
    // newline that starts a forged row.
    let hostile = "ctl\u{1b}[2K\rok\u{9b}32m\nsecret_shape  ok  all fine";
    let arn = world
        .harness
        .secret(
            "ctl",
            &world.secret_json(hostile, "ctl-Pa55word", json!({})),
        )
        .await;
    let (code, report) = world
        .json(&["preflight", &arn, "--function", FUNCTION])
        .await;
    assert_eq!(code, 1);
    assert!(
        report
            .to_string()
            .contains("ctl\\u001b[2K\\rok\u{9b}32m\\nsecret_shape"),
        "JSON keeps the username as it is (serde_json's escapes): {report}"
    );
    // World::ctl fails on any raw control character in text output.
    let (code, text, _) = world
        .ctl(&["preflight", &arn, "--function", FUNCTION])
        .await;
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("ctl\\x1b[2K\\rok\\u{9b}32m\\nsecret_shape  ok  all fine"),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("secret_shape  ok  all")),
        "{text}"
    );
    assert!(text.contains("FAILED"), "{text}");
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
