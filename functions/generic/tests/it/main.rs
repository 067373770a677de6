//! The generic function's integration tests, one test binary, against moto, through the test
//! bed (`testbed`).

mod testbed;

mod binary;
mod endpoint_env;
mod faults;
mod log_leak;
mod rotation;
mod sdk_trust;
