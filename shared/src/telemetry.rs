//! JSON log lines for CloudWatch through tracing-subscriber. Nothing secret is ever recorded:
//! the core only logs ARNs, version ids, step names, outcomes, error types and durations.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The filter for `directive` (a `RUST_LOG`-style string); an unusable one falls back to
/// `info`.
pub fn filter(directive: &str) -> EnvFilter {
    EnvFilter::try_new(directive)
        .unwrap_or_else(|_| EnvFilter::new(crate::settings::DEFAULT_LOG_FILTER))
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

/// Installs the JSON subscriber on stdout, filtered by `directive`, as the global default
/// (Lambda adds timestamps). Does nothing if one is already installed.
pub fn init(directive: &str) {
    let _ = tracing::subscriber::set_global_default(json_subscriber(
        std::io::stdout,
        filter(directive),
    ));
}
