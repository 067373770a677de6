//! The one error type of the rotation core, with stable `errorType` names.
//!
//! Every message says what went wrong and what to fix. No message ever carries a secret value:
//! variants hold key names, version ids, step names and service error codes, never a password.

use std::fmt;

/// The Secrets Manager error codes the rotation logic reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiErrorCode {
    /// `ResourceNotFoundException`: no such secret, version, or the version has no value.
    ResourceNotFound,
    /// `ResourceExistsException`: the token was already used with a different value.
    ResourceExists,
    /// `InvalidParameterException`: e.g. a label move that names the wrong source version.
    InvalidParameter,
    /// `InvalidRequestException`: e.g. a version id and stage that do not belong together.
    InvalidRequest,
    /// Any other service code, or none (transport failure, timeout).
    Other(String),
}

impl ApiErrorCode {
    /// Maps a service error code string to the enum.
    pub fn from_code(code: Option<&str>) -> Self {
        match code {
            Some("ResourceNotFoundException") => Self::ResourceNotFound,
            Some("ResourceExistsException") => Self::ResourceExists,
            Some("InvalidParameterException") => Self::InvalidParameter,
            Some("InvalidRequestException") => Self::InvalidRequest,
            Some(other) => Self::Other(other.to_string()),
            None => Self::Other("no error code (transport failure or timeout)".to_string()),
        }
    }
}

impl fmt::Display for ApiErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ResourceNotFound => f.write_str("ResourceNotFoundException"),
            Self::ResourceExists => f.write_str("ResourceExistsException"),
            Self::InvalidParameter => f.write_str("InvalidParameterException"),
            Self::InvalidRequest => f.write_str("InvalidRequestException"),
            Self::Other(code) => f.write_str(code),
        }
    }
}

/// An AWS service API other than Secrets Manager, as its errors name it. The core knows no
/// service but RDS (its shared lookups); each adapter declares the services it calls, with the
/// `errorType` its users alarm on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceApi {
    /// The service's name in messages, e.g. "RDS".
    pub name: &'static str,
    /// The stable `errorType` of a failed call, e.g. "RdsApiError". Shipped names never change.
    pub error_type: &'static str,
    /// What to check when a call fails: the function's permissions for these calls and its
    /// route to the API.
    pub hint: &'static str,
}

impl ServiceApi {
    /// The [`RotationError::Service`] of a call to `operation` that failed with `code` and
    /// the service's `message`; its message ends with the service's [`hint`](Self::hint).
    pub fn error(
        self,
        operation: &'static str,
        code: ApiErrorCode,
        message: String,
    ) -> RotationError {
        RotationError::Service {
            service: self,
            operation,
            code,
            message,
        }
    }
}

impl fmt::Display for ServiceApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A database server's error: its code (a PostgreSQL SQLSTATE, a MySQL error number...) and,
/// when it is safe to repeat, its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// What kind of code this is, e.g. "SQLSTATE".
    pub scheme: &'static str,
    /// The code, e.g. "28P01".
    pub code: String,
    /// The server's message; None when the statement carried password material (the message
    /// can quote the statement).
    pub message: Option<String>,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.scheme, self.code)?;
        match &self.message {
            Some(m) => write!(f, ": {m}"),
            None => Ok(()),
        }
    }
}

/// The cause of an error, kept for `source()` (never a secret).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

fn server_part(server: &Option<Box<ServerError>>) -> String {
    server
        .as_ref()
        .map(|s| format!("; {s}"))
        .unwrap_or_default()
}

fn statement_part(server: &Option<Box<ServerError>>, source: &Option<Cause>) -> String {
    match (server, source) {
        (Some(s), _) => s.to_string(),
        (None, Some(cause)) => format!("no server error code ({cause})"),
        (None, None) => "no server error code (connection problem)".to_string(),
    }
}

