//! The merge queue's gate as the check `ec2-gitops/plan` on the group's
//! head shows it: a title, a table of the stacks the group changes, and
//! for each stack that stops the group, why and what to do.

use std::fmt::Write as _;

use super::super::escape::{code_span, table_cell, text};
use super::{reason, refusal_text, short};
use crate::action::queue::{Gate, GateOutcome};

/// `#11, #12 and #13`.
fn pulls(numbers: &[u64]) -> String {
    let names: Vec<String> = numbers.iter().map(|n| format!("#{n}")).collect();
    match names.as_slice() {
        [] => "no pull request".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// One line on why a stack stops the group (plain text: a check's title).
fn short_reason(g: &Gate) -> String {
    match &g.outcome {
        GateOutcome::Passes { .. } => "plans as reviewed".to_string(),
        GateOutcome::OneAtATime => format!(
            "{} change it in one group: merge them one at a time",
            pulls(&g.pulls)
        ),
        GateOutcome::Unexplained => {
            "changed by a commit of the group that none of its pull requests changes".to_string()
        }
        GateOutcome::Invalid(_) => "the stack file is invalid at the group's head".to_string(),
        GateOutcome::Refused(r) => match r {
            crate::outcome::Refusal::ChangedSinceReview { .. } => {
                format!("the plan changed since review on {}", pulls(&g.pulls))
            }
            crate::outcome::Refusal::NotReviewed => {
                format!("no reviewed plan of it on {}", pulls(&g.pulls))
            }
            crate::outcome::Refusal::ReadFailed { .. } => "EC2 could not be read".to_string(),
            crate::outcome::Refusal::Blocked { .. } => {
                "the plan has errors or blocked changes".to_string()
            }
            // The tool's own words: their first sentence.
            crate::outcome::Refusal::Failed { error } => error
                .split(". ")
                .next()
                .unwrap_or("a merge would not apply it")
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
            _ => "a merge would not apply it".to_string(),
        },
    }
}

/// The check's title: what the group's stacks say, in one line.
pub fn queue_title(gates: &[Gate]) -> String {
    let stopped: Vec<&Gate> = gates.iter().filter(|g| !g.passes()).collect();
    match (gates.len(), stopped.as_slice()) {
        (0, _) => "The merge group changes no stack".to_string(),
        (n, []) => format!(
            "{n} stack{} of the merge group plan{} as reviewed",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" }
        ),
        (_, [one]) => format!("{}: {}", one.stack, short_reason(one)),
        (_, many) => format!(
            "{} stacks stop the merge group; first, {}: {}",
            many.len(),
            many[0].stack,
            short_reason(many[0])
        ),
    }
}

/// The check's summary: one row per stack the group changes.
pub fn queue_table(gates: &[Gate]) -> String {
    if gates.is_empty() {
        return "No stack file changes in this merge group: nothing to check.\n".to_string();
    }
    let mut out =
        String::from("| stack | pull request | at the group's head |\n| --- | --- | --- |\n");
    for g in gates {
        let what = match &g.outcome {
            GateOutcome::Passes { changes: true } => "✅ the reviewed plan".to_string(),
            GateOutcome::Passes { changes: false } => "✅ nothing left to change".to_string(),
            _ => format!("❌ {}", short_reason(g)),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            code_span(&g.stack),
            pulls(&g.pulls),
            // Every reason is the tool's own words, numbers and names.
            table_cell(&what)
        );
    }
    out
}

/// The check's text: each stack that stops the group, why, and what to do.
pub fn queue_text(head: &str, gates: &[Gate]) -> String {
    let mut out = format!(
        "## ec2-gitops merge queue check\n\nThe merge group's head {}. A group merges only when every stack it changes plans, at its head, as reviewed on the pull request that changes it.\n\n",
        code_span(short(head))
    );
    for g in gates.iter().filter(|g| !g.passes()) {
        let _ = match g.region.as_str() {
            "" => writeln!(out, "### Stack {}\n", code_span(&g.stack)),
            region => writeln!(
                out,
                "### Stack {} ({})\n",
                code_span(&g.stack),
                text(region)
            ),
        };
        let why = match &g.outcome {
            GateOutcome::Passes { .. } => continue,
            GateOutcome::OneAtATime => format!(
                "{} each change it, and each review saw it without the others' changes: what the group would merge was reviewed by nobody. Merge them one at a time: let {} merge, then queue the others again (a queue that builds one entry at a time, `max_entries_to_build: 1`, never groups them).\n",
                pulls(&g.pulls),
                pulls(&g.pulls[..1])
            ),
            GateOutcome::Unexplained => "A commit of the group changes it that none of the group's pull requests changes, so no review here answers for that change. If an entry ahead of the group merged while the group was checked, queue the pull request again; otherwise make that change through a pull request of its own.\n".to_string(),
            GateOutcome::Invalid(diagnostics) => reason(&format!(
                "the stack file is invalid at the group's head:\n\n{diagnostics}"
            )),
            GateOutcome::Refused(r) => format!(
                "{}\nThe group does not merge. Comment `/plan` on {} to review the plan it would apply now, then queue it again.\n",
                reason(&refusal_text(r)),
                pulls(&g.pulls)
            ),
        };
        let _ = writeln!(out, "{why}");
    }
    out
}
