//! The `generic` rotation function binary.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::runtime::run(generic::GenericRotation, generic::PASSWORD_DEFAULTS).await
}
