//! The merge queue's gate, pure: which pull requests a merge group holds,
//! which one answers for each stack the group changes, and whether the
//! group may merge. A group passes only when every stack it changes plans
//! as reviewed on the one pull request that changed it: the rule a merge
//! applies by ([`super::policy::verdict`]), checked before the merge.

use std::collections::BTreeSet;

use crate::marker::ReviewedStack;
use crate::model::Desired;
use crate::outcome::{BaseMoved, Refusal, Verdict};
use crate::plan::Plan;

/// The temporary branches GitHub's merge queue makes, one per entry:
/// `gh-readonly-queue/{base}/pr-{number}-{sha}`.
pub const QUEUE_PREFIX: &str = "gh-readonly-queue/";

/// The pull request a merge queue branch (`refs/heads/` or not) is for.
pub fn queue_pull(git_ref: &str) -> Option<u64> {
    let name = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
    let rest = name.strip_prefix(QUEUE_PREFIX)?;
    // The base branch may hold slashes; the entry is the last part.
    let entry = rest.rsplit('/').next()?;
    let (number, sha) = entry.strip_prefix("pr-")?.split_once('-')?;
    let ok = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !sha.is_empty()
        && sha.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| number.parse().ok()).flatten()
}

/// The pull requests of a merge group, ahead first: the group's own
/// (`head_ref`'s), after each entry ahead of it whose head commit is one of
/// the group's (`commits`, oldest first, as GitHub compares the queue's
/// base with its head). `entries` are the queue's branches (ref, commit).
pub fn group_pulls(
    head_ref: &str,
    entries: &[(String, String)],
    commits: &[String],
) -> Result<Vec<u64>, String> {
    let own = queue_pull(head_ref).ok_or_else(|| {
        format!("the merge group's branch `{head_ref}` is not a merge queue branch (gh-readonly-queue/BASE/pr-N-SHA)")
    })?;
    let mut ahead: Vec<(usize, u64)> = entries
        .iter()
        .filter_map(|(r, sha)| {
            let n = queue_pull(r)?;
            let at = commits.iter().position(|c| c.eq_ignore_ascii_case(sha))?;
            (n != own).then_some((at, n))
        })
        .collect();
    ahead.sort();
    let mut out: Vec<u64> = Vec::new();
    for (_, n) in ahead {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out.push(own);
    Ok(out)
}

/// Who answers for a stack the group changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answerable {
    /// The one pull request that changes it.
    Pull(u64),
    /// Several pull requests of the group change it: their reviews each saw
    /// the stack without the others' change.
    Several(Vec<u64>),
    /// None of the group's pull requests changes it (a commit the queue
    /// holds that no entry explains).
    Nobody,
}

impl Answerable {
    /// The pull requests that change the stack.
    pub fn pulls(&self) -> Vec<u64> {
        match self {
            Answerable::Pull(n) => vec![*n],
            Answerable::Several(numbers) => numbers.clone(),
            Answerable::Nobody => Vec::new(),
        }
    }
}

/// The stacks among `stacks` that the group changes (`changed`: every
/// pull request's files together), each with who answers for it
/// (`pulls`: each pull request with its changed files).
pub fn answerable<'a>(
    stacks: &'a [Desired],
    changed: &[String],
    pulls: &[(u64, Vec<String>)],
) -> Vec<(&'a Desired, Answerable)> {
    super::touched::touched(stacks, changed)
        .into_iter()
        .map(|d| {
            let by: Vec<u64> = pulls
                .iter()
                .filter(|(_, files)| {
                    !super::touched::touched(std::slice::from_ref(d), files).is_empty()
                })
                .map(|(n, _)| *n)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let who = match by.as_slice() {
                [] => Answerable::Nobody,
                [n] => Answerable::Pull(*n),
                _ => Answerable::Several(by),
            };
            (d, who)
        })
        .collect()
}

/// One stack's answer at the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The stack.
    pub stack: String,
    /// Its region.
    pub region: String,
    /// The pull requests that change it.
    pub pulls: Vec<u64>,
    /// Passes, or why not.
    pub outcome: GateOutcome,
}

/// Whether a stack lets the group merge.
#[derive(Debug, Clone, PartialEq)]
pub enum GateOutcome {
    /// Its plan at the queue's head is the reviewed one (`changes`: it
    /// changes something; else nothing is left to apply).
    Passes {
        /// Whether the merge will change EC2 for it.
        changes: bool,
    },
    /// Several pull requests of the group change it.
    OneAtATime,
    /// No pull request of the group changes it.
    Unexplained,
    /// The stack file is invalid at the queue's head (diagnostics, text).
    Invalid(String),
    /// The merge would refuse it: why.
    Refused(Refusal),
}

