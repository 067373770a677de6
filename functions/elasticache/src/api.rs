//! What the rotation asks the ElastiCache API, behind a small object-safe trait ([`UserApi`];
//! the SDK implementation is [`crate::SdkElastiCache`]), and the bounded wait for a user to be
//! `active` (ModifyUser is refused while a user is `modifying`). The wait follows the user's
//! state: it asks again after [`FIRST_POLL`], then after sleeps growing by half each time up to
//! the configured interval, so a short modification is seen within a fraction of its own length
//! instead of after a whole interval. It plans against the step's one deadline: it never sleeps
//! when what must follow the sleep (one more DescribeUsers and the ModifyUser) would not fit
//! before it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rotation_core::{ApiErrorCode, Result, RotationError, SecretValue, ServiceApi};
use tokio::time::Instant;

use crate::secret::UserArn;

/// The ElastiCache API as errors name it: a failed call is an `ElastiCacheApiError`.
pub const ELASTICACHE_API: ServiceApi = ServiceApi {
    name: "ElastiCache",
    error_type: "ElastiCacheApiError",
    hint: "Check the function's elasticache:DescribeUsers / elasticache:ModifyUser permissions on the user and its route to the ElastiCache API",
};

/// The service error code of a failed ElastiCache call (None for any other error).
pub fn elasticache_code(err: &RotationError) -> Option<&ApiErrorCode> {
    match err {
        RotationError::Service { service, code, .. } if *service == ELASTICACHE_API => Some(code),
        _ => None,
    }
}

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
    /// `ARN`: the user's own ARN, which the secret's `user_arn` must be.
    pub arn: Option<String>,
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

/// The first sleep of a wait for `active`; each next one is half as long again, up to
/// [`WaitPolicy::interval`].
pub const FIRST_POLL: Duration = Duration::from_millis(50);

/// How long to wait for a user to be `active`, how often to ask, and how long one API call may
/// take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitPolicy {
    /// At most this long (`MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS`).
    pub max_wait: Duration,
    /// The longest sleep between two DescribeUsers calls (`WAITING_RETRY_INTERVAL_IN_SECONDS`);
    /// the first is `FIRST_POLL` (or this, when shorter), each next one half as long again.
    pub interval: Duration,
    /// The longest one ElastiCache call can take (the SDK client's operation timeout,
    /// [`crate::API_OPERATION_TIMEOUT`]): a call is started only when this much of the step is
    /// left, and a sleep only when two calls still fit after it.
    pub call_timeout: Duration,
}

/// A user DescribeUsers reports `active`, and whether the step slept before it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    /// What DescribeUsers said.
    pub user: CacheUser,
    /// True when at least one sleep came before `active`: the secret's labels may have moved
    /// meanwhile.
    pub waited: bool,
}

/// The time left before `deadline`.
pub fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Refuses, changing nothing, when less than `needed` is left before `deadline` for `what`.
pub fn time_left_for(deadline: Instant, needed: Duration, what: &str) -> Result<()> {
    let left = remaining(deadline);
    if left >= needed {
        return Ok(());
    }
    Err(RotationError::ServiceNotReady(format!(
        "{what} could take up to {} s, and this step has {:.1} s left before its deadline (MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS plus the time kept for its calls, within the function's timeout); it was not started, nothing was changed by this step, and a retry continues",
        needed.as_secs(),
        left.as_secs_f64()
    )))
}

