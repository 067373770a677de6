//! The MySQL-wire functions' integration tests, one test binary: MariaDB and MySQL (on
//! MariaDB) against the sandbox servers and moto, through the test bed (`testbed`) and the
//! protocol's fault-proxy classifier (`classifier`).

mod classifier;
mod testbed;

mod alternating_users;
mod audit;
mod binary;
mod capacity;
mod engines;
mod faults;
mod hostile_names;
mod no_tls_server;
mod on_mariadb;
mod password_policy;
mod preflight;
mod rds;
mod single_user;
mod tls_trust;
