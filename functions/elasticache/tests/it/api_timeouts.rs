//! The ElastiCache SDK client's timeouts: an API endpoint that accepts the connection and never
//! answers (a hung call) gives the typed `ElastiCacheApiError` within the client's operation
//! timeout ([`API_OPERATION_TIMEOUT`]), well before Lambda would stop the process, for
//! DescribeUsers and ModifyUser alike.

use std::time::{Duration, Instant};

use rotation_core::SecretValue;
use rotation_elasticache::{SdkElastiCache, UserApi, UserArn, API_OPERATION_TIMEOUT};

/// A loopback HTTP endpoint that accepts connections and never answers.
async fn silent_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_hung_elasticache_api_is_a_typed_error_within_the_operation_timeout() {
    let api = SdkElastiCache::with_endpoint(silent_endpoint().await);
    let user = UserArn {
        region: "us-east-1".into(),
        user_id: "u-hung".into(),
    };
    let passwords = [SecretValue::new("Pending-Pa55word-0001")];
    let started = Instant::now();
    let limit = Duration::from_secs(8);
    let (describe, modify) = tokio::join!(
        tokio::time::timeout(limit, api.describe(&user)),
        tokio::time::timeout(limit, api.set_passwords(&user, &passwords)),
    );
    let elapsed = started.elapsed();
    let describe = describe.expect("DescribeUsers answers within the limit");
    let modify = modify.expect("ModifyUser answers within the limit");
    for (operation, err) in [
        ("DescribeUsers", describe.unwrap_err()),
        ("ModifyUser", modify.unwrap_err()),
    ] {
        assert_eq!(err.error_type(), "ElastiCacheApiError", "{err}");
        assert!(err.to_string().contains(operation), "{err}");
        assert!(err.to_string().contains("timeout"), "{err}");
        assert!(!err.to_string().contains("Pending-Pa55word-0001"), "{err}");
    }
    assert!(
        elapsed < API_OPERATION_TIMEOUT + Duration::from_secs(1),
        "{elapsed:?}"
    );
}
