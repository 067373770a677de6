//! What Secrets Manager does after RotateSecret and moto does not: invoke the rotation
//! function. moto's RotateSecret creates the AWSPENDING version (empty to rotate now; a copy
//! of AWSCURRENT with `RotateImmediately=false`) and "invokes" its own placeholder Lambda,
//! which runs nothing; it also leaves the copy's AWSPENDING label where it is, where the
//! service takes it off after its configuration test. For tests of a tool that calls
//! RotateSecret and expects the function to run (the operator tool's `attach`), the player
//! watches one secret on moto and, for each new AWSPENDING version, does what the service
//! does: for an empty one, invokes createSecret, setSecret, testSecret and finishSecret in
//! order through the test's function, stopping at the first failure; for a copy (only when
//! asked to play configuration tests), invokes testSecret and takes AWSPENDING off. It plays,
//! it never checks: what the tool concludes is the tool's own.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use rotation_core::labels::AWSPENDING;
use rotation_core::Step;
use serde_json::Value;

use crate::harness::event;

/// Invokes the function under test with one event; an error is `errorType: message`.
pub type StepInvoker =
    Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// What the player did for one new AWSPENDING version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Played {
    /// A configuration test (`RotateImmediately=false`): testSecret's result; the label was
    /// taken off after it.
    ConfigurationTest {
        /// The copy's version id.
        version: String,
        /// testSecret's result.
        result: Result<(), String>,
    },
    /// A rotation: each step invoked and its result, up to the first failure.
    Rotation {
        /// The new version id (the rotation's token).
        version: String,
        /// The steps, in order.
        steps: Vec<(Step, Result<(), String>)>,
    },
}

/// Plays Secrets Manager's invocations for one secret until dropped.
pub struct RotationPlayer {
    played: Arc<Mutex<Vec<Played>>>,
    task: tokio::task::JoinHandle<()>,
}

async fn labelled(client: &Client, arn: &str) -> Vec<(String, Vec<String>)> {
    match client.describe_secret().secret_id(arn).send().await {
        Ok(d) => d
            .version_ids_to_stages()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        Err(_) => Vec::new(),
    }
}

impl RotationPlayer {
    /// Watches `arn` with `client` (on moto), every 50 ms; `invoke` runs the function.
    /// `configuration_tests`: also play what the service does for `RotateImmediately=false`
    /// (otherwise the copy keeps its label, as moto leaves it).
    pub async fn start(
        client: Client,
        arn: &str,
        invoke: StepInvoker,
        configuration_tests: bool,
    ) -> Self {
        let arn = arn.to_string();
        let mut known: HashSet<String> = labelled(&client, &arn)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let played = Arc::new(Mutex::new(Vec::new()));
        let record = played.clone();
        let task = tokio::spawn(async move {
            loop {
                for (id, stages) in labelled(&client, &arn).await {
                    if !known.insert(id.clone()) || !stages.iter().any(|s| s == AWSPENDING) {
                        continue;
                    }
                    let copy = client
                        .get_secret_value()
                        .secret_id(&arn)
                        .version_id(&id)
                        .send()
                        .await
                        .is_ok_and(|v| v.secret_string().is_some());
                    let done = if copy {
                        if !configuration_tests {
                            continue;
                        }
                        let result = invoke(event(&arn, &id, Step::Test)).await;
                        client
                            .update_secret_version_stage()
                            .secret_id(&arn)
                            .version_stage(AWSPENDING)
                            .remove_from_version_id(&id)
                            .send()
                            .await
                            .expect("the player takes the configuration test's AWSPENDING off");
                        Played::ConfigurationTest {
                            version: id.clone(),
                            result,
                        }
                    } else {
                        let mut steps = Vec::new();
                        for step in Step::ALL {
                            let result = invoke(event(&arn, &id, step)).await;
                            let failed = result.is_err();
                            steps.push((step, result));
                            if failed {
                                break;
                            }
                        }
                        Played::Rotation {
                            version: id.clone(),
                            steps,
                        }
                    };
                    record.lock().unwrap_or_else(|p| p.into_inner()).push(done);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Self { played, task }
    }

    /// What it played so far, in order.
    pub fn played(&self) -> Vec<Played> {
        self.played
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for RotationPlayer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
