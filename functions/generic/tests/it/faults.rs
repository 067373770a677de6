//! Faults at every Secrets Manager call of a generic rotation, through an SDK interceptor on
//! the function's real client (an error answer, a throttling answer, no answer), once and four
//! times in a row, driven as the service drives a rotation; and any step delivered twice at
//! any point. After every invocation each label
//! sits on at most one version and AWSCURRENT holds a JSON secret with a password; every
//! scenario ends with a completed rotation whose new password follows the policy.

use std::future::Future;
use std::pin::Pin;

use rotation_core::labels::{self, AWSCURRENT, AWSPENDING};
use rotation_core::{JsonSecret, SecretValue, Step};
use rotation_generic::{GenericRotation, PASSWORD_DEFAULTS};
use rotation_testkit::{assert_labels_unique, event, Harness, SmFault, SmFaults};

/// Calls of the function's client in one clean rotation.
const CALLS: usize = 12;

async fn invariants(bed: &Harness<GenericRotation>, arn: &str) {
    let stages = bed.driver.stages(arn).await;
    assert_labels_unique(&stages);
    let current = bed.driver.value(arn, AWSCURRENT).await;
    JsonSecret::parse(&SecretValue::new(current), AWSCURRENT).expect("AWSCURRENT is a secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secrets_manager_call_can_fail_and_awscurrent_stays_a_secret() {
    let faults = SmFaults::new();
    let bed = Harness::new(GenericRotation::default(), PASSWORD_DEFAULTS)
        .await
        .with_faults(&faults)
        .await;
    let mut scenarios = 0;
    for kind in SmFault::ALL {
        for at in 1..=CALLS {
            for times in [1, 4] {
                let name = format!("{kind:?} at call {at} x{times}");
                let arn = bed
                    .secret("faults", r#"{"username":"u","password":"before-faults"}"#)
                    .await;
                faults.fail(at, kind, times);
                let check = || -> Pin<Box<dyn Future<Output = ()> + '_>> {
                    Box::pin(invariants(&bed, &arn))
                };
                let token = bed
                    .rotate_as_the_service_does(&arn, 3, &check)
                    .await
                    .unwrap_or_else(|| panic!("{name}: no rotation completed"));
                assert!(faults.injected() > 0, "{name}: the fault was not reached");
                let stages = bed.driver.stages(&arn).await;
                assert_eq!(
                    labels::versions_with(&stages, AWSCURRENT),
                    vec![token.as_str()],
                    "{name}"
                );
                assert!(
                    labels::versions_with(&stages, AWSPENDING).is_empty(),
                    "{name}"
                );
                let (_, password) = bed.current(&arn).await;
                bed.policy
                    .check(&password)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                scenarios += 1;
            }
        }
    }
    assert_eq!(scenarios, 3 * CALLS * 2);
}

#[tokio::test]
async fn any_step_delivered_at_any_point_twice_changes_nothing_it_should_not() {
    let bed = Harness::new(GenericRotation::default(), PASSWORD_DEFAULTS).await;
    let mut deliveries = 0;
    for done in 0..=4 {
        for extra in Step::ALL {
            let name = format!("{extra} after {done} steps");
            let arn = bed
                .secret("order", r#"{"username":"u","password":"before-order"}"#)
                .await;
            let token = bed.driver.start(&arn).await.unwrap();
            for step in &Step::ALL[..done] {
                bed.invoke(event(&arn, &token, *step))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {step}: {e}"));
            }
            for _ in 0..2 {
                if let Err(e) = bed.invoke(event(&arn, &token, extra)).await {
                    // Only a step before createSecret (no AWSPENDING value yet) or a finish
                    // the guard refuses may fail, each with its typed error.
                    let too_early = e.starts_with("SecretsManagerError: ")
                        && e.contains("ResourceNotFound")
                        && e.contains(AWSPENDING);
                    let refused = e.starts_with("FinishSecretRefused: ");
                    assert!(too_early || refused, "{name}: {e}");
                }
                invariants(&bed, &arn).await;
                deliveries += 1;
            }
            for step in &Step::ALL[done..] {
                bed.invoke(event(&arn, &token, *step))
                    .await
                    .unwrap_or_else(|e| panic!("{name}: then {step}: {e}"));
                invariants(&bed, &arn).await;
            }
            let stages = bed.driver.stages(&arn).await;
            assert_eq!(
                labels::versions_with(&stages, AWSCURRENT),
                vec![token.as_str()],
                "{name}"
            );
        }
    }
    assert_eq!(deliveries, 5 * 4 * 2);
}
