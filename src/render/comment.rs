//! Every comment the bot posts. Each is posted behind its hidden marker
//! (`crate::marker`), which the caller puts on the first line, so the bot
//! finds and updates its own comment instead of posting another.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::markdown;
use super::summary_line;
use crate::ec2::{Outcome, StepResult};
use crate::marker::{Marker, PlanMeta, PlanStatus, ReviewedStack};
use crate::plan::Plan;
/// GitHub's limit is 65,536 characters; keep a margin for the wrapper.
pub const COMMENT_LIMIT: usize = 60_000;

/// What happened to one stack of a plan run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackPlan {
    /// Planned.
    Planned(Plan),
    /// The YAML is invalid: the rendered diagnostics.
    Invalid {
        /// The stack file.
        file: String,
        /// The errors, as text.
        errors: String,
    },
    /// EC2 could not be read.
    Failed {
        /// The stack file.
        file: String,
        /// What went wrong.
        error: String,
    },
}

impl StackPlan {
    /// The file of the stack.
    pub fn file(&self) -> &str {
        match self {
            StackPlan::Planned(p) => &p.file,
            StackPlan::Invalid { file, .. } | StackPlan::Failed { file, .. } => file,
        }
    }

    /// True when the stack planned without errors.
    pub fn is_ok(&self) -> bool {
        matches!(self, StackPlan::Planned(p) if p.errors.is_empty())
    }
}

/// Where the plan comment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanState {
    /// Current plan of the PR's head.
    Planned,
    /// The merge did not apply: the plan changed after review.
    MergeRefused {
        /// Per stack, why.
        reasons: Vec<String>,
    },
    /// Closed without merge.
    Discarded,
    /// A later apply of the same stacks made this plan stale.
    Stale {
        /// The stacks that changed.
        stacks: Vec<String>,
    },
    /// Planned again automatically after an apply made the plan stale.
    Replanned {
        /// The commit whose apply made it stale.
        after: String,
    },
}

/// The plan comment of a pull request.
pub fn plan_comment(
    head_sha: &str,
    stacks: &[StackPlan],
    removed_files: &[String],
    state: &PlanState,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## ec2-gitops plan\n");
    match state {
        PlanState::Planned => {}
        PlanState::Discarded => {
            let _ = writeln!(
                out,
                "> [!NOTE]\n> This pull request was closed without merging: the plan below was **discarded** and will not be applied.\n"
            );
        }
        PlanState::MergeRefused { reasons } => {
            let _ = writeln!(
                out,
                "> [!CAUTION]\n> **The merge was not applied**: the plan changed after it was reviewed, so nothing was changed in EC2.\n>"
            );
            for r in reasons {
                let _ = writeln!(out, "> - {r}");
            }
            let _ = writeln!(
                out,
                ">\n> Review the new plan below. Apply it with `/apply` (where the repository allows it) or with a new pull request.\n"
            );
        }
        PlanState::Stale { stacks } => {
            let _ = writeln!(out, "{}", stale_callout(stacks));
        }
        PlanState::Replanned { after } => {
            let _ = writeln!(
                out,
                "> [!NOTE]\n> Re-planned automatically after `{}` was applied: this plan is against EC2 as it is now, with this pull request's files on top of the default branch.\n",
                &after[..after.len().min(7)]
            );
        }
    }
    let short = &head_sha[..head_sha.len().min(7)];
    let _ = writeln!(
        out,
        "Plan of `{short}` for {} stack{}.\n",
        stacks.len(),
        if stacks.len() == 1 { "" } else { "s" }
    );
    if stacks.len() > 1 {
        let _ = writeln!(out, "| stack | region | plan |\n| --- | --- | --- |");
        for s in stacks {
            let (name, region, summary) = match s {
                StackPlan::Planned(p) if p.errors.is_empty() => {
                    (p.stack.clone(), p.region.clone(), summary_line(&p.summary))
                }
                StackPlan::Planned(p) => (
                    p.stack.clone(),
                    p.region.clone(),
                    format!("{} error(s)", p.errors.len()),
                ),
                StackPlan::Invalid { file, .. } => {
                    (format!("`{file}`"), "-".into(), "invalid YAML".into())
                }
                StackPlan::Failed { file, .. } => (
                    format!("`{file}`"),
                    "-".into(),
                    "could not be planned".into(),
                ),
            };
            let _ = writeln!(out, "| {name} | {region} | {summary} |");
        }
        out.push('\n');
    }
    for f in removed_files {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> `{f}` is removed: the resources of its stack are **not** destroyed by merging. To destroy them, first merge the file with its resources removed.\n"
        );
    }
    // Share the budget between stacks; each shortens itself to its share.
    let budget = (COMMENT_LIMIT.saturating_sub(out.len() + 400)) / stacks.len().max(1);
    for s in stacks {
        match s {
            StackPlan::Planned(p) => out.push_str(&markdown::plan(p, budget)),
            StackPlan::Invalid { file, errors } => {
                let _ = writeln!(
                    out,
                    "### `{file}`: invalid\n\n```\n{}\n```\n",
                    clip(errors, budget.saturating_sub(100))
                );
            }
            StackPlan::Failed { file, error } => {
                let _ = writeln!(
                    out,
                    "### `{file}`: could not be planned\n\n```\n{}\n```\n",
                    clip(error, budget.saturating_sub(100))
                );
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "---\n<sub>Merging applies exactly these plans: each stack's fingerprint is checked again at merge, and a stack whose plan changed is not applied. Comment `/plan` to re-plan, `/help` for commands.</sub>"
    );
    out
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… (cut: the full text is in the job summary)",
        &s[..end]
    )
}

