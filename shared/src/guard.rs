//! The panic guard. Nothing a function reads may make it panic, but its drivers and the SDK
//! panic on some inputs (a row that does not convert, an endpoint that does not parse), and a
//! panic must neither abort the process (Secrets Manager would get no answer at all) nor show
//! its message anywhere: a driver's panic message can quote a row, and `SHOW CREATE USER`
//! rows hold password hashes. So the process panic hook ([`install_panic_hook`]) logs where a
//! panic happened, never what it said, and [`catch_panic`] turns a panic inside an
//! invocation into that location, which the dispatcher answers as `InternalError`.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

use futures::FutureExt;

/// What is reported when the hook did not record a location (it is not installed, or the
/// panic carried none).
const UNKNOWN_LOCATION: &str = "an unknown location";

thread_local! {
    /// Where the last panic on this thread happened, recorded by the hook for [`catch_panic`].
    /// Thread-local because a panic unwinds on the thread that polled the panicking future,
    /// which is the thread whose `catch_unwind` catches it.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the process panic hook (once; later calls do nothing). It replaces the default
/// hook, which prints the panic message to stderr, with one that records the location for
/// the guard ([`crate::handle_invocation_guarded`]) and logs it as one JSON line through
/// tracing (`error_type` `InternalError`, `location`), without the message. A panic outside
/// any invocation (at start-up, or in a spawned task such as a database connection's) is
/// logged the same way.
pub fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| std::panic::set_hook(Box::new(log_location)));
}

fn log_location(info: &PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_else(|| UNKNOWN_LOCATION.to_string());
    // `try_*`: a panic while this thread's slot is being torn down or is borrowed must not
    // become a panic inside the hook (that aborts).
    let _ = LAST_PANIC.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(location.clone());
        }
    });
    // Before the logs are set up (a panic during start-up), set them up, so the line is not
    // lost.
    if tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>()) {
        crate::telemetry::init(
            crate::telemetry::UNKNOWN_SERVICE,
            crate::settings::DEFAULT_LOG_FILTER,
        );
    }
    tracing::error!(
        target: "rotation_core::panic",
        error_type = "InternalError",
        location = %location,
        "the function panicked (a bug); its message is not logged, as it may hold data from a server or a secret"
    );
}

/// Runs `future`; if it panics, returns `Err` with the panic's `file:line` as the hook
/// recorded it (or "an unknown location" without the hook). The panic's payload is dropped
/// unread. Whatever the future was doing stops at the panic: its state is dropped, so a
/// database session it held is closed (an open transaction rolls back on the server).
pub async fn catch_panic<T>(future: impl Future<Output = T>) -> Result<T, String> {
    // A location left by a panic this guard did not catch (in a spawned task) is stale.
    let _ = LAST_PANIC.try_with(|last| last.try_borrow_mut().map(|mut l| l.take()));
    // Unwind safety: after a panic nothing the future owned is used again. What it shares
    // with later invocations is the SDK clients and the lazily built caches (RDS client, trust
    // anchors), held in once-cells that stay empty when their initialiser panics; the
    // production code holds no lock that a panic could poison.
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(output) => Ok(output),
        Err(payload) => {
            // Dropping a payload runs its destructor, which could itself panic: contained too.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
            let location = LAST_PANIC
                .try_with(|last| last.try_borrow_mut().ok().and_then(|mut l| l.take()))
                .ok()
                .flatten();
            Err(location.unwrap_or_else(|| UNKNOWN_LOCATION.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_and_a_value_passes_through() {
        assert_eq!(catch_panic(async { 7 }).await, Ok(7));
        // Without the process hook (not installed in this test binary: it would hide other
        // tests' messages) the location is unknown; the payload never comes back.
        let caught = catch_panic(async {
            if std::hint::black_box(true) {
                panic!("a message that must not come back");
            }
        })
        .await;
        assert_eq!(caught, Err(UNKNOWN_LOCATION.to_string()));
    }
}
