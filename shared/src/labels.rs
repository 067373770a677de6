//! Staging-label logic as pure functions over `VersionIdsToStages`. No I/O.

use std::collections::BTreeMap;

use crate::error::{Result, RotationError};

/// The label of the version in use.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The label of the version being rotated in.
pub const AWSPENDING: &str = "AWSPENDING";
/// The label Secrets Manager moves to the version AWSCURRENT left.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// `VersionIdsToStages` from DescribeSecret: version id -> staging labels.
pub type VersionStages = BTreeMap<String, Vec<String>>;

/// Where a rotation token stands, as the shared preamble sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStatus {
    /// The token is not a version of the secret.
    Unknown,
    /// The token already carries AWSCURRENT (the rotation is done, or is being replayed).
    /// `also_pending` says whether AWSPENDING is still on it too.
    Current {
        /// AWSPENDING still sits on the token's version.
        also_pending: bool,
    },
    /// The token carries AWSPENDING and not AWSCURRENT: the step may run.
    Pending,
    /// The token is a version, but not AWSPENDING; `pending_on` says where AWSPENDING is.
    NotPending {
        /// The version carrying AWSPENDING, if any.
        pending_on: Option<String>,
    },
}

/// True if `version` carries `label`.
pub fn has_label(stages: &VersionStages, version: &str, label: &str) -> bool {
    stages
        .get(version)
        .is_some_and(|labels| labels.iter().any(|l| l == label))
}

/// Every version carrying `label`, in version-id order.
pub fn versions_with<'a>(stages: &'a VersionStages, label: &str) -> Vec<&'a str> {
    stages
        .iter()
        .filter(|(_, labels)| labels.iter().any(|l| l == label))
        .map(|(version, _)| version.as_str())
        .collect()
}

/// The one version carrying `label`, if any. Two or more is a [`RotationError::LabelConflict`]:
/// the real service never allows it, and guessing which one is meant could lock users out.
pub fn version_with<'a>(
    stages: &'a VersionStages,
    label: &str,
    secret: &str,
) -> Result<Option<&'a str>> {
    match versions_with(stages, label).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(RotationError::LabelConflict {
            secret: secret.to_string(),
            label: label.to_string(),
            versions: many.join(", "),
        }),
    }
}

/// Classifies the token with the official preamble's rules: unknown -> error; AWSCURRENT ->
/// nothing to do; AWSPENDING -> run the step; anything else -> error.
pub fn token_status(stages: &VersionStages, token: &str) -> TokenStatus {
    if !stages.contains_key(token) {
        return TokenStatus::Unknown;
    }
    let pending = has_label(stages, token, AWSPENDING);
    if has_label(stages, token, AWSCURRENT) {
        TokenStatus::Current {
            also_pending: pending,
        }
    } else if pending {
        TokenStatus::Pending
    } else {
        TokenStatus::NotPending {
            pending_on: versions_with(stages, AWSPENDING)
                .first()
                .map(|v| v.to_string()),
        }
    }
}

/// One UpdateSecretVersionStage call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMove {
    /// The label to move or remove.
    pub stage: &'static str,
    /// The version that receives it (None: only remove).
    pub move_to: Option<String>,
    /// The version it is removed from (None: it is on no version yet).
    pub remove_from: Option<String>,
}

/// The label moves that finish a rotation for `token`, given the labels now: move AWSCURRENT to
/// the token (naming the old current version, as the service requires), then remove AWSPENDING
/// from the token so the next rotation can start. Already-done moves are left out, so the plan of
/// a finished rotation is empty and replaying it changes nothing.
pub fn finish_plan(stages: &VersionStages, token: &str, secret: &str) -> Result<Vec<StageMove>> {
    let mut plan = Vec::new();
    let current = version_with(stages, AWSCURRENT, secret)?;
    if current != Some(token) {
        plan.push(StageMove {
            stage: AWSCURRENT,
            move_to: Some(token.to_string()),
            remove_from: current.map(str::to_string),
        });
    }
    if has_label(stages, token, AWSPENDING) {
        plan.push(StageMove {
            stage: AWSPENDING,
            move_to: None,
            remove_from: Some(token.to_string()),
        });
    }
    Ok(plan)
}

