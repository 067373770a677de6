//! The PostgreSQL function's own settings, read from the environment at start-up.

/// `true`: clones created by alternating users act as the original role in every session
/// (`ALTER ROLE clone SET role = original`). Default `false`, as the official function.
pub const CLONE_ACTS_AS_ORIGINAL: &str = "CLONE_ACTS_AS_ORIGINAL";

pub use rotation_core::settings::flag;
