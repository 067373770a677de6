//! The generic function's test bed: the function on the sandbox's moto.

use rotation_generic::{GenericRotation, PASSWORD_DEFAULTS};
use rotation_testkit::Harness;

/// The generic function (default configuration) on the sandbox's moto.
pub async fn bed() -> Harness<GenericRotation> {
    Harness::new(GenericRotation::default(), PASSWORD_DEFAULTS).await
}
