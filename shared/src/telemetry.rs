//! JSON log lines for CloudWatch through tracing-subscriber, in the shape Lambda's JSON log
//! format and Powertools for AWS Lambda use, so an AWS user's queries work unchanged: every line
//! is one object with `timestamp` (RFC 3339, UTC), `level` (`INFO`, ...; Lambda's log-level
//! filtering reads it), `message`, `service` (the rotation type) and `target`; inside an
//! invocation also `function_request_id` (Lambda's request id), `cold_start` (the first
//! invocation of the process), `secret_arn` (the event's `SecretId`) and `token` (its
//! `ClientRequestToken`), all top-level (see [`invocation_span`]); then the event's own fields.
//! Nothing secret is ever recorded: the core only logs ARNs, version ids, step names, outcomes,
//! error types and durations.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, JsonFields, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// The `service` of lines logged before the rotation type is known, and by test subscribers.
pub const UNKNOWN_SERVICE: &str = "unspecified";

/// The filter for `directive`: a level (`info`) and/or comma-separated `target=level` pairs, as
/// in `RUST_LOG` (`info,rotation_core=debug`); an unusable one falls back to `info`. Lambda's
/// `FATAL` (from `AWS_LAMBDA_LOG_LEVEL`) means `error`, the least tracing has. Targets only (no
/// span or field filters): that needs no regular-expression engine in the binary.
pub fn filter(directive: &str) -> Targets {
    let directive = if directive.trim().eq_ignore_ascii_case("fatal") {
        "error"
    } else {
        directive
    };
    directive
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

/// Builds the JSON subscriber writing to `writer` (one JSON object per line, no ANSI), with
/// `service` [`UNKNOWN_SERVICE`].
pub fn json_subscriber<W>(writer: W, filter: Targets) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    service_subscriber(UNKNOWN_SERVICE, writer, filter)
}

/// Builds the JSON subscriber writing to `writer`, every line naming `service`.
pub fn service_subscriber<W>(
    service: &str,
    writer: W,
    filter: Targets,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    let format = tracing_subscriber::fmt::layer()
        .fmt_fields(JsonFields::new())
        .event_format(LambdaJson {
            service: service.to_string(),
        })
        .with_ansi(false)
        .with_writer(writer);
    tracing_subscriber::registry().with(format).with(filter)
}

/// The span of one invocation: every line logged inside it carries `function_request_id`
/// (Lambda's), `cold_start`, `secret_arn` (the event's `SecretId`) and `token` (its
/// `ClientRequestToken`). At `error` level, so the filter never drops it while any line is
/// logged.
pub fn invocation_span(
    request_id: &str,
    secret_id: &str,
    token: &str,
    cold_start: bool,
) -> tracing::Span {
    tracing::error_span!(
        "invocation",
        function_request_id = request_id,
        cold_start,
        secret_arn = secret_id,
        token
    )
}

/// Installs the JSON subscriber on stdout, filtered by `directive`, every line naming
/// `service`, as the global default. Does nothing if one is already installed.
pub fn init(service: &str, directive: &str) {
    let _ = tracing::subscriber::set_global_default(service_subscriber(
        service,
        std::io::stdout,
        filter(directive),
    ));
}

/// The line format (see the module's documentation).
struct LambdaJson {
    service: String,
}

impl<S, N> FormatEvent<S, N> for LambdaJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        tracing_subscriber::fmt::time::SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let meta = event.metadata();
        let mut fields = FieldMap::default();
        event.record(&mut fields);
        let mut line = Map::new();
        line.insert("timestamp".into(), Value::String(timestamp));
        line.insert("level".into(), Value::String(meta.level().as_str().into()));
        let message = fields
            .0
            .remove("message")
            .unwrap_or(Value::String(String::new()));
        line.insert("message".into(), message);
        line.insert("service".into(), Value::String(self.service.clone()));
        line.insert("target".into(), Value::String(meta.target().into()));
        // The spans' fields (the invocation's), outermost first; JsonFields stored each span's
        // fields as a JSON object when it was created. Anything else is skipped, not trusted.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(stored) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(span_fields)) = serde_json::from_str(stored.as_str()) {
                    line.extend(span_fields);
                }
            }
        }
        line.extend(fields.0);
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An event's fields as JSON values.
#[derive(Default)]
struct FieldMap(Map<String, Value>);

impl Visit for FieldMap {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.0.insert(field.name().into(), value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_carries_lambdas_field_names_at_the_top_level() {
        #[derive(Clone, Default)]
        struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = service_subscriber(
            "PostgreSQLSingleUser",
            move || writer.clone(),
            filter("warn"),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = invocation_span(
                "req-1",
                "arn:aws:secretsmanager:r:1:secret:s",
                "tok-1",
                true,
            );
            let _entered = span.enter();
            tracing::warn!(detail = "x", count = 3, "inside");
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["function_request_id"], "req-1");
        assert_eq!(line["secret_arn"], "arn:aws:secretsmanager:r:1:secret:s");
        assert_eq!(line["token"], "tok-1");
        assert_eq!(line["cold_start"], true);
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["service"], "PostgreSQLSingleUser");
        assert_eq!(line["detail"], "x");
        assert_eq!(line["count"], 3);
        assert!(line.get("span").is_none(), "no nested span object: {line}");
        let time = line["timestamp"].as_str().expect("a timestamp");
        assert!(time.len() >= 20 && time.ends_with('Z'), "{time}");
        assert_eq!(line["message"], "inside");
    }

    #[test]
    fn filters_read_levels_and_targets_and_fall_back_to_info() {
        use tracing::Level;
        let f = filter("warn");
        assert!(f.would_enable("rotation_core", &Level::WARN));
        assert!(!f.would_enable("rotation_core", &Level::INFO));
        let f = filter("info,rotation_core=trace");
        assert!(f.would_enable("rotation_core::dispatch", &Level::TRACE));
        assert!(!f.would_enable("hyper", &Level::DEBUG));
        assert!(f.would_enable("hyper", &Level::INFO));
        let f = filter("FATAL");
        assert!(f.would_enable("anything", &Level::ERROR));
        assert!(!f.would_enable("anything", &Level::WARN));
        let f = filter("rotation_core=loud");
        assert!(f.would_enable("anything", &Level::INFO));
        assert!(!f.would_enable("anything", &Level::DEBUG));
    }
}
