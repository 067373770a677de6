//! The one integration-test harness: a rotation function invoked in-process, as Lambda would,
//! against the sandbox's moto through the real SDK client, with the rotation driver playing
//! Secrets Manager. Database test beds ([`crate::pg`]) build on it.

use rotation_core::labels::{AWSCURRENT, AWSPENDING};
use rotation_core::{
    handle_invocation, Outcome, PasswordDefaults, PasswordPolicy, Rotation, RotationEvent,
    SdkStore, Step,
};
use serde_json::Value;

use crate::driver::{RotationDriver, RotationRun};
use crate::moto::Moto;

/// The event for `step` of the rotation `token` of `arn`.
pub fn event(arn: &str, token: &str, step: Step) -> Value {
    RotationEvent {
        step,
        secret_id: arn.into(),
        token: token.into(),
        rotation_token: None,
    }
    .to_value()
}

/// A short unique suffix for names.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

/// A function under test and the sandbox it runs against.
pub struct Harness<R> {
    /// Plays Secrets Manager (RotateSecret, label reads) on moto.
    pub driver: RotationDriver,
    /// The store the function uses (the real SDK client on moto).
    pub store: SdkStore,
    /// The function's password policy.
    pub policy: PasswordPolicy,
    /// The function.
    pub function: R,
    /// Every secret this harness created, for [`Harness::created_passwords`].
    created: std::sync::Mutex<Vec<String>>,
}

