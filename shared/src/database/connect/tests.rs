//! Unit tests of `connect.rs` (kept apart so the module stays small): what the policy hands a
//! driver in each [`ConnectMode`], without a server.

use std::sync::Mutex;

use super::*;
use crate::SecretValue;

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the test driver opens nothing")
    }
}

impl std::error::Error for Refused {}

/// What a driver was handed: (address, server name, TLS on).
type Seen = (String, u16, bool, String, bool);

/// A driver that records each attempt and then fails as `failure` says.
struct Recording<const OWNS_SOCKET: bool> {
    seen: Mutex<Vec<Seen>>,
    failure: fn() -> LoginFailure,
}

impl<const OWNS_SOCKET: bool> Recording<OWNS_SOCKET> {
    fn new(failure: fn() -> LoginFailure) -> Self {
        Self {
            seen: Mutex::new(Vec::new()),
            failure,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl<const OWNS_SOCKET: bool> Driver for Recording<OWNS_SOCKET> {
    type Session = ();
    type Error = Refused;
    const MODE: ConnectMode = if OWNS_SOCKET {
        ConnectMode::Driver { name: "Test" }
    } else {
        ConnectMode::Stream
    };

    async fn open(&self, attempt: &Attempt<'_>) -> std::result::Result<(), OpenError<Refused>> {
        let resolved = matches!(attempt.address, Address::Resolved(_));
        self.seen.lock().unwrap().push((
            attempt.address.host(),
            attempt.address.port(),
            resolved,
            attempt.server_name.to_string(),
            attempt.tls.is_some(),
        ));
        Err(OpenError::Driver(Refused))
    }

    fn classify(&self, _error: &Refused) -> LoginFailure {
        (self.failure)()
    }
}

const IDENTITY: EngineIdentity = EngineIdentity {
    binary: "test",
    engines: &["test"],
    default_port: 27017,
    default_dbname: Some("admin"),
    username_limit: super::super::NameLimit::Chars(63),
    aws_managed_domains: &[".docdb.amazonaws.com"],
    password_defaults: crate::password::PasswordDefaults::STANDARD,
    quirks: super::super::Quirks::NONE,
};

fn secret(extra: serde_json::Value) -> DatabaseSecret {
    let mut json = serde_json::json!({"host": "db.example", "username": "u", "password": "p"});
    for (k, v) in extra.as_object().unwrap() {
        json[k] = v.clone();
    }
    DatabaseSecret::parse(&SecretValue::new(json.to_string()), "AWSCURRENT").unwrap()
}

fn policy() -> ConnectPolicy {
    ConnectPolicy::new(TrustAnchors::new(None, false).unwrap()).with_plaintext_fallback(true)
}

#[test]
fn a_driver_that_owns_its_socket_waits_after_its_own_timeouts() {
    assert_eq!(ConnectMode::Stream.deadline(), CONNECT_TIMEOUT);
    let driver = ConnectMode::Driver { name: "Test" };
    assert!(driver.deadline() > CONNECT_TIMEOUT);
    assert_eq!(driver.deadline(), DRIVER_LOGIN_DEADLINE);
    assert!(ConnectMode::Stream.can_fall_back());
    assert!(!driver.can_fall_back());
}

#[tokio::test]
async fn a_driver_that_owns_its_socket_never_falls_back_to_plaintext() {
    // The deployment allows the fallback and the secret leaves `ssl` out: a driver that takes
    // streams would be offered it; one that owns its socket gets verified TLS or nothing.
    let driver = Recording::<true>::new(|| LoginFailure::NoTlsOnServer);
    let e = policy()
        .connect(
            &driver,
            &IDENTITY,
            &secret(serde_json::json!({})),
            Which::Current,
        )
        .await
        .unwrap_err();
    match e {
        RotationError::TlsFailure { detail, port, .. } => {
            assert_eq!(detail, NO_TLS_ON_SERVER);
            assert_eq!(port, 27017);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        driver.seen(),
        vec![("db.example".into(), 27017, false, "db.example".into(), true)]
    );
    // `"ssl": false` is plaintext, as the secret says.
    let driver = Recording::<true>::new(|| LoginFailure::Unreachable("refused".into()));
    let e = policy()
        .connect(
            &driver,
            &IDENTITY,
            &secret(serde_json::json!({"ssl": false, "port": 1234})),
            Which::Current,
        )
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "DatabaseUnreachable", "{e}");
    assert_eq!(
        driver.seen(),
        vec![("db.example".into(), 1234, false, "db.example".into(), false)]
    );
}

#[tokio::test]
async fn a_driver_that_owns_its_socket_gets_no_tls_server_name_but_the_host() {
    let driver = Recording::<true>::new(|| LoginFailure::Refused {
        server: None,
        hint: String::new(),
    });
    let other = secret(serde_json::json!({"tlsServerName": "other.example"}));
    let e = policy()
        .connect(&driver, &IDENTITY, &other, Which::Pending)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert_eq!(e.error_type(), "MalformedSecret", "{text}");
    assert!(
        text.contains("tlsServerName other.example differs from host db.example: the Test driver verifies the certificate for the host it connects to"),
        "{text}"
    );
    assert!(driver.seen().is_empty(), "nothing is opened");
    // The same name in another case is the host.
    let same = secret(serde_json::json!({"tlsServerName": "DB.Example"}));
    let e = policy()
        .connect(&driver, &IDENTITY, &same, Which::Pending)
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "AuthenticationFailed", "{e}");
    assert_eq!(
        driver.seen(),
        vec![("db.example".into(), 27017, false, "db.example".into(), true)]
    );
}

#[cfg(feature = "test-support")]
#[tokio::test]
async fn a_test_redirect_is_a_name_for_a_driver_that_owns_its_socket_and_an_address_otherwise() {
    let to: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let policy = policy().with_test_host("db.example", to, "localhost");
    let owns = Recording::<true>::new(|| LoginFailure::Tls("refused".into()));
    let e = policy
        .connect(
            &owns,
            &IDENTITY,
            &secret(serde_json::json!({})),
            Which::Superuser,
        )
        .await
        .unwrap_err();
    // Messages name the secret's host and port.
    match e {
        RotationError::TlsFailure { host, port, .. } => {
            assert_eq!((host.as_str(), port), ("db.example", 27017))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        owns.seen(),
        vec![("localhost".into(), 4000, false, "localhost".into(), true)]
    );
    let streams = Recording::<false>::new(|| LoginFailure::Tls("refused".into()));
    policy
        .connect(
            &streams,
            &IDENTITY,
            &secret(serde_json::json!({})),
            Which::Superuser,
        )
        .await
        .unwrap_err();
    assert_eq!(
        streams.seen(),
        vec![("127.0.0.1".into(), 4000, true, "localhost".into(), true)]
    );
}

#[tokio::test]
async fn a_login_refused_for_capacity_is_at_capacity_for_every_secret_and_never_a_refusal() {
    // The driver read a capacity code; the policy reports it once, as `DatabaseAtCapacity`,
    // with the secret's user, host, port and the server's code, and no password.
    fn full() -> LoginFailure {
        LoginFailure::AtCapacity(ServerError {
            scheme: "SQLSTATE",
            code: "53300".into(),
            message: Some("sorry, too many clients already".into()),
        })
    }
    for which in [
        Which::Current,
        Which::Pending,
        Which::Previous,
        Which::Superuser,
    ] {
        let driver = Recording::<false>::new(full);
        let e = policy()
            .connect(
                &driver,
                &IDENTITY,
                &secret(
                    serde_json::json!({"ssl": false, "port": 5432, "password": "Zq7-never-shown"}),
                ),
                which,
            )
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "DatabaseAtCapacity", "{e}");
        assert!(e.is_at_capacity());
        match &e {
            RotationError::DatabaseAtCapacity {
                which: w,
                user,
                host,
                port,
                server,
                hint,
            } => {
                assert_eq!(w, which.label());
                assert_eq!(
                    (user.as_str(), host.as_str(), *port),
                    ("u", "db.example", 5432)
                );
                assert_eq!(server.code, "53300");
                assert!(hint.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "the database at db.example:5432 refused the {which} login of user u for capacity, not for its credentials (SQLSTATE 53300: sorry, too many clients already)."
            )),
            "{text}"
        );
        for advice in [
            "safe to retry",
            "Secrets Manager retries",
            "max_connections",
            "stagger",
        ] {
            assert!(text.contains(advice), "{advice}: {text}");
        }
        assert!(!text.contains("Zq7-never-shown"), "{text}");
    }
}
