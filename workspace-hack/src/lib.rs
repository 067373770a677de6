//! Feature unification for the function crates; no code (see this package's Cargo.toml).
#![no_std]