/// Everything that can make a rotation step fail.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The invocation payload is not a rotation event.
    #[error("malformed rotation event: {0}. Secrets Manager sends {{\"SecretId\", \"ClientRequestToken\", \"Step\"}}; check what invoked this function")]
    InvalidEvent(String),

    /// `Step` is not one of the four rotation steps.
    #[error("invalid step parameter '{step}': expected createSecret, setSecret, testSecret or finishSecret")]
    InvalidStep {
        /// The step name received (not secret).
        step: String,
    },

    /// DescribeSecret reports `RotationEnabled: false`.
    #[error("secret {secret} is not enabled for rotation; enable rotation on the secret before invoking this function")]
    RotationNotEnabled {
        /// The secret ARN or name.
        secret: String,
    },

    /// The token is not a version of the secret.
    #[error("secret version {token} has no stage for rotation of secret {secret}; start the rotation with RotateSecret so that it creates this version")]
    UnknownVersion {
        /// The secret ARN or name.
        secret: String,
        /// The ClientRequestToken.
        token: String,
    },

    /// The token is a version of the secret, but neither AWSCURRENT nor AWSPENDING.
    #[error("secret version {token} is not set as AWSPENDING for rotation of secret {secret}; AWSPENDING is on {pending_on}. Cancel or finish the other rotation first")]
    VersionNotPending {
        /// The secret ARN or name.
        secret: String,
        /// The ClientRequestToken.
        token: String,
        /// Where AWSPENDING is instead ("no version" if nowhere).
        pending_on: String,
    },

    /// A staging label sits on more than one version (an emulator artefact; the real service
    /// never does this). Nothing is changed.
    #[error("staging label {label} is attached to more than one version of secret {secret} ({versions}); repair the labels with UpdateSecretVersionStage before rotating")]
    LabelConflict {
        /// The secret ARN or name.
        secret: String,
        /// The label.
        label: String,
        /// The versions carrying it.
        versions: String,
    },

    /// The secret value is not what this function expects (bad JSON, missing or invalid key).
    #[error("malformed secret ({which}): {problem}")]
    MalformedSecret {
        /// Which version: "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS" or "master secret".
        which: String,
        /// What is wrong, naming the key but never a value.
        problem: String,
    },

    /// The secret's `engine` is not one this function rotates.
    #[error("database engine must be set to {expected} in order to use this rotation function; the {which} secret says '{found}'")]
    WrongEngine {
        /// Which version of the secret.
        which: String,
        /// The accepted engine names.
        expected: String,
        /// The engine found (not secret).
        found: String,
    },

    /// A Secrets Manager API call failed.
    #[error("Secrets Manager {operation} failed with {code}: {message}")]
    SecretsManager {
        /// The API operation, e.g. `GetSecretValue`.
        operation: &'static str,
        /// The service error code.
        code: ApiErrorCode,
        /// The service's message (service messages do not contain secret values).
        message: String,
    },

    /// A call to an AWS service API other than Secrets Manager failed (the RDS lookups, or a
    /// service an adapter calls). Its `errorType` is the service's own
    /// ([`ServiceApi::error_type`]), stable per service.
    #[error("{service} {operation} failed with {code}: {message}. {}", .service.hint)]
    Service {
        /// The service, as errors name it.
        service: ServiceApi,
        /// The API operation, e.g. `DescribeDBInstances`.
        operation: &'static str,
        /// The service error code.
        code: ApiErrorCode,
        /// The service's message (service messages do not contain secret values).
        message: String,
    },

    /// A service resource is not in a state that allows the step yet (e.g. an ElastiCache user
    /// still `modifying`); nothing was changed, and a retry continues.
    #[error("not ready: {0}")]
    ServiceNotReady(String),

    /// The function's configuration (environment variables) is invalid.
    #[error("invalid configuration: {variable} {problem}")]
    Configuration {
        /// The environment variable name.
        variable: String,
        /// What is wrong with it, and what is allowed.
        problem: String,
    },

    /// The database refused the credentials of a secret version.
    #[error("the database at {host} refused the {which} credentials of user {user} (wrong password or no such login){}{hint}", server_part(.server))]
    AuthenticationFailed {
        /// Which version: "AWSPENDING", "AWSCURRENT", "AWSPREVIOUS" or "master secret".
        which: String,
        /// The database user (not secret).
        user: String,
        /// The host.
        host: String,
        /// The server's error, when it sent one.
        server: Option<Box<ServerError>>,
        /// Extra guidance, starting with "; " when present.
        hint: String,
    },

    /// The database could not be reached (DNS, connection refused, timeout).
    #[error("cannot reach the database at {host}:{port} with the {which} secret: {detail}. Check the host and port keys, security groups and VPC routing")]
    DatabaseUnreachable {
        /// Which version.
        which: String,
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// What failed (no secret in it).
        detail: String,
    },

    /// The database refused a login for capacity, not for the credentials: its connection
    /// slots are full (PostgreSQL SQLSTATE 53300, MySQL/MariaDB 1040), the user's connection
    /// limit is reached (MySQL/MariaDB 1203, 1226), or it accepts no connections just now
    /// (PostgreSQL 57P03: starting up, shutting down, recovering). Nothing about the
    /// credentials was learnt; AWSCURRENT never moves on it, and the step is safe to retry.
    #[error("the database at {host}:{port} refused the {which} login of user {user} for capacity, not for its credentials ({server}){hint}. The step is safe to retry and Secrets Manager retries it; if this keeps happening, raise the server's connection limit (max_connections, or the user's connection limit) or stagger the rotations of secrets on this server")]
    DatabaseAtCapacity {
        /// Which credentials: "AWSPENDING", "AWSCURRENT", "AWSPREVIOUS" or "master secret".
        which: String,
        /// The database user (not secret).
        user: String,
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The server's error (a login error carries no secret).
        server: Box<ServerError>,
        /// Where in the step it happened and what that leaves, starting with "; " when present.
        hint: String,
    },

    /// TLS could not be established or the server certificate did not verify.
    #[error("TLS to {host}:{port} failed with the {which} secret: {detail}. No plaintext fallback was tried; fix the certificate or trust its CA (EXTRA_CA_CERTS), or set \"ssl\": false to allow plaintext")]
    TlsFailure {
        /// Which version.
        which: String,
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// What failed.
        detail: String,
    },

    /// On the plaintext fallback (`ALLOW_PLAINTEXT_FALLBACK`), the server asked for the password
    /// in a form that hands it over; the connection was cut before any password material was
    /// sent. Reported as `TlsFailure`: TLS could not be used and nothing was sent in plaintext.
    #[error("TLS to {host}:{port} could not be used with the {which} secret: the server offered no TLS, and on the plaintext fallback it asked for the password {request}. The connection was cut and no password was sent; set \"ssl\": true in the secret (TLS required) or enable TLS on the server")]
    FallbackAuthRefused {
        /// Which version.
        which: String,
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// How the server asked for the password, and why that is refused.
        request: String,
    },

    /// A SQL statement failed. `server` carries the server's code and, for statements that
    /// carry no password material, its message.
    #[error("database statement failed ({operation}): {}", statement_part(.server, .source))]
    Database {
        /// What was being done, e.g. "create the clone user".
        operation: String,
        /// The server's error, when it sent one.
        server: Option<Box<ServerError>>,
        /// The driver's error, when it is safe to keep (never for statements with password
        /// material).
        #[source]
        source: Option<Cause>,
    },

    /// The pending secret names another user, host or port than the current one, or the
    /// superuser secret is for another server: refusing to change anything.
    #[error("refusing to rotate: {0}. createSecret copies AWSCURRENT, so an AWSPENDING that differs there was not made by this function")]
    ConfusedDeputy(String),

    /// setSecret could not apply the pending secret to the service.
    #[error("setSecret failed: {0}")]
    SetSecret(String),

    /// testSecret found that the pending secret does not work.
    #[error("testSecret failed: {0}")]
    TestSecret(String),

    /// The generic function was given a secret with an `engine` key: a database secret whose
    /// password it would change without changing the database's, locking every client out.
    #[error("the {which} secret has an engine key ('{engine}'): it looks like a database secret, and the generic function would change its password without telling the database, locking every client out. Deploy {use_instead} instead; if the generic function really is meant for this secret, set ALLOW_ENGINE_KEY=true (template parameter allowEngineKey)")]
    EngineKeyRefused {
        /// Which version of the secret.
        which: String,
        /// The `engine` value found (not secret).
        engine: String,
        /// The rotation type(s) to deploy instead.
        use_instead: String,
    },

    /// finishSecret refused to move AWSCURRENT because a check of the pending version failed.
    /// Nothing was changed.
    #[error("finishSecret refused to make version {token} AWSCURRENT: {check} ({source}). AWSCURRENT was not moved; run setSecret and testSecret for this version, or start a new rotation")]
    FinishRefused {
        /// The ClientRequestToken.
        token: String,
        /// Which check failed.
        check: &'static str,
        /// Why.
        #[source]
        source: Box<RotationError>,
    },

    /// The server accepted a password change, but the new credentials do not log in.
    #[error("the database accepted the new password of user {user} but the AWSPENDING credentials do not log in ({source}); {outcome}")]
    PasswordChangeUnverified {
        /// The user whose password was changed.
        user: String,
        /// What was done about it (rolled back, or what to do by hand).
        outcome: String,
        /// Why the login failed.
        #[source]
        source: Box<RotationError>,
    },

    /// A label moved under a running finishSecret in a way it did not plan: someone else is
    /// rotating this secret. Nothing more was changed.
    #[error("AWSCURRENT of secret {secret} moved to version {found} while finishSecret was promoting {token} (it was on {expected}); another rotation or a person changed the labels. Nothing more was changed; check the labels before rotating again")]
    ConcurrentLabelChange {
        /// The secret ARN.
        secret: String,
        /// The ClientRequestToken.
        token: String,
        /// Where AWSCURRENT was when the step started.
        expected: String,
        /// Where it is now.
        found: String,
    },

    /// A statement would carry a password as plaintext into a server log that records it
    /// (MySQL and MariaDB: the general query log the session cannot leave, an audit plugin
    /// that logs the statement as sent). Nothing was changed; the deployer can turn the log
    /// off, let the session leave it, exclude the user, or accept the password in the log
    /// (`ALLOW_PASSWORD_IN_SERVER_LOG`).
    #[error("refusing to send the new password of user {user} as plaintext: {log}. Nothing was changed. To rotate without the password in a log: {fixes}. To rotate anyway, accepting the password in that log, set ALLOW_PASSWORD_IN_SERVER_LOG=true (template parameter allowPasswordInServerLog)")]
    PasswordWouldBeLogged {
        /// The user whose password would be sent (not secret).
        user: String,
        /// Which log would record it and why: variable names and values, never a password.
        log: String,
        /// What to change on the server so that no log records it.
        fixes: String,
    },

    /// The database server is one this function does not support (too old, or a setting it
    /// does not understand). Nothing was changed.
    #[error("unsupported database server: {0}")]
    UnsupportedServer(String),

    /// The step did not finish within the invocation's time (Lambda's deadline, less a margin
    /// to answer): it was stopped wherever it was, as Lambda would have stopped it, but with a
    /// typed answer. Every step is idempotent, so Secrets Manager's retry is safe.
    #[error("the {step} step did not finish within the function's time ({budget_ms} ms were left when it started; it was stopped {margin_ms} ms before Lambda's deadline to answer). Every step is safe to retry: usually a route to Secrets Manager, the database or a service API is missing (see the network checklist), or the timeout is too short for a wait (raise the template's timeout)")]
    TimedOut {
        /// The step (or `preflight`).
        step: String,
        /// The time the step had, in milliseconds.
        budget_ms: u64,
        /// The time kept back to answer before Lambda's deadline, in milliseconds.
        margin_ms: u64,
    },

    /// The function panicked while handling the invocation: a bug. The panic's message is never
    /// kept (it can hold a row from a server or a secret), only where it happened.
    #[error("the function hit an internal error (a bug) at {location}; nothing after that point ran, and the step can be retried. The panic message is not reported, as it may hold data from a server or a secret")]
    Internal {
        /// `file:line` of the panic.
        location: String,
    },
}

