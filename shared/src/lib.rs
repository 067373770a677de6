//! The shared crate of the rotation functions.
//!
//! - The engine-agnostic core, always built: the rotation event ([`RotationEvent`]), staging
//!   labels ([`labels`]), the preamble and step dispatch ([`handle_invocation`], and behind
//!   the panic guard [`handle_invocation_guarded`]), createSecret and finishSecret
//!   ([`Rotation`]), Secrets Manager behind [`SecretStore`], secret values, the password
//!   policy, [`Settings`] (every environment variable, read once), logs ([`telemetry`]) and
//!   the Lambda entry point ([`serve`]).
//! - [`database`] (feature `database`): the database secret, the engine trait, single user and
//!   alternating users, TLS, superuser-secret resolution; the RDS API lookups through the SDK
//!   with feature `rds`.
//! - [`anchors`] (feature `tls`, part of `database`): the trust anchors, for a function that
//!   opens TLS connections without the database layer (ElastiCache).
//!
//! No database driver is linked here: each wire protocol is a crate under `functions/` that
//! implements [`database::Database`] and [`database::Driver`].
//! - Feature `test-support`: the strict in-memory store ([`MemoryStore`]) and a fake engine.
//!
//! Data flows one way: event -> preamble -> step -> strategy -> engine.
#![deny(clippy::all)]
#![warn(missing_docs)]

mod dispatch;
mod error;
mod event;
mod flags;
mod guard;
pub mod labels;
pub mod metrics;
mod password;
mod pem;
pub mod preflight;
pub mod report;
mod runtime;
mod secret;
mod settings;
mod steps;
mod store;
pub mod telemetry;

#[cfg(feature = "tls")]
pub mod anchors;
#[cfg(feature = "database")]
pub mod database;

pub use dispatch::{handle_invocation, handle_invocation_guarded, Outcome};
pub use error::{ApiErrorCode, Cause, Result, RotationError, ServerError, ServiceApi};
pub use event::{RotationEvent, Step};
pub use flags::{flag_value, parse_flag};
pub use guard::install_panic_hook;
pub use password::{CharClass, PasswordDefaults, PasswordPolicy, PUNCTUATION};
pub use preflight::{handle_preflight, is_preflight, Check, PreflightOptions, Report};
pub use runtime::serve;
pub use secret::{JsonSecret, SecretValue};
pub use settings::{
    arn_matches, Settings, StrategyKind, ALLOW_ENGINE_KEY, ALLOW_PASSWORD_IN_SERVER_LOG,
    ALLOW_PLAINTEXT_FALLBACK, AWS_ENDPOINT_URL_RDS, AWS_LAMBDA_LOG_LEVEL, CLONE_ACTS_AS_ORIGINAL,
    DEFAULT_LOG_FILTER, ELASTICACHE_USER_ARNS, EMIT_METRICS, EXTRA_CA_CERTS, MASTER_SECRET_ARNS,
    MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS, ROTATION_STRATEGY, ROTATION_TYPE, RUST_LOG,
    SECRETS_MANAGER_ENDPOINT, SECRET_ARN, USERNAME_CHARACTER_LIMIT, USER_NAME, VARIABLES,
    VERIFY_RDS_IDENTIFIERS, WAITING_RETRY_INTERVAL_IN_SECONDS,
};
pub use steps::{create_secret, finish_secret, move_labels, CreateOutcome, Rotation, StepContext};
pub use store::{
    aws_http_client, sdk_config, sdk_error_parts, sdk_http_client, SdkStore, SecretMetadata,
    SecretStore, SecretVersion, AMAZON_ROOTS, SDK_ATTEMPT_TIMEOUT, SDK_CONNECT_TIMEOUT,
    SDK_OPERATION_TIMEOUT,
};
#[cfg(feature = "test-support")]
pub use store::{MemoryStore, StoreCall};
