//! The `generic` rotation function binary.

// Lambda sends one invocation at a time: one thread is enough, and uses less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(generic::PASSWORD_DEFAULTS, |settings| {
        Ok(generic::GenericRotation {
            allow_engine_key: settings.allow_engine_key,
        })
    })
    .await
}
