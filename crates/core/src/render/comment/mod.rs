//! Every comment the bot posts. Each is posted behind its hidden marker
//! (`crate::marker`), which the caller puts on the first line, so the bot
//! finds and updates its own comment instead of posting another.

mod applies;
mod clipping;
mod drift;
mod previews;
mod queue;
mod replies;

pub use applies::*;
use clipping::clip;
pub(crate) use clipping::clip_markdown;
pub use drift::*;
pub use previews::*;
pub use queue::*;
pub use replies::*;

use std::fmt::Write as _;

use super::escape::{code_block, code_span, prose, table_cell, text};
use super::markdown::{self, Listing};
use super::summary_line;
use crate::marker::PlanStatus;
use crate::outcome::{
    ApplyNotAllowed, Outcome, Refusal, ReplanFailure, StackApply, StackPlan, Unmet,
};
use crate::plan::Plan;
/// GitHub's limit is 65,536 characters; keep a margin for the wrapper.
pub const COMMENT_LIMIT: usize = 60_000;

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

impl PlanState {
    /// The status its marker records.
    pub fn status(&self) -> PlanStatus {
        match self {
            PlanState::Planned | PlanState::Replanned { .. } => PlanStatus::Planned,
            PlanState::MergeRefused { .. } => PlanStatus::MergeRefused,
            PlanState::Discarded => PlanStatus::Discarded,
            PlanState::Stale { .. } => PlanStatus::Stale,
        }
    }
}

/// GitHub takes job summaries up to 1 MiB; stay below.
pub const SUMMARY_LIMIT: usize = 1_000_000;

/// The plan comment of a pull request: count groups condensed, shortened to
/// fit a comment.
pub fn plan_comment(
    head_sha: &str,
    stacks: &[StackPlan],
    removed_files: &[String],
    state: &PlanState,
) -> String {
    plan_document(
        head_sha,
        stacks,
        removed_files,
        state,
        (Listing::Condensed, COMMENT_LIMIT),
    )
}

/// The plan comment as the job summary has it: every change listed on its
/// own, in GitHub's larger limit for summaries.
pub fn plan_summary(
    head_sha: &str,
    stacks: &[StackPlan],
    removed_files: &[String],
    state: &PlanState,
) -> String {
    plan_document(
        head_sha,
        stacks,
        removed_files,
        state,
        (Listing::Every, SUMMARY_LIMIT),
    )
}

fn plan_document(
    head_sha: &str,
    stacks: &[StackPlan],
    removed_files: &[String],
    state: &PlanState,
    (listing, limit): (Listing, usize),
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
                let _ = writeln!(out, "> - {}", prose(r));
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
                "> [!NOTE]\n> Re-planned automatically after {} was applied: this plan is against EC2 as it is now, with this pull request's files on top of the default branch.\n",
                code_span(short(after))
            );
        }
    }
    let _ = writeln!(
        out,
        "Plan of {} for {} stack{}.\n",
        code_span(short(head_sha)),
        stacks.len(),
        if stacks.len() == 1 { "" } else { "s" }
    );
    if stacks.len() > 1 {
        out.push_str(&stack_table(stacks));
        out.push('\n');
    }
    for f in removed_files {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> {} is removed: the resources of its stack are **not** destroyed by merging. To destroy them, first merge the file with its resources removed.\n",
            code_span(f)
        );
    }
    // Share the budget between stacks; each shortens itself to its share.
    let budget = (limit.saturating_sub(out.len() + 400)) / stacks.len().max(1);
    out.push_str(&stack_sections(stacks, budget, listing));
    let _ = writeln!(
        out,
        "---\n<sub>Merging applies exactly these plans: each stack's fingerprint is checked again at merge, and a stack whose plan changed is not applied. Comment `/plan` to re-plan, `/help` for commands.</sub>"
    );
    out
}

/// Each stack's section: its plan (each shortened to `budget`), or why it
/// has none.
fn stack_sections(stacks: &[StackPlan], budget: usize, listing: Listing) -> String {
    let mut out = String::new();
    for s in stacks {
        match s {
            StackPlan::Planned(p) => out.push_str(&markdown::plan_as(p, budget, listing)),
            StackPlan::Invalid { file, errors, .. } => {
                let _ = writeln!(
                    out,
                    "### {}: invalid\n\n{}",
                    code_span(file),
                    code_block("", &clip(errors, budget.saturating_sub(100)))
                );
            }
            StackPlan::Failed { file, error } => {
                let _ = writeln!(
                    out,
                    "### {}: could not be planned\n\n{}",
                    code_span(file),
                    code_block("", &clip(error, budget.saturating_sub(100)))
                );
            }
        }
        out.push('\n');
    }
    out
}

