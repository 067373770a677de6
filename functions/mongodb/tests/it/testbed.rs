//! The test bed: a stand-in server with a `root` user in `admin`, the function built as the
//! binary builds it (trusting the sandbox CA), and the harness on moto.

use std::ops::Deref;

use rotation_mongodb::engines::MONGODB;
use rotation_mongodb::{build_with_engine, MongoEngine};
use std::sync::{Arc, Mutex};

use rotation_core::database::{
    ConnectPolicy, DbCluster, DbInstance, RdsLookup, Strategy, TrustAnchors,
};
use rotation_core::Result;
use rotation_testkit::mongo::{Mechanism, MongoStandIn, OpMsgClassifier, Personality, Restriction};
use rotation_testkit::{
    sandbox_var, unique, Classifier, DbProvingBed, Harness, ProvingBed, SmFaults,
};
use serde_json::{json, Value};

/// The stand-in's superuser password.
pub const ROOT_PASSWORD: &str = "Root-Pa55word-standin";

/// A DocumentDB cluster endpoint as a deployment's secrets name it; the tests' connect policy
/// connects it to the stand-in (test seam `ConnectPolicy::with_test_host`) as `localhost`, a
/// name on the sandbox certificate.
pub const DOCDB_HOST: &str = "app.cluster-cxyz0example.us-east-1.docdb.amazonaws.com";

/// The name the redirected connection verifies the certificate for.
pub const REDIRECT_CERTIFICATE_NAME: &str = "localhost";

/// A function under test and its stand-in server.
pub struct Bed {
    harness: Harness<Strategy<MongoEngine>>,
    /// "single" or "alternating".
    pub strategy: &'static str,
    /// The server.
    pub server: MongoStandIn,
    /// A secondary of the server (replica-set personality only).
    pub secondary: Option<MongoStandIn>,
    /// The host the secrets name: `127.0.0.1`, or [`DOCDB_HOST`] redirected to the server.
    pub host: &'static str,
    /// The authentication database of the bed's users (`admin` on DocumentDB).
    pub db: &'static str,
    /// The secrets' `engine`: `docdb` on DocumentDB (the stand-in is reached as 127.0.0.1,
    /// not as a DocumentDB endpoint, so the secret says what it is), `mongo` on MongoDB.
    pub engine: &'static str,
    /// The RDS API the function asks (DocumentDB clusters), as the test sets it up.
    pub rds: Arc<DocDbApi>,
}

/// DescribeDBClusters as RDS answers it for DocumentDB clusters (moto models none): the
/// clusters a test adds, found by identifier or ARN. No instances.
#[derive(Debug, Default)]
pub struct DocDbApi {
    clusters: Mutex<Vec<DbCluster>>,
}

impl DocDbApi {
    /// Adds a `docdb` cluster `id` whose writer endpoint is `endpoint`:`port`.
    pub fn add_cluster(&self, id: &str, endpoint: &str, port: u16) {
        self.clusters.lock().unwrap().push(DbCluster {
            id: id.into(),
            endpoint: Some(endpoint.into()),
            reader_endpoint: None,
            port: Some(port),
            engine: Some("docdb".into()),
            members: Vec::new(),
        });
    }
}

type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'a>>;

impl RdsLookup for DocDbApi {
    fn instance<'a>(&'a self, _id: &'a str) -> Boxed<'a, Option<DbInstance>> {
        Box::pin(async { Ok(None) })
    }

    fn cluster<'a>(&'a self, id: &'a str) -> Boxed<'a, Option<DbCluster>> {
        let name = id.rsplit(':').next().unwrap_or(id);
        let found = self
            .clusters
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.id == name)
            .cloned();
        Box::pin(async move { Ok(found) })
    }

    fn custom_endpoints<'a>(&'a self, _cluster_id: &'a str) -> Boxed<'a, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

impl Deref for Bed {
    type Target = Harness<Strategy<MongoEngine>>;

    fn deref(&self) -> &Self::Target {
        &self.harness
    }
}

impl Bed {
    /// The function with `strategy` against a stand-in of `personality`.
    pub async fn new(personality: Personality, strategy: &'static str) -> Self {
        Self::serving(
            personality,
            strategy,
            Some(MongoStandIn::sandbox_tls()),
            false,
        )
        .await
    }

