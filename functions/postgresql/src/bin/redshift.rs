//! The `redshift` rotation function: Redshift's SQL on the PostgreSQL-wire adapter, single user
//! or alternating users as `ROTATION_STRATEGY` says.
#![recursion_limit = "256"]

// `serve` starts the runtime itself, after the process-wide start-up that must run before
// any thread exists (see its documentation).
fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(
        rotation_postgresql::engines::REDSHIFT.password_defaults,
        rotation_postgresql::redshift::build,
    )
}
