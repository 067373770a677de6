//! A rotation driver that plays Secrets Manager against moto: RotateSecret creates the
//! AWSPENDING placeholder version named by a fresh token and enables rotation; then the four
//! steps are invoked in order, stopping at the first failure, as the service does.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::types::RotationRulesType;
use aws_sdk_secretsmanager::Client;
use rotation_core::labels::{self, VersionStages, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::{RotationEvent, SdkStore, SecretStore, Step};
use serde_json::Value;

use crate::moto::Moto;

/// One step as the driver ran it.
#[derive(Debug, Clone)]
pub struct StepRun {
    /// The step.
    pub step: Step,
    /// How long the invocation took.
    pub elapsed: Duration,
    /// Ok, or the error the function returned (its `errorType: message`).
    pub result: Result<(), String>,
}

/// One rotation as the driver ran it.
#[derive(Debug, Clone)]
pub struct RotationRun {
    /// The ClientRequestToken (the new version id).
    pub token: String,
    /// The AWSCURRENT version before the rotation.
    pub previous_current: Option<String>,
    /// The steps invoked, in order; stops at the first failure.
    pub steps: Vec<StepRun>,
    /// Wall time of the four steps.
    pub elapsed: Duration,
}

impl RotationRun {
    /// True when all four steps succeeded.
    pub fn succeeded(&self) -> bool {
        self.steps.len() == 4 && self.steps.iter().all(|s| s.result.is_ok())
    }

    /// The step that failed, with its error.
    pub fn failure(&self) -> Option<(Step, &str)> {
        self.steps
            .iter()
            .find_map(|s| s.result.as_ref().err().map(|e| (s.step, e.as_str())))
    }
}

/// Plays Secrets Manager for a rotation function invoked in-process.
#[derive(Debug, Clone)]
pub struct RotationDriver {
    client: Client,
    lambda_arn: String,
}

impl RotationDriver {
    /// A driver on the sandbox's moto server.
    pub async fn new(moto: &Moto) -> Self {
        let lambda_arn = moto
            .rotation_lambda()
            .await
            .expect("moto must accept the placeholder rotation Lambda");
        Self {
            client: moto.client().await,
            lambda_arn,
        }
    }

    /// The Secrets Manager client the driver uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates a secret with `value` as AWSCURRENT; returns its ARN.
    pub async fn create_secret(&self, name: &str, value: &str) -> String {
        self.client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("CreateSecret")
            .arn()
            .expect("ARN")
            .to_string()
    }

    /// What RotateSecret does before the first invocation; returns the new token.
    pub async fn start(&self, secret_id: &str) -> Result<String, String> {
        self.start_with_token(secret_id, &uuid::Uuid::new_v4().to_string())
            .await
    }

    /// RotateSecret as the real service answers it: refused while AWSPENDING sits on a version
    /// other than AWSCURRENT (a previous rotation is not complete). moto accepts that case and
    /// moves the label (see the tooling notes), so the check is made here first.
    pub async fn start_as_aws(&self, secret_id: &str) -> Result<String, String> {
        let stages = self.stages(secret_id).await;
        let stale: Vec<&str> = labels::versions_with(&stages, AWSPENDING)
            .into_iter()
            .filter(|v| !labels::has_label(&stages, v, AWSCURRENT))
            .collect();
        if let Some(v) = stale.first() {
            return Err(format!(
                "RotateSecret: a previous rotation isn't complete (AWSPENDING is on {v})"
            ));
        }
        self.start(secret_id).await
    }

    /// RotateSecret with a chosen ClientRequestToken (32 to 64 characters).
    pub async fn start_with_token(&self, secret_id: &str, token: &str) -> Result<String, String> {
        let token = token.to_string();
        self.client
            .rotate_secret()
            .secret_id(secret_id)
            .client_request_token(&token)
            .rotation_lambda_arn(&self.lambda_arn)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                format!(
                    "RotateSecret: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                )
            })?;
        Ok(token)
    }

    /// Runs one rotation: start it, then invoke createSecret, setSecret, testSecret and
    /// finishSecret with `invoke`, stopping at the first failure.
    pub async fn rotate<F, Fut>(&self, secret_id: &str, mut invoke: F) -> RotationRun
    where
        F: FnMut(Value) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let before = self.stages(secret_id).await;
        let previous_current = labels::versions_with(&before, AWSCURRENT)
            .first()
            .map(|v| v.to_string());
        let token = self
            .start(secret_id)
            .await
            .expect("RotateSecret must start");
        let started = Instant::now();
        let mut steps = Vec::new();
        for step in Step::ALL {
            let event = RotationEvent {
                step,
                secret_id: secret_id.to_string(),
                token: token.clone(),
                rotation_token: None,
            };
            let t = Instant::now();
            let result = invoke(event.to_value()).await;
            let failed = result.is_err();
            steps.push(StepRun {
                step,
                elapsed: t.elapsed(),
                result,
            });
            if failed {
                break;
            }
        }
        RotationRun {
            token,
            previous_current,
            steps,
            elapsed: started.elapsed(),
        }
    }

    /// The `password` of every version of `secret_id` (labelled or not).
    pub async fn passwords_of(&self, secret_id: &str) -> Vec<String> {
        let mut passwords = Vec::new();
        let versions = self
            .client
            .list_secret_version_ids()
            .secret_id(secret_id)
            .include_deprecated(true)
            .max_results(100)
            .send()
            .await
            .expect("ListSecretVersionIds");
        for version in versions.versions() {
            let Some(id) = version.version_id() else {
                continue;
            };
            let Ok(value) = self
                .client
                .get_secret_value()
                .secret_id(secret_id)
                .version_id(id)
                .send()
                .await
            else {
                continue;
            };
            let parsed = value
                .secret_string()
                .and_then(|s| serde_json::from_str::<Value>(s).ok());
            if let Some(pw) = parsed.as_ref().and_then(|v| v["password"].as_str()) {
                passwords.push(pw.to_string());
            }
        }
        passwords
    }

    /// `VersionIdsToStages` now.
    pub async fn stages(&self, secret_id: &str) -> VersionStages {
        SdkStore::new(self.client.clone())
            .describe(secret_id)
            .await
            .expect("DescribeSecret")
            .versions
    }

    /// The versions holding AWSCURRENT, AWSPREVIOUS and AWSPENDING now, in that order.
    pub async fn labels(&self, secret_id: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
        let stages = self.stages(secret_id).await;
        let of = |label| {
            labels::versions_with(&stages, label)
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        (of(AWSCURRENT), of(AWSPREVIOUS), of(AWSPENDING))
    }

    /// The value under `stage` (always read by stage: moto's stage-less read can be stale).
    pub async fn value(&self, secret_id: &str, stage: &str) -> String {
        self.client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage)
            .send()
            .await
            .expect("GetSecretValue")
            .secret_string()
            .expect("SecretString")
            .to_string()
    }
}

/// Asserts that AWSCURRENT, AWSPENDING and AWSPREVIOUS each sit on at most one version.
pub fn assert_labels_unique(stages: &VersionStages) {
    for label in [AWSCURRENT, AWSPREVIOUS, AWSPENDING] {
        let holders = labels::versions_with(stages, label);
        assert!(
            holders.len() <= 1,
            "{label} on several versions: {stages:?}"
        );
    }
}

/// Asserts the end state of a successful rotation: each label on at most one version,
/// AWSCURRENT on the token, AWSPREVIOUS on the version that was current, no AWSPENDING left.
pub fn assert_rotated(stages: &VersionStages, run: &RotationRun) {
    assert_labels_unique(stages);
    assert_eq!(
        labels::versions_with(stages, AWSCURRENT),
        vec![run.token.as_str()],
        "AWSCURRENT must be on the new version: {stages:?}"
    );
    assert_eq!(
        labels::versions_with(stages, AWSPREVIOUS).first().copied(),
        run.previous_current.as_deref(),
        "AWSPREVIOUS must be on the prior AWSCURRENT version: {stages:?}"
    );
    assert!(
        labels::versions_with(stages, AWSPENDING).is_empty(),
        "AWSPENDING must be gone: {stages:?}"
    );
}
