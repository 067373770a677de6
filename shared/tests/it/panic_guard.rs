//! The panic guard with the real process panic hook: a rotation whose setSecret panics with a
//! message holding the pending password (as a driver's row-conversion panic quotes the row)
//! answers `InternalError` naming the panic's `file:line`; the logs carry that location and
//! never the password; nothing the process prints does either; the labels do not move and the
//! next invocation is served. The hook is process-wide, so the checks run in a child process
//! of this test binary (the ignored test below, run by the first one), leaving every other
//! test binary's panic output as it is.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use rotation_core::labels::{self, AWSCURRENT, AWSPENDING};
use rotation_core::telemetry::{filter, json_subscriber};
use rotation_core::{
    handle_invocation_guarded, install_panic_hook, JsonSecret, MemoryStore, Outcome,
    PasswordDefaults, PasswordPolicy, Result, Rotation, RotationEvent, SecretStore, SecretValue,
    Step, StepContext,
};

/// Collects the JSON log lines (a `MakeWriter` for the project's subscriber).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

const TOKEN: &str = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
/// The password of AWSCURRENT, which must never be printed.
const PASSWORD: &str = "Current-Pa55word-never-printed";
/// The child process runs the ignored test when this variable is set.
const CHILD: &str = "PANIC_GUARD_CHILD";

/// The line of the `panic!` below, set just before it runs.
static PANIC_LINE: AtomicU32 = AtomicU32::new(0);

/// A rotation whose setSecret panics with the passwords in the message.
struct Panicking;

impl Rotation for Panicking {
    fn validate(&self, value: &SecretValue, which: &str) -> Result<()> {
        JsonSecret::parse(value, which).map(|_| ())
    }
    fn pending_value(&self, current: &SecretValue, pw: &SecretValue) -> Result<SecretValue> {
        Ok(JsonSecret::parse(current, AWSCURRENT)?
            .with_password(pw)
            .to_secret_value())
    }
    async fn set_secret<S: SecretStore>(&self, ctx: &StepContext<'_, S>) -> Result<()> {
        let pending = ctx.pending().await?;
        let current = ctx.current().await?;
        PANIC_LINE.store(line!() + 1, Ordering::SeqCst);
        panic!(
            "could not convert row (\"{}\", \"{}\")",
            current.expose(),
            pending.expose()
        );
    }
    async fn verify_pending<S: SecretStore>(
        &self,
        _ctx: &StepContext<'_, S>,
        _pending: &SecretValue,
    ) -> Result<()> {
        Ok(())
    }
}

fn event(step: Step) -> serde_json::Value {
    RotationEvent {
        step,
        secret_id: MemoryStore::arn("s"),
        token: TOKEN.to_string(),
        rotation_token: None,
    }
    .to_value()
}

#[test]
fn a_panicking_step_answers_internal_error_and_no_output_holds_its_message() {
    let exe = std::env::current_exe().expect("this test binary");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "panic_guard::the_guard_in_this_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("the child process runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
    // The child's last panic happened with no log capture: the hook's JSON line went to
    // stdout, with the location and without the message.
    assert!(
        text.contains(r#""error_type":"InternalError""#)
            && text.contains(r#""location":"shared/tests/it/panic_guard.rs:"#),
        "the hook logged no location:\n{text}"
    );
    assert!(
        !text.contains(PASSWORD),
        "the panic message reached the output"
    );
    assert!(
        !text.contains("could not convert row"),
        "the panic message reached the output"
    );
}

/// Fails the child test with `message` (returned, not panicked: under the process hook a
/// panic's message is not printed, so a failing check would say nothing).
fn check(ok: bool, message: impl FnOnce() -> String) -> std::result::Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}

#[tokio::test]
#[ignore = "run by the test above in a child process: it installs the process panic hook"]
async fn the_guard_in_this_process() -> std::result::Result<(), String> {
    check(std::env::var(CHILD).is_ok(), || {
        "run only as a child process".into()
    })?;
    install_panic_hook();
    let store = MemoryStore::new();
    let current = serde_json::json!({"username": "app", "password": PASSWORD});
    store.create_secret("s", &current.to_string());
    store
        .start_rotation("s", TOKEN)
        .map_err(|e| e.to_string())?;
    let policy = PasswordPolicy::from_lookup(PasswordDefaults::STANDARD, |_| None)
        .map_err(|e| e.to_string())?;
    let invoke = |step| {
        let (store, policy) = (&store, &policy);
        async move { handle_invocation_guarded(store, &Panicking, policy, &event(step)).await }
    };
    let capture = Capture::default();
    let logs = tracing::subscriber::set_default(json_subscriber(capture.clone(), filter("trace")));

    let created = invoke(Step::Create).await.map_err(|e| e.to_string())?;
    check(created == Outcome::Done, || {
        format!("createSecret: {created:?}")
    })?;
    let pending = store.value_of("s", TOKEN).ok_or("no pending value")?;
    let pending = JsonSecret::parse(&SecretValue::new(pending), AWSPENDING)
        .map_err(|e| e.to_string())?
        .password()
        .expose()
        .to_string();
    let stages = store.stages("s");
    let secrets = [PASSWORD, pending.as_str(), "could not convert row"];

    for attempt in 1..=2 {
        let err = match invoke(Step::Set).await {
            Err(err) => err,
            Ok(outcome) => return Err(format!("setSecret {attempt} answered {outcome:?}")),
        };
        let location = format!("{}:{}", file!(), PANIC_LINE.load(Ordering::SeqCst));
        let message = err.to_string();
        check(err.error_type() == "InternalError", || message.clone())?;
        check(message.contains(&location), || {
            format!("{attempt}: {message} does not name {location}")
        })?;
        check(!secrets.iter().any(|s| message.contains(s)), || {
            format!("{attempt}: the panic message reached the error")
        })?;
        check(store.stages("s") == stages, || "a label moved".into())?;
    }
    drop(logs);
    let text = capture.text();
    let location = format!("{}:{}", file!(), PANIC_LINE.load(Ordering::SeqCst));
    check(
        text.contains(&format!(r#""location":"{location}""#))
            && text.contains(r#""message":"rotation step failed""#)
            && text.contains(r#""error_type":"InternalError""#),
        || format!("the logs lack the location or the step's failure:\n{text}"),
    )?;
    check(!secrets.iter().any(|s| text.contains(s)), || {
        "the panic message reached the logs".into()
    })?;
    // The process goes on: testSecret answers, as the next delivery would.
    let tested = invoke(Step::Test).await.map_err(|e| e.to_string())?;
    check(tested == Outcome::Done, || {
        format!("testSecret: {tested:?}")
    })?;
    // With no log capture, the hook's line goes to stdout, where the parent test reads it.
    let err = invoke(Step::Set)
        .await
        .err()
        .ok_or("setSecret did not fail")?;
    check(err.error_type() == "InternalError", || err.to_string())?;
    let stages = store.stages("s");
    let pending_on = labels::versions_with(&stages, AWSPENDING);
    check(pending_on == [TOKEN], || {
        format!("AWSPENDING is on {pending_on:?}")
    })
}
