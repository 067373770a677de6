//! The rotation core: everything an AWS Secrets Manager rotation function needs that does not
//! depend on the database it rotates.
//!
//! Data flows one way: event -> preamble ([`dispatch`]) -> step ([`steps`]) -> the function's
//! [`steps::Rotation`] hooks. Label logic lives in [`labels`], Secrets Manager access behind
//! [`store::SecretStore`].
#![deny(clippy::all)]
#![warn(missing_docs)]

pub mod dispatch;
pub mod error;
pub mod event;
pub mod labels;
pub mod password;
pub mod runtime;
pub mod secret;
pub mod settings;
pub mod steps;
pub mod store;
pub mod strategy;
pub mod telemetry;
pub mod tls;

pub use error::{ApiErrorCode, Result, RotationError};
pub use event::{RotationEvent, Step};
pub use password::{PasswordDefaults, PasswordPolicy};
pub use secret::{DatabaseSecret, JsonSecret, SecretValue};
pub use steps::{Rotation, StepContext};
pub use store::{MemoryStore, SdkStore, SecretStore};