impl RotationError {
    /// The stable `errorType` reported to Lambda and logged; safe to alarm on.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::InvalidStep { .. } => "InvalidStep",
            Self::RotationNotEnabled { .. } => "RotationNotEnabled",
            Self::UnknownVersion { .. } => "UnknownVersion",
            Self::VersionNotPending { .. } => "VersionNotPending",
            Self::LabelConflict { .. } => "LabelConflict",
            Self::MalformedSecret { .. } => "MalformedSecret",
            Self::WrongEngine { .. } => "WrongEngine",
            Self::SecretsManager { .. } => "SecretsManagerError",
            Self::Configuration { .. } => "ConfigurationError",
            Self::Service { service, .. } => service.error_type,
            Self::ServiceNotReady(_) => "ServiceNotReady",
            Self::AuthenticationFailed { .. } => "AuthenticationFailed",
            Self::DatabaseUnreachable { .. } => "DatabaseUnreachable",
            Self::DatabaseAtCapacity { .. } => "DatabaseAtCapacity",
            Self::TlsFailure { .. } | Self::FallbackAuthRefused { .. } => "TlsFailure",
            Self::Database { .. } => "DatabaseError",
            Self::ConfusedDeputy(_) => "ConfusedDeputy",
            Self::SetSecret(_) => "SetSecretFailed",
            Self::TestSecret(_) => "TestSecretFailed",
            Self::EngineKeyRefused { .. } => "EngineKeyRefused",
            Self::FinishRefused { .. } => "FinishSecretRefused",
            Self::PasswordChangeUnverified { .. } => "PasswordChangeUnverified",
            Self::ConcurrentLabelChange { .. } => "ConcurrentLabelChange",
            Self::PasswordWouldBeLogged { .. } => "PasswordWouldBeLogged",
            Self::UnsupportedServer(_) => "UnsupportedServer",
            Self::TimedOut { .. } => "StepTimedOut",
            Self::Internal { .. } => "InternalError",
        }
    }

    /// True when the database refused a login for capacity ([`Self::DatabaseAtCapacity`]):
    /// the credentials were not judged, so it never counts as a refusal of them.
    pub fn is_at_capacity(&self) -> bool {
        matches!(self, Self::DatabaseAtCapacity { .. })
    }

    /// The service error code, when this is a Secrets Manager error.
    pub fn api_code(&self) -> Option<&ApiErrorCode> {
        match self {
            Self::SecretsManager { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for a Secrets Manager `ResourceNotFoundException`.
    pub fn is_not_found(&self) -> bool {
        self.api_code() == Some(&ApiErrorCode::ResourceNotFound)
    }

    /// True for a Secrets Manager `ResourceExistsException`.
    pub fn is_resource_exists(&self) -> bool {
        self.api_code() == Some(&ApiErrorCode::ResourceExists)
    }

    /// Shorthand for a [`RotationError::MalformedSecret`].
    pub fn malformed(which: &str, problem: impl Into<String>) -> Self {
        Self::MalformedSecret {
            which: which.to_string(),
            problem: problem.into(),
        }
    }
}

impl From<RotationError> for lambda_runtime::Diagnostic {
    fn from(err: RotationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: err.error_type().to_string(),
            error_message: err.to_string(),
        }
    }
}

/// The result type of the rotation core.
pub type Result<T, E = RotationError> = std::result::Result<T, E>;