    /// The function with `strategy` against a stand-in of `personality` serving plaintext
    /// only (for the fault proxy, which reads the protocol: secrets say `"ssl": false`).
    pub async fn plaintext(personality: Personality, strategy: &'static str) -> Self {
        Self::serving(personality, strategy, None, false).await
    }

    /// The function with `strategy` against a stand-in of `personality` (TLS with `tls`)
    /// whose secrets name the DocumentDB endpoint [`DOCDB_HOST`] with `"engine": "mongo"`, as
    /// a deployment's do: the function's DocumentDB branches (SCRAM-SHA-1, TLS required)
    /// run, and the certificate is verified for [`REDIRECT_CERTIFICATE_NAME`].
    pub async fn documentdb_endpoint(
        personality: Personality,
        strategy: &'static str,
        tls: Arc<rustls::ServerConfig>,
    ) -> Self {
        Self::serving(personality, strategy, Some(tls), true).await
    }

    async fn serving(
        personality: Personality,
        strategy: &'static str,
        tls: Option<Arc<rustls::ServerConfig>>,
        redirected: bool,
    ) -> Self {
        let server = MongoStandIn::start(personality, tls.clone())
            .await
            .expect("the stand-in starts");
        let secondary = server
            .start_secondary(tls)
            .await
            .map(|started| started.expect("the secondary starts"));
        server.add_user("admin", "root", ROOT_PASSWORD, &[("root", "admin")]);
        let ca = sandbox_var("SANDBOX_TLS_CA");
        let anchors = TrustAnchors::new(Some(&ca), false).expect("the sandbox CA loads");
        let settings = rotation_testkit::settings(
            MONGODB.password_defaults,
            &[("ROTATION_STRATEGY", strategy.to_string())],
        );
        let rds = Arc::new(DocDbApi::default());
        let mut policy = ConnectPolicy::new(anchors);
        let mut host = "127.0.0.1";
        if redirected {
            let address = std::net::SocketAddr::from(([127, 0, 0, 1], server.port()));
            policy = policy.with_test_host(DOCDB_HOST, address, REDIRECT_CERTIFICATE_NAME);
            host = DOCDB_HOST;
        }
        let function = build_with_engine(
            &settings,
            MongoEngine::new(policy),
            Some(rds.clone() as Arc<dyn RdsLookup>),
        )
        .expect("the function builds");
        let (db, engine) = match (personality.is_documentdb(), redirected) {
            // The endpoint's name says DocumentDB; the secret says what the console writes.
            (true, true) => ("admin", "mongo"),
            // The stand-in is reached as 127.0.0.1: the secret says what it is.
            (true, false) => ("admin", "docdb"),
            (false, _) => ("appdb", "mongo"),
        };
        Self {
            harness: Harness::new(function, MONGODB.password_defaults).await,
            strategy,
            server,
            secondary,
            host,
            db,
            engine,
            rds,
        }
    }

    /// The same bed with another password policy (`hostile_names`).
    #[allow(dead_code)]
    pub fn with_policy(mut self, policy: rotation_core::PasswordPolicy) -> Self {
        self.harness = self.harness.with_policy(policy);
        self
    }

    /// The secret JSON for `user` in the bed's database, with `extra` keys.
    pub fn secret_json(&self, user: &str, password: &str, extra: Value) -> String {
        let mut v = json!({"engine": self.engine, "host": self.host, "port": self.server.port(),
            "username": user, "password": password, "dbname": self.db, "ssl": true});
        for (k, val) in extra.as_object().expect("an object") {
            v[k] = val.clone();
        }
        v.to_string()
    }

    /// A new user `<prefix>_<unique>` with `roles` (role names on the bed's database) and its
    /// secret with `extra` keys: (user, ARN).
    pub async fn user(
        &self,
        prefix: &str,
        password: &str,
        roles: &[&str],
        extra: Value,
    ) -> (String, String) {
        let roles: Vec<(&str, &str)> = roles.iter().map(|r| (*r, self.db)).collect();
        self.user_with(prefix, password, &roles, extra).await
    }

