//! [`UserApi`] on the ElastiCache SDK client. Each user is looked after in its own region (from
//! its ARN), with one client per region, built on first use. The endpoint is the SDK's own
//! resolution, which honours `AWS_ENDPOINT_URL_ELASTICACHE` (a VPC with only interface
//! endpoints needs it); tests give one explicitly. Every client has connect, attempt and
//! operation timeouts, so a hung call ends as a typed `ElastiCacheApiError` within
//! [`API_OPERATION_TIMEOUT`] instead of running until Lambda stops the process.

use std::time::Duration;

use aws_sdk_elasticache::config::timeout::TimeoutConfig;
use aws_sdk_elasticache::config::Region;
use aws_sdk_elasticache::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticache::Client;
use rotation_core::{sdk_error_parts, Result, RotationError, SecretValue};
use tokio::sync::Mutex;

use crate::api::{BoxFuture, CacheUser, UserApi, ELASTICACHE_API};
use crate::secret::UserArn;

/// The longest a connection to the ElastiCache API may take to open.
pub const API_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest one attempt of a call may take (the SDK retries a failed attempt).
pub const API_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest one call may take, its retries included: the SDK then returns its timeout
/// error, reported as `ElastiCacheApiError`.
pub const API_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// The ElastiCache API through the SDK.
#[derive(Debug, Default)]
pub struct SdkElastiCache {
    endpoint: Option<String>,
    clients: Mutex<Vec<(String, Client)>>,
}

impl SdkElastiCache {
    /// Clients that use the SDK's endpoint resolution.
    pub fn new() -> Self {
        Self::default()
    }

    /// Clients that use `endpoint` (tests: an emulator).
    pub fn with_endpoint(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: Some(endpoint.into()),
            clients: Mutex::new(Vec::new()),
        }
    }

    async fn client(&self, region: &str) -> Client {
        let mut clients = self.clients.lock().await;
        if let Some((_, client)) = clients.iter().find(|(r, _)| r == region) {
            return client.clone();
        }
        let shared = rotation_core::sdk_config().await;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(API_CONNECT_TIMEOUT)
            .operation_attempt_timeout(API_ATTEMPT_TIMEOUT)
            .operation_timeout(API_OPERATION_TIMEOUT)
            .build();
        let mut builder = aws_sdk_elasticache::config::Builder::from(&shared)
            .region(Region::new(region.to_string()))
            .timeout_config(timeouts);
        if let Some(endpoint) = &self.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        let client = Client::from_conf(builder.build());
        clients.push((region.to_string(), client.clone()));
        client
    }
}

fn api_error<E>(operation: &'static str, err: SdkError<E>) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message) = sdk_error_parts(&err);
    ELASTICACHE_API.error(operation, code, message)
}

impl UserApi for SdkElastiCache {
    fn describe<'a>(&'a self, user: &'a UserArn) -> BoxFuture<'a, Result<Option<CacheUser>>> {
        Box::pin(async move {
            let out = match self
                .client(&user.region)
                .await
                .describe_users()
                .user_id(&user.user_id)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if e.code() == Some("UserNotFound") => return Ok(None),
                Err(e) => return Err(api_error("DescribeUsers", e)),
            };
            Ok(out
                .users()
                .iter()
                .find(|u| u.user_id() == Some(user.user_id.as_str()))
                .map(|u| CacheUser {
                    id: user.user_id.clone(),
                    name: u.user_name().unwrap_or_default().to_string(),
                    status: u.status().unwrap_or_default().to_string(),
                    authentication: u
                        .authentication()
                        .and_then(|a| a.r#type())
                        .map(|t| t.as_str().to_string()),
                    arn: u.arn().map(str::to_string),
                }))
        })
    }

    fn set_passwords<'a>(
        &'a self,
        user: &'a UserArn,
        passwords: &'a [SecretValue],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.client(&user.region)
                .await
                .modify_user()
                .user_id(&user.user_id)
                .set_passwords(Some(
                    passwords.iter().map(|p| p.expose().to_string()).collect(),
                ))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| api_error("ModifyUser", e))
        })
    }
}
