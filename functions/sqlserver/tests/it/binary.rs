//! The real `sqlserver` binary (its `main` and the shared `serve`), run as Lambda runs it: a
//! child process polling a loopback Lambda Runtime API, moto as Secrets Manager through
//! `AWS_ENDPOINT_URL`, proxy variables on a dead loopback port, the stand-in as the server,
//! trusted only through `EXTRA_CA_CERTS`. Both strategies rotate.

use std::path::Path;

use crate::testbed::Bed;
use rotation_testkit::{rotate_with_binary, sandbox_var, ProvingBed};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sqlserver"))
}

#[tokio::test]
async fn the_sqlserver_binary_rotates_both_strategies() {
    let ca = sandbox_var("SANDBOX_TLS_CA");
    for strategy in ["single", "alternating"] {
        let bed = Bed::new(strategy).await;
        let (login, arn) = bed.fresh_pair("binary").await;
        rotate_with_binary(binary(), strategy, &ca, &bed.driver, &arn).await;
        bed.assert_current_logs_in(&arn).await;
        if strategy == "single" {
            assert_eq!(bed.current(&arn).await.0, login);
            assert_ne!(bed.server.password(&login).as_deref(), Some("u-Pa55word"));
        } else {
            assert_eq!(bed.current(&arn).await.0, format!("{login}_clone"));
            assert_eq!(bed.server.password(&login).as_deref(), Some("u-Pa55word"));
        }
    }
}
