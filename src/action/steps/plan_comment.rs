//! A pull request's ONE plan comment: its stacks planned (its test merge's
//! files), the comment created or updated in place behind its marker, the
//! plan check and the labels set; or, when it cannot be planned, why.

use anyhow::Result;

use super::checks::{plan_check, plan_not_made};
use super::labels::sync_labels;
use super::previews;
use super::replies::{refused_unknown_stacks, reply};
use crate::action::command;
use crate::action::record::Record;
use crate::action::services::Services;
use crate::action::touched;
use crate::action::{EXIT_FAILED, EXIT_OK};
use crate::app;
use crate::config::normalize;
use crate::github::{ChangedFile, GitHubError, PullRequest, TestMerge};
use crate::marker::{self, CheckRef, Marker, PlanStatus};
use crate::model::Desired;
use crate::outcome::StackPlan;
use crate::render::comment::{self, PlanState};
use crate::render::outputs::plans_json;
use crate::render::{self, notes};
use crate::workspace::{self, Loaded};

/// `GET /pulls/N` at most this often while GitHub computes a test merge
/// (backing off from the retry policy's first wait: about a minute in all).
pub const TEST_MERGE_POLLS: u32 = 7;

/// Whether a marker is a pull request's plan comment.
pub fn is_plan(m: &Marker) -> bool {
    matches!(m, Marker::Plan(_))
}

/// What [`post_plan`] wrote.
pub struct Posted {
    /// The comment's body.
    pub body: String,
    /// The same plan for the job summary, every change listed.
    pub summary: String,
    /// The plans.
    pub stacks: Vec<StackPlan>,
}

/// Plans a PR merged into its base (GitHub's test merge, which the
/// workspace must hold) and creates or updates its one plan comment. A PR
/// that conflicts with its base, or whose test merge GitHub has not
/// computed, is not planned: the comment or the status says why.
pub async fn plan_pr(
    s: &Services<'_>,
    number: u64,
    only: &[String],
    record: &mut Record,
) -> Result<u8> {
    let (merge, commit) = s.gh.test_merge(number, None, TEST_MERGE_POLLS).await?;
    let (pr, commit) = match (merge, commit) {
        (TestMerge::Ready(pr), Some(commit)) => (pr, commit),
        (TestMerge::Conflict(pr), _) => return conflict(s, number, &pr, record).await,
        (TestMerge::Closed(pr), _) => {
            reply(s, number, &comment::pull_closed(&s.inputs().command_prefix)).await?;
            record.summary(&notes::not_planned_closed(number, &pr.state));
            return Ok(EXIT_FAILED);
        }
        (TestMerge::Pending(pr) | TestMerge::Ready(pr), _) => {
            let text = comment::test_merge_pending(&s.inputs().command_prefix);
            eprintln!("{}", notes::warning(&text));
            record.summary(&format!("{text}\n"));
            plan_not_made(s, &pr.head.sha, notes::NOT_PLANNED_PENDING).await?;
            return Ok(EXIT_FAILED);
        }
    };
    // Plan the files of the merge, never the head's alone: the checkout
    // must be the test merge.
    let found = crate::git::head(&s.checkout);
    if found.as_deref() != Some(commit.sha.as_str()) {
        let text = comment::wrong_checkout(number, found.as_deref(), &commit.sha);
        eprintln!("{}", notes::error(&text));
        record.summary(&notes::titled(&text));
        plan_not_made(s, &pr.head.sha, notes::NOT_PLANNED_WRONG_CHECKOUT).await?;
        return Ok(EXIT_FAILED);
    }
    let base = commit.parents.first().cloned();
    let (changed, removed) = split_changes(commit.files);
    let labels: Vec<String> = pr.labels.iter().map(|l| l.name.clone()).collect();
    plan_files(
        s,
        number,
        (&pr.head.sha, base.as_deref()),
        (&changed, &removed),
        only,
        &labels,
        record,
    )
    .await
}

