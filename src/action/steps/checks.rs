//! The checks `ec2-gitops/plan` and `ec2-gitops/apply` as check runs, or,
//! for a token GitHub refuses them to (no `checks: write`, a personal
//! token), as commit statuses: the first refusal switches the rest of the
//! run to statuses, and the job summary says so.

use crate::action::services::Services;
use crate::github::GitHubError;
use crate::marker::CheckRef;
use crate::outcome::{CheckOutput, StackApply, StackPlan};
use crate::render::check_run;
use crate::render::{self, outputs::plan_description};

/// Records the plan of `head` as the check run `ec2-gitops/plan`:
/// `previous` (this head's run, from the plan comment) is updated in place
/// when neither it nor the new plan has annotations (GitHub only appends
/// them), else a new run is made. Returns the run, or `None` when a commit
/// status was set instead.
pub async fn plan_check(
    s: &Services<'_>,
    head: &str,
    stacks: &[StackPlan],
    full: &str,
    previous: Option<CheckRef>,
) -> Result<Option<CheckRef>, GitHubError> {
    let description = plan_description(stacks);
    let output = check_run::plan(&description, stacks, full);
    let reused = previous.filter(|p| p.annotations == 0 && output.annotations.is_empty());
    let made = check(s, head, check_run::PLAN, &output, reused.map(|p| p.id)).await?;
    Ok(made.map(|id| CheckRef {
        id,
        annotations: output.annotations.len(),
    }))
}

/// Records that `head` could not be planned (`why`, one line) as a failed
/// `ec2-gitops/plan`.
pub async fn plan_not_made(s: &Services<'_>, head: &str, why: &str) -> Result<(), GitHubError> {
    let output = check_run::not_planned(why);
    check(s, head, check_run::PLAN, &output, None)
        .await
        .map(|_| ())
}

/// Records the merge queue's gate on a group's head as `ec2-gitops/plan`.
pub async fn queue_check(
    s: &Services<'_>,
    head: &str,
    output: &CheckOutput,
) -> Result<(), GitHubError> {
    check(s, head, check_run::PLAN, output, None)
        .await
        .map(|_| ())
}

/// Records an apply's outcome on `sha` as the check run `ec2-gitops/apply`
/// (or its status).
pub async fn apply_check(
    s: &Services<'_>,
    sha: &str,
    results: &[StackApply],
    report: &str,
) -> Result<(), GitHubError> {
    let output = check_run::apply(results, report);
    check(s, sha, check_run::APPLY, &output, None)
        .await
        .map(|_| ())
}

/// Creates (or, given `update`, updates) the check run `name` on `sha`;
/// falls back to a commit status once GitHub refused a check run.
async fn check(
    s: &Services<'_>,
    sha: &str,
    name: &str,
    output: &CheckOutput,
    update: Option<u64>,
) -> Result<Option<u64>, GitHubError> {
    if !s.checks_refused() {
        let made = match update {
            Some(id) => s.gh.update_check(id, output).await.map(|()| id),
            None => {
                s.gh.create_check(sha, name, output, s.env.run_url.as_deref())
                    .await
            }
        };
        match made {
            Ok(id) => return Ok(Some(id)),
            // A run the bot made but someone deleted: make a new one.
            Err(e) if e.status == Some(404) && update.is_some() => {
                return Box::pin(check(s, sha, name, output, None)).await;
            }
            Err(e) if e.status == Some(403) => {
                eprintln!(
                    "{}",
                    render::notes::checks_refused_warning(name, &e.to_string())
                );
                s.refuse_checks();
            }
            Err(e) => return Err(e),
        }
    }
    s.gh.set_status(
        sha,
        output.conclusion,
        name,
        &output.title,
        s.env.run_url.as_deref(),
    )
    .await?;
    Ok(None)
}
