//! The proving scenarios shared by every rotation function: faults at every Secrets Manager call
//! and any step delivered at any point ([`ProvingBed`]: any function whose credentials a test
//! can try), and, for database functions, faults at every database action ([`DbProvingBed`]),
//! each checked against the invariants after every invocation.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use rotation_core::labels::{self, AWSCURRENT, AWSPENDING};
use rotation_core::{Rotation, Step};
use serde_json::{json, Value};

use crate::harness::{event, unique, Harness};
use crate::{Classifier, DbFault, DbFaultProxy, SmFault, SmFaults};

/// What the Secrets Manager fault and out-of-order scenarios need from a test bed.
pub trait ProvingBed: Deref<Target = Harness<Self::Function>> + Sized {
    /// The function under test.
    type Function: Rotation;
    /// The server's code for a refused login ("28P01", "1045", "WRONGPASS").
    const REFUSED: &'static str;
    /// Logs in directly to the sandbox server; the refusal code on failure.
    fn login(&self, user: &str, password: &str) -> impl Future<Output = Result<(), String>>;
    /// A fresh original user (password `u-Pa55word`, where the service takes it) that can read
    /// something, and its secret (database alternating users: with a dedicated superuser named
    /// by `masterarn`). Returns (user, secret ARN).
    fn fresh_pair(&self, tag: &str) -> impl Future<Output = (String, String)>;
    /// The same bed whose function's Secrets Manager client has `faults` injected.
    fn faulty(self, faults: &SmFaults) -> impl Future<Output = Self>;
    /// Alternating users, after a completed rotation of `arn`: the two users of the pair are
    /// interchangeable as the engine models it, and every account of each holds its user's
    /// password where a user has several. Panics otherwise. By default the invariants (both
    /// users log in) are all there is to check.
    fn check_pair(&self, arn: &str) -> impl Future<Output = ()> {
        let _ = arn;
        async {}
    }
}

/// What the database-fault scenarios need beyond [`ProvingBed`].
pub trait DbProvingBed: ProvingBed {
    /// How the fault proxy reads the protocol's messages.
    fn classifier(&self) -> std::sync::Arc<dyn Classifier>;
    /// The sandbox server's port.
    fn server_port(&self) -> u16;
    /// A new user `<prefix>_<unique>` and its secret with `extra` keys: (user, ARN).
    fn new_user_with_secret(
        &self,
        prefix: &str,
        password: &str,
        extra: Value,
    ) -> impl Future<Output = (String, String)>;
    /// A new superuser `name` and its secret with `extra` keys: the ARN.
    fn new_superuser_secret(
        &self,
        name: &str,
        password: &str,
        extra: Value,
    ) -> impl Future<Output = String>;
    /// How many connections one login opens (the MongoDB driver opens a monitoring connection
    /// beside the authenticated one). By default one.
    fn connections_per_login(&self) -> usize {
        1
    }
    /// Alternating users: gives `user` a second account (on another host, with `password`),
    /// where the engine has one account per host, so a change must be made, and proved,
    /// account by account. By default nothing.
    fn second_account(&self, user: &str, password: &str) -> impl Future<Output = ()> {
        let _ = (user, password);
        async {}
    }
}

/// The invariants after any invocation: each label on at most one version; AWSCURRENT logs in
/// (single user: or AWSPENDING, between setSecret and finishSecret).
pub async fn invariants<B: ProvingBed>(bed: &B, arn: &str, single: bool) {
    let stages = bed.driver.stages(arn).await;
    crate::assert_labels_unique(&stages);
    let (user, password) = bed.current(arn).await;
    if bed.login(&user, &password).await.is_ok() {
        return;
    }
    assert!(
        single,
        "alternating users: AWSCURRENT {user} must always log in"
    );
    let (pending_user, pending_password) = bed.creds(arn, AWSPENDING).await;
    bed.login(&pending_user, &pending_password)
        .await
        .unwrap_or_else(|e| panic!("neither AWSCURRENT nor AWSPENDING logs in: {e}"));
}

/// Rotates `arn` as the service does with the invariants checked after every invocation, then
/// asserts the end state: the rotation completed, AWSCURRENT is its token and logs in, no
/// AWSPENDING is left, and (single user) `old_password` of `user` is refused.
async fn rotate_and_check<B: ProvingBed>(
    bed: &B,
    name: &str,
    arn: &str,
    single: bool,
    user: &str,
    old_password: &str,
) {
    let check =
        || -> Pin<Box<dyn Future<Output = ()> + '_>> { Box::pin(invariants(bed, arn, single)) };
    let token = bed
        .rotate_as_the_service_does(arn, 3, &check)
        .await
        .unwrap_or_else(|| panic!("{name}: no rotation completed"));
    let stages = bed.driver.stages(arn).await;
    assert_eq!(
        labels::versions_with(&stages, AWSCURRENT),
        vec![token.as_str()],
        "{name}"
    );
    assert!(
        labels::versions_with(&stages, AWSPENDING).is_empty(),
        "{name}: {stages:?}"
    );
    let (u, pw) = bed.current(arn).await;
    bed.login(&u, &pw)
        .await
        .unwrap_or_else(|e| panic!("{name}: AWSCURRENT: {e}"));
    if single {
        assert_eq!(
            bed.login(user, old_password).await,
            Err(B::REFUSED.into()),
            "{name}: the old password is refused"
        );
    } else {
        bed.check_pair(arn).await;
    }
}

