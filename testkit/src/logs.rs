//! Captures everything the JSON subscriber writes, for log assertions.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A shared in-memory log sink.
#[derive(Debug, Clone, Default)]
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl LogCapture {
    /// An empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(|p| p.into_inner())).to_string()
    }

    /// A writer factory for `rotation_core::telemetry::json_subscriber`.
    /// (tracing-subscriber accepts any `Fn() -> impl Write` as a writer factory).
    pub fn make_writer(&self) -> impl Fn() -> CaptureWriter + Send + Sync + 'static {
        let buffer = self.buffer.clone();
        move || CaptureWriter {
            buffer: buffer.clone(),
        }
    }
}

/// One writer handed out per event.
#[derive(Debug)]
pub struct CaptureWriter {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Write for CaptureWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
