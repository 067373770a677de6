//! The generic function's integration tests, one test binary, against moto.

mod binary;
mod endpoint_env;
mod faults;
mod moto_rotation;