    /// A new single user `<prefix>_<unique>` with `readWrite` on the bed's database and the
    /// manual's recipe for changing one's own password (a role in `admin` granting the
    /// `changeOwnPassword` action: [`MongoStandIn::own_password_role`]), and its secret with
    /// `extra` keys: (user, ARN).
    pub async fn own_password_user(
        &self,
        prefix: &str,
        password: &str,
        extra: Value,
    ) -> (String, String) {
        let own = self.server.own_password_role();
        self.user_with(prefix, password, &[("readWrite", self.db), own], extra)
            .await
    }

    /// A new user `<prefix>_<unique>` in the bed's database with `roles` as (role, db), and its
    /// secret with `extra` keys: (user, ARN).
    pub async fn user_with(
        &self,
        prefix: &str,
        password: &str,
        roles: &[(&str, &str)],
        extra: Value,
    ) -> (String, String) {
        let user = format!("{prefix}_{}", unique());
        self.server.add_user(self.db, &user, password, roles);
        let arn = self
            .harness
            .secret("mongo", &self.secret_json(&user, password, extra))
            .await;
        (user, arn)
    }

    /// A new user `<prefix>_<unique>` as the bed's strategy needs it, and its secret with
    /// `extra` keys: single user with `readWrite` and the own-password role
    /// ([`Bed::own_password_user`]); alternating users with
    /// `readWrite`, and a `masterarn` (a new superuser secret) unless `extra` names one.
    pub async fn strategy_user(
        &self,
        prefix: &str,
        password: &str,
        mut extra: Value,
    ) -> (String, String) {
        if self.strategy == "single" {
            return self.own_password_user(prefix, password, extra).await;
        }
        if extra.get("masterarn").is_none() {
            extra["masterarn"] = json!(self.master_secret().await);
        }
        self.user(prefix, password, &["readWrite"], extra).await
    }

    /// A new superuser `name` in `admin` holding `roles`, and its secret: its ARN.
    #[allow(dead_code)]
    pub async fn superuser_with(&self, name: &str, roles: &[(&str, &str)]) -> String {
        let password = "Super-Pa55word-1";
        self.server.add_user("admin", name, password, roles);
        let master = json!({"engine": self.engine, "host": "127.0.0.1", "port": self.server.port(),
            "username": name, "password": password, "dbname": "admin", "ssl": true});
        self.harness.secret("mongo-root", &master.to_string()).await
    }

    /// A new superuser secret for `root` in `admin`: its ARN.
    pub async fn master_secret(&self) -> String {
        self.master_secret_as(self.engine).await
    }

    /// A new superuser secret for `root` in `admin` saying `engine`: its ARN.
    pub async fn master_secret_as(&self, engine: &str) -> String {
        let master = json!({"engine": engine, "host": self.host, "port": self.server.port(),
            "username": "root", "password": ROOT_PASSWORD, "dbname": "admin", "ssl": true});
        self.harness.secret("mongo-root", &master.to_string()).await
    }

    /// A user with `readWrite`, credentials for `mechanisms` only and `restrictions`, a
    /// superuser secret, and the user's secret with `masterarn`: (user, ARN).
    pub async fn pair_with(
        &self,
        prefix: &str,
        mechanisms: &[Mechanism],
        restrictions: Vec<Restriction>,
    ) -> (String, String) {
        let user = format!("{prefix}_{}", unique());
        let password = "Pair-Pa55word-2";
        self.server.add_user_with(
            self.db,
            &user,
            password,
            &[("readWrite", self.db)],
            mechanisms,
            restrictions,
        );
        let extra = json!({"masterarn": self.master_secret().await});
        let arn = self
            .harness
            .secret("mongo", &self.secret_json(&user, password, extra))
            .await;
        (user, arn)
    }

    /// Asserts that `a` and `b` hold the same roles, authentication restrictions and SCRAM
    /// mechanisms on the server.
    pub fn assert_same_access(&self, a: &str, b: &str, what: &str) {
        let s = &self.server;
        assert!(s.roles_of(self.db, a).is_some(), "{what}: {a} exists");
        assert_eq!(
            s.roles_of(self.db, a),
            s.roles_of(self.db, b),
            "{what}: roles"
        );
        assert_eq!(
            s.restrictions_of(self.db, a),
            s.restrictions_of(self.db, b),
            "{what}: authentication restrictions"
        );
        assert_eq!(
            mechanism_set(s.mechanisms_of(self.db, a)),
            mechanism_set(s.mechanisms_of(self.db, b)),
            "{what}: mechanisms"
        );
    }

