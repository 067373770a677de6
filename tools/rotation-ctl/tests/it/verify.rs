//! `rotation-ctl verify` end to end for every rotation type of `packaging/rotation-types.toml`:
//! the tool's own SDK clients against moto (Secrets Manager, CloudWatch Logs) and the testkit's
//! loopback Lambda API, which runs the type's real function binary (built by cargo for this
//! test, run as Lambda runs it: a child process under a loopback Runtime API, the deployed
//! environment) against the sandbox servers: PostgreSQL (also the Redshift stand-in), MariaDB
//! (for the MySQL and MariaDB types), the MongoDB-wire stand-in (DocumentDB personality), the
//! TDS stand-in (SQL Server), the sandbox Redis behind moto's ElastiCache user API. The function's log lines are shipped to
//! moto's log group for the function, as Lambda does.
//!
//! Secrets Manager's part after RotateSecret is played by the testkit's [`RotationPlayer`]:
//! moto's RotateSecret invokes only its own placeholder function, never the loopback Lambda API
//! (`/work/shared/reference/tooling.md`), so the player invokes createSecret, setSecret,
//! testSecret and finishSecret in order through the same function process, stopping at the
//! first failure (AWSPENDING stays where the failed rotation left it), as the service does.

mod every_type;
mod failures;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rotation_core::labels::{AWSCURRENT, AWSPENDING};
use rotation_core::Step;
use rotation_testkit::maria::MariaAdmin;
use rotation_testkit::mongo::{MongoStandIn, Personality};
use rotation_testkit::postgres::{ident, literal};
use rotation_testkit::tds::{tls_config, LoginKind, ServerEncryption, TdsStandIn};
use rotation_testkit::{
    deployed_environment, rotation_types, sandbox_var, unique, Answer, FunctionProcess,
    FunctionSettings, Handler, LambdaApi, Moto, PgAdmin, RotationDriver, RotationPlayer,
    StepInvoker, REGION, SANDBOX_CERTIFICATE_NAME,
};
use serde_json::{json, Value};

use crate::common::{self, function_arn, FUNCTION};

/// The function's timeout, as the Lambda API answers it and as each invocation gets it (a
/// debug build against the sandbox takes well under a second per step).
const TIMEOUT_SECONDS: u32 = 10;

/// The RDS-like master login of the TDS stand-in.
const TDS_MASTER_PASSWORD: &str = "Master-Pa55word-verify";

/// The superuser of the MongoDB-wire stand-in.
const MONGO_ROOT_PASSWORD: &str = "Root-Pa55word-verify";

/// The function binaries, built once per test process: binary name -> path. The build asks
/// for what `cargo nextest run --workspace` (the test command) has already built, the whole
/// workspace with every target, so there it is a no-op (0.3 s); a narrower selection (only the
/// function crates' `--bins`) resolves other features without the dev-dependencies and rebuilt
/// the binaries and much of the AWS SDK under the test command (about 4 minutes, measured).
fn binaries() -> &'static HashMap<String, PathBuf> {
    static BUILT: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let out = std::process::Command::new(env!("CARGO"))
            .current_dir(root)
            .args(["build", "--locked", "--workspace", "--all-targets"])
            .arg("--message-format=json")
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building the function binaries failed"
        );
        let mut found = HashMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(message) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            // Only a binary built as itself: `--all-targets` also builds each binary's unit
            // tests, an executable under the same target name.
            let is_bin = message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
            if !is_bin || message["profile"]["test"] != Value::Bool(false) {
                continue;
            }
            if let (Some(name), Some(path)) = (
                message["target"]["name"].as_str(),
                message["executable"].as_str(),
            ) {
                found.insert(name.to_string(), PathBuf::from(path));
            }
        }
        found
    })
}

