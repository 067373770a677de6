//! The Lambda entry point shared by every function binary: the process-wide start-up (empty
//! `AWS_*` variables unset, the panic hook), the runtime, and the invocation loop: each
//! invocation runs inside its span (request id, secret ARN, token on every log line) and ends
//! with its metrics line.

use std::ffi::OsString;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;

use crate::dispatch::{handle_invocation_guarded, within_deadline};
use crate::error::RotationError;
use crate::metrics::{InvocationMetrics, MetricStep};
use crate::password::PasswordDefaults;
use crate::settings::Settings;
use crate::steps::Rotation;
use crate::store::SdkStore;
use crate::telemetry;

/// Serves a rotation function in the Lambda runtime; the binaries' `main` calls it first thing,
/// before any thread exists. In order: removes every empty `AWS_*` variable but the
/// `AWS_LAMBDA_*` ones from the process environment (the SDK would take an empty endpoint or
/// retry setting as given, and panic), and `LOG_SIGNABLE_BODY` (the SDK would print request
/// bodies, passwords included, at `trace`), installs the panic hook
/// ([`crate::install_panic_hook`]), starts a single-threaded tokio runtime (Lambda sends one
/// invocation at a time, and one thread uses less memory), reads [`Settings`] once (a bad
/// variable stops start-up with a clear message), starts the logs, builds the rotation with
/// `build` and the Secrets Manager client (both once), then answers invocations, each behind
/// the panic guard, until the runtime stops.
pub fn serve<R, F>(defaults: PasswordDefaults, build: F) -> Result<(), lambda_runtime::Error>
where
    R: Rotation + 'static,
    F: FnOnce(&Settings) -> crate::Result<R>,
{
    let mut unset = empty_sdk_variables(std::env::vars_os());
    // aws-sigv4 prints every request body it signs (PutSecretValue's secret, ModifyUser's
    // passwords) in its trace lines when LOG_SIGNABLE_BODY=true: never, at any level.
    if std::env::var_os(LOG_SIGNABLE_BODY).is_some() {
        unset.push(LOG_SIGNABLE_BODY.into());
    }
    for name in &unset {
        // Thread safety: changing the environment is unsound while another thread may read it
        // (libc's getenv is not synchronised with Rust's environment lock; edition 2024 marks
        // remove_var unsafe for that reason, and these crates are edition 2021, where it is a
        // safe function but the same rule holds). Here no other thread exists yet: `serve` is
        // the first thing `main` does, and the tokio runtime, the only source of threads in
        // these binaries, is built below, after this loop.
        std::env::remove_var(name);
    }
    crate::guard::install_panic_hook();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(defaults, build, unset))
}

async fn run<R, F>(
    defaults: PasswordDefaults,
    build: F,
    unset: Vec<OsString>,
) -> Result<(), lambda_runtime::Error>
where
    R: Rotation + 'static,
    F: FnOnce(&Settings) -> crate::Result<R>,
{
    // Start-up is guarded too: the SDK panics on some values (AWS_MAX_ATTEMPTS=0, say) while it
    // loads its configuration. Such a panic stops start-up with a typed error, as a bad
    // variable of ours does, and its message is not printed.
    let (settings, rotation, store) = match crate::guard::catch_panic(start(defaults, build, unset))
        .await
    {
        Ok(Ok(started)) => started,
        Ok(Err(e)) => {
            telemetry::init(
                telemetry::UNKNOWN_SERVICE,
                crate::settings::DEFAULT_LOG_FILTER,
            );
            tracing::error!(error_type = e.error_type(), error = %e, "configuration rejected at start-up");
            return Err(e.into());
        }
        Err(location) => {
            let e = RotationError::Internal { location };
            telemetry::init(
                telemetry::UNKNOWN_SERVICE,
                crate::settings::DEFAULT_LOG_FILTER,
            );
            tracing::error!(error_type = e.error_type(), error = %e, "start-up failed");
            return Err(e.into());
        }
    };
    let (store, rotation, settings) = (&store, &rotation, &settings);
    // The first invocation of this process is its cold start (Lambda sends one at a time).
    let first = std::sync::atomic::AtomicBool::new(true);
    let first = &first;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let started = std::time::Instant::now();
        let text = |key: &str| event.payload.get(key).and_then(Value::as_str).unwrap_or("");
        let cold_start = first.swap(false, std::sync::atomic::Ordering::Relaxed);
        let span = telemetry::invocation_span(
            &event.context.request_id,
            text("SecretId"),
            text("ClientRequestToken"),
            cold_start,
        );
        let function_name = event.context.env_config.function_name.as_str();
        let pinned = span.in_scope(|| {
            crate::dispatch::refuse_unpinned(settings.secret_arn.as_deref(), &event.payload)
        });
        if let Err(e) = pinned {
            if settings.emit_metrics {
                emit_metrics(
                    settings,
                    function_name,
                    MetricStep::of(text("Step")),
                    Err(&e),
                    started,
                );
            }
            return Err(e);
        }
        // The invocation's time: until Lambda's deadline (a step that runs out answers
        // StepTimedOut instead of being killed without an answer).
        let left = event
            .context
            .deadline()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        if crate::preflight::is_preflight(&event.payload) {
            let preflight = preflight_guarded(store, rotation, &settings.password, &event.payload);
            let preflight = within_deadline(left, &event.payload, preflight);
            let result = Box::pin(preflight.instrument(span)).await;
            if settings.emit_metrics {
                let outcome = result.as_ref().map(|_| "done");
                emit_metrics(
                    settings,
                    function_name,
                    MetricStep::Preflight,
                    outcome,
                    started,
                );
            }
            return result;
        }
        // Boxed: the invocation's future is deep enough as it is (the compiler's layout
        // queries overflow on some rotations' futures nested one level more).
        let invocation =
            handle_invocation_guarded(store, rotation, &settings.password, &event.payload);
        let invocation = within_deadline(left, &event.payload, invocation);
        let result = Box::pin(invocation.instrument(span)).await;
        if settings.emit_metrics {
            let step = MetricStep::of(text("Step"));
            let outcome = result.as_ref().map(|o| o.as_str());
            emit_metrics(settings, function_name, step, outcome, started);
        }
        // A rotation step answers `null`, as the official functions do.
        result.map(|_| Value::Null)
    }))
    .await
}

