//! The Lambda entry point shared by every function binary.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use crate::dispatch;
use crate::password::{PasswordDefaults, PasswordPolicy};
use crate::steps::Rotation;
use crate::store::SdkStore;
use crate::telemetry;

/// Runs a rotation function in the Lambda runtime: logs, configuration (the password policy and
/// whatever `build` reads; a bad variable stops the start-up with a clear message), the Secrets
/// Manager client (built once), then the invocation loop.
pub async fn run<R, F>(defaults: PasswordDefaults, build: F) -> Result<(), lambda_runtime::Error>
where
    R: Rotation + 'static,
    F: FnOnce(&PasswordPolicy) -> crate::Result<R>,
{
    telemetry::init();
    let configured = PasswordPolicy::from_env(defaults).and_then(|p| {
        let rotation = build(&p)?;
        Ok((p, rotation))
    });
    let (policy, rotation) = match configured {
        Ok(both) => both,
        Err(e) => {
            tracing::error!(error_type = e.error_type(), error = %e, "configuration rejected at start-up");
            return Err(e.into());
        }
    };
    let store = SdkStore::from_env().await;
    let (store, rotation, policy) = (&store, &rotation, &policy);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        dispatch::handle(store, rotation, policy, &event.payload)
            .await
            .map(|_| ())
    }))
    .await
}
