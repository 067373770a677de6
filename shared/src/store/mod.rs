//! The few Secrets Manager calls a rotation makes, behind one trait: [`SdkStore`] talks to the
//! service (or an emulator); `MemoryStore` (feature `test-support`) is a strict in-memory fake
//! for unit tests.

#[cfg(feature = "test-support")]
mod memory;
mod sdk;
mod trust;

use std::future::Future;

#[cfg(feature = "test-support")]
pub use memory::{MemoryStore, StoreCall};
pub use sdk::{
    sdk_config, sdk_error_parts, SdkStore, SDK_ATTEMPT_TIMEOUT, SDK_CONNECT_TIMEOUT,
    SDK_OPERATION_TIMEOUT,
};
pub use trust::{aws_http_client, sdk_http_client, AMAZON_ROOTS};

use crate::error::Result;
use crate::labels::VersionStages;
use crate::password::PasswordPolicy;
use crate::secret::SecretValue;

/// What DescribeSecret says about a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMetadata {
    /// The secret ARN.
    pub arn: String,
    /// `RotationEnabled` (absent on a secret that was never set up for rotation).
    pub rotation_enabled: Option<bool>,
    /// `VersionIdsToStages`.
    pub versions: VersionStages,
    /// `Tags` (key, value), e.g. `aws:rds:primaryDBInstanceArn` on an RDS-managed secret.
    pub tags: Vec<(String, String)>,
}

/// One version as GetSecretValue returns it.
#[derive(Debug, Clone)]
pub struct SecretVersion {
    /// The secret ARN.
    pub arn: String,
    /// The version id.
    pub version_id: String,
    /// Every label on the version (`VersionStages`), not only the one asked for.
    pub stages: Vec<String>,
    /// The value (`SecretString`).
    pub value: SecretValue,
}

/// The Secrets Manager operations the rotation core uses. Every read names a stage.
pub trait SecretStore: Send + Sync {
    /// DescribeSecret.
    fn describe(&self, secret_id: &str) -> impl Future<Output = Result<SecretMetadata>> + Send;

    /// GetSecretValue for `stage`, optionally pinned to `version_id` too. A version without a
    /// value is a `ResourceNotFoundException`; a `version_id` that does not carry `stage` is an
    /// `InvalidRequestException`.
    fn get_version(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Result<SecretVersion>> + Send;

    /// [`SecretStore::get_version`], the value only.
    fn get_value(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Result<SecretValue>> + Send {
        async move {
            self.get_version(secret_id, stage, version_id)
                .await
                .map(|v| v.value)
        }
    }

    /// PutSecretValue with `ClientRequestToken = token`, `VersionStages = [AWSPENDING]` and the
    /// event's `RotationToken` when it has one (needed for rotation through an assumed role or
    /// across accounts).
    fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        rotation_token: Option<&str>,
        value: &SecretValue,
    ) -> impl Future<Output = Result<()>> + Send;

    /// UpdateSecretVersionStage.
    fn update_stage(
        &self,
        secret_id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// GetRandomPassword under `policy`.
    fn random_password(
        &self,
        policy: &PasswordPolicy,
    ) -> impl Future<Output = Result<SecretValue>> + Send;
}