/// Every Secrets Manager call of a rotation (`calls` of them) fails in turn, as each kind of
/// fault, once and four times in a row. A clean rotation first proves that a rotation makes
/// exactly `calls` calls, so none goes unfaulted. `bed`'s function must use a client with
/// `faults` ([`ProvingBed::faulty`]). Returns the number of scenarios.
pub async fn prove_sm_faults<B: ProvingBed>(
    bed: &B,
    faults: &SmFaults,
    calls: usize,
    single: bool,
) -> usize {
    let (user, arn) = bed.fresh_pair("clean").await;
    faults.clear();
    rotate_and_check(bed, "clean rotation", &arn, single, &user, "u-Pa55word").await;
    assert_eq!(
        faults.calls(),
        calls,
        "a clean rotation makes exactly this many Secrets Manager calls"
    );
    let mut scenarios = 0;
    for kind in SmFault::ALL {
        for at in 1..=calls {
            for times in [1, 4] {
                let name = format!("{kind:?} at call {at} x{times}");
                let (user, arn) = bed.fresh_pair("fault").await;
                faults.fail(at, kind, times);
                rotate_and_check(bed, &name, &arn, single, &user, "u-Pa55word").await;
                assert!(faults.injected() > 0, "{name}: the fault was not reached");
                scenarios += 1;
            }
        }
    }
    scenarios
}

/// A user (alternating users: with a superuser and, where the engine has accounts per host,
/// a second account) whose secrets name `proxy` and plaintext: (user, secret ARN).
async fn user_behind<B: DbProvingBed>(
    bed: &B,
    proxy: &DbFaultProxy,
    single: bool,
) -> (String, String) {
    let via_proxy = json!({"port": proxy.port, "ssl": false});
    if single {
        return bed
            .new_user_with_secret("dbfault", "DbFault-Pa55", via_proxy)
            .await;
    }
    let master_name = format!("dbfault_master_{}", unique());
    let master = bed
        .new_superuser_secret(&master_name, "Master-Pa55", via_proxy.clone())
        .await;
    let mut extra = via_proxy;
    extra["masterarn"] = json!(master);
    let (user, arn) = bed
        .new_user_with_secret("dbfault", "DbFault-Pa55", extra)
        .await;
    bed.second_account(&user, "DbFault-Pa55").await;
    (user, arn)
}

/// Every database connection of a rotation (`connections` of them) is refused in turn, and
/// every statement that changes a user, a password or a privilege is cut off after sending or
/// fails, in turn; once and four times in a row; on a fresh secret and on one rotated once
/// already (the other direction of a pair, and a user that exists). Clean rotations first
/// prove the connection count and count the statements of each case, so none goes unfaulted.
/// The secrets name `proxy` and plaintext. Returns the number of scenarios.
pub async fn prove_db_faults<B: DbProvingBed>(
    bed: &B,
    proxy: &DbFaultProxy,
    connections: usize,
    single: bool,
) -> usize {
    let (user, arn) = user_behind(bed, proxy, single).await;
    let mut statements = Vec::new();
    for round in ["fresh", "rotated"] {
        let (_, old) = bed.current(&arn).await;
        proxy.clear();
        rotate_and_check(bed, &format!("clean {round}"), &arn, single, &user, &old).await;
        let (seen, changing) = proxy.counts();
        assert_eq!(
            seen, connections,
            "a clean {round} rotation opens exactly this many connections"
        );
        assert!(changing > 0, "a clean {round} rotation changes something");
        statements.push((round, changing));
    }
    let mut scenarios = 0;
    for (round, changing) in statements {
        let mut plans: Vec<(DbFault, usize)> = (1..=connections)
            .map(|at| (DbFault::RefuseConnection, at))
            .collect();
        for at in 1..=changing {
            plans.push((DbFault::DropAfterStatement, at));
            plans.push((DbFault::FailStatement, at));
        }
        for (kind, at) in plans {
            for times in [1, 4] {
                let name = format!("{round}: {kind:?} #{at} x{times}");
                let (user, arn) = user_behind(bed, proxy, single).await;
                if round == "rotated" {
                    proxy.clear();
                    rotate_and_check(
                        bed,
                        &format!("{name}, first"),
                        &arn,
                        single,
                        &user,
                        "DbFault-Pa55",
                    )
                    .await;
                }
                let (_, old) = bed.current(&arn).await;
                proxy.fail(kind, at, times);
                rotate_and_check(bed, &name, &arn, single, &user, &old).await;
                assert!(proxy.injected() > 0, "{name}: the fault was not reached");
                scenarios += 1;
            }
        }
    }
    scenarios
}

