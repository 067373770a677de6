//! Rotation benchmark against the sandbox (moto + PostgreSQL 15): wall time of full rotations as
//! the rotation driver measures them, per-step latency, and Secrets Manager calls per rotation.
//!
//! eval "$(scripts/sandbox.sh env)"   # after scripts/sandbox.sh start
//! cargo run --release -p postgresql --example rotation_bench -- 30

use std::time::Duration;

use rotation_core::database::{client_config, Strategy};
use rotation_core::postgres::{Connector, Dialect, PgEngine, Postgres};
use rotation_core::{
    handle_invocation as handle, PasswordDefaults, PasswordPolicy, SdkStore, Step,
};
use rotation_testkit::{unique, CountingStore, Moto, PgAdmin, RotationDriver};
use serde_json::json;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(label: &str, unit: &str, mut v: Vec<f64>) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    println!(
        "{label:<34} n={:<3} min {:>7.1}{unit}  median {:>7.1}{unit}  p95 {:>7.1}{unit}  max {:>7.1}{unit}",
        v.len(),
        v[0],
        pct(0.5),
        pct(0.95),
        v[v.len() - 1]
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let moto = Moto::from_env();
    let pg = PgAdmin::from_env();
    let driver = RotationDriver::new(&moto).await;
    let store = CountingStore::new(SdkStore::new(moto.client().await));
    let policy = PasswordPolicy::from_lookup(PasswordDefaults::POSTGRES, |_| None).unwrap();
    let tls = client_config(Some(&pg.ca), false).unwrap();

    for (strategy, ssl) in [("single", false), ("single", true), ("alternating", true)] {
        let dialect = Postgres::default();
        let connector = Connector::new(
            tls.clone(),
            dialect.default_port(),
            dialect.default_dbname(),
        );
        let function =
            Strategy::from_name(Some(strategy), PgEngine::new(dialect, connector)).unwrap();
        let user = format!("bench_{}", unique());
        pg.create_login("postgres", &user, "Bench-Pa55", false, &[])
            .await;
        let master_arn = driver
            .create_secret(
                &format!("bench-master-{}", unique()),
                &json!({"engine": "postgres", "host": pg.host, "port": pg.port, "username": pg.user, "password": pg.password()}).to_string(),
            )
            .await;
        let secret = json!({"engine": "postgres", "host": pg.host, "port": pg.port, "username": user,
            "password": "Bench-Pa55", "dbname": "postgres", "ssl": ssl, "masterarn": master_arn});
        let arn = driver
            .create_secret(&format!("bench-{}", unique()), &secret.to_string())
            .await;
        let (mut totals, mut calls) = (Vec::new(), Vec::new());
        let mut steps: Vec<Vec<f64>> = vec![Vec::new(); 4];
        store.take();
        let (store, function, policy) = (&store, &function, &policy);
        for _ in 0..n {
            let run = driver
                .rotate(&arn, |e| async move {
                    handle(store, function, policy, &e)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
                .await;
            assert!(run.succeeded(), "{:?}", run.failure());
            totals.push(ms(run.elapsed));
            calls.push(store.take() as f64);
            for s in &run.steps {
                steps[Step::ALL.iter().position(|x| *x == s.step).unwrap()].push(ms(s.elapsed));
            }
        }
        let transport = if ssl { "verified TLS" } else { "plain TCP" };
        println!("PostgreSQL {strategy} user, {transport}, {n} rotations:");
        summary("  full rotation (4 steps)", " ms", totals);
        for (i, step) in Step::ALL.iter().enumerate() {
            summary(&format!("  {step}"), " ms", steps[i].clone());
        }
        summary("  Secrets Manager calls/rotation", "   ", calls);
    }
}
