//! A loopback stand-in for the two Redshift Serverless calls the Redshift function makes
//! (moto has no Redshift Serverless): `ListNamespaces` and `ListWorkgroups` over the service's
//! JSON 1.1 protocol (`X-Amz-Target: RedshiftServerless.<Operation>`), answered to the real SDK
//! client. It pages strictly, one item per page with a `nextToken`, so a caller that reads only
//! the first page misses entries; an unknown operation or token is a 400, as the service answers.
//! It can refuse every call with `AccessDeniedException`, and counts the calls it served.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the stand-in holds and how it answers.
#[derive(Default)]
struct State {
    /// (namespace ARN, namespace name).
    namespaces: Vec<(String, String)>,
    /// (workgroup name, namespace name, endpoint address, port).
    workgroups: Vec<(String, String, String, u16)>,
    deny: AtomicBool,
    calls: AtomicUsize,
}

/// A running stand-in; it stops when the test process ends.
#[derive(Clone)]
pub struct ServerlessApi {
    state: Arc<State>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl ServerlessApi {
    /// Starts a stand-in holding `namespaces` and `workgroups`.
    pub async fn start(
        namespaces: Vec<(String, String)>,
        workgroups: Vec<(String, String, String, u16)>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(State {
            namespaces,
            workgroups,
            ..State::default()
        });
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, serving.clone()));
            }
        });
        Self { state, endpoint }
    }

    /// From now on, refuse every call with AccessDeniedException.
    pub fn deny(&self) {
        self.state.deny.store(true, Ordering::SeqCst);
    }

    /// The calls served so far.
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }
}

/// Serves requests on one connection until the client closes it (the SDK keeps connections).
async fn serve(mut stream: TcpStream, state: Arc<State>) {
    let mut buffer = Vec::new();
    loop {
        let Some(head_end) = find(&buffer, b"\r\n\r\n") else {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + 4 + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Value = serde_json::from_slice(&buffer[head_end + 4..head_end + 4 + length])
            .unwrap_or(json!({}));
        buffer.drain(..head_end + 4 + length);
        state.calls.fetch_add(1, Ordering::SeqCst);
        let (status, answer) = answer(&state, header("x-amz-target").as_deref(), &body);
        let text = answer.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn error(kind: &str, message: &str) -> (&'static str, Value) {
    (
        "400 Bad Request",
        json!({"__type": kind, "message": message}),
    )
}

/// One item per page: the token is the index of the next item.
fn page(items: Vec<Value>, key: &str, body: &Value) -> (&'static str, Value) {
    let start = match body.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => match t.parse::<usize>() {
            Ok(i) if i < items.len() => i,
            _ => return error("ValidationException", "invalid nextToken"),
        },
    };
    let mut out = json!({ key: items.get(start).cloned().into_iter().collect::<Vec<_>>() });
    if start + 1 < items.len() {
        out["nextToken"] = json!((start + 1).to_string());
    }
    ("200 OK", out)
}

fn answer(state: &State, target: Option<&str>, body: &Value) -> (&'static str, Value) {
    if state.deny.load(Ordering::SeqCst) {
        return error(
            "AccessDeniedException",
            "User is not authorized to perform this action",
        );
    }
    match target {
        Some("RedshiftServerless.ListNamespaces") => {
            let items = state
                .namespaces
                .iter()
                .map(|(arn, name)| json!({"namespaceArn": arn, "namespaceName": name, "status": "AVAILABLE"}))
                .collect();
            page(items, "namespaces", body)
        }
        Some("RedshiftServerless.ListWorkgroups") => {
            let items = state
                .workgroups
                .iter()
                .map(|(name, namespace, address, port)| {
                    json!({
                        "workgroupName": name,
                        "namespaceName": namespace,
                        "status": "AVAILABLE",
                        "port": port,
                        "endpoint": {"address": address, "port": port},
                    })
                })
                .collect();
            page(items, "workgroups", body)
        }
        other => error(
            "UnknownOperationException",
            &format!("operation {other:?} is not served here"),
        ),
    }
}
