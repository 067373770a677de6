//! The `mariadb` rotation function binary (engine `mariadb`): the shared MySQL-wire adapter,
//! single user or alternating users as `ROTATION_STRATEGY` says, with the RDS API for
//! alternating users. User names up to 80 characters.
#![recursion_limit = "256"]

use rotation_core::mysql::{strategy, MARIADB};
use rotation_core::PasswordDefaults;

// Lambda sends one invocation at a time: one thread is enough, and uses less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(PasswordDefaults::STANDARD, |settings| {
        strategy(MARIADB, settings)
    })
    .await
}
