//! [`SecretStore`] on aws-sdk-secretsmanager.

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::Client;

use super::trust::aws_http_client;
use super::{SecretMetadata, SecretStore, SecretVersion};
use crate::error::{ApiErrorCode, Result, RotationError};
use crate::labels::{VersionStages, AWSPENDING};
use crate::password::PasswordPolicy;
use crate::secret::SecretValue;

/// How long an AWS API call may take, for every SDK client of the functions: the TCP connect
/// (as the SDK's default), one attempt (connect, request and response), and the whole
/// operation with its retries. The SDK sets no read or operation timeout by default, so a call
/// that stalls would otherwise run until Lambda stops the process and its typed error (naming
/// the operation and the service) would be lost; these bounds end it well inside a step's
/// deadline with an error that names the call.
pub const SDK_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(3100);
/// See [`SDK_CONNECT_TIMEOUT`].
pub const SDK_ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// See [`SDK_CONNECT_TIMEOUT`].
pub const SDK_OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(12);

/// The shared AWS SDK configuration every client of a function is built from: region and
/// credentials from the standard chain, the timeouts above, and the HTTPS client of
/// [`aws_http_client`] (the compiled-in Amazon roots and `EXTRA_CA_CERTS`, not the OS store).
pub async fn sdk_config() -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(SDK_CONNECT_TIMEOUT)
        .operation_attempt_timeout(SDK_ATTEMPT_TIMEOUT)
        .operation_timeout(SDK_OPERATION_TIMEOUT)
        .build();
    // Start-up asks for the client before any SDK client is built and stops on a bad
    // EXTRA_CA_CERTS, so the error branch is only reached by code that skipped start-up
    // (tests): the compiled-in roots alone, which a unit test checks.
    let http = aws_http_client().unwrap_or_else(|_| {
        super::trust::sdk_http_client(None, false).expect("the compiled-in Amazon roots are valid")
    });
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .http_client(http)
        .load()
        .await
}

/// The Secrets Manager client used in Lambda and in integration tests.
#[derive(Debug, Clone)]
pub struct SdkStore {
    client: Client,
}

impl SdkStore {
    /// Wraps an existing client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Builds a client: region and credentials from the standard chain; the endpoint is
    /// `endpoint` (the settings' `SECRETS_MANAGER_ENDPOINT`) when given, else the SDK's
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`, else `AWS_ENDPOINT_URL`, else the service default.
    pub async fn connect(endpoint: Option<&str>) -> Self {
        let shared = sdk_config().await;
        let mut builder = aws_sdk_secretsmanager::config::Builder::from(&shared);
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Self::new(Client::from_conf(builder.build()))
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The service error code and message of an AWS SDK error (the SDK's own description when the
/// service sent no message), for any AWS service client. Service messages carry no secret.
pub fn sdk_error_parts<E>(err: &SdkError<E>) -> (ApiErrorCode, String)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = ApiErrorCode::from_code(err.code());
    let message = match err.message() {
        Some(m) => m.to_string(),
        None => DisplayErrorContext(err).to_string(),
    };
    (code, message)
}

fn api_error<E>(operation: &'static str, err: SdkError<E>) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message) = sdk_error_parts(&err);
    RotationError::SecretsManager {
        operation,
        code,
        message,
    }
}

impl SecretStore for SdkStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretMetadata> {
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| api_error("DescribeSecret", e))?;
        let versions: VersionStages = out
            .version_ids_to_stages()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(SecretMetadata {
            arn: out.arn().unwrap_or(secret_id).to_string(),
            rotation_enabled: out.rotation_enabled(),
            versions,
            tags: out
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
        })
    }

    async fn get_version(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> Result<SecretVersion> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage)
            .set_version_id(version_id.map(str::to_string))
            .send()
            .await
            .map_err(|e| api_error("GetSecretValue", e))?;
        let value = out.secret_string().map(SecretValue::new).ok_or_else(|| {
            RotationError::SecretsManager {
                operation: "GetSecretValue",
                code: ApiErrorCode::ResourceNotFound,
                message: format!(
                    "the {stage} version holds no SecretString (binary secrets are not supported)"
                ),
            }
        })?;
        Ok(SecretVersion {
            arn: out.arn().unwrap_or(secret_id).to_string(),
            version_id: out.version_id().unwrap_or_default().to_string(),
            stages: out.version_stages().to_vec(),
            value,
        })
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        rotation_token: Option<&str>,
        value: &SecretValue,
    ) -> Result<()> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .set_rotation_token(rotation_token.map(str::to_string))
            .secret_string(value.expose())
            .version_stages(AWSPENDING)
            .send()
            .await
            .map_err(|e| api_error("PutSecretValue", e))?;
        Ok(())
    }

    async fn update_stage(
        &self,
        secret_id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> Result<()> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(stage)
            .set_move_to_version_id(move_to.map(str::to_string))
            .set_remove_from_version_id(remove_from.map(str::to_string))
            .send()
            .await
            .map_err(|e| api_error("UpdateSecretVersionStage", e))?;
        Ok(())
    }

    async fn random_password(&self, policy: &PasswordPolicy) -> Result<SecretValue> {
        let out = self
            .client
            .get_random_password()
            .password_length(i64::from(policy.length))
            .set_exclude_characters(
                Some(policy.exclude_characters.clone()).filter(|s| !s.is_empty()),
            )
            .exclude_numbers(policy.exclude_numbers)
            .exclude_punctuation(policy.exclude_punctuation)
            .exclude_uppercase(policy.exclude_uppercase)
            .exclude_lowercase(policy.exclude_lowercase)
            .require_each_included_type(policy.require_each_included_type)
            .send()
            .await
            .map_err(|e| api_error("GetRandomPassword", e))?;
        out.random_password()
            .map(SecretValue::new)
            .ok_or_else(|| RotationError::SecretsManager {
                operation: "GetRandomPassword",
                code: ApiErrorCode::Other("EmptyResponse".into()),
                message: "the response carried no password".into(),
            })
    }
}
