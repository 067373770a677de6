//! The `generic` rotation function binary.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(generic::PASSWORD_DEFAULTS, |settings| {
        Ok(generic::GenericRotation {
            allow_engine_key: settings.allow_engine_key,
        })
    })
    .await
}
