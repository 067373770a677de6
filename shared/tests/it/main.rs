//! The core's integration tests, one test binary: every errorType's name, the panic guard,
//! rotations and strategies on the fake engine and the strict in-memory store, and the secret
//! parser's properties.

use std::sync::{Arc, Mutex, OnceLock};

mod error_types;
mod panic_guard;
mod quirks_on_fake;
mod rotation_on_fake;
mod secret_parser_props;
mod strategies_on_fake;

/// Captures everything the JSON subscriber writes.
#[derive(Clone, Default)]
pub struct Sink(pub Arc<Mutex<Vec<u8>>>);

impl Sink {
    /// The JSON log lines written so far, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).to_string();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The capture of this binary's one global subscriber (JSON, at trace), installed by the
/// first test that asks; every test of the binary logs into it, so a test reads only the
/// lines of its own secret. Global, because a thread's own default can miss events whose
/// callsite another thread met first.
pub fn global_logs() -> Sink {
    static LOGS: OnceLock<Sink> = OnceLock::new();
    LOGS.get_or_init(|| {
        let sink = Sink::default();
        let writer = sink.clone();
        tracing::subscriber::set_global_default(rotation_core::telemetry::json_subscriber(
            move || writer.clone(),
            rotation_core::telemetry::filter("trace"),
        ))
        .expect("the only global subscriber of this test binary");
        sink
    })
    .clone()
}
