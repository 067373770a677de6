//! Test support for the rotation functions: the moto Secrets Manager emulator started by the
//! sandbox, a rotation driver that plays Secrets Manager, the one integration-test harness
//! ([`Harness`]; with feature `postgres`, the PostgreSQL-wire bed [`pg::Bed`]), label
//! assertions, call counting and log capture.
#![deny(clippy::all)]
#![warn(missing_docs)]

mod counting;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod db_faults;
mod driver;
mod faults;
mod harness;
mod logs;
#[cfg(feature = "mysql")]
pub mod maria;
mod moto;
#[cfg(feature = "mysql")]
mod my_faults;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "postgres")]
mod pg_faults;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod proving;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub use proving::{
    invariants, prove_db_faults, prove_out_of_order, prove_sm_faults, suites, ProvingBed, SHAPES,
};

pub use counting::CountingStore;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub use db_faults::{DbFault, DbFaultProxy, Protocol};
pub use driver::{assert_labels_unique, assert_rotated, RotationDriver, RotationRun, StepRun};
pub use faults::{SmFault, SmFaults};
pub use harness::{event, unique, Harness};
pub use logs::LogCapture;
pub use moto::Moto;
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
