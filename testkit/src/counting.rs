//! Call counting. A [`SecretStore`] wrapper that counts the Secrets Manager calls going
//! through it, for measuring API calls per rotation against the real SDK client; and a
//! loopback HTTP proxy in front of moto that counts each operation a separate process (a
//! binary under test) calls, and can answer chosen operations with AccessDeniedException, as
//! an identity without that permission would see.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::lambda_process::{read_request, HttpRequest};

use rotation_core::{
    PasswordPolicy, Result, SecretMetadata, SecretStore, SecretValue, SecretVersion,
};

/// Counts calls, then delegates.
#[derive(Debug)]
pub struct CountingStore<S> {
    inner: S,
    calls: AtomicUsize,
}

impl<S> CountingStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
        }
    }

    /// Calls so far; resets the count.
    pub fn take(&self) -> usize {
        self.calls.swap(0, Ordering::SeqCst)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl<S: SecretStore> SecretStore for CountingStore<S> {
    async fn describe(&self, secret_id: &str) -> Result<SecretMetadata> {
        self.count();
        self.inner.describe(secret_id).await
    }

    async fn get_version(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> Result<SecretVersion> {
        self.count();
        self.inner.get_version(secret_id, stage, version_id).await
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        rotation_token: Option<&str>,
        value: &SecretValue,
    ) -> Result<()> {
        self.count();
        self.inner
            .put_pending(secret_id, token, rotation_token, value)
            .await
    }

    async fn update_stage(
        &self,
        secret_id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> Result<()> {
        self.count();
        self.inner
            .update_stage(secret_id, stage, move_to, remove_from)
            .await
    }

    async fn random_password(&self, policy: &PasswordPolicy) -> Result<SecretValue> {
        self.count();
        self.inner.random_password(policy).await
    }
}

#[derive(Debug, Default)]
struct ProxyState {
    calls: Vec<String>,
    denied: Vec<String>,
}

/// A loopback proxy in front of an AWS JSON-protocol server (moto): every request is counted
/// by its operation (the last part of `X-Amz-Target`) and passed on, or, for an operation
/// [`CountingProxy::deny`] named, answered with AccessDeniedException.
#[derive(Debug)]
pub struct CountingProxy {
    endpoint: String,
    state: Arc<Mutex<ProxyState>>,
    server: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let authority = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(relay(stream, authority.clone(), shared.clone()));
            }
        });
        Ok(Self {
            endpoint,
            state,
            server,
        })
    }

    /// The endpoint to give the client (`AWS_ENDPOINT_URL_SECRETS_MANAGER`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// How many `operation` requests (e.g. `GetSecretValue`) went through so far.
    pub fn calls(&self, operation: &str) -> usize {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.iter().filter(|c| *c == operation).count()
    }

    /// Every operation so far, in order.
    pub fn operations(&self) -> Vec<String> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.clone()
    }

    /// From now on, `operation` is answered with AccessDeniedException (and not passed on).
    pub fn deny(&self, operation: &str) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.denied.push(operation.to_string());
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn access_denied(operation: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "__type": "AccessDeniedException",
        "message": format!("User: arn:aws:iam::123456789012:user/operator is not authorized to perform: secretsmanager:{operation} because no identity-based policy allows the secretsmanager:{operation} action"),
    })
    .to_string();
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: AccessDeniedException\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Passes one request to `authority` on a connection of its own and returns the whole answer.
async fn forward(authority: &str, request: &HttpRequest) -> std::io::Result<Vec<u8>> {
    let mut upstream = TcpStream::connect(authority).await?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (name, value) in &request.headers {
        if !matches!(
            name.as_str(),
            "connection" | "content-length" | "transfer-encoding"
        ) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        request.body.len()
    ));
    upstream.write_all(head.as_bytes()).await?;
    upstream.write_all(request.body.as_bytes()).await?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).await?;
    Ok(answer)
}

async fn relay(stream: TcpStream, authority: String, state: Arc<Mutex<ProxyState>>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    while let Some(request) = read_request(&mut read).await {
        let operation = request
            .headers
            .iter()
            .find(|(n, _)| n == "x-amz-target")
            .and_then(|(_, v)| v.rsplit('.').next())
            .unwrap_or("")
            .to_string();
        let denied = {
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            s.calls.push(operation.clone());
            s.denied.contains(&operation)
        };
        let answer = if denied {
            access_denied(&operation)
        } else {
            match forward(&authority, &request).await {
                Ok(answer) => answer,
                Err(_) => return,
            }
        };
        if write.write_all(&answer).await.is_err() {
            return;
        }
    }
}
