//! The moto server the sandbox runs: admin calls and a Secrets Manager client for it.

use aws_sdk_secretsmanager::config::{Credentials, Region};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::sandbox_var;

/// A moto server on loopback.
#[derive(Debug, Clone)]
pub struct Moto {
    endpoint: String,
}

/// The account moto uses.
pub const MOTO_ACCOUNT: &str = "123456789012";
/// The region the tests use.
pub const REGION: &str = "us-east-1";

impl Moto {
    /// The server named by `MOTO_ENDPOINT` (exported by the sandbox).
    pub fn from_env() -> Self {
        Self::new(sandbox_var("MOTO_ENDPOINT"))
    }

    /// The server at `endpoint` (`http://127.0.0.1:PORT`).
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The SDK configuration for this server: static test credentials, us-east-1 (for any
    /// service client a test needs on moto).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                "test",
                "test",
                None,
                None,
                "rotation-testkit",
            ))
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }

    /// A Secrets Manager client for this server.
    pub async fn client(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config().await)
    }

    /// A Secrets Manager client on the server with `faults` injected and SDK retries off.
    pub async fn client_with_faults(
        &self,
        faults: &crate::faults::SmFaults,
    ) -> aws_sdk_secretsmanager::Client {
        let base = self.client().await;
        let conf = base
            .config()
            .to_builder()
            .interceptor(faults.clone())
            .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_secretsmanager::Client::from_conf(conf)
    }

    /// An RDS client on the server , to set up instances and
    /// clusters.
    pub async fn rds_client(&self) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::new(&self.sdk_config().await)
    }

    /// Creates instance `name` of `engine` (at `version`, which moto needs for some engines)
    /// with an RDS-managed master secret; returns (endpoint address, secret ARN).
    pub async fn managed_instance(
        &self,
        name: &str,
        engine: &str,
        version: Option<&str>,
    ) -> (String, String) {
        let out = self
            .rds_client()
            .await
            .create_db_instance()
            .db_instance_identifier(name)
            .engine(engine)
            .set_engine_version(version.map(str::to_string))
            .db_instance_class("db.t3.micro")
            .master_username("admin1")
            .allocated_storage(20)
            .manage_master_user_password(true)
            .send()
            .await
            .expect("CreateDBInstance");
        let i = out.db_instance().expect("an instance");
        (
            i.endpoint()
                .and_then(|e| e.address())
                .expect("an endpoint")
                .to_string(),
            i.master_user_secret()
                .and_then(|m| m.secret_arn())
                .expect("a managed secret")
                .to_string(),
        )
    }

    /// Sends one HTTP request to the server and returns (status, body). `service` fills the
    /// credential scope moto routes by (no signature is checked).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        service: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let authority = self
            .endpoint
            .strip_prefix("http://")
            .unwrap_or(&self.endpoint)
            .to_string();
        let mut stream = TcpStream::connect(&authority).await?;
        let auth = service
            .map(|s| {
                format!(
                    "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/{s}/aws4_request, SignedHeaders=host, Signature=0\r\n"
                )
            })
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{auth}\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let text = String::from_utf8_lossy(&response).to_string();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// Makes RotateSecret behave as on AWS up to the first Lambda invocation: Lambda runs
    /// without Docker, and a placeholder role and function exist. Idempotent. Returns the
    /// placeholder function's ARN, to pass as RotationLambdaARN.
    pub async fn rotation_lambda(&self) -> std::io::Result<String> {
        let name = "rotation-driver-placeholder";
        let (status, body) = self
            .request(
                "POST",
                "/moto-api/config",
                None,
                "application/json",
                r#"{"lambda":{"use_docker":false}}"#,
            )
            .await?;
        ensure(
            (200..300).contains(&status),
            "configure moto's Lambda",
            &body,
        )?;
        let role = format!("arn:aws:iam::{MOTO_ACCOUNT}:role/{name}");
        let form = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument=%7B%7D"
        );
        let (status, body) = self
            .request(
                "POST",
                "/",
                Some("iam"),
                "application/x-www-form-urlencoded",
                &form,
            )
            .await?;
        ensure(
            status == 200 || body.contains("EntityAlreadyExists"),
            "create the placeholder IAM role",
            &body,
        )?;
        let function = serde_json::json!({
            "FunctionName": name,
            "Runtime": "provided.al2023",
            "Role": role,
            "Handler": "bootstrap",
            "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
        });
        let (status, body) = self
            .request(
                "POST",
                "/2015-03-31/functions",
                Some("lambda"),
                "application/json",
                &function.to_string(),
            )
            .await?;
        ensure(
            status == 201 || status == 200 || body.contains("ResourceConflictException"),
            "create the placeholder Lambda function",
            &body,
        )?;
        Ok(format!(
            "arn:aws:lambda:{REGION}:{MOTO_ACCOUNT}:function:{name}"
        ))
    }
}

fn ensure(ok: bool, what: &str, body: &str) -> std::io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "moto refused to {what}: {}",
            body.chars().take(300).collect::<String>()
        )))
    }
}
