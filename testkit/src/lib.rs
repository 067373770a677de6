//! Test support for the rotation functions: the moto Secrets Manager emulator started by the
//! sandbox, a rotation driver that plays Secrets Manager, the one integration-test harness
//! ([`Harness`]; with feature `postgres`, the PostgreSQL-wire bed [`pg::Bed`]), label
//! assertions, call counting and log capture.
#![deny(clippy::all)]
#![warn(missing_docs)]

mod counting;
mod driver;
mod faults;
mod harness;
mod logs;
#[cfg(feature = "mysql")]
pub mod maria;
mod moto;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "postgres")]
mod pg_faults;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres")]
mod proving;
#[cfg(feature = "postgres")]
pub use proving::{suites, SHAPES};

pub use counting::CountingStore;
pub use driver::{assert_labels_unique, assert_rotated, RotationDriver, RotationRun, StepRun};
pub use faults::{SmFault, SmFaults};
pub use harness::{event, unique, Harness};
pub use logs::LogCapture;
pub use moto::Moto;
#[cfg(feature = "postgres")]
pub use pg_faults::{DbFault, PgFaultProxy};
#[cfg(feature = "postgres")]
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