type Hook = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One deployed function: its binary running under a loopback Runtime API, the loopback
/// Lambda API in front of it, and what happens around its invocations.
struct Deployed {
    process: Arc<tokio::sync::Mutex<FunctionProcess>>,
    api: LambdaApi,
    /// Runs once, right after the next preflight answers (a change behind the secret's back).
    after_preflight: Arc<Mutex<Option<Hook>>>,
    /// Every invocation, in order: `preflight`, or `STEP TOKEN`.
    seen: Arc<Mutex<Vec<String>>>,
}

/// Hands `payload` to the function process, ships what it printed to moto's log group for
/// the function, and answers as Lambda does.
async fn deliver(
    process: &tokio::sync::Mutex<FunctionProcess>,
    logs: &aws_sdk_cloudwatchlogs::Client,
    payload: Value,
) -> Result<Value, (String, String)> {
    let mut process = process.lock().await;
    let before = process.output().len();
    let answer = process
        // A little longer than the function's own deadline: its StepTimedOut answer wins.
        .invoke(payload, Duration::from_secs((TIMEOUT_SECONDS + 5).into()))
        .await;
    let output = process.output();
    drop(process);
    common::ship_logs(logs, FUNCTION, output.get(before..).unwrap_or("")).await;
    match answer {
        Answer::Success(body) if body.trim().is_empty() => Ok(Value::Null),
        Answer::Success(body) => Ok(serde_json::from_str(&body).unwrap_or(Value::Null)),
        Answer::Error {
            error_type,
            message,
        } => Err((error_type, message)),
        other => Err(("Runtime.ExitError".into(), format!("{other:?}"))),
    }
}