    /// A user with `readWrite` and a superuser secret (`root` in `admin`), and the user's
    /// secret with `masterarn`: (user, ARN).
    pub async fn pair(&self, prefix: &str) -> (String, String) {
        let master_arn = self.master_secret().await;
        self.user(
            prefix,
            "Pair-Pa55word-1",
            &["readWrite"],
            json!({"masterarn": master_arn}),
        )
        .await
    }

    /// True when the server holds `stage`'s password for its user.
    pub async fn stage_holds(&self, arn: &str, stage: &str) -> bool {
        let (user, password) = self.harness.creds(arn, stage).await;
        self.server.password_is(self.db, &user, &password)
    }
}

impl ProvingBed for Bed {
    type Function = Strategy<MongoEngine>;
    const REFUSED: &'static str = "AuthenticationFailed";

    /// The server's own check of the password (the stand-in holds the salted credentials).
    async fn login(&self, user: &str, password: &str) -> Result<(), String> {
        if self.server.password_is(self.db, user, password) {
            Ok(())
        } else {
            Err(Self::REFUSED.into())
        }
    }

    async fn fresh_pair(&self, tag: &str) -> (String, String) {
        if self.strategy == "single" {
            self.strategy_user(tag, "u-Pa55word", json!({})).await
        } else {
            self.pair(tag).await
        }
    }

    async fn faulty(mut self, faults: &SmFaults) -> Self {
        self.harness = self.harness.with_faults(faults).await;
        self
    }

    /// The two users of the pair hold the same roles, authentication restrictions and
    /// mechanisms.
    async fn check_pair(&self, arn: &str) {
        let (a, _) = self.harness.creds(arn, "AWSCURRENT").await;
        let (b, _) = self.harness.creds(arn, "AWSPREVIOUS").await;
        self.assert_same_access(&a, &b, &format!("{a} and {b} are interchangeable"));
    }
}

impl DbProvingBed for Bed {
    fn classifier(&self) -> std::sync::Arc<dyn Classifier> {
        std::sync::Arc::new(OpMsgClassifier)
    }

    fn server_port(&self) -> u16 {
        self.server.port()
    }

    /// [`Bed::strategy_user`] (the suite names the superuser in `extra`).
    async fn new_user_with_secret(
        &self,
        prefix: &str,
        password: &str,
        extra: Value,
    ) -> (String, String) {
        self.strategy_user(prefix, password, extra).await
    }

    /// A `root` user in `admin`.
    async fn new_superuser_secret(&self, name: &str, password: &str, extra: Value) -> String {
        self.server
            .add_user("admin", name, password, &[("root", "admin")]);
        let mut v = json!({"engine": self.engine, "host": self.host, "port": self.server.port(),
            "username": name, "password": password, "dbname": "admin", "ssl": true});
        for (k, val) in extra.as_object().expect("an object") {
            v[k] = val.clone();
        }
        self.harness.secret("mongo-root", &v.to_string()).await
    }

    /// The driver opens a monitoring connection (the server's `hello`, no credentials) before
    /// the authenticated one.
    fn connections_per_login(&self) -> usize {
        2
    }
}

/// Mechanisms as names, sorted: the order credentials were made in does not matter.
pub fn mechanism_set(mechanisms: Vec<Mechanism>) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = mechanisms.into_iter().map(Mechanism::name).collect();
    names.sort_unstable();
    names.dedup();
    names
}

impl Bed {
    /// [`ProvingBed::fresh_pair`] under a test's own tag.
    pub async fn fresh_pair_for_test(&self, tag: &str) -> (String, String) {
        self.fresh_pair(tag).await
    }

    /// A `root` user in `admin` and its superuser secret with `extra` keys: its ARN.
    pub async fn new_superuser_secret_for_test(&self, name: &str, extra: Value) -> String {
        self.new_superuser_secret(name, ROOT_PASSWORD, extra).await
    }
}