/// The user, once DescribeUsers says it is `active`; refused when it is gone, or still not
/// active after the policy's wait, or when the next sleep and the calls after it would not fit
/// before `deadline` (the step fails with nothing changed by the wait, and Secrets Manager
/// retries it later).
pub async fn wait_until_active(
    api: &dyn UserApi,
    user: &UserArn,
    wait: WaitPolicy,
    deadline: Instant,
) -> Result<Active> {
    let started = Instant::now();
    let mut waited = false;
    let mut sleep = FIRST_POLL.min(wait.interval);
    loop {
        time_left_for(deadline, wait.call_timeout, "DescribeUsers")?;
        let found = api.describe(user).await?.ok_or_else(|| not_found(user))?;
        if found.status == "active" {
            return Ok(Active {
                user: found,
                waited,
            });
        }
        let elapsed = started.elapsed();
        let not_ready = |why: String| {
            RotationError::ServiceNotReady(format!(
                "ElastiCache user {} is {} (waited {:.1} s for active; {why}); nothing was changed while waiting, and a retry continues",
                user.user_id,
                found.status,
                elapsed.as_secs_f64()
            ))
        };
        if found.status == "deleting" {
            return Err(not_ready("it is being deleted".into()));
        }
        if elapsed + sleep > wait.max_wait {
            return Err(not_ready("MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS".into()));
        }
        let after_sleep = sleep + wait.call_timeout * 2;
        if after_sleep > remaining(deadline) {
            return Err(not_ready(format!(
                "another DescribeUsers and the ModifyUser after it would not fit in the {:.1} s this step has left",
                remaining(deadline).as_secs_f64()
            )));
        }
        tokio::time::sleep(sleep).await;
        waited = true;
        sleep = (sleep + sleep / 2).min(wait.interval);
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

    #[test]
    fn an_elasticache_api_failure_keeps_its_error_type_and_message() {
        let err = ELASTICACHE_API.error(
            "ModifyUser",
            ApiErrorCode::from_code(Some("InvalidUserState")),
            "user is modifying".into(),
        );
        assert_eq!(err.error_type(), "ElastiCacheApiError");
        assert_eq!(
            err.to_string(),
            "ElastiCache ModifyUser failed with InvalidUserState: user is modifying. Check the function's elasticache:DescribeUsers / elasticache:ModifyUser permissions on the user and its route to the ElastiCache API"
        );
        assert_eq!(
            elasticache_code(&err).map(ToString::to_string).as_deref(),
            Some("InvalidUserState")
        );
        // Another service's failure with the same code is not ElastiCache's.
        let other = ServiceApi {
            name: "Other",
            error_type: "OtherApiError",
            hint: "",
        }
        .error(
            "ModifyUser",
            ApiErrorCode::from_code(Some("InvalidUserState")),
            String::new(),
        );
        assert_eq!(elasticache_code(&other), None);
    }

    /// Answers DescribeUsers with the status its function gives at each call (`gone`: no such
    /// user), and records when it was asked.
    struct Described<F>(F, Mutex<Vec<Instant>>);

    impl<F: Fn() -> &'static str + Send + Sync> UserApi for Described<F> {
        fn describe<'a>(&'a self, user: &'a UserArn) -> BoxFuture<'a, Result<Option<CacheUser>>> {
            self.1.lock().unwrap().push(Instant::now());
            let status = (self.0)();
            let found = (status != "gone").then(|| CacheUser {
                id: user.user_id.clone(),
                name: "app".into(),
                status: status.into(),
                authentication: Some("password".into()),
                arn: None,
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

    /// A script of statuses, one per call (the last repeats).
    fn script(statuses: Vec<&'static str>) -> Described<impl Fn() -> &'static str + Send + Sync> {
        let statuses = Mutex::new(statuses);
        let next = move || {
            let mut statuses = statuses.lock().unwrap();
            if statuses.len() > 1 {
                statuses.remove(0)
            } else {
                statuses[0]
            }
        };
        Described(next, Mutex::new(Vec::new()))
    }

    /// `modifying` until `at`, then `active`.
    fn settles_at(at: Instant) -> Described<impl Fn() -> &'static str + Send + Sync> {
        let status = move || {
            if Instant::now() < at {
                "modifying"
            } else {
                "active"
            }
        };
        Described(status, Mutex::new(Vec::new()))
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
        call_timeout: Duration::from_millis(10),
    };

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn it_waits_for_active_and_no_longer_than_allowed() {
        let api = script(vec!["modifying", "modifying", "active"]);
        let active = wait_until_active(&api, &user(), QUICK, far())
            .await
            .unwrap();
        assert_eq!(
            (active.user.status.as_str(), active.waited),
            ("active", true)
        );
        let api = script(vec!["active"]);
        let active = wait_until_active(&api, &user(), QUICK, far())
            .await
            .unwrap();
        assert!(!active.waited, "no sleep, no wait");
        let api = script(vec!["modifying"]);
        let started = std::time::Instant::now();
        let err = wait_until_active(&api, &user(), QUICK, far())
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(600));
        assert_eq!(err.error_type(), "ServiceNotReady");
        assert!(err.to_string().contains("is modifying"), "{err}");
    }

    #[tokio::test]
    async fn a_deleted_or_deleting_user_stops_the_wait_at_once() {
        let err = wait_until_active(&script(vec!["deleting"]), &user(), QUICK, far())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is deleting"), "{err}");
        let err = wait_until_active(&script(vec!["gone"]), &user(), QUICK, far())
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "MalformedSecret");
    }

    /// With the default 2 s interval, a modification of 300 ms is seen within 250 ms of its
    /// end (one fixed interval would have taken 2 s), and the sleeps grow by half up to the
    /// interval.
    #[tokio::test]
    async fn the_wait_follows_the_users_state() {
        let started = Instant::now();
        let api = settles_at(started + Duration::from_millis(300));
        let wait = WaitPolicy {
            max_wait: Duration::from_secs(15),
            interval: Duration::from_secs(2),
            call_timeout: Duration::from_millis(10),
        };
        let active = wait_until_active(&api, &user(), wait, far()).await.unwrap();
        let took = started.elapsed();
        assert!(active.waited);
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took <= Duration::from_millis(550), "{took:?}");
        let asked = api.1.lock().unwrap().clone();
        let gaps: Vec<Duration> = asked.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[0] >= FIRST_POLL, "{gaps:?}");
        assert!(gaps[0] < FIRST_POLL * 3, "{gaps:?}");
        for pair in gaps.windows(2) {
            assert!(pair[1] > pair[0], "the sleeps grow: {gaps:?}");
        }

        // A short interval caps the sleeps from the first.
        let api = settles_at(Instant::now() + Duration::from_millis(100));
        let short = WaitPolicy {
            interval: Duration::from_millis(20),
            ..wait
        };
        wait_until_active(&api, &user(), short, far())
            .await
            .unwrap();
        let asked = api.1.lock().unwrap().clone();
        assert!(
            asked.len() >= 4,
            "asked every 20 ms, not after 50: {}",
            asked.len()
        );
    }

    /// The step's deadline is nearer than MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS: the wait
    /// stops while a DescribeUsers and a ModifyUser still fit, never sleeping past it.
    #[tokio::test]
    async fn the_wait_never_plans_past_the_steps_deadline() {
        let wait = WaitPolicy {
            max_wait: Duration::from_secs(10),
            interval: Duration::from_millis(50),
            call_timeout: Duration::from_millis(100),
        };
        let api = script(vec!["modifying"]);
        let started = Instant::now();
        let deadline = started + Duration::from_millis(600);
        let err = wait_until_active(&api, &user(), wait, deadline)
            .await
            .unwrap_err();
        let stopped = started.elapsed();
        assert_eq!(err.error_type(), "ServiceNotReady");
        assert!(err.to_string().contains("would not fit"), "{err}");
        // It slept while a sleep and two calls still fitted (until 350 ms), then stopped short
        // of the deadline instead of sleeping into its last 250 ms.
        assert!(stopped >= Duration::from_millis(350), "{stopped:?}");
        assert!(stopped < Duration::from_millis(550), "{stopped:?}");

        // No time for even one call: refused before DescribeUsers.
        let api = script(vec!["gone"]);
        let err = wait_until_active(&api, &user(), wait, Instant::now())
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "ServiceNotReady", "{err}");
    }
}
