//! [`RdsLookup`] on aws-sdk-rds (feature `rds`). The client is built on first use, so
//! createSecret, testSecret and finishSecret never pay for it. Its endpoint is the settings'
//! `AWS_ENDPOINT_URL_RDS` when given (a VPC with only interface endpoints needs it), else the
//! SDK's own resolution.

use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::Client;
use tokio::sync::OnceCell;

use super::rds::{BoxFuture, DbCluster, DbInstance, RdsLookup, RDS_API};
use crate::error::{Result, RotationError};
use crate::store::sdk_error_parts;

/// The RDS API through the SDK.
#[derive(Debug, Default)]
pub struct SdkRds {
    endpoint: Option<String>,
    client: OnceCell<Client>,
}

impl SdkRds {
    /// A lookup that builds its client on first use, with `endpoint` when given.
    pub fn new(endpoint: Option<String>) -> Self {
        Self {
            endpoint,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let shared = crate::sdk_config().await;
                let mut builder = aws_sdk_rds::config::Builder::from(&shared);
                if let Some(endpoint) = &self.endpoint {
                    builder = builder.endpoint_url(endpoint);
                }
                Client::from_conf(builder.build())
            })
            .await
    }
}

/// Maps an RDS API error; "not found" answers are `Ok(None)` for the callers.
fn api_error<E>(operation: &'static str, err: SdkError<E>) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message) = sdk_error_parts(&err);
    RDS_API.error(operation, code, message)
}

fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    matches!(
        err.code(),
        Some("DBInstanceNotFound" | "DBInstanceNotFoundFault" | "DBClusterNotFoundFault")
    )
}

fn port(p: Option<i32>) -> Option<u16> {
    p.and_then(|p| u16::try_from(p).ok())
}

impl RdsLookup for SdkRds {
    fn instance<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DbInstance>>> {
        Box::pin(async move {
            let out = match self
                .client()
                .await
                .describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(api_error("DescribeDBInstances", e)),
            };
            Ok(out.db_instances().first().map(|i| DbInstance {
                id: i.db_instance_identifier().unwrap_or_default().to_string(),
                address: i.endpoint().and_then(|e| e.address()).map(str::to_string),
                port: port(i.endpoint().and_then(|e| e.port())),
                engine: i.engine().map(str::to_string),
                replica_source: i
                    .read_replica_source_db_instance_identifier()
                    .map(str::to_string),
                cluster_id: i.db_cluster_identifier().map(str::to_string),
            }))
        })
    }

    fn cluster<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DbCluster>>> {
        Box::pin(async move {
            let out = match self
                .client()
                .await
                .describe_db_clusters()
                .db_cluster_identifier(id)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(api_error("DescribeDBClusters", e)),
            };
            let Some(c) = out.db_clusters().first() else {
                return Ok(None);
            };
            Ok(Some(DbCluster {
                id: c.db_cluster_identifier().unwrap_or_default().to_string(),
                endpoint: c.endpoint().map(str::to_string),
                reader_endpoint: c.reader_endpoint().map(str::to_string),
                port: port(c.port()),
                engine: c.engine().map(str::to_string),
                members: c
                    .db_cluster_members()
                    .iter()
                    .map(|m| {
                        (
                            m.db_instance_identifier().unwrap_or_default().to_string(),
                            m.is_cluster_writer().unwrap_or(false),
                        )
                    })
                    .collect(),
            }))
        })
    }

    fn custom_endpoints<'a>(&'a self, cluster_id: &'a str) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            Ok(self
                .client()
                .await
                .describe_db_cluster_endpoints()
                .db_cluster_identifier(cluster_id)
                .send()
                .await
                .map_err(|e| api_error("DescribeDBClusterEndpoints", e))?
                .db_cluster_endpoints()
                .iter()
                .filter(|e| e.endpoint_type() == Some("CUSTOM"))
                .filter_map(|e| e.endpoint().map(str::to_string))
                .collect())
        })
    }
}
