//! What the action may do, decided from plain values: who may run
//! commands, when `/apply` is allowed, which names a command may use, and
//! whether a stack's fresh plan may be applied for the reviewed one. Pure:
//! the handlers ask, then act.

use super::settings::{ApplyOnComment, ApplyRequirements};
use crate::marker::{PlanStatus, ReviewedStack};
pub use crate::outcome::Verdict;
pub use crate::outcome::{ApplyNotAllowed, Unmet};
use crate::outcome::{BaseMoved, Refusal};
use crate::plan::Plan;

/// Whether `login` can be a GitHub login (it goes into an API path):
/// letters, digits and `-`, at most 39 characters.
pub fn is_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 39
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Whether a comment's commands are never obeyed: it is a bot's (no loops),
/// or the bot's own (`ours`: its first line is the bot's marker and its
/// author the bot's login, as with a user's token).
pub fn ignores_author(kind: &str, login: &str, ours: bool) -> bool {
    kind == "Bot" || login.ends_with("[bot]") || ours
}

/// Whether `/apply` may run, by the `apply-on-comment` setting and the plan
/// comment's state.
pub fn apply_allowed(
    setting: ApplyOnComment,
    merged: bool,
    status: PlanStatus,
) -> Result<(), ApplyNotAllowed> {
    match setting {
        ApplyOnComment::Never => Err(ApplyNotAllowed::OnlyOnMerge),
        ApplyOnComment::AfterRefusedMerge if !(merged && status == PlanStatus::MergeRefused) => {
            Err(ApplyNotAllowed::NotARefusedMerge)
        }
        _ if status == PlanStatus::Discarded => Err(ApplyNotAllowed::Discarded),
        _ => Ok(()),
    }
}

/// The names of `asked` that are not `known`, in order: a command naming
/// any is refused whole.
pub fn unknown(asked: &[String], known: &[String]) -> Vec<String> {
    asked
        .iter()
        .filter(|s| !known.contains(s))
        .cloned()
        .collect()
}

/// The verdict on `plan`. `reviewed`: `None` when no review is asked for
/// (a direct push, a plan file checked elsewhere), else what the review
/// shows for this stack (`Some(None)`: nothing). `moved`: the base the
/// merge went onto, when it is not the reviewed one.
///
/// A plan is the reviewed one when it has the reviewed fingerprint, or when
/// every change in it is one of the reviewed changes or what is left of one
/// (`plan::review`): a re-run after an apply that stopped halfway finishes
/// it. Not when the base moved: the YAML may be another then.
pub fn verdict(
    plan: &Plan,
    reviewed: Option<Option<&ReviewedStack>>,
    moved: Option<&BaseMoved>,
) -> Verdict {
    if plan.is_empty() && plan.is_applicable() {
        return Verdict::NoChanges;
    }
    match reviewed {
        Some(Some(r)) if crate::plan::fingerprint::approves(&r.fingerprint, plan) => {}
        Some(Some(r)) => {
            // `None`: what is left of the reviewed plan; else why not (what
            // the review did not see, when it can be told).
            let refused = match (&r.changes, moved) {
                (Some(changes), None) => crate::plan::review::remainder(changes, plan)
                    .err()
                    .map(Some),
                _ => Some(None),
            };
            if let Some(unreviewed) = refused {
                return Verdict::Refuse(Refusal::ChangedSinceReview {
                    reviewed: r.fingerprint.clone(),
                    now: plan.fingerprint.clone(),
                    moved: moved.cloned(),
                    unreviewed,
                });
            }
        }
        Some(None) => return Verdict::Refuse(Refusal::NotReviewed),
        None => {}
    }
    if plan.is_applicable() {
        Verdict::Apply
    } else {
        Verdict::Refuse(Refusal::Blocked {
            plan: Box::new(plan.clone()),
        })
    }
}

