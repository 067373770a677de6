//! The `generic` rotation function binary.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::runtime::run(generic::PASSWORD_DEFAULTS, |_| Ok(generic::GenericRotation)).await
}
