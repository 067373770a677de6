//! What the rotation asks the ElastiCache API, behind a small object-safe trait ([`UserApi`];
//! the SDK implementation is [`crate::SdkElastiCache`]), and the bounded wait for a user to be
//! `active` (ModifyUser is refused while a user is `modifying`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rotation_core::{Result, RotationError, SecretValue};

use crate::secret::UserArn;

/// A boxed future, so [`UserApi`] can be a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What DescribeUsers says about one user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheUser {
    /// `UserId`.
    pub id: String,
    /// `UserName`: the name clients send with AUTH.
    pub name: String,
    /// `Status`: `active`, `modifying`, `deleting`.
    pub status: String,
    /// `Authentication.Type`: `password`, `no-password`, `iam`.
    pub authentication: Option<String>,
}

/// The two ElastiCache calls of a rotation.
pub trait UserApi: Send + Sync {
    /// DescribeUsers for one user (in the ARN's region). `Ok(None)`: no such user.
    fn describe<'a>(&'a self, user: &'a UserArn) -> BoxFuture<'a, Result<Option<CacheUser>>>;
    /// ModifyUser with exactly `passwords` (one or two): they replace the user's passwords.
    fn set_passwords<'a>(
        &'a self,
        user: &'a UserArn,
        passwords: &'a [SecretValue],
    ) -> BoxFuture<'a, Result<()>>;
}

/// How long to wait for a user to be `active`, and how often to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitPolicy {
    /// At most this long (`MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS`).
    pub max_wait: Duration,
    /// Between two DescribeUsers calls (`WAITING_RETRY_INTERVAL_IN_SECONDS`).
    pub interval: Duration,
}

/// The user, once DescribeUsers says it is `active`; refused when it is gone, or still not
/// active after the policy's wait (the step fails and Secrets Manager retries it later).
pub async fn wait_until_active(
    api: &dyn UserApi,
    user: &UserArn,
    wait: WaitPolicy,
) -> Result<CacheUser> {
    let started = tokio::time::Instant::now();
    loop {
        let found = api.describe(user).await?.ok_or_else(|| not_found(user))?;
        if found.status == "active" {
            return Ok(found);
        }
        if found.status == "deleting" || started.elapsed() + wait.interval > wait.max_wait {
            return Err(RotationError::ServiceNotReady(format!(
                "ElastiCache user {} is {} (waited {} s for active; MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS); nothing was changed by this step, and a retry continues",
                user.user_id,
                found.status,
                started.elapsed().as_secs()
            )));
        }
        tokio::time::sleep(wait.interval).await;
    }
}

/// The error for a user that DescribeUsers does not know.
pub fn not_found(user: &UserArn) -> RotationError {
    RotationError::malformed(
        rotation_core::labels::AWSCURRENT,
        format!(
            "the user_arn key names ElastiCache user {} in {}, which DescribeUsers does not know",
            user.user_id, user.region
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers DescribeUsers from a script of statuses (the last repeats).
    struct Script(Mutex<Vec<&'static str>>);

    impl UserApi for Script {
        fn describe<'a>(&'a self, user: &'a UserArn) -> BoxFuture<'a, Result<Option<CacheUser>>> {
            let mut script = self.0.lock().unwrap();
            let status = if script.len() > 1 {
                script.remove(0)
            } else {
                script[0]
            };
            let found = (status != "gone").then(|| CacheUser {
                id: user.user_id.clone(),
                name: "app".into(),
                status: status.into(),
                authentication: Some("password".into()),
            });
            Box::pin(async move { Ok(found) })
        }
        fn set_passwords<'a>(
            &'a self,
            _: &'a UserArn,
            _: &'a [SecretValue],
        ) -> BoxFuture<'a, Result<()>> {
            Box::pin(async { unreachable!("not called by the wait") })
        }
    }

    fn user() -> UserArn {
        UserArn {
            region: "eu-west-1".into(),
            user_id: "u1".into(),
        }
    }

    const QUICK: WaitPolicy = WaitPolicy {
        max_wait: Duration::from_millis(300),
        interval: Duration::from_millis(20),
    };

    #[tokio::test]
    async fn it_waits_for_active_and_no_longer_than_allowed() {
        let api = Script(Mutex::new(vec!["modifying", "modifying", "active"]));
        assert_eq!(
            wait_until_active(&api, &user(), QUICK)
                .await
                .unwrap()
                .status,
            "active"
        );
        let api = Script(Mutex::new(vec!["modifying"]));
        let started = std::time::Instant::now();
        let err = wait_until_active(&api, &user(), QUICK).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(600));
        assert_eq!(err.error_type(), "ServiceNotReady");
        assert!(err.to_string().contains("is modifying"), "{err}");
    }

    #[tokio::test]
    async fn a_deleted_or_deleting_user_stops_the_wait_at_once() {
        let err = wait_until_active(&Script(Mutex::new(vec!["deleting"])), &user(), QUICK)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is deleting"), "{err}");
        let err = wait_until_active(&Script(Mutex::new(vec!["gone"])), &user(), QUICK)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "MalformedSecret");
    }
}
