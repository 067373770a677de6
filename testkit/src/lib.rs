//! Test support for the rotation functions: the moto Secrets Manager emulator started by the
//! sandbox, a rotation driver that plays Secrets Manager, the one integration-test harness
//! ([`Harness`]; with feature `postgres`, the PostgreSQL-wire bed [`pg::Bed`]), a function
//! binary run under a loopback Lambda Runtime API ([`FunctionProcess`]), a loopback Lambda API
//! ([`LambdaApi`]) and a player of Secrets Manager's invocations after RotateSecret
//! ([`RotationPlayer`]) for the operator tool, label assertions, call counting, log capture,
//! and strict stand-in servers that bait a client into giving its password away
//! ([`PasswordBait`]).
#![deny(clippy::all)]
#![warn(missing_docs)]

mod bait;
mod counting;
mod db_faults;
mod driver;
mod faults;
mod harness;
mod lambda_api;
mod lambda_process;
mod logs;
#[cfg(feature = "mysql")]
pub mod maria;
#[cfg(feature = "mongo")]
pub mod mongo;
mod moto;
mod player;
#[cfg(feature = "postgres")]
pub mod postgres;
mod proving;
#[cfg(feature = "tds")]
pub mod tds;
mod types;

/// Every ASCII punctuation character, quotes, backslash, `,` and `=` included: the hostile
/// name and password tests' alphabet.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// A password policy that excludes no character (the hostile password tests').
pub fn policy_excluding_nothing() -> rotation_core::PasswordPolicy {
    rotation_core::PasswordPolicy::from_lookup(rotation_core::PasswordDefaults::STANDARD, |name| {
        (name == "EXCLUDE_CHARACTERS").then(String::new)
    })
    .expect("a policy excluding nothing")
}

pub use proving::{
    invariants, prove_db_faults, prove_out_of_order, prove_sm_faults, suites, DbProvingBed,
    ProvingBed, SHAPES,
};

pub use bait::{BaitConnection, PasswordBait};
pub use counting::{CountingProxy, CountingStore};
pub use db_faults::{sql_changes_credentials, Classifier, DbFault, DbFaultProxy, Paused};
pub use driver::{assert_labels_unique, assert_rotated, RotationDriver, RotationRun, StepRun};
pub use faults::{SmFault, SmFaults};
pub use harness::{event, unique, Harness};
pub use lambda_api::{FunctionSettings, Handler, InvokeResult, LambdaApi};
pub use lambda_process::{deployed_environment, rotate_with_binary, Answer, FunctionProcess};
pub use logs::{escaped_forms, LogCapture};
pub use moto::{Moto, MOTO_ACCOUNT, REGION};
pub use player::{Played, RotationPlayer, StepInvoker};
#[cfg(feature = "postgres")]
pub use postgres::PgAdmin;
pub use types::{assert_engines_packaged, rotation_types, RotationType};

/// A name the sandbox servers' certificates carry besides localhost and 127.0.0.1.
pub const SANDBOX_CERTIFICATE_NAME: &str = "db.rotation.test";

/// Which CA a database function under test trusts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Trust {
    /// The CA that signed the sandbox server's certificate.
    #[default]
    SandboxCa,
    /// A CA that signed nothing the server presents.
    OtherCa,
    /// What a deployed function trusts (the OS store, the Mozilla roots, the vendored RDS CA
    /// bundle) plus the sandbox CA given as `EXTRA_CA_CERTS` is.
    BuiltInAndSandboxCa,
    /// Only what a deployed function trusts with no `EXTRA_CA_CERTS`.
    BuiltInOnly,
}

impl Trust {
    /// (`EXTRA_CA_CERTS`, built-in roots) for a server whose CA is `ca`, `other_ca` being a CA
    /// that signed nothing it presents.
    pub fn anchors<'a>(self, ca: &'a str, other_ca: &'a str) -> (Option<&'a str>, bool) {
        match self {
            Trust::SandboxCa => (Some(ca), false),
            Trust::OtherCa => (Some(other_ca), false),
            Trust::BuiltInAndSandboxCa => (Some(ca), true),
            Trust::BuiltInOnly => (None, true),
        }
    }
}

/// Reads a variable the sandbox exports; panics with what to do when it is missing.
pub fn sandbox_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: integration tests need the sandbox. Run them with scripts/test.sh \
             (or `eval \"$(scripts/sandbox.sh env)\"` after `scripts/sandbox.sh start`)"
        )
    })
}

/// The superuser-secret allow-list (`MASTER_SECRET_ARNS`) of test beds that do not test it:
/// every secret of the emulator's account. The allow-list's own tests name exact ARNs.
pub const ANY_SUPERUSER_SECRET: &str = "arn:aws:secretsmanager:*:*:secret:*";

/// The settings a function would read from an environment holding only `vars` (name, value),
/// for test beds that build a function as its binary does. Unless `vars` names
/// `MASTER_SECRET_ARNS`, it is [`ANY_SUPERUSER_SECRET`] (start-up requires it for alternating
/// users).
pub fn settings(
    defaults: rotation_core::PasswordDefaults,
    vars: &[(&str, String)],
) -> rotation_core::Settings {
    rotation_core::Settings::from_lookup(defaults, |name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                (name == rotation_core::MASTER_SECRET_ARNS)
                    .then(|| ANY_SUPERUSER_SECRET.to_string())
            })
    })
    .expect("valid settings")
}

/// The check named `name` in a preflight report: (ok, detail). Panics, showing the report,
/// when it did not run.
pub fn report_check(report: &serde_json::Value, name: &str) -> (bool, String) {
    let found = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report:#}"));
    (
        found["ok"].as_bool().unwrap_or(false),
        found["detail"].as_str().unwrap_or("").to_string(),
    )
}

/// The number of checks an independent client's proof script passed: it must exit with
/// success and end with the line `N checks passed` (`scripts/mongo_standin_check.py`,
/// `scripts/tds_standin_check.py`). Panics, showing the script's output, otherwise.
pub fn script_checks_passed(out: &std::process::Output, what: &str) -> usize {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .last()
        .and_then(|l| l.strip_suffix(" checks passed"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no final `N checks passed` line:\n{stdout}"))
}
