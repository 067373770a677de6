//! The operator tool's integration tests, one test binary: `rotation-ctl` end to end against
//! moto, the testkit's loopback Lambda API and the sandbox servers. `operator`: every command
//! on the PostgreSQL function; `verify`: `verify` through the real function binary of every
//! rotation type (built by a nested `cargo build`, a no-op under the test command, which has
//! built the whole workspace already). `common`: what both share.

mod common;

mod operator;
mod verify;
