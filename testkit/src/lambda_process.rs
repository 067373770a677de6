//! A function binary run as Lambda runs it: a child process with the environment a test gives
//! it, polling a loopback Lambda Runtime API that this module serves (HTTP/1.1: `GET
//! /2018-06-01/runtime/invocation/next` hands out one event with its
//! `Lambda-Runtime-Aws-Request-Id`; the function answers with `POST .../invocation/{id}/response`
//! or `.../error`, or `POST .../init/error` when start-up fails). Tests of the production
//! wiring (`main.rs`, `serve`) and of process-wide behaviour (environment variables, panics,
//! what reaches stdout and stderr) use it; everything else invokes the core in-process.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, Mutex as AsyncMutex};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `/response`, with its body.
    Success(String),
    /// `/error`, with the `errorType` and `errorMessage` the function reported.
    Error {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// `/init/error`: start-up failed, with the body.
    InitError(String),
    /// The process ended without answering.
    Exited(String),
    /// No answer in time.
    TimedOut,
}

impl Answer {
    /// `errorType: message` for errors, as the in-process harness writes them.
    pub fn error(&self) -> Option<String> {
        match self {
            Answer::Error {
                error_type,
                message,
            } => Some(format!("{error_type}: {message}")),
            _ => None,
        }
    }
}

struct Api {
    events: AsyncMutex<mpsc::UnboundedReceiver<Value>>,
    answers: mpsc::UnboundedSender<Answer>,
    /// The time each invocation is given (Lambda's deadline, from when the event is handed
    /// out), in milliseconds.
    time_ms: std::sync::atomic::AtomicU64,
}

/// A function process under its own loopback Runtime API.
pub struct FunctionProcess {
    api: Arc<Api>,
    child: Child,
    events: mpsc::UnboundedSender<Value>,
    answers: mpsc::UnboundedReceiver<Answer>,
    output: Arc<Mutex<Vec<u8>>>,
    exited: Option<ExitStatus>,
}

impl FunctionProcess {
    /// Starts `binary` with exactly `env` (nothing inherited) plus the Runtime API variables
    /// Lambda sets. stdout and stderr are captured together ([`FunctionProcess::output`]).
    pub async fn start(binary: &Path, env: &[(&str, &str)]) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        let api = Arc::new(Api {
            events: AsyncMutex::new(events_rx),
            answers: answers_tx,
            time_ms: std::sync::atomic::AtomicU64::new(30_000),
        });
        let served = api.clone();
        tokio::spawn(async move {
            let api = served;
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, api.clone()));
            }
        });
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "rotation-under-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let output = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(collect(stdout, output.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(collect(stderr, output.clone()));
        }
        Ok(Self {
            api,
            child,
            events: events_tx,
            answers: answers_rx,
            output,
            exited: None,
        })
    }

    /// Gives every later invocation `time` until its deadline (the function's timeout as
    /// Lambda sets it; 30 s unless changed).
    pub fn set_invocation_time(&self, time: Duration) {
        let ms = u64::try_from(time.as_millis()).unwrap_or(u64::MAX);
        self.api
            .time_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Hands `event` to the function and waits up to `timeout` for its answer.
    pub async fn invoke(&mut self, event: Value, timeout: Duration) -> Answer {
        if let Some(status) = self.exited {
            return Answer::Exited(status.to_string());
        }
        if self.events.send(event).is_err() {
            return Answer::Exited("the Runtime API stopped".into());
        }
        let answer = tokio::select! {
            answer = self.answers.recv() => answer,
            status = self.child.wait() => {
                // An answer sent just before the exit still counts.
                if let Ok(answer) = self.answers.try_recv() {
                    Some(answer)
                } else {
                    let text = match status {
                        Ok(status) => {
                            self.exited = Some(status);
                            status.to_string()
                        }
                        Err(e) => e.to_string(),
                    };
                    return Answer::Exited(text);
                }
            }
            _ = tokio::time::sleep(timeout) => return Answer::TimedOut,
        };
        answer.unwrap_or_else(|| Answer::Exited("the Runtime API stopped".into()))
    }

    /// Starts a rotation of `arn` with `driver` and hands the function its four steps, each
    /// waited for up to `timeout`; the first step not answered with success is the error, with
    /// what the process wrote.
    pub async fn rotate(
        &mut self,
        driver: &crate::RotationDriver,
        arn: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let token = driver.start(arn).await?;
        for step in [
            rotation_core::Step::Create,
            rotation_core::Step::Set,
            rotation_core::Step::Test,
            rotation_core::Step::Finish,
        ] {
            let answer = self.invoke(crate::event(arn, &token, step), timeout).await;
            if !matches!(answer, Answer::Success(_)) {
                return Err(format!("{step:?}: {answer:?}\n{}", self.output()));
            }
        }
        Ok(())
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap_or_else(|p| p.into_inner())).to_string()
    }

    /// Stops the process and returns everything it wrote.
    pub async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        // Let the readers drain what the pipes still hold.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.output()
    }
}