/// A review as the requirements read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewSeen {
    /// The reviewer's login.
    pub reviewer: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`.
    pub state: String,
    /// The head commit it was made on.
    pub commit: Option<String>,
}

/// What `/apply` on the open pull request whose head is `head`, by
/// `author`, still needs of `required`. A reviewer counts by their latest
/// approving, change-requesting or dismissed review (comments change
/// nothing); the author's own reviews never count.
pub fn unmet(
    required: ApplyRequirements,
    author: Option<&str>,
    head: &str,
    mergeable: Option<bool>,
    reviews: &[ReviewSeen],
) -> Vec<Unmet> {
    let mut out = Vec::new();
    if required.approved {
        let mut latest: Vec<&ReviewSeen> = Vec::new();
        for r in reviews {
            let counts = matches!(
                r.state.as_str(),
                "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"
            );
            if !counts || Some(r.reviewer.as_str()) == author {
                continue;
            }
            latest.retain(|l| l.reviewer != r.reviewer);
            latest.push(r);
        }
        let approvals: Vec<&&ReviewSeen> =
            latest.iter().filter(|r| r.state == "APPROVED").collect();
        if !approvals.iter().any(|r| r.commit.as_deref() == Some(head)) {
            out.push(match approvals.last() {
                Some(r) => Unmet::ApprovedOnOlderHead {
                    by: r.reviewer.clone(),
                    commit: r.commit.clone().unwrap_or_default(),
                },
                None => Unmet::NotApproved,
            });
        }
    }
    if required.mergeable {
        match mergeable {
            Some(true) => {}
            Some(false) => out.push(Unmet::NotMergeable),
            None => out.push(Unmet::MergeableUnknown),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_what_github_allows_in_a_path() {
        assert!(is_login("octo-cat9"));
        for bad in ["", "a/b", "../x", "x y", "é", &"a".repeat(40)] {
            assert!(!is_login(bad), "{bad:?}");
        }
    }

    #[test]
    fn bots_and_the_bots_own_comments_are_not_obeyed() {
        assert!(ignores_author("Bot", "renovate", false));
        assert!(ignores_author("User", "dependabot[bot]", false));
        assert!(ignores_author("User", "ops-user", true));
        assert!(!ignores_author("User", "alice", false));
    }

    #[test]
    fn apply_on_comment_follows_the_setting_and_the_comment() {
        use ApplyOnComment::*;
        use PlanStatus::*;
        assert_eq!(
            apply_allowed(Never, true, MergeRefused),
            Err(ApplyNotAllowed::OnlyOnMerge)
        );
        assert_eq!(apply_allowed(AfterRefusedMerge, true, MergeRefused), Ok(()));
        assert_eq!(
            apply_allowed(AfterRefusedMerge, false, MergeRefused),
            Err(ApplyNotAllowed::NotARefusedMerge)
        );
        assert_eq!(
            apply_allowed(AfterRefusedMerge, true, Planned),
            Err(ApplyNotAllowed::NotARefusedMerge)
        );
        assert_eq!(apply_allowed(Always, false, Planned), Ok(()));
        assert_eq!(
            apply_allowed(Always, false, Discarded),
            Err(ApplyNotAllowed::Discarded)
        );
    }

    #[test]
    fn unknown_names_are_kept_in_order() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            unknown(&s(&["b", "x", "a", "y"]), &s(&["a", "b"])),
            s(&["x", "y"])
        );
        assert!(unknown(&s(&[]), &s(&["a"])).is_empty());
    }

    /// A plan creating a key pair (or nothing), its change `blocked` or not.
    fn plan(fingerprint: &str, changes: bool, blocked: bool) -> Plan {
        let change = serde_json::json!({
            "action": "create", "fields": [], "live_id": null,
            "resource": {"kind": "key_pair", "name": "deploy"},
            "blocked": if blocked { serde_json::json!("protected") } else { serde_json::Value::Null },
        });
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "stack": "web", "region": "us-east-1", "file": "web.yaml",
            "fingerprint": fingerprint,
            "summary": {"create": 1, "update": 0, "restart": 0, "replace": 0, "destroy": 0, "blocked": 0, "unchanged": 3},
            "changes": if changes { vec![change] } else { vec![] },
            "warnings": [], "errors": [],
        }))
        .expect("a plan")
    }

    #[test]
    fn a_fresh_plan_is_applied_only_when_it_is_the_reviewed_one() {
        let moved = BaseMoved {
            reviewed_on: "a".repeat(40),
            merged_onto: "b".repeat(40),
        };
        let p = plan("f1", true, false);
        let reviewed = |f: &str, changes: Option<Vec<String>>| ReviewedStack {
            stack: "web".into(),
            region: "us-east-1".into(),
            fingerprint: f.into(),
            changes,
            images: vec![],
        };
        assert_eq!(
            verdict(&p, Some(Some(&reviewed("f1", None))), None),
            Verdict::Apply
        );
        assert_eq!(verdict(&p, None, None), Verdict::Apply);
        assert_eq!(
            verdict(&p, Some(Some(&reviewed("f0", None))), Some(&moved)),
            Verdict::Refuse(Refusal::ChangedSinceReview {
                reviewed: "f0".into(),
                now: "f1".into(),
                moved: Some(moved.clone()),
                unreviewed: None,
            })
        );
        // Another fingerprint, but every change is a reviewed one: what an
        // interrupted apply left is applied.
        let left = reviewed("f0", crate::plan::review::of(&p));
        assert_eq!(verdict(&p, Some(Some(&left)), None), Verdict::Apply);
        // Not when the base moved: the YAML may be another.
        assert!(matches!(
            verdict(&p, Some(Some(&left)), Some(&moved)),
            Verdict::Refuse(Refusal::ChangedSinceReview { .. })
        ));
        // A change the review did not see is named.
        let other = reviewed("f0", Some(vec!["instance/db:update:tags".into()]));
        match verdict(&p, Some(Some(&other)), None) {
            Verdict::Refuse(Refusal::ChangedSinceReview {
                unreviewed: Some(crate::plan::review::Unreviewed::NewChange(r)),
                ..
            }) => assert_eq!(r.to_string(), "key_pair.deploy"),
            v => panic!("{v:?}"),
        }
        assert_eq!(
            verdict(&p, Some(None), None),
            Verdict::Refuse(Refusal::NotReviewed)
        );
        let blocked = plan("f2", true, true);
        assert!(matches!(
            verdict(&blocked, Some(Some(&reviewed("f2", None))), None),
            Verdict::Refuse(Refusal::Blocked { .. })
        ));
        // Nothing to do is safe whatever was reviewed.
        assert_eq!(
            verdict(&plan("f9", false, false), Some(None), None),
            Verdict::NoChanges
        );
    }

    fn review(reviewer: &str, state: &str, commit: &str) -> ReviewSeen {
        ReviewSeen {
            reviewer: reviewer.into(),
            state: state.into(),
            commit: Some(commit.into()),
        }
    }

    const BOTH: ApplyRequirements = ApplyRequirements {
        approved: true,
        mergeable: true,
    };

    #[test]
    fn apply_needs_an_approval_on_the_head_by_someone_else_and_a_clean_merge() {
        let unmet = |reviews: &[ReviewSeen], mergeable| {
            super::unmet(BOTH, Some("author"), "head", mergeable, reviews)
        };
        assert_eq!(
            unmet(&[], Some(true)),
            [Unmet::NotApproved],
            "no review at all"
        );
        assert_eq!(
            unmet(&[review("author", "APPROVED", "head")], Some(true)),
            [Unmet::NotApproved],
            "the author's own approval"
        );
        assert_eq!(
            unmet(&[review("rev", "APPROVED", "old")], Some(true)),
            [Unmet::ApprovedOnOlderHead {
                by: "rev".into(),
                commit: "old".into()
            }]
        );
        assert_eq!(
            unmet(
                &[
                    review("rev", "APPROVED", "head"),
                    review("rev", "CHANGES_REQUESTED", "head")
                ],
                Some(true)
            ),
            [Unmet::NotApproved],
            "a later request for changes takes the approval back"
        );
        assert!(
            unmet(
                &[
                    review("rev", "APPROVED", "head"),
                    review("rev", "COMMENTED", "head")
                ],
                Some(true)
            )
            .is_empty(),
            "a comment does not"
        );
        assert_eq!(
            unmet(&[review("rev", "APPROVED", "head")], Some(false)),
            [Unmet::NotMergeable]
        );
        assert_eq!(
            unmet(&[review("rev", "APPROVED", "head")], None),
            [Unmet::MergeableUnknown]
        );
        let none = ApplyRequirements {
            approved: false,
            mergeable: false,
        };
        assert!(super::unmet(none, Some("author"), "head", Some(false), &[]).is_empty());
    }
}
