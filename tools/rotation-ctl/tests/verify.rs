//! `rotation-ctl verify` end to end for every rotation type of `packaging/rotation-types.toml`:
//! the tool's own SDK clients against moto (Secrets Manager, CloudWatch Logs) and the testkit's
//! loopback Lambda API, which runs the type's real function binary (built by cargo for this
//! test, run as Lambda runs it: a child process under a loopback Runtime API, the deployed
//! environment) against the sandbox servers: PostgreSQL (also the Redshift stand-in), MariaDB
//! (for the MySQL and MariaDB types), the MongoDB-wire stand-in (DocumentDB personality), the
//! sandbox Redis behind moto's ElastiCache user API. The function's log lines are shipped to
//! moto's log group for the function, as Lambda does.
//!
//! Secrets Manager's part after RotateSecret is played by the testkit's [`RotationPlayer`]:
//! moto's RotateSecret invokes only its own placeholder function, never the loopback Lambda API
//! (`/work/shared/reference/tooling.md`), so the player invokes createSecret, setSecret,
//! testSecret and finishSecret in order through the same function process, stopping at the
//! first failure (AWSPENDING stays where the failed rotation left it), as the service does.

mod common;

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
use rotation_testkit::{
    deployed_environment, rotation_types, sandbox_var, unique, Answer, FunctionProcess,
    FunctionSettings, Handler, LambdaApi, Moto, PgAdmin, RotationDriver, RotationPlayer,
    StepInvoker, MOTO_ACCOUNT, REGION, SANDBOX_CERTIFICATE_NAME,
};
use serde_json::{json, Value};

/// The function's name: moto's RotateSecret needs a function of that name in its own Lambda
/// (the driver's placeholder), and the loopback Lambda API answers for any name.
const FUNCTION: &str = "rotation-driver-placeholder";

/// The function's timeout, as the Lambda API answers it and as each invocation gets it (a
/// debug build against the sandbox takes well under a second per step).
const TIMEOUT_SECONDS: u32 = 10;

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

fn function_arn() -> String {
    format!("arn:aws:lambda:{REGION}:{MOTO_ACCOUNT}:function:{FUNCTION}")
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
}

enum Server {
    Postgres {
        pg: PgAdmin,
        dbname: &'static str,
    },
    Maria(MariaAdmin),
    Mongo,
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
            Server::None => None,
        }
    }

    async fn ctl(&self, args: &[&str]) -> (i32, String, String) {
        self.deployed
            .ctl(&self.driver, &self.arn, &[&self.password], args)
            .await
    }
}

