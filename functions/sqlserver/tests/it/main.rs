//! The SQL Server function's integration tests: the function (tiberius, the real SDK client on
//! moto) against the testkit's TDS stand-in. No SQL Server was run: the stand-in is proved by
//! pymssql and python-tds (the testkit's `tds_standin` test).

mod testbed;

mod alternating_users;
mod binary;
mod engines;
mod faults;
mod hostile_names;
mod preflight;
mod single_user;
mod tls;
