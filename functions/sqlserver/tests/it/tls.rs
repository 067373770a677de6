//! Encryption is the whole session: verified TLS with encryption required, never the
//! login-only encryption TDS falls back to; `"ssl": false` is the only way to plaintext, and the
//! plaintext fallback is refused (LOGIN7 would carry the password, only obfuscated).

use crate::testbed::Bed;
use rotation_testkit::tds::ServerEncryption;
use serde_json::json;

#[tokio::test]
async fn a_server_without_tls_is_refused_unless_the_secret_says_ssl_false() {
    let bed = Bed::with(
        "single",
        ServerEncryption::NotSupported,
        &[("ALLOW_PLAINTEXT_FALLBACK", "true".into())],
    )
    .await;
    for ssl in [json!(true), json!(null)] {
        let extra = if ssl.is_null() {
            json!({"ssl": null})
        } else {
            json!({ "ssl": ssl })
        };
        let (login, arn) = bed.login("notls", "Initial-Pa55word-4", extra).await;
        let logins = bed.server.counters().logins;
        let error = bed.failure_of(&arn).await;
        assert!(error.starts_with("TlsFailure"), "ssl {ssl}: {error}");
        assert_eq!(
            bed.server.password(&login).as_deref(),
            Some("Initial-Pa55word-4"),
            "ssl {ssl}: nothing changed"
        );
        assert_eq!(bed.server.counters().logins, logins, "ssl {ssl}: no login was made");
    }
    let (_, arn) = bed
        .login("plain", "Initial-Pa55word-5", json!({"ssl": false}))
        .await;
    let run = bed.rotate(&arn).await;
    assert!(run.succeeded(), "{:?}", run.failure());
    bed.assert_current_logs_in(&arn).await;
}