/// Attaches, then `verify --rotations 2`: both rotations finish through the real binary, each
/// followed by the preflight's login with the new AWSCURRENT; the labels, the report and an
/// independent login agree.
async fn verifies(name: &str) {
    let bed = Bed::new(name).await;
    let (original, _, _) = bed.labels().await;
    let _player = bed.deployed.player(&bed.driver, &bed.arn).await;

    let (code, stdout, stderr) = bed
        .ctl(&["verify", &bed.arn, "--rotations", "2", "--output", "json"])
        .await;
    let done: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout} {stderr}"));
    assert_eq!(code, 0, "{name}: {done:#} {stderr}");
    assert_eq!(
        (&done["ok"], &done["verified"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(done["preflight"]["ok"], true, "{done:#}");
    assert_eq!(done["timeoutSeconds"], TIMEOUT_SECONDS, "{done:#}");
    let rotations = done["rotations"].as_array().unwrap();
    assert_eq!(rotations.len(), 2, "{done:#}");
    let (current, previous, pending) = bed.labels().await;
    assert!(pending.is_empty(), "{name}: {pending:?}");
    let versions: Vec<&str> = rotations
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(current, [versions[1]], "{name}");
    assert_eq!(previous, [versions[0]], "{name}");
    assert_ne!(current, original);
    for r in rotations {
        assert_eq!(r["ok"], true, "{done:#}");
        assert!(r["seconds"].as_f64().unwrap() > 0.0, "{done:#}");
        assert_eq!(r["check"]["ok"], true, "{done:#}");
        assert_eq!(r["check"]["versions"]["current"], r["version"], "{done:#}");
        let after = r["labelsAfter"].as_array().unwrap();
        assert!(
            after
                .iter()
                .any(|v| v["id"] == r["version"] && v["stages"] == json!([AWSCURRENT])),
            "{done:#}"
        );
    }
    assert_eq!(
        rotations[1]["labelsBefore"], rotations[0]["labelsAfter"],
        "{done:#}"
    );
    // Secrets Manager's invocations (played) and the tool's preflights, in order.
    let mut expected = vec!["preflight".to_string()];
    for v in &versions {
        for step in Step::ALL {
            expected.push(format!("{} {v}", step.as_str()));
        }
        expected.push("preflight".into());
    }
    assert_eq!(bed.deployed.seen(), expected, "{name}");
    if let Some(logs_in) = bed.current_logs_in().await {
        assert!(logs_in, "{name}: the new AWSCURRENT logs in");
    }
    // The secret's user, or (alternating users) its clone.
    let current: Value =
        serde_json::from_str(&bed.driver.value(&bed.arn, AWSCURRENT).await).unwrap();
    let user = current["username"].as_str().unwrap();
    assert!(user.starts_with(&bed.user), "{name}: {user}");

    // Text output: the same story, for people.
    let (code, text, stderr) = bed.ctl(&["verify", &bed.arn]).await;
    assert_eq!(code, 0, "{name}: {text} {stderr}");
    assert!(text.contains("all checks passed"), "{text}");
    assert!(text.contains("rotation 1/1"), "{text}");
    assert!(text.contains("verified: 1 rotation of"), "{text}");
    assert!(
        !text.chars().any(|c| c != '\n' && c.is_control()),
        "{text:?}"
    );
}

macro_rules! every_type {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                verifies($name).await;
            }
        )*

        /// The tests above cover exactly the rotation types the project packages.
        #[test]
        fn every_packaged_rotation_type_is_verified() {
            let mut tested = vec![$($name),*];
            let mut packaged: Vec<String> =
                rotation_types().iter().map(|t| t.get("name").to_string()).collect();
            tested.sort_unstable();
            packaged.sort();
            assert_eq!(tested, packaged);
        }
    };
}

every_type! {
    verifies_generic => "Generic",
    verifies_postgresql_single_user => "PostgreSQLSingleUser",
    verifies_postgresql_multi_user => "PostgreSQLMultiUser",
    verifies_redshift_single_user => "RedshiftSingleUser",
    verifies_redshift_multi_user => "RedshiftMultiUser",
    verifies_mysql_single_user => "MySQLSingleUser",
    verifies_mysql_multi_user => "MySQLMultiUser",
    verifies_mariadb_single_user => "MariaDBSingleUser",
    verifies_mariadb_multi_user => "MariaDBMultiUser",
    verifies_mongodb_single_user => "MongoDBSingleUser",
    verifies_mongodb_multi_user => "MongoDBMultiUser",
    verifies_elasticache_user => "ElastiCacheUser",
}

