//! The DocumentDB / MongoDB rotation function (single user or alternating users, by
//! `ROTATION_STRATEGY`).

fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(
        mongodb_rotation::engines::MONGODB.password_defaults,
        mongodb_rotation::build,
    )
}
