//! The `postgresql` rotation function: PostgreSQL's SQL on the PostgreSQL-wire adapter, single
//! user or alternating users as `ROTATION_STRATEGY` says, with the RDS API for alternating
//! users (managed master secrets, replicas and readers, host checks).
#![recursion_limit = "256"]

// `serve` starts the runtime itself, after the process-wide start-up that must run before
// any thread exists (see its documentation).
fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(
        rotation_postgresql::engines::POSTGRESQL.password_defaults,
        rotation_postgresql::postgresql::build,
    )
}
