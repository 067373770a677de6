//! What both operator test binaries share.

use aws_sdk_cloudwatchlogs::types::InputLogEvent;

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
