//! The PostgreSQL-wire functions' integration tests, one test binary: PostgreSQL and Redshift
//! (on PostgreSQL) against the sandbox server and moto, through the test bed (`testbed`) and
//! the protocol's fault-proxy classifier (`classifier`).

mod classifier;
mod testbed;

mod alternating_users;
mod binary;
mod capacity;
mod concurrency;
mod engines;
mod faults;
mod hardening;
mod log_leak;
mod malformed;
mod no_tls_server;
mod preflight;
mod rds;
mod redshift_admin;
mod redshift_faults;
mod redshift_on_postgres;
mod serverless_api;
mod single_user;
mod tls_trust;
