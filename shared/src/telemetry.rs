//! JSON log lines for CloudWatch through tracing-subscriber. Nothing secret is ever recorded:
//! the core only logs ARNs, version ids, step names, outcomes, error types and durations.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The filter used when neither `RUST_LOG` nor `AWS_LAMBDA_LOG_LEVEL` is set.
pub const DEFAULT_FILTER: &str = "info";

/// The log filter: `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else [`DEFAULT_FILTER`].
pub fn filter_from_env() -> EnvFilter {
    let directive = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok())
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.to_ascii_lowercase())
        .unwrap_or_else(|| DEFAULT_FILTER.to_string());
    EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// Builds the JSON subscriber writing to `writer` (one flat JSON object per line, no ANSI).
pub fn json_subscriber<W>(writer: W, filter: EnvFilter) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .without_time()
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout as the global default (Lambda adds timestamps).
/// Does nothing if one is already installed.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(json_subscriber(
        std::io::stdout,
        filter_from_env(),
    ));
}
