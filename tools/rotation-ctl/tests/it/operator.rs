//! The `rotation-ctl` binary end to end, as an operator runs it: its own SDK clients against
//! moto (Secrets Manager, CloudWatch Logs) and the testkit's loopback Lambda stand-in (Invoke,
//! GetFunctionConfiguration with a 2-second timeout), which runs the PostgreSQL rotation
//! function (built as its binary builds it) on the sandbox server, and ships the function's
//! log lines to moto's log group for the function, as Lambda does. Where Secrets Manager
//! would invoke the function after RotateSecret (moto does not), the testkit's
//! [`RotationPlayer`] does, through the same function. Every command's output is checked for
//! every password the test made, and its text output for raw control characters. The world
//! and its harness are here; the tests, by command, in the modules below.

mod attach;
mod inspect;
mod rotations;

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

use crate::common::{self, function_arn, FUNCTION};
use tokio::sync::Semaphore;
use tracing::instrument::WithSubscriber;

type Function = Strategy<PgEngine<Postgres>>;

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

/// The labels of `arn` as (AWSCURRENT, AWSPREVIOUS, AWSPENDING) version lists.
async fn labels(world: &World, arn: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    world.harness.driver.labels(arn).await
}
