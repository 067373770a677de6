//! What the operator tests (`operator`) and the `verify` tests share: the function's name and
//! ARN, its log lines shipped to moto, and the `rotation-ctl` binary run as an operator runs it.

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use rotation_testkit::{MOTO_ACCOUNT, REGION};

/// The function's name: moto's RotateSecret needs a function of that name in its own Lambda
/// (the driver's placeholder), and the loopback Lambda API answers for any name. It is the name
/// Lambda logs under: the last part of the rotation function ARN the test driver gives
/// RotateSecret.
pub const FUNCTION: &str = "rotation-driver-placeholder";

/// The rotation function moto knows (the one the loopback Lambda API's configuration names).
pub fn function_arn() -> String {
    format!("arn:aws:lambda:{REGION}:{MOTO_ACCOUNT}:function:{FUNCTION}")
}

/// Ships the lines a function printed (`text`; blank lines left out) to a new stream of its
/// log group, `/aws/lambda/<function>`, in moto's CloudWatch Logs, as Lambda would: the
/// operator commands read a function's failures from there.
pub async fn ship_logs(logs: &aws_sdk_cloudwatchlogs::Client, function: &str, text: &str) {
    let group = format!("/aws/lambda/{function}");
    let _ = logs.create_log_group().log_group_name(&group).send().await;
    let stream = rotation_testkit::unique();
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
    let events: Vec<_> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
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
}

/// Runs the `rotation-ctl` binary with `args` as an operator's shell would, but with a clean
/// environment: test credentials, no config files, no instance metadata, and the three
/// services it calls at the given endpoints (`AWS_ENDPOINT_URL` empty, which means unset).
/// Returns the exit code (-1 for a signal), stdout and stderr.
pub async fn run_ctl(
    args: &[&str],
    region: &str,
    secrets_manager: &str,
    logs: &str,
    lambda: &str,
) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_rotation-ctl"))
        .args(args)
        .env_clear()
        .env("AWS_REGION", region)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        // Empty means unset: without that, this would be the endpoint of every client.
        .env("AWS_ENDPOINT_URL", "")
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets_manager)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", logs)
        .env("AWS_ENDPOINT_URL_LAMBDA", lambda)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("rotation-ctl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("rotation-ctl prints UTF-8"),
        String::from_utf8(out.stderr).expect("rotation-ctl prints UTF-8"),
    )
}
