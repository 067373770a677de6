//! Redshift-managed admin secrets, for alternating users. Redshift (a provisioned cluster, or a
//! Serverless namespace) can keep its admin password in a secret it manages; that secret holds
//! only `username` and `password`, and a tag names the cluster or namespace. Where the admin
//! logs in comes from the Redshift APIs, behind a small object-safe trait ([`RedshiftLookup`];
//! the SDK implementation, `SdkRedshift`, is built with feature `redshift`). The core completes
//! such a secret through [`RedshiftAdmins`], this crate's [`ManagedSecretLookup`]; the endpoint
//! found this way is then held to the same host check as every superuser secret: it must be the
//! child's server.

use std::sync::Arc;

use rotation_core::database::{
    normalize_host, BoxFuture, ManagedSecretLookup, ManagedServer, MASTER,
};
use rotation_core::{Result, RotationError, ServiceApi};

/// The Redshift and Redshift Serverless APIs as errors name them: a failed call is a
/// `RedshiftApiError`.
pub const REDSHIFT_API: ServiceApi = ServiceApi {
    name: "Redshift",
    error_type: "RedshiftApiError",
    hint: "Check the function's redshift:DescribeClusters / redshift-serverless:ListNamespaces and ListWorkgroups permissions and its route to those APIs",
};

/// The tag Redshift puts on the admin secret it manages for a provisioned cluster (a cluster ARN).
pub const REDSHIFT_CLUSTER_TAG: &str = "aws:redshift:primaryclusterarn";
/// The tag Redshift Serverless puts on the admin secret it manages for a namespace (its ARN).
pub const REDSHIFT_SERVERLESS_TAG: &str = "aws:redshift-serverless:namespacearn";

/// Whose admin secret it is, from its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedshiftAdmin {
    /// A provisioned cluster's ARN.
    Cluster(String),
    /// A Serverless namespace's ARN.
    Serverless(String),
}

/// Reads the Redshift tags (keys compared case-insensitively). None when neither is there.
pub fn redshift_admin(tags: &[(String, String)]) -> Option<RedshiftAdmin> {
    let find = |key: &str| {
        tags.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    find(REDSHIFT_CLUSTER_TAG)
        .map(RedshiftAdmin::Cluster)
        .or_else(|| find(REDSHIFT_SERVERLESS_TAG).map(RedshiftAdmin::Serverless))
}

/// What DescribeClusters says about one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedshiftCluster {
    /// `ClusterIdentifier`.
    pub id: String,
    /// `Endpoint.Address` (absent while the cluster is being created).
    pub address: Option<String>,
    /// `Endpoint.Port`.
    pub port: Option<u16>,
}

/// What ListWorkgroups says about one Serverless workgroup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Workgroup {
    /// `workgroupName`.
    pub name: String,
    /// `namespaceName`.
    pub namespace: String,
    /// `endpoint.address`.
    pub address: Option<String>,
    /// `endpoint.port`.
    pub port: Option<u16>,
}

/// The Redshift lookups a managed admin secret needs. `Ok(None)`: no such cluster or namespace.
pub trait RedshiftLookup: Send + Sync {
    /// DescribeClusters for one cluster identifier.
    fn cluster<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RedshiftCluster>>>;
    /// The name of the Serverless namespace with this ARN (ListNamespaces, every page).
    fn namespace_name<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<Option<String>>>;
    /// Every Serverless workgroup (ListWorkgroups, every page).
    fn workgroups(&self) -> BoxFuture<'_, Result<Vec<Workgroup>>>;
}

/// The cluster identifier in a cluster ARN (`arn:PARTITION:redshift:REGION:ACCOUNT:cluster:ID`).
pub fn cluster_id(arn: &str) -> Result<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "redshift", _, _, "cluster", id] if !id.is_empty() => Ok(id),
        _ => Err(RotationError::malformed(
            MASTER,
            format!("the {REDSHIFT_CLUSTER_TAG} tag is not a Redshift cluster ARN: {arn}"),
        )),
    }
}

/// Where the admin of a Redshift-managed secret logs in: (host, port). For a Serverless
/// namespace with several workgroups, the one whose endpoint is `child_host` (else the first,
/// which the host check then refuses, naming it).
pub async fn admin_endpoint(
    lookup: &dyn RedshiftLookup,
    admin: &RedshiftAdmin,
    child_host: &str,
) -> Result<(String, u16)> {
    let missing = |what: &str, arn: &str| {
        RotationError::malformed(
            MASTER,
            format!(
                "the Redshift API reports no {what} for {arn}, named by the master secret's tag"
            ),
        )
    };
    match admin {
        RedshiftAdmin::Cluster(arn) => {
            let cluster = lookup
                .cluster(cluster_id(arn)?)
                .await?
                .ok_or_else(|| missing("cluster", arn))?;
            match (cluster.address, cluster.port) {
                (Some(host), Some(port)) => Ok((host, port)),
                _ => Err(missing(
                    "endpoint (is the cluster still being created?)",
                    arn,
                )),
            }
        }
        RedshiftAdmin::Serverless(arn) => {
            let name = lookup
                .namespace_name(arn)
                .await?
                .ok_or_else(|| missing("Serverless namespace", arn))?;
            let endpoints: Vec<(String, u16)> = lookup
                .workgroups()
                .await?
                .into_iter()
                .filter(|w| w.namespace == name)
                .filter_map(|w| Some((w.address?, w.port?)))
                .collect();
            let child = normalize_host(child_host);
            endpoints
                .iter()
                .find(|(host, _)| normalize_host(host) == child)
                .or(endpoints.first())
                .cloned()
                .ok_or_else(|| missing("workgroup with an endpoint", arn))
        }
    }
}

