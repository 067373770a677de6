//! The `generic` rotation function binary.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::runtime::run(generic::PASSWORD_DEFAULTS, |_| {
        generic::GenericRotation::from_env()
    })
    .await
}
