//! After an apply: the other open pull requests whose plans covered an
//! applied stack are marked stale, and with `replan-stale` re-planned
//! merged into the commit just applied.

use super::labels::sync_labels;
use super::plan_comment::{TEST_MERGE_POLLS, is_plan, post_plan, split_changes};
use crate::action::record::Record;
use crate::action::services::Services;
use crate::config::normalize;
use crate::github::{GitHubError, TestMerge};
use crate::marker::{self, Marker, PlanStatus};
use crate::outcome::{ReplanFailure, StackApply};
use crate::render::comment::{self, PlanState};
use crate::render::notes;
use crate::workspace::{self, Overlay};

/// An open PR whose plan comment was marked stale.
struct Stale {
    number: u64,
    head_sha: String,
    comment_id: u64,
}

/// Marks the plans of other open pull requests of the applied stacks stale
/// and, with `replan-stale`, plans them again; the job summary says which.
pub async fn mark_and_replan(
    s: &Services<'_>,
    results: &[StackApply],
    pr: Option<u64>,
    sha: &str,
    record: &mut Record,
) {
    let applied: Vec<(String, String)> = results
        .iter()
        .filter_map(|r| match r {
            StackApply::Applied { plan, .. } => Some((plan.stack.clone(), plan.region.clone())),
            _ => None,
        })
        .collect();
    let marked = match mark_stale(s, &applied, pr).await {
        Ok(marked) => marked,
        Err(e) => {
            eprintln!("{}", notes::stale_not_marked(&e.to_string()));
            return;
        }
    };
    if marked.is_empty() {
        return;
    }
    let numbers: Vec<u64> = marked.iter().map(|m| m.number).collect();
    record.summary(&notes::marked_stale(&numbers));
    if !s.inputs().replan_stale {
        return;
    }
    for m in &marked {
        match replan(s, m, sha).await {
            Ok(()) => record.summary(&notes::replanned(m.number, &m.head_sha, sha)),
            Err(failure) => {
                let e = comment::replan_failure(&failure);
                eprintln!("{}", notes::not_replanned_log(m.number, &e));
                record.summary(&notes::not_replanned(m.number, &e));
            }
        }
    }
}

/// Every other open PR whose plan covers an applied stack gets its comment
/// marked stale (its plan was made against live state that has changed).
async fn mark_stale(
    s: &Services<'_>,
    applied: &[(String, String)],
    merged: Option<u64>,
) -> Result<Vec<Stale>, GitHubError> {
    let mut marked = Vec::new();
    if applied.is_empty() {
        return Ok(marked);
    }
    for pr in s.gh.open_pulls().await? {
        if Some(pr.number) == merged {
            continue;
        }
        let Some((c, Marker::Plan(meta))) = s.gh.find_comment(pr.number, is_plan).await? else {
            continue;
        };
        let body = c.body.clone().unwrap_or_default();
        let covered: Vec<String> = meta
            .reviewed()
            .into_keys()
            .filter(|k| applied.contains(k))
            .map(|(s, _)| s)
            .collect();
        if covered.is_empty() || meta.status != PlanStatus::Planned {
            continue;
        }
        let marked_body = comment::with_callout(
            &marker::restatus(&body, meta, PlanStatus::Stale),
            &comment::stale_callout(&covered),
        );
        s.gh.update_comment(c.id, &marked_body).await?;
        marked.push(Stale {
            number: pr.number,
            head_sha: pr.head.sha.clone(),
            comment_id: c.id,
        });
    }
    Ok(marked)
}

/// Re-plans a PR whose plan an apply made stale: the PR's versions of the
/// stack and user-data files its new test merge (the PR merged into the
/// commit just applied, once GitHub recomputed it) changes, fetched at that
/// merge from GitHub, over the checkout (the commit just applied): exactly
/// the merge's files. Its comment then shows the fresh plan; on any failure
/// it stays stale with its old fingerprints.
async fn replan(s: &Services<'_>, pr: &Stale, applied_sha: &str) -> Result<(), ReplanFailure> {
    let github = |e: GitHubError| ReplanFailure::GitHub(e.to_string());
    let (merge, commit) =
        s.gh.test_merge(pr.number, Some(applied_sha), TEST_MERGE_POLLS)
            .await
            .map_err(github)?;
    let (merged, commit) = match (merge, commit) {
        (TestMerge::Ready(p), Some(c)) => (p, c),
        (TestMerge::Conflict(_), _) => return Err(ReplanFailure::Conflict),
        (TestMerge::Closed(_), _) => return Err(ReplanFailure::Closed),
        (TestMerge::Pending(_) | TestMerge::Ready(_), _) => {
            return Err(ReplanFailure::NotRecomputed);
        }
    };
    let (changed, removed) = split_changes(commit.files);
    let config = &s.inputs().config;
    let mut overlay = Overlay::within(s.root.clone());
    for r in &removed {
        overlay.remove(r);
    }
    let mut loaded = s.load_via(&overlay);
    // The changed stack files, and the changed files a stack reads (its
    // user data); a stack file of the PR may name user data the checkout's
    // does not: fetch until every changed file read is the PR's.
    let mut wanted: Vec<&String> = changed
        .iter()
        .filter(|f| !overlay.holds(f))
        .filter(|f| workspace::is_stack_path(f, config) || overlay.reads().contains(&normalize(f)))
        .collect();
    while !wanted.is_empty() {
        for f in wanted {
            // The merge changes the file: it must be there.
            match s.gh.file_at(f, &commit.sha).await.map_err(github)? {
                Some(bytes) => overlay.put(f, bytes),
                None => return Err(ReplanFailure::Missing(f.clone())),
            }
        }
        loaded = s.load_via(&overlay);
        let read = overlay.reads();
        wanted = changed
            .iter()
            .filter(|f| !overlay.holds(f) && read.contains(&normalize(f)))
            .collect();
    }
    let state = PlanState::Replanned {
        after: applied_sha.to_string(),
    };
    let id = pr.comment_id;
    let posted = post_plan(
        s,
        pr.number,
        (&merged.head.sha, Some(applied_sha)),
        (&loaded, &changed, &removed),
        &[],
        // A re-plan is of another merge: a new check run.
        || async move { Ok(Some((id, None))) },
        &state,
    )
    .await
    .map_err(github)?;
    // Its labels follow its new plan (a failure is a warning in the log).
    let current: Vec<String> = merged.labels.iter().map(|l| l.name.clone()).collect();
    let stacks = posted.map(|p| p.stacks).unwrap_or_default();
    sync_labels(s, pr.number, &current, &stacks, None).await;
    Ok(())
}