/// Every step delivered twice after every prefix of a rotation (0 to 4 steps done): each
/// delivery does its work or is refused with a typed error, the invariants hold, and the rest
/// of the rotation, in order, completes it. Returns the number of stray deliveries.
pub async fn prove_out_of_order<B: ProvingBed>(bed: &B, single: bool) -> usize {
    let mut deliveries = 0;
    for done in 0..=4 {
        for extra in Step::ALL {
            let name = format!("{extra} after {done} steps");
            let (_, arn) = bed.fresh_pair("order").await;
            let token = bed.driver.start(&arn).await.expect("RotateSecret");
            for step in &Step::ALL[..done] {
                bed.invoke(event(&arn, &token, *step))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {step}: {e}"));
                invariants(bed, &arn, single).await;
            }
            for _ in 0..2 {
                if let Err(e) = bed.invoke(event(&arn, &token, extra)).await {
                    let typed = e.split(": ").next().unwrap_or_default();
                    let refused = [
                        "FinishSecretRefused",
                        "AuthenticationFailed",
                        "TestSecretFailed",
                    ]
                    .contains(&typed);
                    // A step before createSecret: no AWSPENDING value yet.
                    let too_early = typed == "SecretsManagerError"
                        && e.contains("ResourceNotFound")
                        && e.contains(AWSPENDING);
                    assert!(refused || too_early, "{name}: {e}");
                }
                invariants(bed, &arn, single).await;
                deliveries += 1;
            }
            for step in &Step::ALL[done..] {
                bed.invoke(event(&arn, &token, *step))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: then {step}: {e}"));
                invariants(bed, &arn, single).await;
            }
            let stages = bed.driver.stages(&arn).await;
            assert_eq!(
                labels::versions_with(&stages, AWSCURRENT),
                vec![token.as_str()],
                "{name}"
            );
            if !single {
                bed.check_pair(&arn).await;
            }
        }
    }
    deliveries
}

/// (strategy, Secrets Manager calls, database connections) of one clean rotation of a database
/// function (the same for every engine: the strategies make the calls and the logins).
pub const SHAPES: [(&str, usize, usize); 2] = [("single", 12, 4), ("alternating", 13, 6)];

/// The three proving suites for one database function, `make_bed(strategy)` building its bed.
/// Each checks, at its end, that no password of the secrets it made reached the logs, and
/// returns its count.
pub mod suites {
    use std::future::Future;

    use super::{
        prove_db_faults, prove_out_of_order, prove_sm_faults, DbProvingBed, ProvingBed, SHAPES,
    };
    use crate::{DbFaultProxy, LogCapture, SmFaults};

    /// Every Secrets Manager call fails in turn: returns the scenarios (3 kinds x (12 + 13)
    /// calls x once / four times = 150).
    pub async fn secrets_manager_faults<B, F, Fut>(make_bed: F) -> usize
    where
        B: ProvingBed,
        F: Fn(&'static str) -> Fut,
        Fut: Future<Output = B>,
    {
        let logs = LogCapture::global();
        let (mut scenarios, mut passwords) = (0, Vec::new());
        for (strategy, calls, _) in SHAPES {
            let faults = SmFaults::new();
            let bed = make_bed(strategy).await.faulty(&faults).await;
            scenarios += prove_sm_faults(&bed, &faults, calls, strategy == "single").await;
            passwords.extend(bed.created_passwords().await);
        }
        logs.assert_none_of(&passwords);
        scenarios
    }

    /// Every database connection and changing statement fails in turn, on fresh and rotated
    /// secrets: returns the scenarios (engine-specific: the statements are counted).
    pub async fn database_faults<B, F, Fut>(make_bed: F) -> usize
    where
        B: DbProvingBed,
        F: Fn(&'static str) -> Fut,
        Fut: Future<Output = B>,
    {
        let logs = LogCapture::global();
        let (mut scenarios, mut passwords) = (0, Vec::new());
        for (strategy, _, connections) in SHAPES {
            let bed = make_bed(strategy).await;
            let proxy = DbFaultProxy::start(bed.classifier(), bed.server_port()).await;
            let connections = connections * bed.connections_per_login();
            scenarios += prove_db_faults(&bed, &proxy, connections, strategy == "single").await;
            passwords.extend(bed.created_passwords().await);
        }
        logs.assert_none_of(&passwords);
        scenarios
    }

    /// Every step twice after every prefix: returns the stray deliveries (80).
    pub async fn out_of_order<B, F, Fut>(make_bed: F) -> usize
    where
        B: ProvingBed,
        F: Fn(&'static str) -> Fut,
        Fut: Future<Output = B>,
    {
        let logs = LogCapture::global();
        let (mut deliveries, mut passwords) = (0, Vec::new());
        for (strategy, _, _) in SHAPES {
            let bed = make_bed(strategy).await;
            deliveries += prove_out_of_order(&bed, strategy == "single").await;
            passwords.extend(bed.created_passwords().await);
        }
        logs.assert_none_of(&passwords);
        deliveries
    }
}
