//! The proving scenarios shared by every PostgreSQL-wire function (feature `postgres`): faults
//! at every Secrets Manager call and every database action, and any step delivered at any
//! point, each checked against the invariants after every invocation.

use std::future::Future;
use std::pin::Pin;

use rotation_core::labels::{self, AWSCURRENT, AWSPENDING};
use rotation_core::postgres::Dialect;
use rotation_core::Step;
use serde_json::json;

use crate::harness::{event, unique};
use crate::pg::Bed;
use crate::{DbFault, PgFaultProxy, SmFault, SmFaults};

impl<D: Dialect> Bed<D> {
    /// The invariants after any invocation: each label on at most one version; AWSCURRENT logs
    /// in (single user: or AWSPENDING, between setSecret and finishSecret).
    pub async fn invariants(&self, arn: &str, single: bool) {
        let stages = self.driver.stages(arn).await;
        crate::assert_labels_unique(&stages);
        let (user, password) = self.current(arn).await;
        if self.login(&user, &password, false).await.is_ok() {
            return;
        }
        assert!(
            single,
            "alternating users: AWSCURRENT {user} must always log in"
        );
        let (pending_user, pending_password) = self.creds(arn, AWSPENDING).await;
        self.login(&pending_user, &pending_password, false)
            .await
            .unwrap_or_else(|e| panic!("neither AWSCURRENT nor AWSPENDING logs in: {e}"));
    }

    /// Rotates `arn` as the service does with the invariants checked after every invocation,
    /// then asserts the end state: the rotation completed, AWSCURRENT is its token and logs
    /// in, no AWSPENDING is left, and (single user) `old_password` of `user` is refused.
    async fn rotate_and_check(
        &self,
        name: &str,
        arn: &str,
        single: bool,
        user: &str,
        old_password: &str,
    ) {
        let check =
            || -> Pin<Box<dyn Future<Output = ()> + '_>> { Box::pin(self.invariants(arn, single)) };
        let token = self
            .rotate_as_the_service_does(arn, 3, &check)
            .await
            .unwrap_or_else(|| panic!("{name}: no rotation completed"));
        let stages = self.driver.stages(arn).await;
        assert_eq!(
            labels::versions_with(&stages, AWSCURRENT),
            vec![token.as_str()],
            "{name}"
        );
        assert!(
            labels::versions_with(&stages, AWSPENDING).is_empty(),
            "{name}: {stages:?}"
        );
        let (u, pw) = self.current(arn).await;
        self.login(&u, &pw, false)
            .await
            .unwrap_or_else(|e| panic!("{name}: AWSCURRENT: {e}"));
        if single {
            assert_eq!(
                self.login(user, old_password, false).await,
                Err("28P01".into()),
                "{name}: the old password is refused"
            );
        }
    }

    /// Every Secrets Manager call of a rotation (`calls` of them) fails in turn, as each kind
    /// of fault, once and four times in a row. This bed's function must use a client with
    /// `faults` ([`Bed::with_faults`]). Returns the number of scenarios.
    pub async fn prove_sm_faults(&self, faults: &SmFaults, calls: usize, single: bool) -> usize {
        let mut scenarios = 0;
        for kind in SmFault::ALL {
            for at in 1..=calls {
                for times in [1, 4] {
                    let name = format!("{kind:?} at call {at} x{times}");
                    let (user, _, arn, _) = self.alternating_pair("fault").await;
                    faults.fail(at, kind, times);
                    self.rotate_and_check(&name, &arn, single, &user, "u-Pa55word")
                        .await;
                    assert!(faults.injected() > 0, "{name}: the fault was not reached");
                    scenarios += 1;
                }
            }
        }
        scenarios
    }

    /// Every database connection of a rotation (`connections` of them) is refused in turn, and
    /// the password statement is cut off after sending or fails; once and four times in a
    /// row. The secrets name `proxy` and plaintext. Returns the number of scenarios.
    pub async fn prove_db_faults(
        &self,
        proxy: &PgFaultProxy,
        connections: usize,
        single: bool,
    ) -> usize {
        let mut plans: Vec<(DbFault, usize)> = (1..=connections)
            .map(|at| (DbFault::RefuseConnection, at))
            .collect();
        plans.push((DbFault::DropAfterStatement, 1));
        plans.push((DbFault::FailStatement, 1));
        let mut scenarios = 0;
        for (kind, at) in plans {
            for times in [1, 4] {
                let name = format!("{kind:?} #{at} x{times}");
                let via_proxy = json!({"port": proxy.port, "ssl": false});
                let (user, arn) = if single {
                    self.user_with_secret("dbfault", "DbFault-Pa55", via_proxy)
                        .await
                } else {
                    let master_name = format!("dbfault_master_{}", unique());
                    let master = self
                        .superuser_secret(&master_name, "Master-Pa55", via_proxy.clone())
                        .await;
                    let mut extra = via_proxy;
                    extra["masterarn"] = json!(master);
                    self.user_with_secret("dbfault", "DbFault-Pa55", extra)
                        .await
                };
                proxy.fail(kind, at, times);
                self.rotate_and_check(&name, &arn, single, &user, "DbFault-Pa55")
                    .await;
                assert!(proxy.injected() > 0, "{name}: the fault was not reached");
                scenarios += 1;
            }
        }
        scenarios
    }