/// Plans the workspace's stacks that `changed` touches (a PR's test merge)
/// and writes the one plan comment.
async fn plan_files(
    s: &Services<'_>,
    number: u64,
    (head_sha, base_sha): (&str, Option<&str>),
    (changed, removed): (&[String], &[String]),
    only: &[String],
    labels: &[String],
    record: &mut Record,
) -> Result<u8> {
    let loaded = s.load();
    // `/plan NAME`: a name the PR does not touch must not reach the plan
    // comment (an empty selection would rewrite it as "no stack").
    if !only.is_empty() {
        let known: Vec<String> = touched::touched(&loaded.valid, changed)
            .iter()
            .map(|d| d.stack.clone())
            .collect();
        if refused_unknown_stacks(s, number, command::Named::Plan, only, &known).await? {
            record.summary(notes::PLAN_NAMED_AN_UNTOUCHED_STACK);
            return Ok(EXIT_FAILED);
        }
    }
    // The plan comment, and the check run it made for this same head.
    let existing = || async {
        s.gh.find_comment(number, is_plan).await.map(|c| {
            c.map(|(c, m)| {
                let check = match m {
                    Marker::Plan(meta) if meta.head == head_sha => meta.check,
                    _ => None,
                };
                (c.id, check)
            })
        })
    };
    let posted = post_plan(
        s,
        number,
        (head_sha, base_sha),
        (&loaded, changed, removed),
        only,
        existing,
        &PlanState::Planned,
    )
    .await?;
    let Some(Posted {
        body,
        summary,
        stacks,
    }) = posted
    else {
        println!("{}", notes::changes_no_stack(number));
        // No plan, no plan labels.
        sync_labels(s, number, labels, &[], Some(record)).await;
        record.output("plan", "");
        record.output("result-json", "[]");
        return Ok(EXIT_OK);
    };
    sync_labels(s, number, labels, &stacks, Some(record)).await;
    record.summary(&summary);
    record.output("plan", &body);
    record.output("result-json", &plans_json(&stacks));
    Ok(if stacks.iter().all(StackPlan::is_ok) {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

/// Plans the stacks `changed` touches (or, with `only`, the named ones):
/// an invalid stack file whose file (or a base its errors point into)
/// changed is shown with its errors, annotated in the log.
pub async fn plan_stacks(loaded: &Loaded, changed: &[String], only: &[String]) -> Vec<StackPlan> {
    let changed_norm: Vec<String> = changed.iter().map(|c| normalize(c)).collect();
    let mut out = Vec::new();
    for (file, diags) in &loaded.invalid {
        let touched_by = |f: &str| changed_norm.contains(&normalize(f));
        if touched_by(file) || diags.iter().any(|d| touched_by(&d.at.file)) {
            print!("{}", render::diagnostics::github_annotations(diags));
            out.push(render::diagnostics::invalid_stack(file, diags));
        }
    }
    let stacks: Vec<Desired> = touched::touched(&loaded.valid, changed)
        .into_iter()
        .filter(|d| only.is_empty() || only.contains(&d.stack))
        .cloned()
        .collect();
    out.extend(app::plan_all(stacks).await);
    out
}

/// Plans the stacks a PR's files touch and writes the one plan comment
/// (`comment` finds it, called after planning) and the plan check of
/// `head_sha`. `None` when the PR changes no stack (an existing comment
/// then says so).
pub async fn post_plan<F, Fut>(
    s: &Services<'_>,
    number: u64,
    (head_sha, base_sha): (&str, Option<&str>),
    (loaded, changed, removed): (&Loaded, &[String], &[String]),
    only: &[String],
    comment: F,
    state: &PlanState,
) -> Result<Option<Posted>, GitHubError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<(u64, Option<CheckRef>)>, GitHubError>>,
{
    let mut stacks = plan_stacks(loaded, changed, only).await;
    // A stack the change moves between accounts: refused while the old
    // account holds some of it, called out once it holds none.
    if let Some(base) = base_sha {
        super::moves::mark_moves(s, base, changed, loaded, &mut stacks).await;
    }
    let removed_stacks = touched::removed_stack_files(removed, &loaded.valid, |p| {
        workspace::is_stack_path(p, &s.inputs().config)
    });
    let (existing, previous_check) = match comment().await? {
        Some((id, check)) => (Some(id), check),
        None => (None, None),
    };
    if stacks.is_empty() && removed_stacks.is_empty() {
        if let Some(id) = existing {
            let marker = Marker::without_plan(head_sha, PlanStatus::NoStack);
            s.gh.update_comment(id, &marker.wrap(&comment::no_stack()))
                .await?;
        }
        return Ok(None);
    }
    let mut text = comment::plan_comment(head_sha, &stacks, &removed_stacks, state);
    let mut summary = comment::plan_summary(head_sha, &stacks, &removed_stacks, state);
    // The pull request's previews, when it has some: their servers.
    let previews = previews::sections(number, &loaded.valid).await;
    if !previews.is_empty() {
        comment::add_previews(&mut text, &mut summary, &previews);
    }
    // The check first: the comment's marker keeps its id, so that the next
    // plan of this head updates it in place. A check GitHub will not take
    // (other than for want of permission, which falls back to a status)
    // must not keep the reviewer from the plan: warn, and post the comment.
    let check = match plan_check(s, head_sha, &stacks, &summary, previous_check).await {
        Ok(check) => check,
        Err(e) => {
            eprintln!("{}", notes::plan_check_not_recorded(&e.to_string()));
            None
        }
    };
    let mut marker = Marker::of_plans(head_sha, base_sha, &stacks, state.status());
    if let Marker::Plan(meta) = &mut marker {
        meta.check = check;
    }
    let body = marker.wrap(&text);
    match existing {
        Some(id) => {
            s.gh.update_comment(id, &body).await?;
        }
        None => {
            s.gh.create_comment(number, &body).await?;
        }
    }
    Ok(Some(Posted {
        body,
        summary,
        stacks,
    }))
}

/// A PR that conflicts with its base: no plan, the comment and a failing
/// check say to resolve the conflicts.
async fn conflict(
    s: &Services<'_>,
    number: u64,
    pr: &PullRequest,
    record: &mut Record,
) -> Result<u8> {
    let text = comment::conflict(&pr.base.branch);
    let body = Marker::without_plan(&pr.head.sha, PlanStatus::Conflict).wrap(&text);
    match s.gh.find_comment(number, is_plan).await? {
        Some((c, _)) => {
            s.gh.update_comment(c.id, &body).await?;
        }
        None => {
            s.gh.create_comment(number, &body).await?;
        }
    }
    plan_not_made(
        s,
        &pr.head.sha,
        &notes::not_planned_conflict(&pr.base.branch),
    )
    .await?;
    record.summary(&text);
    Ok(EXIT_FAILED)
}

/// A pull request closed without merge: its plan comment is marked
/// discarded (whatever was planned on it will not be applied).
pub async fn discard(s: &Services<'_>, number: u64, record: &mut Record) -> Result<u8> {
    let Some((c, Marker::Plan(meta))) = s.gh.find_comment(number, is_plan).await? else {
        println!("{}", notes::closed_without_plan(number));
        return Ok(EXIT_OK);
    };
    if meta.status == PlanStatus::Discarded {
        println!("{}", notes::closed_plan_discarded_already(number));
        return Ok(EXIT_OK);
    }
    let body = c.body.unwrap_or_default();
    let marked = comment::with_callout(
        &marker::restatus(&body, meta, PlanStatus::Discarded),
        comment::DISCARDED_CALLOUT,
    );
    s.gh.update_comment(c.id, &marked).await?;
    record.summary(&notes::plan_discarded(number));
    Ok(EXIT_OK)
}

/// The changed and the removed paths of pull request `number`.
pub async fn changed_files(
    s: &Services<'_>,
    number: u64,
) -> Result<(Vec<String>, Vec<String>), GitHubError> {
    Ok(split_changes(s.gh.pull_files(number).await?))
}

/// The changed and the removed paths of a diff (a renamed file's old path
/// is both).
pub fn split_changes(files: Vec<ChangedFile>) -> (Vec<String>, Vec<String>) {
    let mut changed = Vec::new();
    let mut removed = Vec::new();
    for f in files {
        if f.status == "removed" {
            removed.push(f.filename.clone());
        }
        if let Some(prev) = f.previous_filename {
            removed.push(prev.clone());
            changed.push(prev);
        }
        changed.push(f.filename);
    }
    (changed, removed)
}
