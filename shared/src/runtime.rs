//! The Lambda entry point shared by every function binary.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use crate::dispatch::handle_invocation;
use crate::password::PasswordDefaults;
use crate::settings::Settings;
use crate::steps::Rotation;
use crate::store::SdkStore;
use crate::telemetry;

/// Serves a rotation function in the Lambda runtime: reads [`Settings`] once (a bad variable
/// stops start-up with a clear message), starts the logs, builds the rotation with `build` and
/// the Secrets Manager client (both once), then answers invocations until the runtime stops.
pub async fn serve<R, F>(defaults: PasswordDefaults, build: F) -> Result<(), lambda_runtime::Error>
where
    R: Rotation + 'static,
    F: FnOnce(&Settings) -> crate::Result<R>,
{
    let configured = Settings::from_env(defaults).and_then(|settings| {
        let rotation = build(&settings)?;
        Ok((settings, rotation))
    });
    let (settings, rotation) = match configured {
        Ok(both) => both,
        Err(e) => {
            telemetry::init(crate::settings::DEFAULT_LOG_FILTER);
            tracing::error!(error_type = e.error_type(), error = %e, "configuration rejected at start-up");
            return Err(e.into());
        }
    };
    telemetry::init(&settings.log_filter);
    let store = SdkStore::connect(settings.secrets_manager_endpoint.as_deref()).await;
    let (store, rotation, policy) = (&store, &rotation, &settings.password);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_invocation(store, rotation, policy, &event.payload)
            .await
            .map(|_| ())
    }))
    .await
}