/// Versions other than `token` that still carry AWSPENDING (left by an earlier failed rotation).
pub fn stale_pending<'a>(stages: &'a VersionStages, token: &str) -> Vec<&'a str> {
    versions_with(stages, AWSPENDING)
        .into_iter()
        .filter(|v| *v != token)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(pairs: &[(&str, &[&str])]) -> VersionStages {
        pairs
            .iter()
            .map(|(v, ls)| (v.to_string(), ls.iter().map(|l| l.to_string()).collect()))
            .collect()
    }

    #[test]
    fn token_status_covers_every_branch() {
        let s = stages(&[
            ("cur", &[AWSCURRENT]),
            ("pend", &[AWSPENDING]),
            ("prev", &[AWSPREVIOUS]),
            ("none", &[]),
        ]);
        assert_eq!(token_status(&s, "missing"), TokenStatus::Unknown);
        assert_eq!(
            token_status(&s, "cur"),
            TokenStatus::Current {
                also_pending: false
            }
        );
        assert_eq!(token_status(&s, "pend"), TokenStatus::Pending);
        assert_eq!(
            token_status(&s, "prev"),
            TokenStatus::NotPending {
                pending_on: Some("pend".into())
            }
        );
        assert_eq!(
            token_status(&s, "none"),
            TokenStatus::NotPending {
                pending_on: Some("pend".into())
            }
        );
        let both = stages(&[("v", &[AWSCURRENT, AWSPENDING])]);
        assert_eq!(
            token_status(&both, "v"),
            TokenStatus::Current { also_pending: true }
        );
        let no_pending = stages(&[("v", &[AWSCURRENT]), ("w", &[])]);
        assert_eq!(
            token_status(&no_pending, "w"),
            TokenStatus::NotPending { pending_on: None }
        );
    }

    #[test]
    fn version_with_finds_one_none_or_conflict() {
        let s = stages(&[("a", &[AWSCURRENT]), ("b", &[AWSPREVIOUS])]);
        assert_eq!(version_with(&s, AWSCURRENT, "s").unwrap(), Some("a"));
        assert_eq!(version_with(&s, AWSPENDING, "s").unwrap(), None);
        let bad = stages(&[("a", &[AWSCURRENT]), ("b", &[AWSCURRENT])]);
        let err = version_with(&bad, AWSCURRENT, "s").unwrap_err();
        assert_eq!(err.error_type(), "LabelConflict");
        assert!(err.to_string().contains("a, b"));
    }

    #[test]
    fn finish_plan_moves_current_then_removes_pending() {
        let s = stages(&[("old", &[AWSCURRENT]), ("new", &[AWSPENDING])]);
        assert_eq!(
            finish_plan(&s, "new", "s").unwrap(),
            vec![
                StageMove {
                    stage: AWSCURRENT,
                    move_to: Some("new".into()),
                    remove_from: Some("old".into())
                },
                StageMove {
                    stage: AWSPENDING,
                    move_to: None,
                    remove_from: Some("new".into())
                },
            ]
        );
    }

    #[test]
    fn finish_plan_after_the_move_only_cleans_pending() {
        let s = stages(&[("old", &[AWSPREVIOUS]), ("new", &[AWSCURRENT, AWSPENDING])]);
        assert_eq!(
            finish_plan(&s, "new", "s").unwrap(),
            vec![StageMove {
                stage: AWSPENDING,
                move_to: None,
                remove_from: Some("new".into())
            }]
        );
    }

    #[test]
    fn finish_plan_of_a_finished_rotation_is_empty() {
        let s = stages(&[("old", &[AWSPREVIOUS]), ("new", &[AWSCURRENT])]);
        assert!(finish_plan(&s, "new", "s").unwrap().is_empty());
    }

    #[test]
    fn finish_plan_without_any_current_version() {
        let s = stages(&[("new", &[AWSPENDING])]);
        let plan = finish_plan(&s, "new", "s").unwrap();
        assert_eq!(plan[0].remove_from, None);
        assert_eq!(plan.len(), 2);
    }

    #[test]
    fn finish_plan_refuses_ambiguous_current() {
        let s = stages(&[
            ("a", &[AWSCURRENT]),
            ("b", &[AWSCURRENT]),
            ("new", &[AWSPENDING]),
        ]);
        assert_eq!(
            finish_plan(&s, "new", "s").unwrap_err().error_type(),
            "LabelConflict"
        );
    }

    #[test]
    fn stale_pending_lists_other_versions_only() {
        let s = stages(&[("a", &[AWSCURRENT]), ("x", &[AWSPENDING]), ("t", &[])]);
        assert_eq!(stale_pending(&s, "t"), vec!["x"]);
        assert!(stale_pending(&s, "x").is_empty());
    }
}