impl<R: Rotation> Harness<R> {
    /// `function` with the default policy for `defaults`, on the sandbox's moto.
    pub async fn new(function: R, defaults: PasswordDefaults) -> Self {
        let moto = Moto::from_env();
        Self {
            driver: RotationDriver::new(&moto).await,
            store: SdkStore::new(moto.client().await),
            policy: PasswordPolicy::from_lookup(defaults, |_| None).expect("default policy"),
            function,
            created: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The same harness whose function talks to moto through a client with `faults` injected
    /// (and SDK retries off).
    pub async fn with_faults(mut self, faults: &crate::faults::SmFaults) -> Self {
        self.store = SdkStore::new(Moto::from_env().client_with_faults(faults).await);
        self
    }

    /// Rotates `arn` as Secrets Manager does, whatever fails: a failed step is retried up to
    /// three more times; a step that still fails ends that rotation. The next rotation starts
    /// with a new token, or, when RotateSecret refuses because the failed rotation's AWSPENDING
    /// is still there (as the real service does), resumes the failed rotation's token from
    /// createSecret (every step is idempotent). At most `rotations` attempts in all.
    /// `after_each` runs after every invocation (to check invariants). Returns the token of the
    /// rotation that completed, or None.
    pub async fn rotate_as_the_service_does<'a>(
        &'a self,
        arn: &'a str,
        rotations: usize,
        after_each: &(dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>
              + 'a),
    ) -> Option<String> {
        let mut token = self.driver.start_as_aws(arn).await.expect("RotateSecret");
        for _ in 0..rotations {
            let mut completed = true;
            for step in Step::ALL {
                let mut done = false;
                for _ in 0..4 {
                    let result = self.invoke(event(arn, &token, step)).await;
                    after_each().await;
                    if result.is_ok() {
                        done = true;
                        break;
                    }
                }
                if !done {
                    completed = false;
                    break;
                }
            }
            if completed {
                return Some(token);
            }
            if let Ok(next) = self.driver.start_as_aws(arn).await {
                token = next;
            }
        }
        None
    }

    /// The same harness with another password policy.
    pub fn with_policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Invokes the function in-process; an error is `errorType: message`.
    pub async fn invoke(&self, event: Value) -> Result<Outcome, String> {
        handle_invocation(&self.store, &self.function, &self.policy, &event)
            .await
            .map_err(|e| format!("{}: {e}", e.error_type()))
    }

    /// Runs one whole rotation of `arn`, as Secrets Manager does.
    pub async fn rotate(&self, arn: &str) -> RotationRun {
        self.driver
            .rotate(arn, |e| async { self.invoke(e).await.map(|_| ()) })
            .await
    }

    /// Rotates `arn` and returns the error of the step that failed (panics if none did).
    pub async fn failure_of(&self, arn: &str) -> String {
        let run = self.rotate(arn).await;
        run.failure()
            .map(|(_, e)| e.to_string())
            .expect("the rotation must fail")
    }

    /// A secret named `<prefix>-<unique>` holding `value`; returns its ARN.
    pub async fn secret(&self, prefix: &str, value: &str) -> String {
        let arn = self
            .driver
            .create_secret(&format!("{prefix}-{}", unique()), value)
            .await;
        self.created.lock().unwrap().push(arn.clone());
        arn
    }

    /// The `password` of every version of every secret this harness created.
    pub async fn created_passwords(&self) -> Vec<String> {
        let arns = self.created.lock().unwrap().clone();
        let mut passwords = Vec::new();
        for arn in arns {
            passwords.extend(self.driver.passwords_of(&arn).await);
        }
        passwords
    }

    /// Runs a preflight of `arn` (with the AWSPREVIOUS login when `previous`), as the deployed
    /// function answers `{"Step": "preflight", ...}`; returns the report. Asserts that no
    /// password this harness knows of appears in it.
    pub async fn preflight(&self, arn: &str, previous: bool) -> Value {
        let payload =
            serde_json::json!({"Step": "preflight", "SecretId": arn, "Previous": previous});
        let report =
            rotation_core::handle_preflight(&self.store, &self.function, &self.policy, &payload)
                .await
                .expect("a well-formed preflight event answers a report");
        let text = report.to_string();
        for password in self.created_passwords().await {
            assert!(
                password.len() < 4 || !text.contains(&password),
                "a password appears in the preflight report"
            );
        }
        report
    }

    /// Starts a rotation of `arn` as RotateSecret does and runs createSecret; returns the token.
    pub async fn start_and_create(&self, arn: &str) -> String {
        let token = self.driver.start(arn).await.expect("RotateSecret");
        self.invoke(event(arn, &token, Step::Create))
            .await
            .expect("createSecret");
        token
    }

    /// Invokes `step` of the rotation `token`, which must fail without moving any label;
    /// returns the error (`errorType: message`).
    pub async fn fails_changing_no_label(&self, arn: &str, token: &str, step: Step) -> String {
        let before = self.driver.stages(arn).await;
        let err = self
            .invoke(event(arn, token, step))
            .await
            .expect_err("the step must fail");
        assert_eq!(self.driver.stages(arn).await, before, "{step}: {err}");
        err
    }

    /// Carries a started rotation on from setSecret to finishSecret; every step must succeed.
    pub async fn resume(&self, arn: &str, token: &str) {
        for step in [Step::Set, Step::Test, Step::Finish] {
            self.invoke(event(arn, token, step))
                .await
                .unwrap_or_else(|e| panic!("{step}: {e}"));
        }
    }

    /// Starts a rotation of `arn` and invokes every step twice: one after the other, or both
    /// at once. Every invocation must succeed. Returns the token.
    pub async fn rotate_each_step_twice(&self, arn: &str, at_once: bool) -> String {
        let token = self.driver.start(arn).await.expect("RotateSecret");
        for step in Step::ALL {
            let ev = event(arn, &token, step);
            if at_once {
                let (a, b) = tokio::join!(self.invoke(ev.clone()), self.invoke(ev.clone()));
                a.unwrap_or_else(|e| panic!("{step}: {e}"));
                b.unwrap_or_else(|e| panic!("{step}: {e}"));
            } else {
                self.invoke(ev.clone())
                    .await
                    .unwrap_or_else(|e| panic!("{step}: {e}"));
                self.invoke(ev)
                    .await
                    .unwrap_or_else(|e| panic!("{step} again: {e}"));
            }
        }
        token
    }

    /// Stores a copy of the AWSPENDING value with `field` changed as a new AWSPENDING version
    /// (the label moves to it), as an attacker with PutSecretValue could, and returns its
    /// token: invoke the next step with it. The service never lets a version's value change,
    /// so tampering always makes a new version.
    pub async fn tamper_pending(
        &self,
        arn: &str,
        token: &str,
        field: &str,
        value: Value,
    ) -> String {
        let mut pending: Value =
            serde_json::from_str(&self.driver.value(arn, AWSPENDING).await).expect("JSON");
        pending[field] = value;
        let tampered = format!("tampered-{}", &token[..token.len().min(32)]);
        self.driver
            .client()
            .put_secret_value()
            .secret_id(arn)
            .client_request_token(&tampered)
            .secret_string(pending.to_string())
            .version_stages(AWSPENDING)
            .send()
            .await
            .expect("PutSecretValue");
        tampered
    }

    /// True when the version `token` of `arn` has a value under AWSPENDING.
    pub async fn pending_value_exists(&self, arn: &str, token: &str) -> bool {
        self.driver
            .client()
            .get_secret_value()
            .secret_id(arn)
            .version_id(token)
            .version_stage(AWSPENDING)
            .send()
            .await
            .is_ok()
    }

    /// Username and password under `stage`.
    pub async fn creds(&self, arn: &str, stage: &str) -> (String, String) {
        let v: Value = serde_json::from_str(&self.driver.value(arn, stage).await).expect("JSON");
        (
            v["username"].as_str().unwrap_or_default().into(),
            v["password"].as_str().expect("a password").into(),
        )
    }

    /// Username and password under AWSCURRENT.
    pub async fn current(&self, arn: &str) -> (String, String) {
        self.creds(arn, AWSCURRENT).await
    }
}
