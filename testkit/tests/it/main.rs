//! The testkit's own integration tests (feature `tds`): its stand-ins proved by clients that
//! are not ours.

mod tds_standin;