/// The database user's password changes behind the secret after the preflight passed: the
/// rotation's setSecret is refused. verify names the step and its `errorType` (read from the
/// function's logs), exits 1, and AWSCURRENT stays where it was; the next rotation is not
/// started.
#[tokio::test]
async fn a_rotation_that_fails_is_reported_with_its_error_type_and_current_is_untouched() {
    for name in ["MySQLSingleUser", "PostgreSQLSingleUser"] {
        let bed = Bed::new(name).await;
        let (original, _, _) = bed.labels().await;
        let _player = bed.deployed.player(&bed.driver, &bed.arn).await;
        let changed = format!("Changed-{}", unique());
        let (user, password) = (bed.user.clone(), changed.clone());
        let hook: Hook = match &bed.server {
            Server::Postgres { .. } => {
                let pg = PgAdmin::from_env();
                Box::pin(async move {
                    pg.session("postgres")
                        .await
                        .batch_execute(&format!(
                            "ALTER ROLE {} PASSWORD {}",
                            ident(&user),
                            literal(&password)
                        ))
                        .await
                        .expect("ALTER ROLE");
                })
            }
            Server::Maria(_) => Box::pin(async move {
                MariaAdmin::from_env()
                    .run(&format!(
                        "ALTER USER '{user}'@'%' IDENTIFIED BY '{password}'"
                    ))
                    .await;
            }),
            _ => unreachable!(),
        };
        *bed.deployed.after_preflight.lock().unwrap() = Some(hook);

        let (code, stdout, stderr) = bed
            .deployed
            .ctl(
                &bed.driver,
                &bed.arn,
                &[&bed.password, &changed],
                &["verify", &bed.arn, "--rotations", "3", "--output", "json"],
            )
            .await;
        let done: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout} {stderr}"));
        assert_eq!(code, 1, "{name}: {done:#}");
        assert_eq!(
            (&done["ok"], &done["verified"]),
            (&json!(false), &json!(false))
        );
        assert_eq!(done["preflight"]["ok"], true, "{done:#}");
        let failure = &done["failure"];
        assert_eq!(failure["at"], "setSecret", "{done:#}");
        assert_eq!(failure["errorType"], "AuthenticationFailed", "{done:#}");
        let rotations = done["rotations"].as_array().unwrap();
        assert_eq!(
            rotations.len(),
            1,
            "the next rotation is not started: {done:#}"
        );
        assert_eq!(rotations[0]["ok"], false);
        assert_eq!(rotations[0]["currentUntouched"], true, "{done:#}");
        assert_eq!(rotations[0]["failure"], *failure);
        let (current, _, pending) = bed.labels().await;
        assert_eq!(current, original, "{name}: AWSCURRENT untouched");
        assert_eq!(pending, [rotations[0]["version"].as_str().unwrap()]);
        let token = rotations[0]["version"].as_str().unwrap().to_string();
        assert_eq!(
            bed.deployed.seen(),
            [
                "preflight".to_string(),
                format!("createSecret {token}"),
                format!("setSecret {token}"),
            ],
            "{name}"
        );

        // Run again: refused at once (AWSPENDING is on the failed rotation's version).
        let (code, text, _) = bed.ctl(&["verify", &bed.arn]).await;
        assert_eq!(code, 1, "{text}");
        assert!(
            text.contains("refusing to verify: AWSPENDING is on version")
                && text.contains(&token)
                && text.contains("rotation-ctl abort"),
            "{text}"
        );
        assert_eq!(bed.deployed.seen().len(), 3, "nothing invoked");
    }
}

/// A secret whose AWSCURRENT does not log in fails the preflight: nothing is rotated, the
/// failed check and its `errorType` are the answer, exit 1. A `--function` other than the
/// attached one, and a secret with no rotation function, are refused before anything is
/// invoked.
#[tokio::test]
async fn a_failed_preflight_rotates_nothing_and_an_unattached_secret_is_refused() {
    let bed = Bed::new("PostgreSQLSingleUser").await;
    let (code, text, _) = bed
        .ctl(&["verify", &bed.arn, "--function", "another-function"])
        .await;
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("refusing to verify: --function names")
            && text.contains(":function:another-function")
            && text.contains("rotation-ctl attach"),
        "{text}"
    );
    assert!(bed.deployed.seen().is_empty(), "{:?}", bed.deployed.seen());

    let Server::Postgres { pg, .. } = &bed.server else {
        unreachable!()
    };
    pg.session("postgres")
        .await
        .batch_execute(&format!(
            "ALTER ROLE {} PASSWORD 'Other-Pa55word-1'",
            ident(&bed.user)
        ))
        .await
        .unwrap();
    let before = bed.labels().await;
    let player = bed.deployed.player(&bed.driver, &bed.arn).await;
    let (code, text, stderr) = bed.ctl(&["verify", &bed.arn, "--rotations", "2"]).await;
    assert_eq!(code, 1, "{text} {stderr}");
    assert!(
        text.contains("NOT verified: preflight failed: AuthenticationFailed: check current_login"),
        "{text}"
    );
    assert!(text.contains("Nothing was rotated."), "{text}");
    assert_eq!(bed.labels().await, before);
    assert!(player.played().is_empty(), "{:?}", player.played());
    assert_eq!(bed.deployed.seen(), ["preflight"]);

    let lone = bed
        .driver
        .create_secret(
            &format!("verify-lone-{}", unique()),
            r#"{"username": "u", "password": "x-Pa55word"}"#,
        )
        .await;
    let (code, stdout, _) = bed
        .deployed
        .ctl(
            &bed.driver,
            &lone,
            &[],
            &["verify", &lone, "--output", "json"],
        )
        .await;
    let done: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (code, &done["reason"]),
        (1, &json!("no rotation function")),
        "{done:#}"
    );
    assert_eq!(bed.deployed.seen(), ["preflight"], "nothing more invoked");
}
