//! The ElastiCache function's integration tests, one test binary: the function with the real
//! SDK clients against moto (Secrets Manager, and ElastiCache with the sandbox's ModifyUser),
//! every password proved by a second, independent client (`redis-cli`) against the sandbox
//! Redis, into which moto mirrors the ElastiCache users; and (`waits`) a scripted ElastiCache on
//! the strict in-memory Secrets Manager, where a test must move the labels during a wait; and
//! (`stand_in`) the sandbox's ElastiCache itself: what it records and refuses, the documented
//! password rule, and the calibration script run against it.

mod testbed;

mod api_timeouts;
mod binary;
mod faults;
mod log_leak;
mod malformed;
mod preflight;
mod proof;
mod rotation;
mod same_user;
mod scope;
mod stand_in;
mod waits;
