//! The TDS stand-in proved by two independent clients: `scripts/tds_standin_check.py` runs
//! pymssql (FreeTDS) and python-tds, from the venv scripts/setup.sh makes, against three
//! stand-in processes (the `tds-standin` binary): encryption forced (`rds.force_ssl`), not
//! forced, and no certificate (NOT_SUP).

use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const MASTER: &str = "Master-Pa55word-tds";
const APP: &str = "App-Pa55word-tds";
/// The checks the script makes.
const CHECKS: usize = 153;

/// The venv's python: `SANDBOX_TDS_PYTHON`, else where scripts/setup.sh puts it.
fn python() -> PathBuf {
    let path = std::env::var_os("SANDBOX_TDS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tools = std::env::var_os("ROTATION_TOOLS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                        .join(".cache/secrets-rotation-rs")
                });
            tools.join("tds-venv/bin/python")
        });
    assert!(
        path.exists(),
        "{} is missing: the pymssql / python-tds venv is made by scripts/setup.sh",
        path.display()
    );
    path
}

/// Starts a stand-in with `encryption` and its port.
async fn stand_in(encryption: &str) -> (Child, u16) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tds-standin"));
    cmd.args(["--encryption", encryption]);
    if encryption != "not-sup" {
        cmd.args(["--cert", &rotation_testkit::sandbox_var("SANDBOX_TLS_CERT")]);
        cmd.args(["--key", &rotation_testkit::sandbox_var("SANDBOX_TLS_KEY")]);
    }
    cmd.args(["--login", &format!("admin:master:{MASTER}")]);
    cmd.args(["--login", &format!("app:plain:{APP}")]);
    // A user database and a contained one (containment PARTIAL) for the catalog checks.
    cmd.args(["--database", "appdb", "--contained-database", "cdb"]);
    let mut child = cmd
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("tds-standin starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .await
        .expect("tds-standin prints its port");
    let port = line.trim().parse().expect("a port");
    (child, port)
}

#[tokio::test]
async fn pymssql_and_python_tds_prove_the_stand_in() {
    let python = python();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/tds_standin_check.py"
    );
    let (_forced, forced) = stand_in("on").await;
    let (_off, off) = stand_in("off").await;
    let (_not_sup, not_sup) = stand_in("not-sup").await;
    let out = Command::new(&python)
        .arg(script)
        .args([forced, off, not_sup].map(|p| p.to_string()))
        .args([MASTER, APP])
        .env(
            "SANDBOX_TLS_CA",
            rotation_testkit::sandbox_var("SANDBOX_TLS_CA"),
        )
        .output()
        .await
        .expect("the venv's python runs");
    let passed = rotation_testkit::script_checks_passed(&out, "scripts/tds_standin_check.py");
    assert_eq!(passed, CHECKS, "{}", String::from_utf8_lossy(&out.stdout));
}