    /// Every step delivered twice after every prefix of a rotation (0 to 4 steps done): each
    /// delivery does its work or is refused with a typed error, the invariants hold, and the
    /// rest of the rotation, in order, completes it. Returns the number of stray deliveries.
    pub async fn prove_out_of_order(&self, single: bool) -> usize {
        let mut deliveries = 0;
        for done in 0..=4 {
            for extra in Step::ALL {
                let name = format!("{extra} after {done} steps");
                let (_, _, arn, _) = self.alternating_pair("order").await;
                let token = self.driver.start(&arn).await.expect("RotateSecret");
                for step in &Step::ALL[..done] {
                    self.invoke(event(&arn, &token, *step))
                        .await
                        .unwrap_or_else(|e| panic!("{name}: {step}: {e}"));
                }
                for _ in 0..2 {
                    if let Err(e) = self.invoke(event(&arn, &token, extra)).await {
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
                    self.invariants(&arn, single).await;
                    deliveries += 1;
                }
                for step in &Step::ALL[done..] {
                    self.invoke(event(&arn, &token, *step))
                        .await
                        .unwrap_or_else(|e| panic!("{name}: then {step}: {e}"));
                    self.invariants(&arn, single).await;
                }
                let stages = self.driver.stages(&arn).await;
                assert_eq!(
                    labels::versions_with(&stages, AWSCURRENT),
                    vec![token.as_str()],
                    "{name}"
                );
            }
        }
        deliveries
    }
}

/// (strategy, Secrets Manager calls, database connections) of one clean PostgreSQL-wire
/// rotation.
pub const SHAPES: [(&str, usize, usize); 2] = [("single", 14, 5), ("alternating", 15, 6)];

/// The three proving suites for one PostgreSQL-wire function, `make_bed(strategy)` building
/// its bed. Each checks, at its end, that no password of the secrets it made reached the
/// logs, and returns its count.
pub mod suites {
    use std::future::Future;

    use rotation_core::postgres::Dialect;

    use super::SHAPES;
    use crate::pg::Bed;
    use crate::{LogCapture, PgFaultProxy, SmFaults};

    /// Every Secrets Manager call fails in turn: returns the scenarios (174).
    pub async fn secrets_manager_faults<D, F, Fut>(make_bed: F) -> usize
    where
        D: Dialect,
        F: Fn(&'static str) -> Fut,
        Fut: Future<Output = Bed<D>>,
    {
        let logs = LogCapture::global();
        let (mut scenarios, mut passwords) = (0, Vec::new());
        for (strategy, calls, _) in SHAPES {
            let faults = SmFaults::new();
            let bed = make_bed(strategy).await.with_faults(&faults).await;
            scenarios += bed
                .prove_sm_faults(&faults, calls, strategy == "single")
                .await;
            passwords.extend(bed.created_passwords().await);
        }
        logs.assert_none_of(&passwords);
        scenarios
    }

    /// Every database action fails in turn: returns the scenarios (30).
    pub async fn database_faults<D, F, Fut>(make_bed: F) -> usize
    where
        D: Dialect,
        F: Fn(&'static str) -> Fut,
        Fut: Future<Output = Bed<D>>,
    {
        let logs = LogCapture::global();
        let (mut scenarios, mut passwords) = (0, Vec::new());
        for (strategy, _, connections) in SHAPES {
            let bed = make_bed(strategy).await;
            let proxy = PgFaultProxy::start(bed.pg.port).await;
            scenarios += bed
                .prove_db_faults(&proxy, connections, strategy == "single")
                .await;
            passwords.extend(bed.created_passwords().await);
        }
        logs.assert_none_of(&passwords);
        scenarios
    }

    /// Every step twice after every prefix: returns the stray deliveries (80).
    pub async fn out_of_order<D, F, Fut>(make_bed: F) -> usize
    where
        D: Dialect,
        F: Fn(&'static str) -> Fut,
        Fut: Future<Output = Bed<D>>,
    {
        let logs = LogCapture::global();
        let (mut deliveries, mut passwords) = (0, Vec::new());
        for (strategy, _, _) in SHAPES {
            let bed = make_bed(strategy).await;
            deliveries += bed.prove_out_of_order(strategy == "single").await;
            passwords.extend(bed.created_passwords().await);
        }
        logs.assert_none_of(&passwords);
        deliveries
    }
}
