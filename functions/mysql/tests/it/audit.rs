//! MariaDB's audit plugin (`server_audit`, shipped with Debian's MariaDB 10.11) loaded on the
//! password-policy server, where passwords travel as plaintext: it records `SET PASSWORD`
//! statements whatever `sql_log_off` says, and masks the password in them only up to a `'`
//! inside it. The function rotates when the plugin masks the password, refuses
//! (`PasswordWouldBeLogged`, nothing changed) when the password holds a `'`, and rotates when
//! the user is left out of the audit. The plugin's settings are global: only this test changes
//! them, it narrows the audit to its own user wherever it can, and it turns logging off when done.

use crate::testbed::{Bed, Options};
use mysql_async::prelude::Queryable;
use rotation_core::Step;
use rotation_mysql::{account, Flavor};
use rotation_testkit::{event, report_check, unique, LogCapture};
use serde_json::json;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn the_audit_plugin_masks_the_password_except_past_a_quote_and_an_excluded_user_is_not_audited(
) {
    let capture = LogCapture::global();
    let bed = Bed::with_options(
        Flavor::MARIADB,
        "single",
        Options {
            policy_server: true,
            ..Options::default()
        },
    )
    .await;
    let (user, arn) = bed
        .user_with_secret("audited", "Initial-Pa55#word", json!({"ssl": true}))
        .await;
    // SUPER: the session leaves the general log, so the audit plugin alone decides.
    bed.db
        .run(&format!("GRANT SUPER ON *.* TO {}", account(&user, "%")))
        .await;
    let audit_log =
        std::path::Path::new(&bed.db.general_log).with_file_name(format!("audit_{}.log", unique()));
    let mut root = bed.db.root().await;
    let installed: Option<u64> = root
        .query_first(
            "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'SERVER_AUDIT'",
        )
        .await
        .expect("read the plugins");
    let _ = root.disconnect().await;
    if installed == Some(0) {
        bed.db.run("INSTALL SONAME 'server_audit'").await;
    }
    // Narrowed to this test's user before logging starts.
    bed.db
        .run(&format!(
            "SET GLOBAL server_audit_excl_users = ''; SET GLOBAL server_audit_incl_users = '{user}'; \
             SET GLOBAL server_audit_events = 'QUERY'; \
             SET GLOBAL server_audit_file_path = '{}'; SET GLOBAL server_audit_logging = ON",
            audit_log.display()
        ))
        .await;

    // 1. Masked: the rotation goes through, and the plugin did record the statement.
    let report = bed.preflight(&arn, false).await;
    let (ok, detail) = report_check(&report, "password_logging");
    assert!(ok && detail.contains("masks the password"), "{detail}");
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    let (_, pw) = bed.current(&arn).await;
    let audit = std::fs::read(&audit_log).expect("the audit log");
    let masked = format!("{user},127.0.0.1");
    assert!(
        String::from_utf8_lossy(&audit)
            .lines()
            .any(|l| l.contains(&masked) && l.contains("SET PASSWORD = PASSWORD(*****)")),
        "the plugin recorded the statement, masked"
    );
    assert!(
        !contains(&audit, pw.as_bytes()) && !contains(&bed.db.logs(), pw.as_bytes()),
        "the password reached the audit, general or binary log"
    );

    // 2. A password holding a quote: the plugin would show what follows it. Refused, nothing
    //    changed.
    let token = bed.start_and_create(&arn).await;
    let tail = format!("Tail{}x9#", unique());
    let quoted = format!("Ab1#'{tail}");
    let tampered = bed
        .tamper_pending(&arn, &token, "password", json!(quoted))
        .await;
    let error = bed
        .fails_changing_no_label(&arn, &tampered, Step::Set)
        .await;
    assert!(
        error.starts_with("PasswordWouldBeLogged")
            && error.contains("server_audit")
            && error.contains("server_audit_excl_users")
            && error.contains("excludeCharacters"),
        "{error}"
    );
    assert!(!error.contains(&tail), "the error holds no password");
    bed.db
        .login(&user, &pw, true)
        .await
        .expect("AWSCURRENT unchanged");
    let audit = std::fs::read(&audit_log).expect("the audit log");
    assert!(
        !contains(&audit, tail.as_bytes()),
        "the refused password reached the audit log"
    );

    // 3. The user left out of the audit: the same change goes through, unrecorded.
    bed.db
        .run(&format!(
            "SET GLOBAL server_audit_incl_users = ''; SET GLOBAL server_audit_excl_users = '{user}'"
        ))
        .await;
    for step in [Step::Set, Step::Test, Step::Finish] {
        bed.invoke(event(&arn, &tampered, step))
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
    }
    bed.db
        .login(&user, &quoted, true)
        .await
        .expect("the new password");
    let audit = std::fs::read(&audit_log).expect("the audit log");
    assert!(
        !contains(&audit, tail.as_bytes()),
        "an excluded user's password reached the audit log"
    );
    capture.assert_none_of(&[pw, quoted]);
    bed.db
        .run(
            "SET GLOBAL server_audit_logging = OFF; SET GLOBAL server_audit_incl_users = ''; \
             SET GLOBAL server_audit_excl_users = ''",
        )
        .await;
}
