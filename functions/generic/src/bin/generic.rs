//! The `generic` rotation function binary.

// `serve` starts the runtime itself, after the process-wide start-up that must run before
// any thread exists (see its documentation).
fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(generic::PASSWORD_DEFAULTS, |settings| {
        Ok(generic::GenericRotation {
            allow_engine_key: settings.allow_engine_key,
        })
    })
}
