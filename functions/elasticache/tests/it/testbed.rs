//! The ElastiCache test bed: the [`Harness`] with the function built as its binary builds it
//! (from settings read from a lookup), on moto, trusting the sandbox CA; ElastiCache users made
//! on moto (mirrored into the sandbox Redis); logins tried with `redis-cli` over TLS.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use rotation_core::anchors::TrustAnchors;
use rotation_elasticache::{ElastiCacheRotation, SdkElastiCache, WaitPolicy, PASSWORD_DEFAULTS};
use rotation_testkit::{
    unique, Harness, Moto, ProvingBed, SmFaults, MOTO_ACCOUNT, REGION, SANDBOX_CERTIFICATE_NAME,
};
use serde_json::{json, Value};

/// How often the bed's function asks whether a user is active (the sandbox's ModifyUser keeps
/// a user `modifying` for a fraction of a second; the binary's interval is whole seconds).
pub const QUICK_INTERVAL: Duration = Duration::from_millis(100);

/// `ELASTICACHE_USER_ARNS` of the bed's function unless a test gives its own: every user the
/// bed makes (`u-<unique>` on moto), and no other.
pub fn bed_users() -> String {
    format!("arn:aws:elasticache:{REGION}:{MOTO_ACCOUNT}:user:u-*")
}

/// The sandbox Redis, seen by tests.
#[derive(Debug, Clone)]
pub struct Redis {
    /// Its TLS port.
    pub port: u16,
    /// The CA its certificate is signed by (a PEM file).
    pub ca: String,
}

impl Redis {
    fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by scripts/sandbox.sh"))
        };
        Self {
            port: var("SANDBOX_REDIS_TLS_PORT").parse().expect("a port"),
            ca: var("SANDBOX_REDIS_CA"),
        }
    }

    /// `AUTH user password` with `redis-cli` over TLS: Ok, or the refusal code (`WRONGPASS`).
    pub fn login(&self, user: &str, password: &str) -> Result<(), String> {
        let out = std::process::Command::new("redis-cli")
            .args([
                "--tls",
                "--cacert",
                &self.ca,
                "--sni",
                SANDBOX_CERTIFICATE_NAME,
            ])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "--user",
                user,
                "--pass",
                password,
                "--no-auth-warning",
                "PING",
            ])
            .output()
            .expect("redis-cli runs");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if text.trim() == "PONG" {
            Ok(())
        } else if text.contains("WRONGPASS") {
            Err("WRONGPASS".into())
        } else {
            Err(text.trim().to_string())
        }
    }
}

/// The ElastiCache function on moto and the sandbox Redis.
pub struct Bed {
    harness: Harness<ElastiCacheRotation>,
    /// ElastiCache on moto, to make users.
    pub ec: aws_sdk_elasticache::Client,
    /// The sandbox Redis.
    pub redis: Redis,
}

impl Deref for Bed {
    type Target = Harness<ElastiCacheRotation>;

    fn deref(&self) -> &Self::Target {
        &self.harness
    }
}

impl Bed {
    /// The function with the binary's settings and `vars` (`ELASTICACHE_USER_ARNS`: the bed's
    /// users, [`bed_users`], unless `vars` names it).
    pub async fn with_vars(vars: &[(&str, String)]) -> Self {
        let redis = Redis::from_env();
        let moto = Moto::from_env();
        let mut vars = vars.to_vec();
        if !vars
            .iter()
            .any(|(n, _)| *n == rotation_core::ELASTICACHE_USER_ARNS)
        {
            vars.push((rotation_core::ELASTICACHE_USER_ARNS, bed_users()));
        }
        let settings = rotation_testkit::settings(PASSWORD_DEFAULTS, &vars);
        let anchors = TrustAnchors::new(Some(&redis.ca), false).expect("the sandbox CA loads");
        let api = Arc::new(SdkElastiCache::with_endpoint(moto.endpoint()));
        let function =
            rotation_elasticache::build_with(&settings, api, anchors).expect("the function builds");
        let quick = WaitPolicy {
            interval: QUICK_INTERVAL,
            ..function.wait()
        };
        Self {
            harness: Harness::new(function.with_wait(quick), PASSWORD_DEFAULTS).await,
            ec: aws_sdk_elasticache::Client::new(&moto.sdk_config().await),
            redis,
        }
    }

    /// The function as deployed by default.
    pub async fn new() -> Self {
        Self::with_vars(&[]).await
    }

    /// The same bed whose function's Secrets Manager client has `faults` injected.
    pub async fn with_faults(mut self, faults: &SmFaults) -> Self {
        self.harness = self.harness.with_faults(faults).await;
        self
    }

    /// A new ElastiCache user `<prefix>_<unique>` with `password`: (name, user ARN).
    pub async fn user(&self, prefix: &str, password: &str) -> (String, String) {
        self.user_with_passwords(prefix, &[password]).await
    }

    /// A new ElastiCache user `<prefix>_<unique>` holding `passwords` (one or two): (name,
    /// user ARN).
    pub async fn user_with_passwords(&self, prefix: &str, passwords: &[&str]) -> (String, String) {
        let tag = unique();
        let name = format!("{prefix}_{tag}");
        let out = self
            .ec
            .create_user()
            .user_id(format!("u-{tag}"))
            .user_name(&name)
            .engine("redis")
            .set_passwords(Some(passwords.iter().map(|p| p.to_string()).collect()))
            .access_string("on ~* +@all")
            .send()
            .await
            .expect("CreateUser on moto");
        (name, out.arn().expect("an ARN").to_string())
    }

    /// The secret JSON for `name` / `arn` with `password`; with the sandbox endpoint when
    /// `endpoint`; plus `extra` keys.
    pub fn secret_json(
        &self,
        name: &str,
        arn: &str,
        password: &str,
        endpoint: bool,
        extra: Value,
    ) -> String {
        let mut v =
            json!({"user_arn": arn, "username": name, "password": password, "team": "cache"});
        if endpoint {
            v["host"] = json!("127.0.0.1");
            v["port"] = json!(self.redis.port);
            v["tlsServerName"] = json!(SANDBOX_CERTIFICATE_NAME);
        }
        for (k, val) in extra.as_object().expect("extra is an object") {
            v[k] = val.clone();
        }
        v.to_string()
    }

    /// A new user and its secret: (name, user ARN, secret ARN).
    pub async fn user_with_secret(
        &self,
        prefix: &str,
        password: &str,
        endpoint: bool,
    ) -> (String, String, String) {
        let (name, user_arn) = self.user(prefix, password).await;
        let json = self.secret_json(&name, &user_arn, password, endpoint, json!({}));
        let arn = self.harness.secret("cache", &json).await;
        (name, user_arn, arn)
    }

    /// `AUTH` against the sandbox Redis with the credentials of `arn`'s `stage`.
    pub async fn stage_logs_in(&self, arn: &str, stage: &str) -> Result<(), String> {
        let (user, password) = self.creds(arn, stage).await;
        self.redis.login(&user, &password)
    }
}

impl ProvingBed for Bed {
    type Function = ElastiCacheRotation;
    const REFUSED: &'static str = "WRONGPASS";

    async fn login(&self, user: &str, password: &str) -> Result<(), String> {
        self.redis.login(user, password)
    }

    async fn fresh_pair(&self, tag: &str) -> (String, String) {
        let (name, _, arn) = self
            .user_with_secret(tag, "Initial-Pa55word-0001", true)
            .await;
        (name, arn)
    }

    async fn faulty(self, faults: &SmFaults) -> Self {
        self.with_faults(faults).await
    }
}
