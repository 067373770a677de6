//! A strict in-memory Secrets Manager for unit tests.
//!
//! It enforces the service rules the emulator does not: a label sits on at most one version;
//! AWSPREVIOUS follows AWSCURRENT; moving a label that is attached elsewhere requires
//! `RemoveFromVersionId` naming that version; reusing a token with a different value is
//! `ResourceExistsException`; a version without a value is `ResourceNotFoundException`.
//! Every operation yields to the scheduler first, so two steps joined together interleave.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{SecretMetadata, SecretStore, SecretVersion};
use crate::error::{ApiErrorCode, Result, RotationError};
use crate::labels::{VersionStages, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::password::PasswordPolicy;
use crate::secret::SecretValue;

/// One call the fake received, for asserting API call counts and order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreCall {
    /// DescribeSecret.
    Describe,
    /// GetSecretValue(secret, stage, version).
    GetValue {
        /// The secret asked for (name or ARN, as given).
        secret_id: String,
        /// The stage asked for.
        stage: String,
        /// The version asked for, if any.
        version_id: Option<String>,
    },
    /// PutSecretValue(token) with AWSPENDING.
    PutPending {
        /// The token.
        token: String,
        /// The `RotationToken` passed on, if any.
        rotation_token: Option<String>,
    },
    /// UpdateSecretVersionStage.
    UpdateStage {
        /// The stage.
        stage: String,
        /// MoveToVersionId.
        move_to: Option<String>,
        /// RemoveFromVersionId.
        remove_from: Option<String>,
    },
    /// GetRandomPassword.
    RandomPassword,
}

impl StoreCall {
    /// The API operation name.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Describe => "DescribeSecret",
            Self::GetValue { .. } => "GetSecretValue",
            Self::PutPending { .. } => "PutSecretValue",
            Self::UpdateStage { .. } => "UpdateSecretVersionStage",
            Self::RandomPassword => "GetRandomPassword",
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Version {
    value: Option<String>,
    labels: Vec<String>,
}

#[derive(Debug, Default)]
struct Secret {
    rotation_enabled: Option<bool>,
    versions: BTreeMap<String, Version>,
    tags: Vec<(String, String)>,
}

#[derive(Debug)]
struct Failure {
    operation: &'static str,
    skip: usize,
    code: ApiErrorCode,
}

#[derive(Debug, Default)]
struct State {
    secrets: HashMap<String, Secret>,
    calls: Vec<StoreCall>,
    failures: VecDeque<Failure>,
}

/// The in-memory fake. Secrets are addressed by name; the ARN is `arn:fake:secret:NAME`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    counter: AtomicU64,
}

const ARN_PREFIX: &str = "arn:fake:secret:";

fn err(operation: &'static str, code: ApiErrorCode, message: impl Into<String>) -> RotationError {
    RotationError::SecretsManager {
        operation,
        code,
        message: message.into(),
    }
}

