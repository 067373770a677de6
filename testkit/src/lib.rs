//! Test support for the rotation functions: the moto Secrets Manager emulator started by the
//! sandbox, a rotation driver that plays Secrets Manager, label assertions and log capture.
#![deny(clippy::all)]
#![warn(missing_docs)]

pub mod counting;
pub mod driver;
pub mod logs;
pub mod moto;
pub mod postgres;

pub use counting::CountingStore;
pub use driver::{assert_rotated, RotationDriver, RotationRun, StepRun};
pub use logs::LogCapture;
pub use moto::Moto;
pub use postgres::PgAdmin;

/// Reads a variable the sandbox exports; panics with what to do when it is missing.
pub fn sandbox_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: integration tests need the sandbox. Run them with scripts/test.sh \
             (or `eval \"$(scripts/sandbox.sh env)\"` after `scripts/sandbox.sh start`)"
        )
    })
}
