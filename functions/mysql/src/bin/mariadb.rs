//! The `mariadb` rotation function ([`rotation_mysql::engines::MARIADB`]): the MySQL-wire adapter, single user
//! or alternating users as `ROTATION_STRATEGY` says, with the RDS API for alternating users.
#![recursion_limit = "256"]

// `serve` starts the runtime itself, after the process-wide start-up that must run before
// any thread exists (see its documentation).
fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(
        rotation_mysql::engines::MARIADB.password_defaults,
        rotation_mysql::mariadb::build,
    )
}
