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

    /// The capture behind this process's global JSON subscriber, installed on first call (the
    /// process must have no other global subscriber): the project's crates at `trace`, the
    /// rest at `info` (their `trace` output over hundreds of rotations is gigabytes; the
    /// per-function log-leak tests capture every crate at `trace`).
    pub fn global() -> &'static LogCapture {
        static GLOBAL: std::sync::OnceLock<LogCapture> = std::sync::OnceLock::new();
        GLOBAL.get_or_init(|| {
            let capture = LogCapture::new();
            let subscriber = rotation_core::telemetry::json_subscriber(
                capture.make_writer(),
                rotation_core::telemetry::filter(
                    "info,rotation_core=trace,rotation_generic=trace,rotation_postgresql=trace,rotation_mysql=trace,rotation_elasticache=trace,rotation_mongodb=trace",
                ),
            );
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this test binary");
            capture
        })
    }

    /// A capture installed as this process's global subscriber with every crate (the AWS
    /// SDK's and the drivers' included) at `trace`: the log-leak tests' capture. Panics when the
    /// process already has a global subscriber (each such test is its own test binary).
    pub fn everything_at_trace() -> LogCapture {
        let capture = LogCapture::new();
        tracing::subscriber::set_global_default(rotation_core::telemetry::json_subscriber(
            capture.make_writer(),
            rotation_core::telemetry::filter("trace"),
        ))
        .expect("the only global subscriber of this test binary");
        capture
    }

    /// Panics if the captured text contains any of `passwords` (those of 12 characters or
    /// more: generated passwords are; shorter test fixtures could match by chance), as written
    /// or as JSON or SQL would escape it. Also panics when there is nothing to look for, or
    /// when the capture holds no `trace` line of the project's crates (the check would then
    /// prove nothing about what the most verbose setting prints).
    pub fn assert_none_of(&self, passwords: &[String]) {
        let text = self.text();
        assert!(
            !text.is_empty(),
            "nothing was logged: the capture is not wired"
        );
        self.assert_trace_in_effect();
        let checked: Vec<&String> = passwords
            .iter()
            .filter(|p| p.chars().count() >= 12)
            .collect();
        assert!(
            !checked.is_empty(),
            "no password of 12 characters or more to look for: the check would prove nothing"
        );
        for pw in checked {
            for form in escaped_forms(pw) {
                assert!(!text.contains(&form), "a password reached the logs");
            }
        }
    }

    /// Panics unless the capture holds a `trace` line from the project's core, so a leak
    /// check over it covers the most verbose level.
    pub fn assert_trace_in_effect(&self) {
        let text = self.text();
        assert!(
            text.lines()
                .any(|l| l.contains("\"level\":\"TRACE\"")
                    && l.contains("\"target\":\"rotation_core")),
            "the capture holds no trace line of rotation_core: is it filtered above trace?"
        );
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

/// `password` as written, as a JSON string holds it, as a SQL literal holds it (quotes
/// doubled; backslashes doubled, or not, by the server's mode), and URL-encoded as a form body
/// (ModifyUser's `Passwords.member.N`) or a URL holds it (space as `+` or `%20`, hex digits in
/// either case).
pub fn escaped_forms(password: &str) -> Vec<String> {
    let json = serde_json::to_string(password).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let sql = password.replace('\'', "''");
    let sql_backslashes = sql.replace('\\', "\\\\");
    let mut forms = vec![password.to_string(), json, sql, sql_backslashes];
    for upper in [true, false] {
        let url = url_encoded(password, upper);
        forms.push(url.replace("%20", "+"));
        forms.push(url);
    }
    forms.sort();
    forms.dedup();
    forms
}

/// `text` percent-encoded: every byte but the unreserved characters (letters, digits, `-._~`)
/// as `%XX`, hex digits upper- or lowercase.
fn url_encoded(text: &str, upper: bool) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ if upper => format!("%{b:02X}"),
            _ => format!("%{b:02x}"),
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_a_password_takes_in_a_request_or_a_log_is_looked_for() {
        let forms = escaped_forms("a b!\"'\\é");
        for form in [
            "a b!\"'\\é",
            "a b!\\\"'\\\\é",
            "a b!\"''\\é",
            "a%20b%21%22%27%5C%C3%A9",
            "a+b%21%22%27%5C%C3%A9",
            "a+b%21%22%27%5c%c3%a9",
        ] {
            assert!(forms.contains(&form.to_string()), "{form} in {forms:?}");
        }
    }
}
