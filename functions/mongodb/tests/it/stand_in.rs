//! The stand-in the function is tested on, proved with a second, independent client: pymongo
//! (4.13, the newest that reaches DocumentDB 4.0, from the sandbox's venv) runs
//! `scripts/mongo_standin_check.py` against each personality: the handshake, both SCRAM
//! mechanisms as offered, user management, role checks, authentication restrictions and
//! mechanisms (MongoDB), DocumentDB's refusal of restrictions, and the error codes. The stand-in
//! must then have counted the logins and refusals it saw.

use rotation_testkit::mongo::{MongoStandIn, Personality};
use rotation_testkit::sandbox_var;

const ROOT: &str = "Root-Pa55word-pymongo";

#[tokio::test]
async fn pymongo_proves_both_personalities() {
    let python = sandbox_var("SANDBOX_PYMONGO");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/mongo_standin_check.py"
    );
    // (personality, its name for the script, the checks the script makes for it)
    let runs = [
        (Personality::DocumentDb40, "documentdb", 40),
        (Personality::MongoDb, "mongodb", 49),
    ];
    for (personality, name, checks) in runs {
        let server = MongoStandIn::start(personality, Some(MongoStandIn::sandbox_tls()))
            .await
            .unwrap();
        server.add_user("admin", "root", ROOT, &[("root", "admin")]);
        let out = tokio::process::Command::new(&python)
            .arg(script)
            .args([name, &server.port().to_string(), ROOT])
            .output()
            .await
            .expect("pymongo's python runs");
        let passed = rotation_testkit::script_checks_passed(&out, name);
        assert_eq!(
            passed,
            checks,
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let c = server.counters();
        assert!(
            c.logins > 5 && c.refused >= 4 && c.commands > 30,
            "{name}: {c:?}"
        );
    }
}
