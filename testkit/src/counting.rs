//! A [`SecretStore`] wrapper that counts the Secrets Manager calls going through it, for
//! measuring API calls per rotation against the real SDK client.

use std::sync::atomic::{AtomicUsize, Ordering};

use rotation_core::{
    PasswordPolicy, Result, SecretMetadata, SecretStore, SecretValue, SecretVersion,
};

/// Counts calls, then delegates.
#[derive(Debug)]
pub struct CountingStore<S> {
    inner: S,
    calls: AtomicUsize,
}

impl<S> CountingStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
        }
    }

    /// Calls so far; resets the count.
    pub fn take(&self) -> usize {
        self.calls.swap(0, Ordering::SeqCst)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl<S: SecretStore> SecretStore for CountingStore<S> {
    async fn describe(&self, secret_id: &str) -> Result<SecretMetadata> {
        self.count();
        self.inner.describe(secret_id).await
    }

    async fn get_version(
        &self,
        secret_id: &str,
        stage: &str,
        version_id: Option<&str>,
    ) -> Result<SecretVersion> {
        self.count();
        self.inner.get_version(secret_id, stage, version_id).await
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        rotation_token: Option<&str>,
        value: &SecretValue,
    ) -> Result<()> {
        self.count();
        self.inner
            .put_pending(secret_id, token, rotation_token, value)
            .await
    }

    async fn update_stage(
        &self,
        secret_id: &str,
        stage: &str,
        move_to: Option<&str>,
        remove_from: Option<&str>,
    ) -> Result<()> {
        self.count();
        self.inner
            .update_stage(secret_id, stage, move_to, remove_from)
            .await
    }

    async fn random_password(&self, policy: &PasswordPolicy) -> Result<SecretValue> {
        self.count();
        self.inner.random_password(policy).await
    }
}
