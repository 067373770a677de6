//! The core's integration tests, one test binary: the panic guard, rotations and strategies on
//! the fake engine and the strict in-memory store, and the secret parser's properties.

mod panic_guard;
mod rotation_on_fake;
mod secret_parser_props;
mod strategies_on_fake;