/// The Redshift admin-secret lookup as the core's alternating users take it
/// ([`ManagedSecretLookup`]): a secret with either Redshift tag is completed from the Redshift
/// APIs, with engine `redshift` (as the official function has it).
#[derive(Clone)]
pub struct RedshiftAdmins(pub Arc<dyn RedshiftLookup>);

impl ManagedSecretLookup for RedshiftAdmins {
    fn service(&self) -> &'static str {
        REDSHIFT_API.name
    }

    fn tags(&self) -> &'static [&'static str] {
        &[REDSHIFT_CLUSTER_TAG, REDSHIFT_SERVERLESS_TAG]
    }

    fn server<'a>(
        &'a self,
        tags: &'a [(String, String)],
        child: &'a str,
    ) -> BoxFuture<'a, Result<Option<ManagedServer>>> {
        Box::pin(async move {
            let Some(admin) = redshift_admin(tags) else {
                return Ok(None);
            };
            let (host, port) = admin_endpoint(self.0.as_ref(), &admin, child).await?;
            Ok(Some(ManagedServer {
                host,
                port,
                engine: "redshift".to_string(),
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_core::ApiErrorCode;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Fake {
        clusters: Vec<RedshiftCluster>,
        namespaces: Vec<(String, String)>,
        workgroups: Vec<Workgroup>,
        asked: Mutex<Vec<String>>,
    }

    impl RedshiftLookup for Fake {
        fn cluster<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RedshiftCluster>>> {
            self.asked.lock().unwrap().push(format!("cluster {id}"));
            let found = self.clusters.iter().find(|c| c.id == id).cloned();
            Box::pin(async move { Ok(found) })
        }
        fn namespace_name<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
            let found = self
                .namespaces
                .iter()
                .find(|(a, _)| a == arn)
                .map(|(_, n)| n.clone());
            Box::pin(async move { Ok(found) })
        }
        fn workgroups(&self) -> BoxFuture<'_, Result<Vec<Workgroup>>> {
            let all = self.workgroups.clone();
            Box::pin(async move { Ok(all) })
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn workgroup(name: &str, namespace: &str, host: Option<&str>) -> Workgroup {
        Workgroup {
            name: name.into(),
            namespace: namespace.into(),
            address: host.map(str::to_string),
            port: Some(5439),
        }
    }

    /// A lookup that knows one available cluster, `analytics`.
    fn analytics_cluster() -> Fake {
        Fake {
            clusters: vec![RedshiftCluster {
                id: "analytics".into(),
                address: Some("analytics.abc.us-east-1.redshift.amazonaws.com".into()),
                port: Some(5439),
            }],
            ..Fake::default()
        }
    }

    const CLUSTER_ARN: &str = "arn:aws:redshift:us-east-1:111122223333:cluster:analytics";
    const NS_ARN: &str = "arn:aws:redshift-serverless:us-east-1:111122223333:namespace/0f1e";

    #[test]
    fn the_tags_name_a_cluster_or_a_namespace() {
        assert_eq!(
            redshift_admin(&tags(&[("AWS:Redshift:PrimaryClusterArn", CLUSTER_ARN)])),
            Some(RedshiftAdmin::Cluster(CLUSTER_ARN.into()))
        );
        assert_eq!(
            redshift_admin(&tags(&[(REDSHIFT_SERVERLESS_TAG, NS_ARN)])),
            Some(RedshiftAdmin::Serverless(NS_ARN.into()))
        );
        assert_eq!(
            redshift_admin(&tags(&[("aws:rds:primaryDBInstanceArn", "x")])),
            None
        );
    }

    #[test]
    fn a_cluster_arn_gives_its_identifier_and_nothing_else_does() {
        assert_eq!(cluster_id(CLUSTER_ARN).unwrap(), "analytics");
        assert_eq!(
            cluster_id("arn:aws-cn:redshift:cn-north-1:1:cluster:c1").unwrap(),
            "c1"
        );
        for bad in [
            "analytics",
            "arn:aws:redshift:us-east-1:1:cluster:",
            "arn:aws:rds:us-east-1:1:cluster:analytics",
            "arn:aws:redshift:us-east-1:1:snapshot:analytics/s1",
            "arn:aws:redshift:us-east-1:1:cluster:a:b",
        ] {
            let err = cluster_id(bad).unwrap_err();
            assert_eq!(err.error_type(), "MalformedSecret", "{bad}");
        }
    }

    #[tokio::test]
    async fn a_cluster_admin_logs_in_at_the_cluster_endpoint() {
        let fake = analytics_cluster();
        let admin = RedshiftAdmin::Cluster(CLUSTER_ARN.into());
        assert_eq!(
            admin_endpoint(&fake, &admin, "anything").await.unwrap(),
            (
                "analytics.abc.us-east-1.redshift.amazonaws.com".into(),
                5439
            )
        );
        assert_eq!(*fake.asked.lock().unwrap(), vec!["cluster analytics"]);
    }

    #[tokio::test]
    async fn a_missing_cluster_or_endpoint_is_a_malformed_master_secret() {
        let admin = RedshiftAdmin::Cluster(CLUSTER_ARN.into());
        let err = admin_endpoint(&Fake::default(), &admin, "h")
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "MalformedSecret");
        assert!(err.to_string().contains("no cluster"), "{err}");
        let creating = Fake {
            clusters: vec![RedshiftCluster {
                id: "analytics".into(),
                ..RedshiftCluster::default()
            }],
            ..Fake::default()
        };
        let err = admin_endpoint(&creating, &admin, "h").await.unwrap_err();
        assert!(err.to_string().contains("still being created"), "{err}");
    }

    #[tokio::test]
    async fn a_serverless_admin_logs_in_at_its_namespace_workgroup() {
        let fake = Fake {
            namespaces: vec![
                ("arn:other".into(), "other".into()),
                (NS_ARN.into(), "sales".into()),
            ],
            workgroups: vec![
                workgroup(
                    "w0",
                    "other",
                    Some("w0.1.us-east-1.redshift-serverless.amazonaws.com"),
                ),
                workgroup("w1", "sales", None),
                workgroup(
                    "w2",
                    "sales",
                    Some("w2.1.us-east-1.redshift-serverless.amazonaws.com"),
                ),
                workgroup(
                    "w3",
                    "sales",
                    Some("w3.1.us-east-1.redshift-serverless.amazonaws.com"),
                ),
            ],
            ..Fake::default()
        };
        let admin = RedshiftAdmin::Serverless(NS_ARN.into());
        // The workgroup the child is on, compared as whole normalised names.
        let (host, port) = admin_endpoint(
            &fake,
            &admin,
            "W3.1.us-east-1.redshift-serverless.amazonaws.com.",
        )
        .await
        .unwrap();
        assert_eq!(host, "w3.1.us-east-1.redshift-serverless.amazonaws.com");
        assert_eq!(port, 5439);
        // Another host: the namespace's first workgroup with an endpoint (never another
        // namespace's), which the host check then refuses.
        let (host, _) = admin_endpoint(
            &fake,
            &admin,
            "w0.1.us-east-1.redshift-serverless.amazonaws.com",
        )
        .await
        .unwrap();
        assert_eq!(host, "w2.1.us-east-1.redshift-serverless.amazonaws.com");
    }

    #[tokio::test]
    async fn a_missing_namespace_or_workgroup_is_a_malformed_master_secret() {
        let admin = RedshiftAdmin::Serverless(NS_ARN.into());
        let err = admin_endpoint(&Fake::default(), &admin, "h")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no Serverless namespace"), "{err}");
        let no_workgroup = Fake {
            namespaces: vec![(NS_ARN.into(), "sales".into())],
            workgroups: vec![workgroup("w1", "sales", None)],
            ..Fake::default()
        };
        let err = admin_endpoint(&no_workgroup, &admin, "h")
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "MalformedSecret");
        assert!(
            err.to_string().contains("no workgroup with an endpoint"),
            "{err}"
        );
    }

    #[test]
    fn a_redshift_api_failure_keeps_its_error_type_and_message() {
        let err = REDSHIFT_API.error(
            "DescribeClusters",
            ApiErrorCode::from_code(Some("AccessDeniedException")),
            "not allowed".into(),
        );
        assert_eq!(err.error_type(), "RedshiftApiError");
        assert_eq!(
            err.to_string(),
            "Redshift DescribeClusters failed with AccessDeniedException: not allowed. Check the function's redshift:DescribeClusters / redshift-serverless:ListNamespaces and ListWorkgroups permissions and its route to those APIs"
        );
    }

    #[tokio::test]
    async fn the_core_hook_completes_only_secrets_with_a_redshift_tag() {
        let fake = analytics_cluster();
        let hook = RedshiftAdmins(Arc::new(fake));
        assert_eq!(hook.service(), "Redshift");
        let found = hook
            .server(&tags(&[(REDSHIFT_CLUSTER_TAG, CLUSTER_ARN)]), "h")
            .await
            .unwrap();
        assert_eq!(
            found,
            Some(ManagedServer {
                host: "analytics.abc.us-east-1.redshift.amazonaws.com".into(),
                port: 5439,
                engine: "redshift".into(),
            })
        );
        let rds = tags(&[("aws:rds:primaryDBInstanceArn", "x")]);
        assert_eq!(hook.server(&rds, "h").await.unwrap(), None);
    }
}