/// A preflight behind the panic guard: a panic answers [`RotationError::Internal`].
async fn preflight_guarded<R: Rotation>(
    store: &SdkStore,
    rotation: &R,
    policy: &crate::password::PasswordPolicy,
    payload: &Value,
) -> crate::Result<Value> {
    let preflight = crate::preflight::handle_preflight(store, rotation, policy, payload);
    match crate::guard::catch_panic(preflight).await {
        Ok(result) => result,
        Err(location) => Err(RotationError::Internal { location }),
    }
}

/// Prints the invocation's CloudWatch EMF line on stdout (see [`crate::metrics`]).
fn emit_metrics(
    settings: &Settings,
    function_name: &str,
    step: MetricStep,
    result: std::result::Result<&str, &RotationError>,
    started: std::time::Instant,
) {
    let metrics = InvocationMetrics {
        function_name,
        rotation_type: &settings.rotation_type,
        step,
        outcome: result.unwrap_or("error"),
        error_type: result.err().map(|e| e.error_type()),
        duration_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    println!("{}", metrics.emf_line(now));
}

/// Reads the settings, builds the AWS SDK clients' HTTPS client, starts the logs, builds the
/// rotation and the Secrets Manager client.
async fn start<R, F>(
    defaults: PasswordDefaults,
    build: F,
    unset: Vec<OsString>,
) -> crate::Result<(Settings, R, SdkStore)>
where
    F: FnOnce(&Settings) -> crate::Result<R>,
{
    let settings = Settings::from_env(defaults)?;
    // The SDK clients' HTTPS client (compiled-in Amazon roots, EXTRA_CA_CERTS), built once here
    // so a bad EXTRA_CA_CERTS stops start-up; every SDK client takes it through sdk_config.
    crate::store::aws_http_client()?;
    let rotation = build(&settings)?;
    telemetry::init(&settings.rotation_type, &settings.log_filter);
    if !unset.is_empty() {
        let names: Vec<_> = unset.iter().map(|n| n.to_string_lossy()).collect();
        tracing::info!(
            variables = names.join(","),
            "environment variables removed at start-up (empty AWS_* ones, which the SDK would misread; LOG_SIGNABLE_BODY, which would print request bodies)"
        );
    }
    let store = SdkStore::connect(settings.secrets_manager_endpoint.as_deref()).await;
    Ok((settings, rotation, store))
}

/// The AWS SDK's switch that makes its request signer print request bodies in `trace` lines.
const LOG_SIGNABLE_BODY: &str = "LOG_SIGNABLE_BODY";

/// The names among `vars` that the SDK would misread: every `AWS_*` variable whose value is
/// empty (or only blanks), except the `AWS_LAMBDA_*` ones (set by Lambda for the runtime client, which requires
/// some of them to exist; the SDK does not read them). The SDK takes an empty value as given:
/// `AWS_ENDPOINT_URL=""` or `AWS_ENDPOINT_URL_<SERVICE>=""` (what a template sets for an
/// empty optional parameter) becomes an endpoint that panics when the client builds its first
/// request, and an empty `AWS_MAX_ATTEMPTS` or `AWS_RETRY_MODE` panics while the configuration
/// loads. Empty means unset for the function's own variables ([`Settings`]) too.
fn empty_sdk_variables(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Vec<OsString> {
    vars.into_iter()
        .filter(|(name, value)| {
            let name = name.to_string_lossy();
            let blank = value.to_string_lossy().trim().is_empty();
            blank && name.starts_with("AWS_") && !name.starts_with("AWS_LAMBDA_")
        })
        .map(|(name, _)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_aws_variables_are_unset_except_the_runtimes_own() {
        let vars = [
            ("AWS_ENDPOINT_URL_RDS", ""),
            ("AWS_ENDPOINT_URL", ""),
            ("AWS_MAX_ATTEMPTS", ""),
            ("AWS_REGION", "us-east-1"),
            ("AWS_LAMBDA_LOG_LEVEL", ""),
            ("AWS_LAMBDA_FUNCTION_VERSION", ""),
            ("EXCLUDE_CHARACTERS", ""),
            ("MY_AWS_THING", ""),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", " "),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        assert_eq!(
            empty_sdk_variables(vars),
            [
                "AWS_ENDPOINT_URL_RDS",
                "AWS_ENDPOINT_URL",
                "AWS_MAX_ATTEMPTS",
                "AWS_ENDPOINT_URL_SECRETS_MANAGER"
            ]
        );
    }
}
