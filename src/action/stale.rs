//! After an apply: the other open pull requests whose plans covered an
//! applied stack are marked stale, and with `replan-stale` re-planned merged
//! into the commit just applied.

use super::{Ctx, TEST_MERGE_POLLS, is_plan, mark_state, split_changes};
use crate::github::{GitHubError, TestMerge};
use crate::marker::{Marker, PlanStatus};
pub(super) use crate::outcome::ReplanFailure;
use crate::render::comment::{self, PlanState};
use crate::workspace::{self, Overlay};

impl From<GitHubError> for ReplanFailure {
    fn from(e: GitHubError) -> Self {
        ReplanFailure::GitHub(e.to_string())
    }
}

/// An open PR whose plan comment was marked stale.
pub(super) struct Stale {
    pub(super) number: u64,
    pub(super) head_sha: String,
    pub(super) comment_id: u64,
}

impl Ctx<'_> {
    /// After an apply: every other open PR whose plan covers an applied
    /// stack gets its comment marked stale (its plan was made against live
    /// state that has changed).
    pub(super) async fn mark_stale(
        &self,
        applied: &[(String, String)],
        merged: Option<u64>,
    ) -> Result<Vec<Stale>, GitHubError> {
        let mut marked = Vec::new();
        if applied.is_empty() {
            return Ok(marked);
        }
        for pr in self.gh.open_pulls().await? {
            if Some(pr.number) == merged {
                continue;
            }
            let Some((c, Marker::Plan(meta))) = self.gh.find_comment(pr.number, is_plan).await?
            else {
                continue;
            };
            let body = c.body.clone().unwrap_or_default();
            let covered: Vec<String> = comment::reviewed_stacks(&meta)
                .into_keys()
                .filter(|k| applied.contains(k))
                .map(|(s, _)| s)
                .collect();
            if covered.is_empty() || meta.status != PlanStatus::Planned {
                continue;
            }
            let marked_body = mark_state(
                &body,
                meta,
                PlanStatus::Stale,
                &comment::stale_callout(&covered),
            );
            self.gh.update_comment(c.id, &marked_body).await?;
            marked.push(Stale {
                number: pr.number,
                head_sha: pr.head.sha.clone(),
                comment_id: c.id,
            });
        }
        Ok(marked)
    }

    /// Re-plans a PR whose plan an apply made stale: the PR's versions of
    /// the stack and user-data files its new test merge (the PR merged into
    /// the commit just applied, once GitHub recomputed it) changes, fetched
    /// at that merge from GitHub, over the checkout (the commit just
    /// applied): exactly the merge's files. Its comment then shows the fresh
    /// plan; on any failure it stays stale with its old fingerprints.
    pub(super) async fn replan(&self, pr: &Stale, applied_sha: &str) -> Result<(), ReplanFailure> {
        let (merge, commit) = self
            .gh
            .test_merge(pr.number, Some(applied_sha), TEST_MERGE_POLLS)
            .await?;
        let (merged, commit) = match (merge, commit) {
            (TestMerge::Ready(p), Some(c)) => (p, c),
            (TestMerge::Conflict(_), _) => return Err(ReplanFailure::Conflict),
            (TestMerge::Closed(_), _) => return Err(ReplanFailure::Closed),
            (TestMerge::Pending(_) | TestMerge::Ready(_), _) => {
                return Err(ReplanFailure::NotRecomputed);
            }
        };
        let (changed, removed) = split_changes(commit.files);
        let config = &self.env.inputs.config;
        let mut overlay = Overlay::within(self.root.clone());
        for r in &removed {
            overlay.remove(r);
        }
        let mut loaded = self.load_via(&overlay);
        // The changed stack files, and the changed files a stack reads (its
        // user data); a stack file of the PR may name user data the
        // checkout's does not: fetch until every changed file read is the PR's.
        let mut wanted: Vec<&String> = changed
            .iter()
            .filter(|f| !overlay.holds(f))
            .filter(|f| {
                workspace::is_stack_path(f, config)
                    || overlay.reads().contains(&workspace::normalize(f))
            })
            .collect();
        while !wanted.is_empty() {
            for f in wanted {
                // The merge changes the file: it must be there.
                match self.gh.file_at(f, &commit.sha).await? {
                    Some(bytes) => overlay.put(f, bytes),
                    None => return Err(ReplanFailure::Missing(f.clone())),
                }
            }
            loaded = self.load_via(&overlay);
            let read = overlay.reads();
            wanted = changed
                .iter()
                .filter(|f| !overlay.holds(f) && read.contains(&workspace::normalize(f)))
                .collect();
        }
        let state = PlanState::Replanned {
            after: applied_sha.to_string(),
        };
        let id = pr.comment_id;
        let posted = self
            .post_plan(
                pr.number,
                (&merged.head.sha, Some(applied_sha)),
                (&loaded, &changed, &removed),
                &[],
                // A re-plan is of another merge: a new check run.
                || async move { Ok(Some((id, None))) },
                &state,
            )
            .await?;
        // Its labels follow its new plan (a failure is a warning in the log).
        let current: Vec<String> = merged.labels.iter().map(|l| l.name.clone()).collect();
        let stacks = posted.map(|p| p.stacks).unwrap_or_default();
        self.sync_labels(pr.number, &current, &stacks, None).await;
        Ok(())
    }
}
