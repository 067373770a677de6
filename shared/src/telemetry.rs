//! JSON log lines for CloudWatch through tracing-subscriber. Nothing secret is ever recorded:
//! the core only logs ARNs, version ids, step names, outcomes, error types and durations.

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
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .without_time()
        .with_writer(writer);
    tracing_subscriber::registry().with(format).with(filter)
}

/// Installs the JSON subscriber on stdout, filtered by `directive`, as the global default
/// (Lambda adds timestamps). Does nothing if one is already installed.
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
