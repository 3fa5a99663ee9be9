//! The merge queue's gate: the pull requests a merge group holds (read
//! from the queue's branches and the group's commits), and each stack the
//! group changes planned at the group's head and judged against the review
//! on the pull request that changes it.

use std::collections::BTreeMap;

use crate::action::event::MergeGroup;
use crate::action::queue::{self, Answerable, Gate, GateOutcome};
use crate::action::services::Services;
use crate::action::steps::plan_comment::{changed_files, is_plan, split_changes};
use crate::app;
use crate::ec2::Ec2;
use crate::github::GitHubError;
use crate::marker::PlanMeta;
use crate::model::Desired;
use crate::outcome::{BaseMoved, Refusal};

/// What a merge group holds.
pub struct Group {
    /// Its pull requests, ahead first, each with the files it changes.
    pub pulls: Vec<(u64, Vec<String>)>,
    /// The files the group changes: its pull requests' and those of every
    /// commit between its base and its head.
    pub changed: Vec<String>,
}

/// The group's pull requests and the files it changes.
pub async fn group(s: &Services<'_>, group: &MergeGroup) -> Result<Group, String> {
    let gh = |e: GitHubError| e.to_string();
    let prefix = format!("{}{}/", queue::QUEUE_PREFIX, group.base_branch());
    let entries = s.gh.branches_starting(&prefix).await.map_err(gh)?;
    let (commits, files) =
        s.gh.compare(&group.base_sha, &group.head_sha)
            .await
            .map_err(gh)?;
    let numbers = queue::group_pulls(&group.head_ref, &entries, &commits)?;
    let (mut changed, _) = split_changes(files);
    let mut pulls = Vec::new();
    for n in numbers {
        let (files, _) = changed_files(s, n).await.map_err(gh)?;
        changed.extend(files.iter().cloned());
        pulls.push((n, files));
    }
    changed.sort();
    changed.dedup();
    Ok(Group { pulls, changed })
}

/// The plan comment of each pull request, as the gate reads it: its
/// marker, or why it could not be read.
pub type Reviews = BTreeMap<u64, Result<Option<PlanMeta>, String>>;

/// The plan comments of the pull requests that answer alone for a stack of
/// the group, each read once.
pub async fn reviews(s: &Services<'_>, answered: &[(&Desired, Answerable)]) -> Reviews {
    let mut out = Reviews::new();
    for (_, who) in answered {
        let Answerable::Pull(n) = who else { continue };
        if out.contains_key(n) {
            continue;
        }
        let read = match s.gh.find_comment(*n, is_plan).await {
            Ok(found) => Ok(found.and_then(|(_, m)| m.plan().cloned())),
            Err(e) => Err(format!("cannot read the plan comment of #{n}: {e}")),
        };
        out.insert(*n, read);
    }
    out
}

/// The gate of one stack the group changes.
pub async fn gate(group: &MergeGroup, d: &Desired, who: &Answerable, reviews: &Reviews) -> Gate {
    let outcome = match who {
        Answerable::Nobody => GateOutcome::Unexplained,
        Answerable::Several(_) => GateOutcome::OneAtATime,
        Answerable::Pull(n) => match reviews.get(n) {
            Some(Ok(meta)) => judge_one(group, d, meta.as_ref()).await,
            Some(Err(error)) => GateOutcome::Refused(Refusal::Failed {
                error: error.clone(),
            }),
            None => GateOutcome::Refused(Refusal::NotReviewed),
        },
    };
    Gate {
        stack: d.stack.clone(),
        region: d.region.clone(),
        pulls: who.pulls(),
        outcome,
    }
}

/// The stack planned at the group's head, with the images its review saw,
/// against the review on its pull request (`meta`: its plan comment's).
async fn judge_one(group: &MergeGroup, d: &Desired, meta: Option<&PlanMeta>) -> GateOutcome {
    let reviewed = meta.map(|m| m.reviewed()).unwrap_or_default();
    let review = reviewed.get(&(d.stack.clone(), d.region.clone()));
    let pins = review.map(|r| r.images.clone()).unwrap_or_default();
    let planned = match Ec2::for_stack(d).await {
        Ok(ec2) => app::plan_pinned(&ec2, d, &pins).await,
        Err(e) => Err(e.into()),
    };
    match planned {
        Ok((plan, _, _)) => {
            let moved = BaseMoved::between(meta.and_then(|m| m.base.as_deref()), &group.base_sha);
            queue::judge(&plan, review, moved.as_ref())
        }
        Err(e) => GateOutcome::Refused(Refusal::ReadFailed {
            error: format!("{e:#}"),
        }),
    }
}
