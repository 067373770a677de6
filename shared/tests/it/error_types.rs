//! Every `errorType` users see, pinned: alarms and log filters match these names, so a change
//! to one must fail here.

use rotation_core::{ApiErrorCode, RotationError, ServiceApi};

/// Each variant's place in the enum: a match without a wildcard, so a new variant does not
/// compile until it has a sample (and its `errorType` a pinned name) below.
fn variant(err: &RotationError) -> usize {
    use RotationError as E;
    match err {
        E::InvalidEvent(_) => 0,
        E::InvalidStep { .. } => 1,
        E::RotationNotEnabled { .. } => 2,
        E::UnknownVersion { .. } => 3,
        E::VersionNotPending { .. } => 4,
        E::LabelConflict { .. } => 5,
        E::MalformedSecret { .. } => 6,
        E::WrongEngine { .. } => 7,
        E::SecretsManager { .. } => 8,
        E::Service { .. } => 9,
        E::ServiceNotReady(_) => 10,
        E::Configuration { .. } => 11,
        E::AuthenticationFailed { .. } => 12,
        E::DatabaseUnreachable { .. } => 13,
        E::TlsFailure { .. } => 14,
        E::FallbackAuthRefused { .. } => 15,
        E::Database { .. } => 16,
        E::ConfusedDeputy(_) => 17,
        E::SetSecret(_) => 18,
        E::TestSecret(_) => 19,
        E::EngineKeyRefused { .. } => 20,
        E::FinishRefused { .. } => 21,
        E::PasswordChangeUnverified { .. } => 22,
        E::ConcurrentLabelChange { .. } => 23,
        E::PasswordWouldBeLogged { .. } => 24,
        E::UnsupportedServer(_) => 25,
        E::TimedOut { .. } => 26,
        E::Internal { .. } => 27,
        E::DatabaseAtCapacity { .. } => 28,
    }
}
const VARIANTS: usize = 29;

fn s(text: &str) -> String {
    text.to_string()
}