fn not_found(operation: &'static str, message: impl Into<String>) -> RotationError {
    err(operation, ApiErrorCode::ResourceNotFound, message)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ARN of secret `name`.
    pub fn arn(name: &str) -> String {
        format!("{ARN_PREFIX}{name}")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("00000000-0000-4000-8000-{n:012}")
    }

    /// CreateSecret: one version, labelled AWSCURRENT. Returns the ARN.
    pub fn create_secret(&self, name: &str, value: &str) -> String {
        let id = self.next_id();
        let mut secret = Secret::default();
        secret.versions.insert(
            id,
            Version {
                value: Some(value.to_string()),
                labels: vec![AWSCURRENT.into()],
            },
        );
        self.lock().secrets.insert(name.to_string(), secret);
        Self::arn(name)
    }

    /// What RotateSecret does before it invokes the function: a version named `token` with no
    /// value, labelled AWSPENDING, and rotation enabled. Refused, as by the service, while
    /// AWSPENDING sits on another version.
    pub fn start_rotation(&self, name: &str, token: &str) -> Result<()> {
        let mut state = self.lock();
        let secret = state
            .secrets
            .get_mut(name)
            .ok_or_else(|| not_found("RotateSecret", "no such secret"))?;
        // AWSPENDING left on the AWSCURRENT version is a finished rotation; anywhere else it
        // is one still in progress.
        if let Some((v, _)) = secret.versions.iter().find(|(v, ver)| {
            *v != token
                && ver.labels.iter().any(|l| l == AWSPENDING)
                && !ver.labels.iter().any(|l| l == AWSCURRENT)
        }) {
            return Err(err(
                "RotateSecret",
                ApiErrorCode::InvalidRequest,
                format!("a previous rotation isn't complete: AWSPENDING is on {v}"),
            ));
        }
        secret.rotation_enabled = Some(true);
        for (id, v) in secret.versions.iter_mut() {
            if id != token {
                v.labels.retain(|l| l != AWSPENDING);
            }
        }
        let version = secret.versions.entry(token.to_string()).or_default();
        if !version.labels.iter().any(|l| l == AWSPENDING) {
            version.labels.push(AWSPENDING.into());
        }
        Ok(())
    }

    /// Test setup: put `value` (None: no value) on version `id` with exactly `labels`, taking
    /// the labels off other versions. Bypasses the API rules, to build states such as a stale
    /// AWSPENDING left by a failed rotation.
    pub fn set_version(&self, name: &str, id: &str, value: Option<&str>, labels: &[&str]) {
        let mut state = self.lock();
        let secret = state.secrets.entry(name.to_string()).or_default();
        for v in secret.versions.values_mut() {
            v.labels.retain(|l| !labels.contains(&l.as_str()));
        }
        secret.versions.insert(
            id.to_string(),
            Version {
                value: value.map(str::to_string),
                labels: labels.iter().map(|l| l.to_string()).collect(),
            },
        );
    }

    /// Test setup: the tags DescribeSecret reports.
    pub fn set_tags(&self, name: &str, tags: &[(&str, &str)]) {
        if let Some(s) = self.lock().secrets.get_mut(name) {
            s.tags = tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
    }

    /// Test setup: the `RotationEnabled` DescribeSecret reports.
    pub fn set_rotation_enabled(&self, name: &str, enabled: Option<bool>) {
        if let Some(s) = self.lock().secrets.get_mut(name) {
            s.rotation_enabled = enabled;
        }
    }

    /// Makes the next call of `operation` (e.g. "UpdateSecretVersionStage") fail with `code`.
    pub fn fail_next(&self, operation: &'static str, code: ApiErrorCode) {
        self.fail_call(operation, 0, code);
    }

    /// Lets `skip` calls of `operation` through, then fails the next one with `code`.
    pub fn fail_call(&self, operation: &'static str, skip: usize, code: ApiErrorCode) {
        self.lock().failures.push_back(Failure {
            operation,
            skip,
            code,
        });
    }

    fn take_failure(state: &mut State, operation: &'static str) -> Option<RotationError> {
        let pos = state
            .failures
            .iter()
            .position(|f| f.operation == operation)?;
        let failure = &mut state.failures[pos];
        if failure.skip > 0 {
            failure.skip -= 1;
            return None;
        }
        let failure = state.failures.remove(pos)?;
        Some(err(operation, failure.code, "injected failure"))
    }

    /// `VersionIdsToStages`, including versions that have no label left.
    pub fn stages(&self, name: &str) -> VersionStages {
        self.lock()
            .secrets
            .get(name)
            .map(|s| {
                s.versions
                    .iter()
                    .map(|(id, v)| (id.clone(), v.labels.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The value stored in version `id`.
    pub fn value_of(&self, name: &str, id: &str) -> Option<String> {
        self.lock()
            .secrets
            .get(name)
            .and_then(|s| s.versions.get(id))
            .and_then(|v| v.value.clone())
    }

    /// Every call received so far.
    pub fn calls(&self) -> Vec<StoreCall> {
        self.lock().calls.clone()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    fn name_of(secret_id: &str) -> &str {
        secret_id.strip_prefix(ARN_PREFIX).unwrap_or(secret_id)
    }

    /// Records the call, applies an injected failure, and runs `f` on the secret.
    async fn call<T>(
        &self,
        secret_id: &str,
        call: StoreCall,
        f: impl FnOnce(&mut Secret, &'static str) -> Result<T>,
    ) -> Result<T> {
        tokio::task::yield_now().await;
        let operation = call.operation();
        let mut state = self.lock();
        state.calls.push(call);
        if let Some(e) = Self::take_failure(&mut state, operation) {
            return Err(e);
        }
        let secret = state
            .secrets
            .get_mut(Self::name_of(secret_id))
            .ok_or_else(|| {
                not_found(operation, "Secrets Manager can't find the specified secret")
            })?;
        f(secret, operation)
    }

    fn random_from(&self, alphabet: &[char]) -> char {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(self.counter.fetch_add(1, Ordering::Relaxed));
        alphabet[(hasher.finish() % alphabet.len() as u64) as usize]
    }
}

impl SecretStore for MemoryStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretMetadata> {
        let arn = Self::arn(Self::name_of(secret_id));
        self.call(secret_id, StoreCall::Describe, |s, _| {
            Ok(SecretMetadata {
                arn,
                rotation_enabled: s.rotation_enabled,
                tags: s.tags.clone(),
                // Like the service, versions without labels are not listed.
                versions: s
                    .versions
                    .iter()
                    .filter(|(_, v)| !v.labels.is_empty())
                    .map(|(id, v)| (id.clone(), v.labels.clone()))
                    .collect(),
            })
        })
        .await
    }

    async fn get_version(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> Result<SecretVersion> {
        let call = StoreCall::GetValue {
            secret_id: secret_id.to_string(),
            stage: stage.to_string(),
            version_id: version_id.map(str::to_string),
        };
        self.call(secret_id, call, |s, op| {
            let (id, version) = s
                .versions
                .iter()
                .find(|(_, v)| v.labels.iter().any(|l| l == stage))
                .ok_or_else(|| not_found(op, format!("no version has the label {stage}")))?;
            if let Some(wanted) = version_id {
                if wanted != id {
                    return Err(err(
                        op,
                        ApiErrorCode::InvalidRequest,
                        format!("version {wanted} does not have the label {stage}"),
                    ));
                }
            }
            let value = version
                .value
                .clone()
                .map(SecretValue::new)
                .ok_or_else(|| not_found(op, format!("version {id} has no secret value")))?;
            Ok(SecretVersion {
                arn: Self::arn(Self::name_of(secret_id)),
                version_id: id.clone(),
                stages: version.labels.clone(),
                value,
            })
        })
        .await
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        rotation_token: Option<&str>,
        value: &SecretValue,
    ) -> Result<()> {
        let call = StoreCall::PutPending {
            token: token.to_string(),
            rotation_token: rotation_token.map(str::to_string),
        };
        self.call(secret_id, call, |s, op| {
            if !(32..=64).contains(&token.len()) {
                return Err(err(
                    op,
                    ApiErrorCode::InvalidParameter,
                    "ClientRequestToken must be 32 to 64 characters",
                ));
            }
            if let Some(existing) = s.versions.get(token).and_then(|v| v.value.as_deref()) {
                return if existing == value.expose() {
                    Ok(()) // same token, same value: the service ignores the request
                } else {
                    Err(err(
                        op,
                        ApiErrorCode::ResourceExists,
                        "a version with this ClientRequestToken already exists with a different value",
                    ))
                };
            }
            for v in s.versions.values_mut() {
                v.labels.retain(|l| l != AWSPENDING);
            }
            let version = s.versions.entry(token.to_string()).or_default();
            version.value = Some(value.expose().to_string());
            version.labels.push(AWSPENDING.into());
            Ok(())
        })
        .await
    }

    async fn update_stage(
        &self,
        secret_id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> Result<()> {
        let call = StoreCall::UpdateStage {
            stage: stage.to_string(),
            move_to: move_to.map(str::to_string),
            remove_from: remove_from.map(str::to_string),
        };
        self.call(secret_id, call, |s, op| {
            let holder = s
                .versions
                .iter()
                .find(|(_, v)| v.labels.iter().any(|l| l == stage))
                .map(|(id, _)| id.clone());
            if let Some(from) = remove_from {
                if holder.as_deref() != Some(from) {
                    return Err(err(
                        op,
                        ApiErrorCode::InvalidParameter,
                        format!("the label {stage} is not attached to version {from}"),
                    ));
                }
            }
            if let Some(to) = move_to {
                if !s.versions.contains_key(to) {
                    return Err(not_found(op, format!("no version {to}")));
                }
                if let Some(h) = &holder {
                    if h != to && remove_from != Some(h.as_str()) {
                        return Err(err(
                            op,
                            ApiErrorCode::InvalidParameter,
                            format!("the label {stage} is attached to {h}; name it in RemoveFromVersionId"),
                        ));
                    }
                }
            }
            if move_to.is_none() && remove_from.is_none() {
                return Err(err(
                    op,
                    ApiErrorCode::InvalidParameter,
                    "give MoveToVersionId, RemoveFromVersionId or both",
                ));
            }
            if let Some(from) = remove_from {
                if move_to != Some(from) {
                    if let Some(v) = s.versions.get_mut(from) {
                        v.labels.retain(|l| l != stage);
                    }
                }
            }
            if let Some(to) = move_to {
                let v = s.versions.get_mut(to).expect("checked above");
                if !v.labels.iter().any(|l| l == stage) {
                    v.labels.push(stage.to_string());
                }
                if stage == AWSCURRENT {
                    if let Some(from) = remove_from.filter(|f| *f != to) {
                        for v in s.versions.values_mut() {
                            v.labels.retain(|l| l != AWSPREVIOUS);
                        }
                        if let Some(v) = s.versions.get_mut(from) {
                            v.labels.push(AWSPREVIOUS.into());
                        }
                    }
                }
            }
            Ok(())
        })
        .await
    }

    async fn random_password(&self, policy: &PasswordPolicy) -> Result<SecretValue> {
        tokio::task::yield_now().await;
        {
            let mut state = self.lock();
            state.calls.push(StoreCall::RandomPassword);
            if let Some(e) = Self::take_failure(&mut state, "GetRandomPassword") {
                return Err(e);
            }
        }
        let alphabet: Vec<char> = policy
            .included_classes()
            .into_iter()
            .flat_map(|c| policy.alphabet_of(c))
            .collect();
        loop {
            let candidate: String = (0..policy.length)
                .map(|_| self.random_from(&alphabet))
                .collect();
            if policy.check(&candidate).is_ok() {
                return Ok(SecretValue::new(candidate));
            }
        }
    }
}

#[cfg(test)]
mod tests;
