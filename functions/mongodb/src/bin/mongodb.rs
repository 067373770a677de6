//! The DocumentDB / MongoDB rotation function (single user or alternating users, by
//! `ROTATION_STRATEGY`).

fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(
        rotation_mongodb::engines::MONGODB.password_defaults,
        rotation_mongodb::build,
    )
}