async fn collect(mut pipe: impl AsyncRead + Unpin, sink: Arc<Mutex<Vec<u8>>>) {
    let mut buffer = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        sink.lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(&buffer[..n]);
    }
}

/// Serves the requests of one keep-alive connection of the runtime client.
async fn serve_connection(stream: TcpStream, api: Arc<Api>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    while let Some(HttpRequest {
        method, path, body, ..
    }) = read_request(&mut read).await
    {
        let response = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let event = api.events.lock().await.recv().await;
            let Some(event) = event else { return };
            let body = event.to_string();
            format!(
                "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {}\r\nLambda-Runtime-Deadline-Ms: {}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:rotation-under-test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                uuid::Uuid::new_v4(),
                deadline_ms(api.time_ms.load(std::sync::atomic::Ordering::Relaxed)),
                body.len()
            )
        } else if method == "POST" {
            let answer = if path.ends_with("/response") {
                Answer::Success(body)
            } else if path.ends_with("/init/error") {
                Answer::InitError(body)
            } else {
                let v: Value = serde_json::from_str(&body).unwrap_or_default();
                Answer::Error {
                    error_type: v["errorType"].as_str().unwrap_or_default().to_string(),
                    message: v["errorMessage"].as_str().unwrap_or_default().to_string(),
                }
            };
            let _ = api.answers.send(answer);
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_string()
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
        };
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Lambda's deadline for an event handed out now with `time_ms` to run.
fn deadline_ms(time_ms: u64) -> u128 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_millis() + u128::from(time_ms)
}

/// One HTTP/1.1 request as the loopback APIs of the testkit read it.
pub(crate) struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target.
    pub path: String,
    /// The headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

/// Reads one request; None when the connection ends. Bodies come with `Content-Length` or
/// chunked.
pub(crate) async fn read_request(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<HttpRequest> {
    let mut line = String::new();
    if read.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let (mut length, mut chunked) = (0usize, false);
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if read.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = value.parse().ok()?;
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
        headers.push((name, value.to_string()));
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            read.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0u8; size + 2];
            read.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        read.read_exact(&mut body).await.ok()?;
    }
    Some(HttpRequest {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

/// The environment of a deployed alternating-users function on the sandbox (every AWS endpoint
/// `moto`'s, proxy variables on a dead loopback port to catch any request that would go
/// elsewhere, the sandbox `ca` as `EXTRA_CA_CERTS`, every superuser secret of the emulator
/// allowed ([`ANY_SUPERUSER_SECRET`]), the project's crates logging at `trace`), plus `extra`
/// (later entries win).
pub fn deployed_environment<'a>(
    moto: &'a str,
    ca: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        // Every service the SDK reaches goes to moto unless a service variable says otherwise.
        ("AWS_ENDPOINT_URL", moto),
        ("HTTPS_PROXY", "http://127.0.0.1:9"),
        ("HTTP_PROXY", "http://127.0.0.1:9"),
        ("NO_PROXY", "127.0.0.1,localhost"),
        ("ROTATION_STRATEGY", "alternating"),
        ("MASTER_SECRET_ARNS", crate::ANY_SUPERUSER_SECRET),
        ("EXTRA_CA_CERTS", ca),
        (
            "RUST_LOG",
            "info,rotation_core=trace,rotation_postgresql=trace,rotation_mysql=trace,rotation_elasticache=trace,rotation_mongodb=trace",
        ),
    ];
    env.extend_from_slice(extra);
    env
}

/// Rotates `arn` (started with `driver`) with the function `binary` built, run as Lambda runs
/// it with [`deployed_environment`] and `ROTATION_STRATEGY=strategy`, so the function's own
/// `main` builds everything; panics with the process output unless all four steps succeed.
pub async fn rotate_with_binary(
    binary: &Path,
    strategy: &str,
    ca: &str,
    driver: &crate::RotationDriver,
    arn: &str,
) {
    let moto = crate::Moto::from_env();
    let env = deployed_environment(moto.endpoint(), ca, &[("ROTATION_STRATEGY", strategy)]);
    let mut function = FunctionProcess::start(binary, &env)
        .await
        .expect("the binary starts");
    let rotated = function.rotate(driver, arn, Duration::from_secs(30)).await;
    function.stop().await;
    if let Err(e) = rotated {
        panic!("{} {strategy}: {e}", binary.display());
    }
}
