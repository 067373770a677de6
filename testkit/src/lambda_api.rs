//! A loopback stand-in for the Lambda API's `Invoke` (`POST
//! /2015-03-31/functions/{name}/invocations`, HTTP/1.1) and `GetFunctionConfiguration` (`GET
//! /2015-03-31/functions/{name}/configuration`), for tests of tools that call a deployed
//! function with the real SDK client: the operator tool's attach, preflight, resume, abort and
//! rollback. It answers each invocation with what a test-supplied handler returns: the payload
//! (`200`), or a function error (`200` with `X-Amz-Function-Error: Unhandled` and
//! `{"errorType", "errorMessage"}`), as Lambda does; and every function's configuration with
//! its ARN (in the stand-in's account and region; an ARN given as the name is its own) and
//! the timeout the test chose. Strict where a client could be wrong: a request without a SigV4
//! `Authorization` header, an invocation type other than `RequestResponse`, a body that is not
//! JSON, or any other path is refused with Lambda's error shapes. It records the function name
//! and payload of every invocation, and the name of every configuration read.

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

/// What GetFunctionConfiguration answers for every function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSettings {
    /// `Timeout`, in seconds.
    pub timeout_seconds: u32,
    /// The account of the ARNs made from names.
    pub account: String,
    /// The region of the ARNs made from names.
    pub region: String,
}

impl Default for FunctionSettings {
    /// A 2-second timeout, in moto's account and the tests' region.
    fn default() -> Self {
        Self {
            timeout_seconds: 2,
            account: crate::MOTO_ACCOUNT.into(),
            region: crate::REGION.into(),
        }
    }
}

impl FunctionSettings {
    /// The ARN of function `name` (a name, `name:qualifier`, or an ARN, kept as it is).
    pub fn arn(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            name.to_string()
        } else {
            format!(
                "arn:aws:lambda:{}:{}:function:{name}",
                self.region, self.account
            )
        }
    }
}

#[derive(Default)]
struct Record {
    invocations: Vec<(String, Value)>,
    configurations: Vec<String>,
}

/// The stand-in, serving until dropped.
pub struct LambdaApi {
    endpoint: String,
    record: Arc<Mutex<Record>>,
    server: tokio::task::JoinHandle<()>,
}

impl LambdaApi {
    /// Serves `handler` on a fresh loopback port, with [`FunctionSettings::default`].
    pub async fn start(handler: Handler) -> std::io::Result<Self> {
        Self::start_with(handler, FunctionSettings::default()).await
    }

    /// Serves `handler` on a fresh loopback port; every function's configuration is `settings`.
    pub async fn start_with(handler: Handler, settings: FunctionSettings) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let record = Arc::new(Mutex::new(Record::default()));
        let recorded = record.clone();
        let settings = Arc::new(settings);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(
                    stream,
                    handler.clone(),
                    recorded.clone(),
                    settings.clone(),
                ));
            }
        });
        Ok(Self {
            endpoint,
            record,
            server,
        })
    }

    /// The endpoint, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every invocation so far: (function name, payload).
    pub fn invocations(&self) -> Vec<(String, Value)> {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .invocations
            .clone()
    }

    /// The function names of every GetFunctionConfiguration so far.
    pub fn configurations(&self) -> Vec<String> {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .configurations
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

/// GetFunctionConfiguration's answer for function `name`.
fn configuration(name: &str, settings: &FunctionSettings) -> String {
    let arn = settings.arn(name);
    let short = arn.split(':').nth(6).unwrap_or(name).to_string();
    let body = json!({
        "FunctionName": short,
        "FunctionArn": arn,
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Timeout": settings.timeout_seconds,
        "MemorySize": 256,
        "Version": "$LATEST",
        "State": "Active",
    });
    response("200 OK", &[], &body.to_string())
}

async fn answer(
    request: HttpRequest,
    handler: &Handler,
    recorded: &Mutex<Record>,
    settings: &FunctionSettings,
) -> String {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let rest = request
        .path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.split('?').next());
    let invoke = rest
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .filter(|_| request.method == "POST");
    let get_configuration = rest
        .and_then(|rest| rest.strip_suffix("/configuration"))
        .filter(|_| request.method == "GET");
    if invoke.is_none() && get_configuration.is_none() {
        return error(
            "404 Not Found",
            "ResourceNotFoundException",
            "unknown operation",
        );
    }
    if !header("authorization").is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 ")) {
        return error(
            "403 Forbidden",
            "AccessDeniedException",
            "the request is not signed",
        );
    }
    if let Some(name) = get_configuration {
        let name = name.replace("%3A", ":").replace("%3a", ":");
        recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .configurations
            .push(name.clone());
        return configuration(&name, settings);
    }
    let Some(name) = invoke else {
        return error(
            "404 Not Found",
            "ResourceNotFoundException",
            "unknown operation",
        );
    };
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
    let name = name.replace("%3A", ":").replace("%3a", ":");
    recorded
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .invocations
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

async fn serve(
    stream: TcpStream,
    handler: Handler,
    recorded: Arc<Mutex<Record>>,
    settings: Arc<FunctionSettings>,
) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    while let Some(request) = read_request(&mut read).await {
        let out = answer(request, &handler, &recorded, &settings).await;
        if write.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}
