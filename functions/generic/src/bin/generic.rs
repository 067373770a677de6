//! The `generic` rotation function binary.

// `serve` starts the runtime itself, after the process-wide start-up that must run before
// any thread exists (see its documentation).
fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::serve(rotation_generic::PASSWORD_DEFAULTS, rotation_generic::build)
}
