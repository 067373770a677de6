//! The ElastiCache user rotation function (binary `elasticache`), our counterpart of
//! `SecretsManagerElasticacheUserRotation`: rotates the password of an ElastiCache (Redis OSS /
//! Valkey) RBAC user through the ElastiCache API, with **both** passwords live during the
//! change, so clients on either keep working and no second user is needed.
//!
//! - Scope, in every step and the preflight, before anything else: the secret's `user_arn`
//!   must match an entry of `ELASTICACHE_USER_ARNS` (the template's `elastiCacheUserArns`;
//!   the function does not start without it), and `username` must be `USER_NAME` when set.
//!   The role may change exactly those users; whoever can write the secret must not be able to
//!   point it at any other (`ConfusedDeputy`).
//! - createSecret (the core): a new password under the policy, every other key kept; refused
//!   before anything is written when AWSCURRENT names a user outside the list ([`rotation_core::Rotation::validate`]).
//! - setSecret: the pending secret must name the same user (every key but `password`). Done
//!   already when the cache accepts the pending password (a retry, or a concurrent invocation;
//!   that changes nothing, and proves its writer knows a live password). Otherwise, when the
//!   secret names an endpoint, the cache must accept `AUTH` with AWSCURRENT first (proof that
//!   the secret holds the user's password; refused or unreachable: nothing is changed). Then it
//!   waits (bounded by the step's deadline) until the user is `active` under `username` with
//!   the ARN the secret names; after a wait it reads the labels again; then `ModifyUser` with
//!   exactly the pending and the current password. The password no longer `AWSCURRENT` or
//!   `AWSPENDING` (last rotation's old one) is dropped there, so a user never holds more than
//!   two.
//! - testSecret: waits for `active` again; when the secret names an endpoint, `AUTH username
//!   password` with the pending password over verified TLS must succeed (an endpoint it cannot
//!   reach proves nothing: refused).
//! - finishSecret (the core's guarded label move): with an endpoint, the pending password is
//!   proved with AUTH (unreachable: refused). Without one, nothing can read what ElastiCache
//!   holds, so the guard sets both passwords again as setSecret does (idempotent, labels read
//!   again after a wait) rather than promote one it cannot prove.
//!
//! Each step has one deadline ([`ElastiCacheRotation::step_deadline`]): the wait never plans a
//! sleep past it, AUTH never waits past it, and ModifyUser is not started without the time for
//! it; every SDK call has operation timeouts ([`API_OPERATION_TIMEOUT`]).
//!
//! This is also the worked example of a rotation for a service that is not a database: the
//! service behind a trait ([`UserApi`]), the steps in plain functions, the core doing the rest.
#![deny(clippy::all)]
#![warn(missing_docs)]

mod api;
mod auth;
mod policy;
mod rotation;
mod sdk;
mod secret;
mod steps;

pub use api::{
    elasticache_code, not_found, wait_until_active, Active, BoxFuture, CacheUser, UserApi,
    WaitPolicy, ELASTICACHE_API,
};
pub use auth::{authenticate, AuthOutcome, AUTH_TIMEOUT};
pub use policy::{
    check_policy, DEFAULT_INTERVAL, DEFAULT_MAX_WAIT, MAX_WAIT_LIMIT, PASSWORD_DEFAULTS,
    REFUSED_CHARACTERS, STEP_RESERVE, USER_ARNS_PARAMETER,
};
pub use rotation::{build, build_with, ElastiCacheRotation};
pub use sdk::{SdkElastiCache, API_ATTEMPT_TIMEOUT, API_CONNECT_TIMEOUT, API_OPERATION_TIMEOUT};
pub use secret::{Endpoint, UserArn, UserSecret, DEFAULT_PORT, TLS_SERVER_NAME};
