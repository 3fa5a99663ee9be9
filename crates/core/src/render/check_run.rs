//! What a check run shows (`ec2-gitops/plan`, `ec2-gitops/apply`): a
//! conclusion, a title (the summary line), a summary (the stack table), a
//! text (the whole plan, cut at GitHub's limit with a pointer to the job
//! summary) and annotations at files and lines. Pure.

use super::comment::{clip_markdown, stack_table};
use crate::outcome::{Annotation, StackApply, StackPlan};

/// GitHub's limit for a check run's summary and text, in characters.
pub const TEXT_LIMIT: usize = 65_535;

/// Names of the checks.
pub const PLAN: &str = "ec2-gitops/plan";
/// The apply's check.
pub const APPLY: &str = "ec2-gitops/apply";

pub use crate::outcome::CheckOutput;

/// The check of a plan: `title` is its summary line, `full` the plan as the
/// job summary has it.
pub fn plan(title: &str, stacks: &[StackPlan], full: &str) -> CheckOutput {
    let mut annotations = Vec::new();
    for s in stacks {
        match s {
            StackPlan::Planned(p) => {
                for e in &p.errors {
                    let (path, line) = match &e.at {
                        Some(at) => (at.file.clone(), at.line),
                        None => (p.file.clone(), 1),
                    };
                    annotations.push(Annotation {
                        path,
                        line: line.max(1) as u32,
                        level: "failure",
                        message: match &e.hint {
                            Some(h) => format!("{}: {} (hint: {h})", e.resource, e.message),
                            None => format!("{}: {}", e.resource, e.message),
                        },
                    });
                }
                for w in &p.warnings {
                    let (path, line) = match &w.at {
                        Some(at) => (at.file.clone(), at.line),
                        None => (p.file.clone(), 1),
                    };
                    annotations.push(Annotation {
                        path,
                        line: line.max(1) as u32,
                        level: "warning",
                        message: format!("{}: {}", w.resource, w.message),
                    });
                }
            }
            StackPlan::Invalid { at, .. } => annotations.extend(at.iter().cloned()),
            StackPlan::Failed { .. } => {}
        }
    }
    CheckOutput {
        conclusion: if stacks.iter().all(StackPlan::is_ok) {
            "success"
        } else {
            "failure"
        },
        title: clip_line(title),
        summary: clip_markdown(&stack_table(stacks), TEXT_LIMIT),
        text: clip_markdown(full, TEXT_LIMIT),
        annotations,
    }
}

/// The check of an apply: `report` is the result comment's text.
pub fn apply(results: &[StackApply], report: &str) -> CheckOutput {
    let ok = results.iter().all(StackApply::is_ok);
    let applied = results
        .iter()
        .filter(|r| matches!(r, StackApply::Applied { .. }))
        .count();
    let title = if ok {
        format!("Applied: {applied} of {} stack(s) changed", results.len())
    } else {
        let failed = results.iter().filter(|r| !r.is_ok()).count();
        format!(
            "{failed} of {} stack(s) failed or were not applied",
            results.len()
        )
    };
    let mut summary = String::from("| stack | result |\n| --- | --- |\n");
    for r in results {
        let (stack, what) = match r {
            StackApply::Applied { plan, .. } if r.is_ok() => (
                plan.stack.as_str(),
                super::summary_line(&plan.summary).replace("Plan:", "Applied:"),
            ),
            StackApply::Applied { plan, .. } => (plan.stack.as_str(), "failed".to_string()),
            StackApply::NoChanges { stack, .. } => (stack.as_str(), "no changes".to_string()),
            StackApply::NotApplied { stack, .. } => (stack.as_str(), "not applied".to_string()),
        };
        summary.push_str(&format!(
            "| {} | {what} |\n",
            super::escape::table_cell(&super::escape::text(stack))
        ));
    }
    CheckOutput {
        conclusion: if ok { "success" } else { "failure" },
        title,
        summary: clip_markdown(&summary, TEXT_LIMIT),
        text: clip_markdown(report, TEXT_LIMIT),
        annotations: Vec::new(),
    }
}

/// The merge queue's gate on a group's `head`: success only when every
/// stack the group changes plans as reviewed.
pub fn queue(head: &str, gates: &[crate::action::queue::Gate]) -> CheckOutput {
    CheckOutput {
        conclusion: if gates.iter().all(crate::action::queue::Gate::passes) {
            "success"
        } else {
            "failure"
        },
        title: clip_line(&super::comment::queue_title(gates)),
        summary: clip_markdown(&super::comment::queue_table(gates), TEXT_LIMIT),
        text: clip_markdown(&super::comment::queue_text(head, gates), TEXT_LIMIT),
        annotations: Vec::new(),
    }
}

/// A title is one line; GitHub shows the first 1,000 or so characters.
fn clip_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    line.chars().take(1_000).collect()
}

/// The check of a head that could not be planned: `why`, one line.
pub fn not_planned(why: &str) -> CheckOutput {
    CheckOutput {
        conclusion: "failure",
        title: why.to_string(),
        summary: super::escape::text(why),
        text: String::new(),
        annotations: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_over_githubs_limit_is_cut_with_a_pointer_and_fences_closed() {
        let mut full = String::from("### Stack\n\n```diff\n");
        while full.len() < 200_000 {
            full.push_str("+ a line of the plan\n");
        }
        full.push_str("```\n");
        let out = plan("Plan: 1 to create", &[], &full);
        assert!(out.text.chars().count() <= TEXT_LIMIT, "{}", out.text.len());
        assert!(out.text.contains("the full text is in the job summary"));
        let fences = out.text.lines().filter(|l| l.starts_with("```")).count();
        assert_eq!(fences % 2, 0, "every fence closed");
        assert_eq!(out.conclusion, "success");
    }
}
