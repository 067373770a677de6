//! The Secrets Manager client built from the settings (as the function builds it at start-up)
//! reaches the endpoint named by `SECRETS_MANAGER_ENDPOINT` (what the official functions read),
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER` or `AWS_ENDPOINT_URL`.
//! One test, run sequentially, because it changes the process environment. A proxy on a closed
//! loopback port makes any request that misses the endpoint fail fast instead of leaving the box.

use rotation_core::{PasswordDefaults, SdkStore, SecretStore, Settings};
use rotation_testkit::Moto;

/// The client the function builds at start-up from the environment as it is now.
async fn store_from_env() -> SdkStore {
    let settings = Settings::from_env(PasswordDefaults::STANDARD).expect("settings");
    SdkStore::connect(settings.secrets_manager_endpoint.as_deref()).await
}

const VARS: [&str; 3] = [
    "SECRETS_MANAGER_ENDPOINT",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL",
];

#[tokio::test]
async fn each_endpoint_variable_is_honoured_and_the_official_one_wins() {
    let moto = Moto::from_env();
    let client = moto.client().await;
    let arn = client
        .create_secret()
        .name(format!("endpoint-env-{}", std::process::id()))
        .secret_string(r#"{"password":"x"}"#)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:9");
    std::env::set_var("HTTP_PROXY", "http://127.0.0.1:9");
    std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");

    for var in VARS {
        for v in VARS {
            std::env::remove_var(v);
        }
        std::env::set_var(var, moto.endpoint());
        let store = store_from_env().await;
        let meta = store
            .describe(&arn)
            .await
            .unwrap_or_else(|e| panic!("{var}: {e}"));
        assert_eq!(meta.arn, arn, "{var}");
    }

    // The official variable wins over a wrong standard one.
    std::env::set_var("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9");
    std::env::set_var("SECRETS_MANAGER_ENDPOINT", moto.endpoint());
    assert!(store_from_env().await.describe(&arn).await.is_ok());

    // A wrong endpoint fails (so the successes above really used the variables).
    std::env::set_var("SECRETS_MANAGER_ENDPOINT", "http://127.0.0.1:9");
    let err = store_from_env().await.describe(&arn).await.unwrap_err();
    assert_eq!(err.error_type(), "SecretsManagerError");
}
