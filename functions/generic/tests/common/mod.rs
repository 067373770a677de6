//! Helpers shared by the generic function's integration tests.
#![allow(dead_code)]

use generic::{GenericRotation, PASSWORD_DEFAULTS};
use rotation_core::dispatch::{handle, Outcome};
use rotation_core::{PasswordPolicy, SdkStore};
use rotation_testkit::{Moto, RotationDriver};
use serde_json::Value;

/// The sandbox's moto, a driver, and a store on the same server.
pub struct Bed {
    pub driver: RotationDriver,
    pub store: SdkStore,
    pub policy: PasswordPolicy,
    pub function: GenericRotation,
}

impl Bed {
    pub async fn new() -> Self {
        let moto = Moto::from_env();
        let driver = RotationDriver::new(&moto).await;
        let store = SdkStore::new(moto.client().await);
        let policy = PasswordPolicy::from_lookup(PASSWORD_DEFAULTS, |_| None).unwrap();
        Self {
            driver,
            store,
            policy,
            function: GenericRotation::default(),
        }
    }

    /// The same bed with `ALLOW_ENGINE_KEY` on.
    pub fn allowing_engine_key(mut self) -> Self {
        self.function.allow_engine_key = true;
        self
    }

    /// Invokes the generic function in-process, as Lambda would.
    pub async fn invoke(&self, event: Value) -> Result<Outcome, String> {
        handle(&self.store, &self.function, &self.policy, &event)
            .await
            .map_err(|e| format!("{}: {e}", e.error_type()))
    }

    /// A secret with a unique name; returns its ARN.
    pub async fn secret(&self, prefix: &str, value: &str) -> String {
        let name = format!("{prefix}-{}", uuid_like());
        self.driver.create_secret(&name, value).await
    }
}

pub fn uuid_like() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{:016x}", h.finish())
}
