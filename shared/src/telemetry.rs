//! JSON log lines for CloudWatch through tracing-subscriber. Nothing secret is ever recorded:
//! the core only logs ARNs, version ids, step names, outcomes, error types and durations.
//! Every line carries its time (RFC 3339, UTC) and, inside an invocation, the invocation's span:
//! the Lambda request id, the secret ARN and the token (see [`invocation_span`]).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;

/// The filter for `directive`: a level (`info`) and/or comma-separated `target=level` pairs, as
/// in `RUST_LOG` (`info,rotation_core=debug`); an unusable one falls back to `info`. Targets
/// only (no span or field filters): that needs no regular-expression engine in the binary.
pub fn filter(directive: &str) -> Targets {
    directive
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

/// Builds the JSON subscriber writing to `writer` (one flat JSON object per line, no ANSI).
pub fn json_subscriber<W>(writer: W, filter: Targets) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    let format = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .with_timer(tracing_subscriber::fmt::time::SystemTime)
        .with_writer(writer);
    tracing_subscriber::registry().with(format).with(filter)
}

/// The span of one invocation: every line logged inside it carries `request_id` (Lambda's),
/// `secret_arn` (the event's `SecretId`) and `token` (its `ClientRequestToken`) under `span`.
/// At `error` level, so the filter never drops it while any line is logged.
pub fn invocation_span(request_id: &str, secret_id: &str, token: &str) -> tracing::Span {
    tracing::error_span!("invocation", request_id, secret_arn = secret_id, token)
}

/// Installs the JSON subscriber on stdout, filtered by `directive`, as the global default.
/// Does nothing if one is already installed.
pub fn init(directive: &str) {
    let _ = tracing::subscriber::set_global_default(json_subscriber(
        std::io::stdout,
        filter(directive),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_carries_its_time_and_the_invocations_request_id_arn_and_token() {
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
        let subscriber = json_subscriber(move || writer.clone(), filter("warn"));
        tracing::subscriber::with_default(subscriber, || {
            let span = invocation_span("req-1", "arn:aws:secretsmanager:r:1:secret:s", "tok-1");
            let _entered = span.enter();
            tracing::warn!(detail = "x", "inside");
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["span"]["request_id"], "req-1");
        assert_eq!(
            line["span"]["secret_arn"],
            "arn:aws:secretsmanager:r:1:secret:s"
        );
        assert_eq!(line["span"]["token"], "tok-1");
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
        let f = filter("rotation_core=loud");
        assert!(f.would_enable("anything", &Level::INFO));
        assert!(!f.would_enable("anything", &Level::DEBUG));
    }
}