/// The marker of a plan comment showing `stacks` in `state`: the reviewed
/// fingerprint of every stack that planned.
pub fn plan_marker(
    head_sha: &str,
    base_sha: Option<&str>,
    stacks: &[StackPlan],
    state: &PlanState,
) -> Marker {
    let status = match state {
        PlanState::Planned | PlanState::Replanned { .. } => PlanStatus::Planned,
        PlanState::MergeRefused { .. } => PlanStatus::MergeRefused,
        PlanState::Discarded => PlanStatus::Discarded,
        PlanState::Stale { .. } => PlanStatus::Stale,
    };
    let mut reviewed: Vec<ReviewedStack> = stacks
        .iter()
        .filter_map(|s| match s {
            StackPlan::Planned(p) => Some(ReviewedStack {
                stack: p.stack.clone(),
                region: p.region.clone(),
                fingerprint: p.fingerprint.clone(),
            }),
            _ => None,
        })
        .collect();
    reviewed.sort();
    Marker::Plan(PlanMeta {
        status,
        head: head_sha.to_string(),
        base: base_sha.map(str::to_string),
        stacks: reviewed,
    })
}

/// The reviewed fingerprint of each stack of a plan comment's marker,
/// `(stack, region)` → fingerprint.
pub fn reviewed_fingerprints(meta: &PlanMeta) -> BTreeMap<(String, String), String> {
    meta.stacks
        .iter()
        .map(|s| ((s.stack.clone(), s.region.clone()), s.fingerprint.clone()))
        .collect()
}

/// The outcome of applying one stack.
#[derive(Debug, Clone, PartialEq)]
pub enum StackApply {
    /// Applied (every step listed).
    Applied {
        /// The plan applied.
        plan: Box<Plan>,
        /// What each step did.
        results: Vec<StepResult>,
        /// Seconds taken.
        seconds: f64,
    },
    /// Nothing to do.
    NoChanges {
        /// Stack.
        stack: String,
        /// Region.
        region: String,
    },
    /// Not applied: why.
    NotApplied {
        /// Stack or file.
        stack: String,
        /// Why.
        reason: String,
    },
}

impl StackApply {
    /// True when nothing failed or was refused.
    pub fn is_ok(&self) -> bool {
        match self {
            StackApply::Applied { results, .. } => results
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Done(_))),
            StackApply::NoChanges { .. } => true,
            StackApply::NotApplied { .. } => false,
        }
    }
}