impl Deployed {
    /// Starts `binary` with the deployed environment and `extra` variables.
    async fn start(binary: &str, ca: &str, extra: &[(&str, &str)]) -> Self {
        let path = binaries()
            .get(binary)
            .unwrap_or_else(|| panic!("no binary {binary} was built"));
        let moto = Moto::from_env();
        let env = deployed_environment(moto.endpoint(), ca, extra);
        let process = FunctionProcess::start(path, &env)
            .await
            .expect("the function starts");
        process.set_invocation_time(Duration::from_secs(TIMEOUT_SECONDS.into()));
        let process = Arc::new(tokio::sync::Mutex::new(process));
        let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk_config().await);
        let after_preflight: Arc<Mutex<Option<Hook>>> = Arc::new(Mutex::new(None));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (p, l, h, s) = (
            process.clone(),
            logs.clone(),
            after_preflight.clone(),
            seen.clone(),
        );
        let handler: Handler = Arc::new(move |_name, payload| {
            let (p, l, h, s) = (p.clone(), l.clone(), h.clone(), s.clone());
            Box::pin(async move {
                let preflight = rotation_core::is_preflight(&payload);
                s.lock().unwrap().push(if preflight {
                    "preflight".to_string()
                } else {
                    format!("{} {}", payload["Step"], payload["ClientRequestToken"])
                });
                let answer = deliver(&p, &l, payload).await;
                if preflight {
                    let hook = h.lock().unwrap().take();
                    if let Some(hook) = hook {
                        hook.await;
                    }
                }
                answer
            })
        });
        let settings = FunctionSettings {
            timeout_seconds: TIMEOUT_SECONDS,
            ..FunctionSettings::default()
        };
        let api = LambdaApi::start_with(handler, settings)
            .await
            .expect("the Lambda API starts");
        Self {
            process,
            api,
            after_preflight,
            seen,
        }
    }

    /// Plays Secrets Manager's invocations of the function after RotateSecret for `arn`.
    async fn player(&self, driver: &RotationDriver, arn: &str) -> RotationPlayer {
        let moto = Moto::from_env();
        let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk_config().await);
        let (process, seen) = (self.process.clone(), self.seen.clone());
        let invoker: StepInvoker = Arc::new(move |payload| {
            let (process, logs, seen) = (process.clone(), logs.clone(), seen.clone());
            Box::pin(async move {
                seen.lock().unwrap().push(format!(
                    "{} {}",
                    payload["Step"].as_str().unwrap_or("?"),
                    payload["ClientRequestToken"].as_str().unwrap_or("?")
                ));
                deliver(&process, &logs, payload)
                    .await
                    .map(|_| ())
                    .map_err(|(t, m)| format!("{t}: {m}"))
            })
        });
        RotationPlayer::start(driver.client().clone(), arn, invoker, false).await
    }

    /// Runs `rotation-ctl ARGS` against moto and this Lambda API: (exit code, stdout,
    /// stderr). Fails the test if any of `passwords`, or any password a version of `arn`
    /// holds, appears in either stream.
    async fn ctl(
        &self,
        driver: &RotationDriver,
        arn: &str,
        passwords: &[&str],
        args: &[&str],
    ) -> (i32, String, String) {
        let moto = Moto::from_env();
        let (code, stdout, stderr) = common::run_ctl(
            args,
            REGION,
            moto.endpoint(),
            moto.endpoint(),
            self.api.endpoint(),
        )
        .await;
        let mut all: Vec<String> = driver.passwords_of(arn).await;
        all.extend(passwords.iter().map(|p| p.to_string()));
        for p in all.iter().filter(|p| !p.is_empty()) {
            assert!(
                !stdout.contains(p.as_str()) && !stderr.contains(p.as_str()),
                "a password in the output of {args:?}"
            );
        }
        (code, stdout, stderr)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Attaches the function to `arn` as `rotation-ctl attach` leaves it (rotation on, every 30
/// days), without rotating: RotateSecret with `RotateImmediately=false`, then the
/// configuration test's AWSPENDING copy taken off, as the service does after its test.
async fn attach_quietly(driver: &RotationDriver, arn: &str) {
    let test = uuid::Uuid::new_v4().to_string();
    driver
        .client()
        .rotate_secret()
        .secret_id(arn)
        .client_request_token(&test)
        .rotation_lambda_arn(function_arn())
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .automatically_after_days(30)
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .expect("RotateSecret without rotating");
    driver
        .client()
        .update_secret_version_stage()
        .secret_id(arn)
        .version_stage(AWSPENDING)
        .remove_from_version_id(&test)
        .send()
        .await
        .expect("the configuration test's label taken off");
}

/// A user of one rotation type on its sandbox server, its secret, and the deployed function.
struct Bed {
    driver: RotationDriver,
    deployed: Deployed,
    arn: String,
    user: String,
    password: String,
    /// How to ask the server, independently of the function, whether credentials log in.
    server: Server,
    /// Kept alive while the bed is.
    _mongo: Option<MongoStandIn>,
    /// Kept alive while the bed is.
    _tds: Option<TdsStandIn>,
}

enum Server {
    Postgres {
        pg: PgAdmin,
        dbname: &'static str,
    },
    Maria(MariaAdmin),
    Mongo,
    Tds,
    /// ElastiCache (AUTH over TLS, proved by the function's own preflight) and the generic
    /// type (no service).
    None,
}

impl Bed {
    /// A new user and secret of the rotation type `name` (the `name` key of the list), with
    /// a superuser secret for alternating users, and its function started.
    async fn new(name: &str) -> Self {
        let kind = rotation_types()
            .into_iter()
            .find(|t| t.get("name") == name)
            .unwrap_or_else(|| panic!("no rotation type {name}"));
        let (binary, strategy) = (kind.get("binary").to_string(), kind.get("strategy"));
        let alternating = strategy == "alternating";
        let moto = Moto::from_env();
        let driver = RotationDriver::new(&moto).await;
        let tag = unique();
        let user = format!("ver_{tag}");
        // 16 characters at least: ElastiCache's CreateUser refuses shorter passwords.
        let password = format!("Ver-{}-{}", unique(), unique());
        let mut mongo = None;
        let mut tds = None;
        let mut extra: Vec<(&str, String)> = vec![("ROTATION_STRATEGY", strategy.to_string())];
        let (value, master, ca, server) = match binary.as_str() {
            "generic" => (
                json!({"username": user, "password": password, "port": 8443}),
                None,
                String::new(),
                Server::None,
            ),
            "postgresql" | "redshift" => {
                let pg = PgAdmin::from_env();
                let redshift = binary == "redshift";
                let dbname = if redshift { "dev" } else { "postgres" };
                let encryption = if redshift { "md5" } else { "scram-sha-256" };
                pg.session(dbname)
                    .await
                    .batch_execute(&format!(
                        "SET password_encryption = '{encryption}'; CREATE ROLE {} LOGIN PASSWORD {}",
                        ident(&user),
                        literal(&password)
                    ))
                    .await
                    .expect("CREATE ROLE");
                let engine = if redshift { "redshift" } else { "postgres" };
                let value = json!({"engine": engine, "host": pg.host, "port": pg.port,
                    "username": user, "password": password, "dbname": dbname, "ssl": true});
                let master = alternating.then(|| {
                    json!({"engine": engine, "host": pg.host, "port": pg.port,
                        "username": pg.user, "password": pg.password(), "ssl": true})
                });
                let ca = pg.ca.clone();
                (value, master, ca, Server::Postgres { pg, dbname })
            }
            "mysql" | "mariadb" => {
                let db = MariaAdmin::from_env();
                db.run(&format!(
                    "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; GRANT SELECT ON mysql.db TO '{user}'@'%'"
                ))
                .await;
                let value = json!({"engine": binary, "host": db.host, "port": db.port,
                    "username": user, "password": password, "ssl": true});
                let master = if alternating {
                    let admin = format!("{user}_admin");
                    db.run(&format!(
                        "CREATE USER '{admin}'@'%' IDENTIFIED BY '{password}'; GRANT ALL PRIVILEGES ON *.* TO '{admin}'@'%' WITH GRANT OPTION"
                    ))
                    .await;
                    Some(json!({"engine": binary, "host": db.host, "port": db.port,
                        "username": admin, "password": password, "ssl": true}))
                } else {
                    None
                };
                let ca = db.ca.clone();
                (value, master, ca, Server::Maria(db))
            }
            "mongodb" => {
                let server = MongoStandIn::start(
                    Personality::DocumentDb40,
                    Some(MongoStandIn::sandbox_tls()),
                )
                .await
                .expect("the stand-in starts");
                server.add_user("admin", "root", MONGO_ROOT_PASSWORD, &[("root", "admin")]);
                let mut roles = vec![("readWrite", "admin")];
                if !alternating {
                    // The manual's recipe: a user-defined role with the changeOwnPassword action.
                    roles.push(server.own_password_role());
                }
                server.add_user("admin", &user, &password, &roles);
                let port = server.port();
                mongo = Some(server);
                let value = json!({"engine": "docdb", "host": "127.0.0.1", "port": port,
                    "username": user, "password": password, "dbname": "admin", "ssl": true});
                let master = alternating.then(|| {
                    json!({"engine": "docdb", "host": "127.0.0.1", "port": port,
                        "username": "root", "password": MONGO_ROOT_PASSWORD, "dbname": "admin", "ssl": true})
                });
                (value, master, sandbox_var("SANDBOX_TLS_CA"), Server::Mongo)
            }
            "sqlserver" => {
                let tls = tls_config(
                    &sandbox_var("SANDBOX_TLS_CERT"),
                    &sandbox_var("SANDBOX_TLS_KEY"),
                )
                .expect("the sandbox certificate loads");
                let server = TdsStandIn::start(0, ServerEncryption::Off, Some(tls))
                    .await
                    .expect("the stand-in starts");
                server.add_login("admin", TDS_MASTER_PASSWORD, LoginKind::RdsMaster);
                server.add_login(&user, &password, LoginKind::Plain);
                let port = server.port();
                tds = Some(server);
                let value = json!({"engine": "sqlserver", "host": "127.0.0.1", "port": port,
                    "username": user, "password": password, "dbname": "master", "ssl": true});
                let master = alternating.then(|| {
                    json!({"engine": "sqlserver", "host": "127.0.0.1", "port": port,
                        "username": "admin", "password": TDS_MASTER_PASSWORD, "dbname": "master", "ssl": true})
                });
                (value, master, sandbox_var("SANDBOX_TLS_CA"), Server::Tds)
            }
            "elasticache" => {
                let form = format!(
                    "Action=CreateUser&Version=2015-02-02&UserId=u-{tag}&UserName={user}&Engine=redis&Passwords.member.1={password}&AccessString=on%20~*%20%2B%40all"
                );
                let (status, body) = moto
                    .request(
                        "POST",
                        "/",
                        Some("elasticache"),
                        "application/x-www-form-urlencoded",
                        &form,
                    )
                    .await
                    .expect("moto answers");
                assert_eq!(status, 200, "CreateUser: {body}");
                let user_arn = body
                    .split_once("<ARN>")
                    .and_then(|(_, rest)| rest.split_once("</ARN>"))
                    .map(|(arn, _)| arn.to_string())
                    .expect("CreateUser answers the user's ARN");
                extra.push(("ELASTICACHE_USER_ARNS", user_arn.clone()));
                // moto keeps a modified user `modifying` for a moment: the shortest interval.
                extra.push(("WAITING_RETRY_INTERVAL_IN_SECONDS", "1".into()));
                let port: u16 = sandbox_var("SANDBOX_REDIS_TLS_PORT").parse().unwrap();
                let value = json!({"user_arn": user_arn, "username": user, "password": password,
                    "host": "127.0.0.1", "port": port, "tlsServerName": SANDBOX_CERTIFICATE_NAME});
                (value, None, sandbox_var("SANDBOX_REDIS_CA"), Server::None)
            }
            other => panic!("no bed for binary {other}"),
        };
        let mut value = value;
        if let Some(master) = master {
            let master_arn = driver
                .create_secret(&format!("verify-master-{tag}"), &master.to_string())
                .await;
            value["masterarn"] = json!(master_arn);
        }
        let arn = driver
            .create_secret(&format!("verify-{tag}"), &value.to_string())
            .await;
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let deployed = Deployed::start(&binary, &ca, &extra).await;
        attach_quietly(&driver, &arn).await;
        Self {
            driver,
            deployed,
            arn,
            user,
            password,
            server,
            _mongo: mongo,
            _tds: tds,
        }
    }

    /// (AWSCURRENT, AWSPREVIOUS, AWSPENDING) version lists.
    async fn labels(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        self.driver.labels(&self.arn).await
    }

    /// Whether AWSCURRENT's credentials log in, asked of the server itself (None: no server
    /// this test can ask).
    async fn current_logs_in(&self) -> Option<bool> {
        let value: Value =
            serde_json::from_str(&self.driver.value(&self.arn, AWSCURRENT).await).unwrap();
        let (user, password) = (
            value["username"].as_str().unwrap(),
            value["password"].as_str().unwrap(),
        );
        match &self.server {
            Server::Postgres { pg, dbname } => {
                Some(pg.login(user, password, dbname, true).await.is_ok())
            }
            Server::Maria(db) => Some(db.login(user, password, true).await.is_ok()),
            Server::Mongo => self
                ._mongo
                .as_ref()
                .map(|s| s.password_is("admin", user, password)),
            Server::Tds => self
                ._tds
                .as_ref()
                .map(|s| s.password(user).as_deref() == Some(password)),
            Server::None => None,
        }
    }

    async fn ctl(&self, args: &[&str]) -> (i32, String, String) {
        self.deployed
            .ctl(&self.driver, &self.arn, &[&self.password], args)
            .await
    }
}
