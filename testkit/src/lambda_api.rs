//! A loopback stand-in for the Lambda API's `Invoke` (`POST
//! /2015-03-31/functions/{name}/invocations`, HTTP/1.1), for tests of tools that invoke a
//! deployed function with the real SDK client: the operator tool's preflight, resume, abort
//! and rollback. It answers each invocation with what a test-supplied handler returns: the
//! payload (`200`), or a function error (`200` with `X-Amz-Function-Error: Unhandled` and
//! `{"errorType", "errorMessage"}`), as Lambda does. Strict where a client could be wrong: a
//! request without a SigV4 `Authorization` header, an invocation type other than
//! `RequestResponse`, a body that is not JSON, or any other path is refused with Lambda's
//! error shapes. It records the function name and payload of every invocation.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::lambda_process::{read_request, HttpRequest};

/// What a function answered: its payload, or (`errorType`, `errorMessage`).
pub type InvokeResult = Result<Value, (String, String)>;

/// Answers one invocation of function `name` with `payload`.
pub type Handler =
    Arc<dyn Fn(String, Value) -> Pin<Box<dyn Future<Output = InvokeResult> + Send>> + Send + Sync>;

/// The stand-in, serving until dropped.
pub struct LambdaApi {
    endpoint: String,
    invocations: Arc<Mutex<Vec<(String, Value)>>>,
    server: tokio::task::JoinHandle<()>,
}

impl LambdaApi {
    /// Serves `handler` on a fresh loopback port.
    pub async fn start(handler: Handler) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let invocations = Arc::new(Mutex::new(Vec::new()));
        let recorded = invocations.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, handler.clone(), recorded.clone()));
            }
        });
        Ok(Self {
            endpoint,
            invocations,
            server,
        })
    }

    /// The endpoint, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every invocation so far: (function name, payload).
    pub fn invocations(&self) -> Vec<(String, Value)> {
        self.invocations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for LambdaApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out
}

fn error(status: &str, kind: &str, message: &str) -> String {
    let body = json!({"Type": "User", "message": message}).to_string();
    response(status, &[("x-amzn-ErrorType", kind)], &body)
}

async fn answer(
    request: HttpRequest,
    handler: &Handler,
    recorded: &Mutex<Vec<(String, Value)>>,
) -> String {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let name = request
        .path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.split('?').next())
        .and_then(|rest| rest.strip_suffix("/invocations"));
    let Some(name) = name.filter(|_| request.method == "POST") else {
        return error(
            "404 Not Found",
            "ResourceNotFoundException",
            "unknown operation",
        );
    };
    if !header("authorization").is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 ")) {
        return error(
            "403 Forbidden",
            "AccessDeniedException",
            "the request is not signed",
        );
    }
    if header("x-amz-invocation-type").is_some_and(|t| t != "RequestResponse") {
        return error(
            "400 Bad Request",
            "InvalidParameterValueException",
            "only RequestResponse invocations are served",
        );
    }
    let Ok(payload) = serde_json::from_str::<Value>(&request.body) else {
        return error(
            "400 Bad Request",
            "InvalidRequestContentException",
            "could not parse request body into json",
        );
    };
    let name = name.replace("%3A", ":");
    recorded
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((name.clone(), payload.clone()));
    match handler(name, payload).await {
        Ok(value) => response(
            "200 OK",
            &[("X-Amz-Executed-Version", "$LATEST")],
            &value.to_string(),
        ),
        Err((error_type, message)) => response(
            "200 OK",
            &[
                ("X-Amz-Executed-Version", "$LATEST"),
                ("X-Amz-Function-Error", "Unhandled"),
            ],
            &json!({"errorType": error_type, "errorMessage": message}).to_string(),
        ),
    }
}

async fn serve(stream: TcpStream, handler: Handler, recorded: Arc<Mutex<Vec<(String, Value)>>>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    while let Some(request) = read_request(&mut read).await {
        let out = answer(request, &handler, &recorded).await;
        if write.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}
