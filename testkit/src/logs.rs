//! Captures everything the JSON subscriber writes, for log assertions.
//!
//! A process has one global subscriber, installed by the first capture that needs it
//! ([`LogCapture::global`] or [`LogCapture::everything_at_trace`]); it writes each line into
//! every capture registered at that moment whose own filter takes the line, from whichever
//! thread logged it. So several tests of one process (plain `cargo test`) may each hold a
//! capture: each sees at least every line logged while it is held, its own test's among them.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The filter of [`LogCapture::global`]: the project's crates at `trace`, the rest at `info`
/// (their `trace` output over hundreds of rotations is gigabytes).
const PROJECT_AT_TRACE: &str = "info,rotation_core=trace,rotation_generic=trace,rotation_postgresql=trace,rotation_mysql=trace,rotation_elasticache=trace,rotation_mongodb=trace";

/// A shared in-memory log sink.
#[derive(Debug, Clone, Default)]
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    /// Its place among the global subscriber's sinks, while any clone of it lives.
    _registration: Option<Arc<Registration>>,
}

impl LogCapture {
    /// An empty capture, registered nowhere (for a subscriber of the caller's own).
    pub fn new() -> Self {
        Self::default()
    }

    /// The capture behind this process's global JSON subscriber, registered on first call for
    /// the process's lifetime: the project's crates at `trace`, the rest at `info`. The process
    /// must have no global subscriber but this module's.
    pub fn global() -> &'static LogCapture {
        static GLOBAL: OnceLock<LogCapture> = OnceLock::new();
        GLOBAL.get_or_init(|| LogCapture::registered(PROJECT_AT_TRACE))
    }

    /// A capture of every crate (the AWS SDK's and the drivers' included) at `trace`, fed by
    /// this process's global subscriber from now until its last clone is dropped: the log-leak
    /// tests' capture. While one is held, the global subscriber lets every `trace` line through
    /// (other captures still take only what their own filter names). Panics when the process
    /// has a global subscriber not installed by this module.
    pub fn everything_at_trace() -> LogCapture {
        LogCapture::registered("trace")
    }

    /// A capture registered with the process's global subscriber under `directive`.
    fn registered(directive: &str) -> LogCapture {
        let hub = hub();
        let capture = LogCapture::new();
        let sink = Arc::new(Sink {
            buffer: capture.buffer.clone(),
            filter: rotation_core::telemetry::filter(directive),
            everything: directive == "trace",
        });
        hub.sinks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&sink));
        hub.refilter();
        LogCapture {
            _registration: Some(Arc::new(Registration { sink: Some(sink) })),
            ..capture
        }
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

/// One capture's place among the global subscriber's sinks: dropped with the capture's last
/// clone, which ends the capture (and, for the last one at `trace`, the subscriber's `trace`).
#[derive(Debug)]
struct Registration {
    sink: Option<Arc<Sink>>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(sink) = self.sink.take() else {
            return;
        };
        let gone = Arc::as_ptr(&sink);
        drop(sink);
        if let Some(hub) = HUB.get() {
            hub.sinks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|s| !std::ptr::eq(s.as_ptr(), gone));
            hub.refilter();
        }
    }
}

/// A registered capture's buffer and the lines it takes.
#[derive(Debug)]
struct Sink {
    buffer: Arc<Mutex<Vec<u8>>>,
    filter: Targets,
    /// Takes every crate at `trace`: the global subscriber must let everything through.
    everything: bool,
}

/// The process's global subscriber: its sinks, and the switch of its filter.
struct Hub {
    sinks: Mutex<Vec<Weak<Sink>>>,
    /// Held while the filter is worked out and set.
    switch: Mutex<()>,
    /// Sets the global subscriber's filter (every crate at `trace`, or [`PROJECT_AT_TRACE`]).
    set_filter: Box<dyn Fn(&str) + Send + Sync>,
}

static HUB: OnceLock<Hub> = OnceLock::new();

impl Hub {
    /// Every crate at `trace` while a capture asks for it, else the project's crates only.
    /// One switch at a time, each from the sinks as they are then; the sinks' lock is not held
    /// while the filter changes (a line being written meanwhile takes it).
    fn refilter(&self) {
        let _one_at_a_time = self.switch.lock().unwrap_or_else(|p| p.into_inner());
        let everything = {
            let mut sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
            sinks.retain(|s| s.strong_count() > 0);
            sinks.iter().filter_map(Weak::upgrade).any(|s| s.everything)
        };
        (self.set_filter)(if everything {
            "trace"
        } else {
            PROJECT_AT_TRACE
        });
    }
}

/// The hub, installing the global subscriber on first call: the project's JSON lines, through
/// a filter the hub switches, into the registered sinks.
fn hub() -> &'static Hub {
    HUB.get_or_init(|| {
        let (filter, handle) = tracing_subscriber::reload::Layer::new(
            rotation_core::telemetry::filter(PROJECT_AT_TRACE),
        );
        let subscriber = rotation_core::telemetry::json_subscriber(
            Fanout,
            rotation_core::telemetry::filter("trace"),
        )
        .with(filter);
        tracing::subscriber::set_global_default(subscriber)
            .expect("no global subscriber in this process but the log captures'");
        Hub {
            sinks: Mutex::new(Vec::new()),
            switch: Mutex::new(()),
            set_filter: Box::new(move |directive| {
                handle
                    .reload(rotation_core::telemetry::filter(directive))
                    .expect("the global subscriber lives as long as the process");
            }),
        }
    })
}

/// The global subscriber's writer factory: each line goes to every registered sink whose
/// filter takes it.
struct Fanout;

impl Fanout {
    fn writer(&self, takes: impl Fn(&Sink) -> bool) -> FanoutWriter {
        let sinks = HUB
            .get()
            .map(|hub| {
                hub.sinks
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .filter_map(Weak::upgrade)
                    .filter(|s| takes(s))
                    .map(|s| s.buffer.clone())
                    .collect()
            })
            .unwrap_or_default();
        FanoutWriter { sinks }
    }
}

impl<'a> MakeWriter<'a> for Fanout {
    type Writer = FanoutWriter;

    fn make_writer(&'a self) -> FanoutWriter {
        self.writer(|_| true)
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> FanoutWriter {
        self.writer(|s| s.filter.would_enable(meta.target(), meta.level()))
    }
}

/// One line's writer: the buffers of the sinks that take it.
struct FanoutWriter {
    sinks: Vec<Arc<Mutex<Vec<u8>>>>,
}

impl Write for FanoutWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        for sink in &self.sinks {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(data);
        }
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