/// The result of a merge-apply, posted on the merged PR (and the job summary).
pub fn apply_comment(sha: &str, stacks: &[StackApply]) -> String {
    let ok = stacks.iter().all(StackApply::is_ok);
    let short = &sha[..sha.len().min(7)];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## ec2-gitops apply {}\n\nMerge commit `{short}`.\n",
        if ok { "succeeded" } else { "FAILED" }
    );
    for s in stacks {
        match s {
            StackApply::NoChanges { stack, region } => {
                let _ = writeln!(out, "### Stack `{stack}` ({region}): no changes\n");
            }
            StackApply::NotApplied { stack, reason } => {
                let _ = writeln!(out, "### Stack `{stack}`: not applied\n\n{reason}\n");
            }
            StackApply::Applied {
                plan,
                results,
                seconds,
            } => {
                let t = super::report::tally(results);
                let _ = writeln!(
                    out,
                    "### Stack `{}` ({}): {} in {seconds:.1}s\n\n{}\n",
                    plan.stack,
                    plan.region,
                    if t.failed == 0 { "applied" } else { "FAILED" },
                    summary_line(&plan.summary)
                );
                let mut lines = Vec::new();
                for r in results {
                    let (mark, text) = match &r.outcome {
                        Outcome::Done(t) => ("✅", t.clone()),
                        Outcome::Failed(e) => ("❌", e.to_string()),
                        Outcome::Skipped(why) => ("⏭️", format!("not attempted: {why}")),
                    };
                    lines.push(format!("- {mark} `{}` {text}", r.step.resource));
                }
                if lines.len() > 40 {
                    let n = lines.len();
                    let _ = writeln!(
                        out,
                        "<details><summary>{n} steps</summary>\n\n{}\n\n</details>\n",
                        lines.join("\n")
                    );
                } else {
                    let _ = writeln!(out, "{}\n", lines.join("\n"));
                }
                if t.failed > 0 {
                    let _ = writeln!(
                        out,
                        "What was done stays done. Fix the cause and re-run the workflow: it re-plans from EC2 and does only what is left.\n"
                    );
                }
            }
        }
    }
    clip(&out, COMMENT_LIMIT)
}

/// The reply to a commenter without write permission.
pub fn not_allowed(user: &str, permission: &str) -> String {
    format!(
        "@{user} thanks — only people with write access to this repository can run ec2-gitops commands (your permission: `{permission}`). Nothing was run. Ask a maintainer to comment the command for you."
    )
}

/// `/help`, and the reply to an unknown command.
pub fn help(prefix: &str, unknown: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(u) = unknown {
        let _ = writeln!(out, "`{prefix}{u}` is not an ec2-gitops command.\n");
    }
    let _ = writeln!(
        out,
        "**ec2-gitops commands** (one per line, people with write access only):\n\n\
         | command | what it does |\n| --- | --- |\n\
         | `{prefix}plan [stack…]` | re-plan this pull request's stacks (or the named ones) at its current head and update the plan comment |\n\
         | `{prefix}apply [stack…]` | apply the plan shown in the plan comment, where the repository allows it (by default only after a merge whose apply was refused because the plan changed) |\n\
         | `{prefix}help` | this text |"
    );
    out
}

/// The reply when `/apply` is not allowed here.
pub fn apply_not_allowed(reason: &str) -> String {
    format!("`/apply` was not run: {reason}")
}

/// The label of the drift issue.
pub const DRIFT_LABEL: &str = "ec2-gitops-drift";
/// The drift issue's title.
pub const DRIFT_TITLE: &str = "ec2-gitops: EC2 has drifted from the YAML";

/// The drift issue: every drifted resource and field, live against YAML, and
/// how to fix it.
pub fn drift_issue(sha: &str, stacks: &[StackPlan]) -> String {
    let short = &sha[..sha.len().min(7)];
    let drifted: Vec<&Plan> = stacks
        .iter()
        .filter_map(|s| match s {
            StackPlan::Planned(p) if !p.is_empty() || !p.errors.is_empty() => Some(p),
            _ => None,
        })
        .collect();
    let mut out = format!("Checked at `{short}` of the default branch.\n\n");
    let _ = writeln!(
        out,
        "**{} of {} stack(s) drifted**: EC2 no longer matches the YAML.\n",
        drifted.len(),
        stacks.len()
    );
    for p in &drifted {
        let _ = writeln!(
            out,
            "### Stack `{}` ({}) — `{}`\n",
            p.stack, p.region, p.file
        );
        if !p.errors.is_empty() {
            for e in &p.errors {
                let _ = writeln!(out, "- error: {}", e.message);
            }
            out.push('\n');
            continue;
        }
        let _ = writeln!(
            out,
            "| resource | field | in EC2 | in the YAML |\n| --- | --- | --- | --- |"
        );
        for c in &p.changes {
            let id = c
                .live_id
                .as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
            match c.action {
                crate::plan::Action::Create => {
                    let _ = writeln!(out, "| `{}` | — | missing | declared |", c.resource);
                }
                crate::plan::Action::Destroy => {
                    let _ = writeln!(out, "| `{}`{id} | — | exists | not declared |", c.resource);
                }
                _ => {
                    for f in &c.fields {
                        // Of two lists only what differs: the rest matches.
                        let (before, after) = match (&f.before, &f.after) {
                            (crate::plan::Value::List(b), crate::plan::Value::List(a)) => (
                                b.iter().filter(|x| !a.contains(x)).cloned().collect(),
                                a.iter().filter(|x| !b.contains(x)).cloned().collect(),
                            ),
                            (b, a) => (b.lines(), a.lines()),
                        };
                        let cell = |l: Vec<String>| {
                            if l.is_empty() {
                                "—".to_string()
                            } else {
                                l.join("<br>").replace('|', "\\|")
                            }
                        };
                        let _ = writeln!(
                            out,
                            "| `{}`{id} | `{}` | {} | {} |",
                            c.resource,
                            f.field,
                            cell(before),
                            cell(after)
                        );
                    }
                }
            }
        }
        out.push('\n');
    }
    let problems: Vec<&StackPlan> = stacks
        .iter()
        .filter(|s| !matches!(s, StackPlan::Planned(_)))
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "**Not checked:**\n");
        for s in problems {
            let _ = writeln!(
                out,
                "- `{}`: invalid or unreadable (see the job summary)",
                s.file()
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "**How to fix it**, per stack:\n\n\
         - to put EC2 back as the YAML says: merge a pull request that touches the stack file (even a comment line); its merge re-plans and applies the YAML, and the plan comment shows exactly what that reverts;\n\
         - to keep what was changed in EC2: change the YAML to the values in the \"in EC2\" column, in a pull request.\n\n\
         This issue is updated by every drift check and closed when every stack matches again."
    );
    clip(&out, COMMENT_LIMIT)
}

