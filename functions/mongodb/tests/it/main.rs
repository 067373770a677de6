//! The DocumentDB / MongoDB function's integration tests: the function (the real driver, the
//! real SDK client on moto) against the testkit's MongoDB-wire stand-in in both personalities
//! (DocumentDB 4.0: wire version 7, SCRAM-SHA-1 only, users in admin, a member list naming a
//! host that does not exist; MongoDB: SCRAM-SHA-256 and SHA-1). No MongoDB or DocumentDB
//! server was run.

mod testbed;

mod alternating_users;
mod binary;
mod engines;
mod faults;
mod hostile_names;
mod personalities;
mod preflight;
mod privileges;
mod rotation;
mod stand_in;
