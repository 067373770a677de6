//! [`RedshiftLookup`] (feature `redshift`) on the Redshift and Redshift Serverless SDK clients: where the admin of a
//! Redshift-managed secret logs in. The clients are built on first use (only an alternating
//! rotation whose superuser secret has no `host` pays for them). Their endpoints are the SDK's
//! own resolution, which honours `AWS_ENDPOINT_URL_REDSHIFT` and
//! `AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS` (a VPC with only interface endpoints needs them);
//! tests give them explicitly.

use aws_sdk_redshift::error::{ProvideErrorMetadata, SdkError};
use rotation_core::database::BoxFuture;
use rotation_core::{sdk_error_parts, Result, RotationError};

use crate::redshift_admin::{RedshiftCluster, RedshiftLookup, Workgroup, REDSHIFT_API};
use tokio::sync::OnceCell;

/// The Redshift APIs through the SDK.
#[derive(Debug, Default)]
pub struct SdkRedshift {
    endpoints: (Option<String>, Option<String>),
    clients: OnceCell<(aws_sdk_redshift::Client, aws_sdk_redshiftserverless::Client)>,
}

impl SdkRedshift {
    /// Lookups whose clients use the SDK's endpoint resolution.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lookups whose clients use these endpoints (Redshift, Redshift Serverless) when given.
    pub fn with_endpoints(redshift: Option<String>, serverless: Option<String>) -> Self {
        Self {
            endpoints: (redshift, serverless),
            clients: OnceCell::new(),
        }
    }

    async fn clients(&self) -> &(aws_sdk_redshift::Client, aws_sdk_redshiftserverless::Client) {
        self.clients
            .get_or_init(|| async {
                let shared = rotation_core::sdk_config().await;
                let mut provisioned = aws_sdk_redshift::config::Builder::from(&shared);
                if let Some(endpoint) = &self.endpoints.0 {
                    provisioned = provisioned.endpoint_url(endpoint);
                }
                let mut serverless = aws_sdk_redshiftserverless::config::Builder::from(&shared);
                if let Some(endpoint) = &self.endpoints.1 {
                    serverless = serverless.endpoint_url(endpoint);
                }
                (
                    aws_sdk_redshift::Client::from_conf(provisioned.build()),
                    aws_sdk_redshiftserverless::Client::from_conf(serverless.build()),
                )
            })
            .await
    }
}

fn api_error<E>(operation: &'static str, err: SdkError<E>) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message) = sdk_error_parts(&err);
    REDSHIFT_API.error(operation, code, message)
}

fn port(p: Option<i32>) -> Option<u16> {
    p.and_then(|p| u16::try_from(p).ok())
}

/// Pages of a list call: at most this many, so a service that keeps answering a next token
/// cannot keep the function busy until its timeout.
const MAX_PAGES: usize = 100;

impl RedshiftLookup for SdkRedshift {
    fn cluster<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RedshiftCluster>>> {
        Box::pin(async move {
            let out = match self
                .clients()
                .await
                .0
                .describe_clusters()
                .cluster_identifier(id)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if e.code() == Some("ClusterNotFound") => return Ok(None),
                Err(e) => return Err(api_error("DescribeClusters", e)),
            };
            Ok(out.clusters().first().map(|c| RedshiftCluster {
                id: c.cluster_identifier().unwrap_or_default().to_string(),
                address: c.endpoint().and_then(|e| e.address()).map(str::to_string),
                port: port(c.endpoint().and_then(|e| e.port())),
            }))
        })
    }

    fn namespace_name<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            let client = &self.clients().await.1;
            let mut token = None;
            for _ in 0..MAX_PAGES {
                let out = client
                    .list_namespaces()
                    .max_results(100)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| api_error("ListNamespaces", e))?;
                if let Some(n) = out
                    .namespaces()
                    .iter()
                    .find(|n| n.namespace_arn() == Some(arn))
                {
                    return Ok(n.namespace_name().map(str::to_string));
                }
                token = out.next_token().map(str::to_string);
                if token.is_none() {
                    return Ok(None);
                }
            }
            Err(too_many_pages("ListNamespaces"))
        })
    }

    fn workgroups(&self) -> BoxFuture<'_, Result<Vec<Workgroup>>> {
        Box::pin(async move {
            let client = &self.clients().await.1;
            let mut all = Vec::new();
            let mut token = None;
            for _ in 0..MAX_PAGES {
                let out = client
                    .list_workgroups()
                    .max_results(100)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| api_error("ListWorkgroups", e))?;
                all.extend(out.workgroups().iter().map(|w| Workgroup {
                    name: w.workgroup_name().unwrap_or_default().to_string(),
                    namespace: w.namespace_name().unwrap_or_default().to_string(),
                    address: w.endpoint().and_then(|e| e.address()).map(str::to_string),
                    port: port(w.endpoint().and_then(|e| e.port()).or(w.port())),
                }));
                token = out.next_token().map(str::to_string);
                if token.is_none() {
                    return Ok(all);
                }
            }
            Err(too_many_pages("ListWorkgroups"))
        })
    }
}

fn too_many_pages(operation: &'static str) -> RotationError {
    REDSHIFT_API.error(
        operation,
        rotation_core::ApiErrorCode::from_code(Some("TooManyPages")),
        format!("more than {MAX_PAGES} pages of results; refusing to read further"),
    )
}
