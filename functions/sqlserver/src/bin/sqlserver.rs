//! The Amazon RDS for SQL Server rotation function (single user or alternating users, by
//! `ROTATION_STRATEGY`).

fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(
        rotation_sqlserver::engines::SQLSERVER.password_defaults,
        rotation_sqlserver::build,
    )
}