/// The stacks of a plan as a table: name, region, summary.
/// With an account column when a stack names one.
pub fn stack_table(stacks: &[StackPlan]) -> String {
    let mut out = String::new();
    let accounts = stacks
        .iter()
        .any(|s| matches!(s, StackPlan::Planned(p) if p.account.is_some()));
    if accounts {
        let _ = writeln!(
            out,
            "| stack | account | region | plan |\n| --- | --- | --- | --- |"
        );
    } else {
        let _ = writeln!(out, "| stack | region | plan |\n| --- | --- | --- |");
    }
    for s in stacks {
        let (name, account, region, summary) = match s {
            StackPlan::Planned(p) => (
                text(&p.stack),
                p.account.as_deref().map_or_else(|| "-".into(), text),
                text(&p.region),
                if p.errors.is_empty() {
                    summary_line(&p.summary)
                } else {
                    format!("{} error(s)", p.errors.len())
                },
            ),
            StackPlan::Invalid { file, .. } => (
                code_span(file),
                "-".into(),
                "-".into(),
                "invalid YAML".into(),
            ),
            StackPlan::Failed { file, .. } => (
                code_span(file),
                "-".into(),
                "-".into(),
                "could not be planned".into(),
            ),
        };
        let account = if accounts {
            format!(" {} |", table_cell(&account))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} |{account} {} | {summary} |",
            table_cell(&name),
            table_cell(&region)
        );
    }
    out
}

/// The first 7 characters of a commit id (whatever the payload held).
fn short(sha: &str) -> &str {
    first(sha, 7)
}

/// The first `n` characters of `s`.
fn first(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// The stale callout put at the top of a plan comment.
pub fn stale_callout(stacks: &[String]) -> String {
    format!(
        "> [!WARNING]\n> **Stale:** {} changed since this plan was made (another pull request was applied); comment `/plan` to refresh it.\n",
        stacks
            .iter()
            .map(|s| code_span(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A plan comment that shows no plan any more.
pub fn no_stack() -> String {
    "## ec2-gitops plan\n\nThis pull request no longer changes any stack.\n".to_string()
}

/// Adds a pull request's preview sections to its plan comment (while the
/// comment stays under GitHub's limit) and to its job summary.
pub fn add_previews(comment: &mut String, summary: &mut String, sections: &str) {
    let section = format!("\n## Previews\n\n{sections}");
    if comment.len() + section.len() < 65_000 {
        comment.push_str(&section);
    }
    summary.push_str(&section);
}

/// A plan comment `body` with `callout` under its title: the bot's title is
/// the first `## ec2-gitops plan` line, before any content.
pub fn with_callout(body: &str, callout: &str) -> String {
    let mut out = String::new();
    let mut placed = false;
    for line in body.lines() {
        out.push_str(line);
        out.push('\n');
        if !placed && line == "## ec2-gitops plan" {
            out.push('\n');
            out.push_str(callout);
            placed = true;
        }
    }
    out
}

/// The callout of a plan comment whose pull request closed unmerged.
pub const DISCARDED_CALLOUT: &str = "> [!NOTE]\n> This pull request was closed without merging: the plan below was **discarded** and will not be applied.\n";

// ------------------------------------------------------------ previews ---

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
        let failures = [
            ReplanFailure::Conflict,
            ReplanFailure::Closed,
            ReplanFailure::NotRecomputed,
            ReplanFailure::Missing("infra/web.yaml".into()),
            ReplanFailure::GitHub("GitHub GET /repos/o/r/pulls/7 failed: 502".into()),
        ];
        insta::assert_snapshot!(
            "replan_failures",
            failures
                .iter()
                .map(replan_failure)
                .collect::<Vec<_>>()
                .join("\n")
        );
        // A branch name with a backtick cannot end the code span.
        assert!(conflict("a`b").contains("``a`b``"));
    }
}
