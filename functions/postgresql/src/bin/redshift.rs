//! The `redshift` rotation function: Redshift's SQL on the PostgreSQL-wire adapter, single user
//! or alternating users as `ROTATION_STRATEGY` says.
#![recursion_limit = "256"]

// `serve` starts the runtime itself, after the process-wide start-up that must run before
// any thread exists (see its documentation).
fn main() -> Result<(), lambda_runtime::Error> {
    let identity = postgresql::engines::REDSHIFT;
    rotation_core::serve(identity.password_defaults, postgresql::redshift)
}
