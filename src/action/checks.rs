//! The checks `ec2-gitops/plan` and `ec2-gitops/apply` as check runs, or,
//! for a token GitHub refuses them to (no `checks: write`, a personal
//! token), as commit statuses: the first refusal switches the rest of the
//! run to statuses, and the job summary says so.

use std::sync::atomic::Ordering;

use super::Ctx;
use super::outputs::plan_description;
use crate::github::GitHubError;
use crate::marker::CheckRef;
use crate::outcome::{StackApply, StackPlan};
use crate::render::check_run::{self, CheckOutput};

/// The job summary's note when check runs were refused.
pub(super) const USER_TOKEN_NOTE: &str = "\n> [!NOTE]\n> The token is a user's (a personal access token): GitHub makes check runs only for GitHub Apps, so this run set the commit statuses `ec2-gitops/plan` and `ec2-gitops/apply`. The workflow's `GITHUB_TOKEN` or a GitHub App's token with `checks: write` gets the check runs, with the whole plan and annotations.\n";
pub(super) const REFUSED_NOTE: &str = "\n> [!NOTE]\n> GitHub refused to create check runs (the token lacks `checks: write`), so this run set commit statuses instead. Grant the job `checks: write` to get the check runs `ec2-gitops/plan` and `ec2-gitops/apply` with the whole plan and annotations.\n";

impl Ctx<'_> {
    /// Records the plan of `head` as the check run `ec2-gitops/plan`:
    /// `previous` (this head's run, from the plan comment) is updated in
    /// place when neither it nor the new plan has annotations (GitHub only
    /// appends them), else a new run is made. Returns the run, or `None`
    /// when a commit status was set instead.
    pub(super) async fn plan_check(
        &self,
        head: &str,
        stacks: &[StackPlan],
        full: &str,
        previous: Option<CheckRef>,
    ) -> Result<Option<CheckRef>, GitHubError> {
        let description = plan_description(stacks);
        let output = check_run::plan(&description, stacks, full);
        let reused = previous.filter(|p| p.annotations == 0 && output.annotations.is_empty());
        let made = self
            .check(head, check_run::PLAN, &output, reused.map(|p| p.id))
            .await?;
        Ok(made.map(|id| CheckRef {
            id,
            annotations: output.annotations.len(),
        }))
    }

    /// Records that `head` could not be planned (`why`, one line) as a
    /// failed `ec2-gitops/plan`.
    pub(super) async fn plan_not_made(&self, head: &str, why: &str) -> Result<(), GitHubError> {
        let output = CheckOutput {
            conclusion: "failure",
            title: why.to_string(),
            summary: crate::render::escape::text(why),
            text: String::new(),
            annotations: Vec::new(),
        };
        self.check(head, check_run::PLAN, &output, None)
            .await
            .map(|_| ())
    }

    /// Records an apply's outcome on `sha` as the check run
    /// `ec2-gitops/apply` (or its status).
    pub(super) async fn apply_check(
        &self,
        sha: &str,
        results: &[StackApply],
        report: &str,
    ) -> Result<(), GitHubError> {
        let output = check_run::apply(results, report);
        self.check(sha, check_run::APPLY, &output, None)
            .await
            .map(|_| ())
    }

    /// Creates (or, given `update`, updates) the check run `name` on `sha`;
    /// falls back to a commit status once GitHub refused a check run.
    async fn check(
        &self,
        sha: &str,
        name: &str,
        output: &CheckOutput,
        update: Option<u64>,
    ) -> Result<Option<u64>, GitHubError> {
        if !self.checks_refused.load(Ordering::Relaxed) {
            let made = match update {
                Some(id) => self.gh.update_check(id, output).await.map(|()| id),
                None => {
                    self.gh
                        .create_check(sha, name, output, self.env.run_url.as_deref())
                        .await
                }
            };
            match made {
                Ok(id) => return Ok(Some(id)),
                // A run the bot made but someone deleted: make a new one.
                Err(e) if e.status == Some(404) && update.is_some() => {
                    return Box::pin(self.check(sha, name, output, None)).await;
                }
                Err(e) if e.status == Some(403) => {
                    eprintln!(
                        "::warning::{}",
                        crate::render::escape::workflow_data(&format!(
                            "GitHub refused the check run {name} ({e}); this run sets commit statuses instead. Grant the job `checks: write`."
                        ))
                    );
                    self.checks_refused.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        self.gh
            .set_status(
                sha,
                output.conclusion,
                name,
                &output.title,
                self.env.run_url.as_deref(),
            )
            .await?;
        Ok(None)
    }
}