impl Gate {
    /// Whether it lets the group merge.
    pub fn passes(&self) -> bool {
        matches!(self.outcome, GateOutcome::Passes { .. })
    }
}

/// The gate of a stack whose one pull request is known: its plan at the
/// queue's head against the review on that pull request (`review`:
/// `None` when the comment has no plan of the stack), as a merge judges it.
pub fn judge(
    plan: &Plan,
    review: Option<&ReviewedStack>,
    moved: Option<&BaseMoved>,
) -> GateOutcome {
    match super::policy::verdict(plan, Some(review), moved) {
        Verdict::NoChanges => GateOutcome::Passes { changes: false },
        Verdict::Apply => GateOutcome::Passes { changes: true },
        Verdict::Refuse(r) => GateOutcome::Refused(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "929f8209d40f77f4abc622a499c93a83babdbe64";

    #[test]
    fn a_queue_branch_names_its_pull_request() {
        let r = format!("refs/heads/gh-readonly-queue/main/pr-104-{SHA}");
        assert_eq!(queue_pull(&r), Some(104));
        assert_eq!(
            queue_pull(&format!("gh-readonly-queue/release/2.x/pr-7-{SHA}")),
            Some(7)
        );
        for bad in [
            "refs/heads/main",
            "refs/heads/gh-readonly-queue/main/pr--abc",
            "refs/heads/gh-readonly-queue/main/pr-12",
            "refs/heads/gh-readonly-queue/main/pr-12-not-hex",
            "refs/heads/feature/gh-readonly-queue/main/pr-1-abc",
            "refs/heads/gh-readonly-queue/main/pr-99999999999999999999999-abc",
        ] {
            assert_eq!(queue_pull(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_group_holds_the_entries_whose_heads_it_contains_ahead_first() {
        let e = |n: u64, sha: &str| {
            (
                format!("refs/heads/gh-readonly-queue/main/pr-{n}-{SHA}"),
                sha.to_string(),
            )
        };
        let entries = vec![e(13, "c3"), e(11, "c1"), e(12, "c2"), e(20, "elsewhere")];
        let commits: Vec<String> = ["p11", "c1", "p12", "c2", "p13", "c3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let head = format!("refs/heads/gh-readonly-queue/main/pr-13-{SHA}");
        assert_eq!(group_pulls(&head, &entries, &commits), Ok(vec![11, 12, 13]));
        // The first entry's group is itself alone.
        let first = format!("refs/heads/gh-readonly-queue/main/pr-11-{SHA}");
        assert_eq!(group_pulls(&first, &entries, &commits[..2]), Ok(vec![11]));
        let e = group_pulls("refs/heads/main", &entries, &commits).unwrap_err();
        assert!(e.contains("not a merge queue branch"), "{e}");
    }

    #[test]
    fn each_changed_stack_is_answered_for_by_the_pull_requests_that_change_it() {
        let stacks = [
            crate::action::touched::tests::stack("infra/web.yaml", &["cloud-init/web.sh"]),
            crate::action::touched::tests::stack("infra/db.yaml", &[]),
            crate::action::touched::tests::stack("infra/cache.yaml", &[]),
            crate::action::touched::tests::stack("infra/idle.yaml", &[]),
        ];
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let pulls = vec![
            (11, s(&["infra/web.yaml", "README.md"])),
            (12, s(&["cloud-init/web.sh", "infra/db.yaml"])),
        ];
        let changed = s(&[
            "infra/web.yaml",
            "README.md",
            "cloud-init/web.sh",
            "infra/db.yaml",
            "infra/cache.yaml",
        ]);
        let got: Vec<(String, Answerable)> = answerable(&stacks, &changed, &pulls)
            .into_iter()
            .map(|(d, a)| (d.file.clone(), a))
            .collect();
        assert_eq!(
            got,
            vec![
                ("infra/web.yaml".into(), Answerable::Several(vec![11, 12])),
                ("infra/db.yaml".into(), Answerable::Pull(12)),
                ("infra/cache.yaml".into(), Answerable::Nobody),
            ]
        );
    }

    #[test]
    fn a_review_on_another_base_asks_for_the_exact_plan() {
        let moved = BaseMoved::between;
        assert_eq!(moved(Some("abc"), "ABC"), None);
        assert_eq!(moved(None, "abc"), None);
        assert_eq!(moved(Some("abc"), ""), None, "a push with no base");
        let m = moved(Some("abc"), "def").unwrap();
        assert_eq!(
            (m.reviewed_on.as_str(), m.merged_onto.as_str()),
            ("abc", "def")
        );
    }
}