/// The comment that closes the drift issue.
pub fn drift_resolved(sha: &str, stacks: usize) -> String {
    let short = &sha[..sha.len().min(7)];
    format!("All {stacks} stack(s) match the YAML again (checked at `{short}`). Closing.")
}

/// The stale callout put at the top of a plan comment.
pub fn stale_callout(stacks: &[String]) -> String {
    format!(
        "> [!WARNING]\n> **Stale:** {} changed since this plan was made (another pull request was applied); comment `/plan` to refresh it.\n",
        stacks
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The plan comment of a pull request that conflicts with its base: nothing
/// is planned until the conflicts are resolved.
pub fn conflict(base_branch: &str) -> String {
    format!(
        "## ec2-gitops plan\n\n> [!WARNING]\n> **Not planned: this pull request conflicts with `{}`.** A plan is made of the pull request merged into its base, which GitHub cannot compute while they conflict. Resolve the conflicts and push: the next push is planned.\n",
        base_branch.replace('`', "'")
    )
}

/// The reply to `/plan` on a closed pull request.
pub fn pull_closed(prefix: &str) -> String {
    format!(
        "`{prefix}plan` was not run: this pull request is closed, so there is nothing to merge and nothing to plan."
    )
}

/// Why a pull request was not planned: GitHub had not computed its test
/// merge after about a minute of polling.
pub fn test_merge_pending(prefix: &str) -> String {
    format!(
        "Not planned: GitHub has not computed this pull request's test merge (`mergeable` stayed unknown), and a plan is only made of the pull request merged into its base. Comment `{prefix}plan` in a minute to try again."
    )
}

/// Why a pull request was not planned: the workspace holds another commit
/// than its test merge (the files there are not the ones the merge applies).
pub fn wrong_checkout(number: u64, found: Option<&str>, want: &str) -> String {
    let found = match found {
        Some(sha) => format!("commit `{}`", &sha[..sha.len().min(12)]),
        None => "no Git checkout (no readable .git)".to_string(),
    };
    format!(
        "Not planned: the workspace holds {found}, but pull request #{number} merged into its base is `{}`. Plans are made of the merge, never of the head alone: check out `refs/pull/{number}/merge` with actions/checkout, as the example workflow does. If the base branch moved since the run started, re-run it.",
        &want[..want.len().min(12)]
    )
}

#[cfg(test)]
mod test_merge_messages {
    use super::*;

    #[test]
    fn messages_of_a_pull_request_that_is_not_planned() {
        insta::assert_snapshot!("conflict", conflict("main"));
        insta::assert_snapshot!("pull_closed", pull_closed("/"));
        insta::assert_snapshot!("test_merge_pending", test_merge_pending("/"));
        insta::assert_snapshot!(
            "wrong_checkout",
            wrong_checkout(
                42,
                Some("1111111111111111111111111111111111111111"),
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
            )
        );
        insta::assert_snapshot!(
            "wrong_checkout_without_git",
            wrong_checkout(42, None, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4")
        );
        // A branch name with a backtick cannot end the code span.
        assert!(conflict("a`b").contains("`a'b`"));
    }
}