/// One error of every variant, with the `errorType` users see for it (alarms and log
/// filters match these names: a change here breaks them).
fn pinned() -> Vec<(RotationError, &'static str)> {
    let code = || ApiErrorCode::from_code(Some("AccessDeniedException"));
    let login = || RotationError::AuthenticationFailed {
        which: s("AWSPENDING"),
        user: s("app"),
        host: s("h"),
        server: None,
        hint: String::new(),
    };
    let service = |name, error_type| RotationError::Service {
        service: ServiceApi {
            name,
            error_type,
            hint: "Check it",
        },
        operation: "Describe",
        code: code(),
        message: s("denied"),
    };
    vec![
        (RotationError::InvalidEvent(s("x")), "InvalidEvent"),
        (RotationError::InvalidStep { step: s("x") }, "InvalidStep"),
        (
            RotationError::RotationNotEnabled { secret: s("s") },
            "RotationNotEnabled",
        ),
        (
            RotationError::UnknownVersion {
                secret: s("s"),
                token: s("t"),
            },
            "UnknownVersion",
        ),
        (
            RotationError::VersionNotPending {
                secret: s("s"),
                token: s("t"),
                pending_on: s("v"),
            },
            "VersionNotPending",
        ),
        (
            RotationError::LabelConflict {
                secret: s("s"),
                label: s("AWSCURRENT"),
                versions: s("a, b"),
            },
            "LabelConflict",
        ),
        (
            RotationError::malformed("AWSCURRENT", "x"),
            "MalformedSecret",
        ),
        (
            RotationError::WrongEngine {
                which: s("AWSCURRENT"),
                expected: s("postgres"),
                found: s("mysql"),
            },
            "WrongEngine",
        ),
        (
            RotationError::SecretsManager {
                operation: "GetSecretValue",
                code: code(),
                message: s("denied"),
            },
            "SecretsManagerError",
        ),
        // A service's errorType is its descriptor's: each descriptor's name is pinned next
        // to it (`RDS_API`: RdsApiError, in the database layer's tests; `REDSHIFT_API`:
        // RedshiftApiError, in the postgresql crate; `ELASTICACHE_API`:
        // ElastiCacheApiError, in the elasticache crate), with its whole message.
        (service("RDS", "RdsApiError"), "RdsApiError"),
        (RotationError::ServiceNotReady(s("x")), "ServiceNotReady"),
        (
            RotationError::Configuration {
                variable: s("V"),
                problem: s("x"),
            },
            "ConfigurationError",
        ),
        (login(), "AuthenticationFailed"),
        (
            RotationError::DatabaseUnreachable {
                which: s("AWSCURRENT"),
                host: s("h"),
                port: 5432,
                detail: s("refused"),
            },
            "DatabaseUnreachable",
        ),
        (
            RotationError::DatabaseAtCapacity {
                which: s("AWSPENDING"),
                user: s("app"),
                host: s("h"),
                port: 5432,
                server: Box::new(rotation_core::ServerError {
                    scheme: "SQLSTATE",
                    code: s("53300"),
                    message: None,
                }),
                hint: String::new(),
            },
            "DatabaseAtCapacity",
        ),
        (
            RotationError::TlsFailure {
                which: s("AWSCURRENT"),
                host: s("h"),
                port: 5432,
                detail: s("x"),
            },
            "TlsFailure",
        ),
        (
            RotationError::FallbackAuthRefused {
                which: s("AWSCURRENT"),
                host: s("h"),
                port: 5432,
                request: s("in cleartext"),
            },
            "TlsFailure",
        ),
        (
            RotationError::Database {
                operation: s("x"),
                server: None,
                source: None,
            },
            "DatabaseError",
        ),
        (RotationError::ConfusedDeputy(s("x")), "ConfusedDeputy"),
        (RotationError::SetSecret(s("x")), "SetSecretFailed"),
        (RotationError::TestSecret(s("x")), "TestSecretFailed"),
        (
            RotationError::EngineKeyRefused {
                which: s("AWSCURRENT"),
                engine: s("postgres"),
                use_instead: s("PostgreSQLSingleUser"),
            },
            "EngineKeyRefused",
        ),
        (
            RotationError::FinishRefused {
                token: s("t"),
                check: "logs in",
                source: Box::new(login()),
            },
            "FinishSecretRefused",
        ),
        (
            RotationError::PasswordChangeUnverified {
                user: s("app"),
                outcome: s("x"),
                source: Box::new(login()),
            },
            "PasswordChangeUnverified",
        ),
        (
            RotationError::ConcurrentLabelChange {
                secret: s("s"),
                token: s("t"),
                expected: s("a"),
                found: s("b"),
            },
            "ConcurrentLabelChange",
        ),
        (
            RotationError::PasswordWouldBeLogged {
                user: s("app"),
                log: s("x"),
                fixes: s("y"),
            },
            "PasswordWouldBeLogged",
        ),
        (
            RotationError::UnsupportedServer(s("x")),
            "UnsupportedServer",
        ),
        (
            RotationError::TimedOut {
                step: s("setSecret"),
                budget_ms: 1,
                margin_ms: 1,
            },
            "StepTimedOut",
        ),
        (
            RotationError::Internal {
                location: s("f.rs:1"),
            },
            "InternalError",
        ),
    ]
}

#[test]
fn every_error_type_name_is_pinned() {
    let mut seen = [false; VARIANTS];
    for (err, name) in pinned() {
        seen[variant(&err)] = true;
        assert_eq!(err.error_type(), name, "{err:?}");
        // What Lambda reports is the same name.
        assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, name);
    }
    assert!(
        seen.iter().all(|s| *s),
        "a variant has no pinned errorType: {seen:?}"
    );
}

#[test]
fn a_service_error_reads_as_the_service_variants_did() {
    let err = ServiceApi {
        name: "RDS",
        error_type: "RdsApiError",
        hint: "Check the function's rds:Describe* permissions and its route to the RDS API (AWS_ENDPOINT_URL_RDS)",
    }
    .error(
        "DescribeDBInstances",
        ApiErrorCode::from_code(Some("AccessDenied")),
        s("not authorized"),
    );
    assert_eq!(
        err.to_string(),
        "RDS DescribeDBInstances failed with AccessDenied: not authorized. Check the function's rds:Describe* permissions and its route to the RDS API (AWS_ENDPOINT_URL_RDS)"
    );
    assert_eq!(err.api_code(), None, "not a Secrets Manager error");
}
