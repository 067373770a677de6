//! The ElastiCache function's integration tests, one test binary: the function with the real
//! SDK clients against moto (Secrets Manager, and ElastiCache with the sandbox's ModifyUser),
//! every password proved by a second, independent client (`redis-cli`) against the sandbox
//! Redis, into which moto mirrors the ElastiCache users.

mod testbed;

mod binary;
mod faults;
mod hostile;
mod preflight;
mod rotation;
