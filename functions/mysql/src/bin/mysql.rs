//! The `mysql` rotation function binary (engines `mysql` and `aurora-mysql`): the shared
//! MySQL-wire adapter, single user or alternating users as `ROTATION_STRATEGY` says, with the
//! RDS API for alternating users. User names up to 32 characters.
#![recursion_limit = "256"]

use rotation_core::mysql::{strategy, MYSQL};
use rotation_core::PasswordDefaults;

// `serve` starts the runtime itself, after the process-wide start-up that must run before
// any thread exists (see its documentation).
fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(PasswordDefaults::STANDARD, |settings| {
        strategy(MYSQL, settings)
    })
}
