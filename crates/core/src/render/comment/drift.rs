//! The drift issue and the commands on it.

use super::*;

/// The reply to `/plan` on the drift issue: the default branch's YAML at
/// `sha` against EC2, each stack's plan with its fingerprint, and how to
/// apply exactly it.
pub fn drift_plan(sha: &str, stacks: &[StackPlan], prefix: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## ec2-gitops plan of the drift\n");
    let _ = writeln!(
        out,
        "The default branch's YAML at {} against EC2 now, for {} stack{}.\n",
        code_span(short(sha)),
        stacks.len(),
        if stacks.len() == 1 { "" } else { "s" }
    );
    if stacks.len() > 1 {
        out.push_str(&stack_table(stacks));
        out.push('\n');
    }
    let budget = (COMMENT_LIMIT.saturating_sub(out.len() + 600)) / stacks.len().max(1);
    out.push_str(&stack_sections(stacks, budget, Listing::Condensed));
    let _ = writeln!(
        out,
        "---\n<sub>Comment {} to make EC2 match the YAML with exactly this plan (each fingerprint is checked again first, and nothing is applied if the plan changed), {} to plan again.</sub>",
        code_span(&format!("{prefix}apply STACK")),
        code_span(&format!("{prefix}plan"))
    );
    out
}

/// `/plan` or `/apply` on the drift issue from a job whose checkout is not
/// the default branch's commit of the run.
pub fn drift_wrong_checkout(found: Option<&str>, want: &str) -> String {
    let found = match found {
        Some(f) => format!("holds {}", code_span(short(f))),
        None => "holds no commit ec2-gitops can read".to_string(),
    };
    format!(
        "Nothing was run: the drift issue's commands plan the default branch, but this job's checkout {found}, not {} (`GITHUB_SHA`). Check out the default branch for comments on issues (the example workflow does).\n",
        code_span(short(want))
    )
}

/// The label of the drift issue.
pub const DRIFT_LABEL: &str = "ec2-gitops-drift";

/// The drift issue's title.
pub const DRIFT_TITLE: &str = "ec2-gitops: EC2 has drifted from the YAML";

/// The drift issue: every drifted resource and field, live against YAML, and
/// how to fix it.
pub fn drift_issue(sha: &str, stacks: &[StackPlan]) -> String {
    let drifted: Vec<&Plan> = stacks
        .iter()
        .filter_map(|s| match s {
            StackPlan::Planned(p) if !p.is_empty() || !p.errors.is_empty() => Some(p),
            _ => None,
        })
        .collect();
    let mut out = format!(
        "Checked at {} of the default branch.\n\n",
        code_span(short(sha))
    );
    let _ = writeln!(
        out,
        "**{} of {} stack(s) drifted**: EC2 no longer matches the YAML.\n",
        drifted.len(),
        stacks.len()
    );
    for p in &drifted {
        let _ = writeln!(
            out,
            "### Stack {} ({}) — {}\n",
            code_span(&p.stack),
            text(&p.region),
            code_span(&p.file)
        );
        if !p.errors.is_empty() {
            for e in &p.errors {
                let _ = writeln!(out, "- error: {}", prose(&e.message));
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
                .map(|i| format!(" ({})", text(i)))
                .unwrap_or_default();
            let resource = table_cell(&format!("{}{id}", code_span(&c.resource.to_string())));
            match c.action {
                crate::plan::Action::Create => {
                    let _ = writeln!(out, "| {resource} | — | missing | declared |");
                }
                crate::plan::Action::Destroy => {
                    let _ = writeln!(out, "| {resource} | — | exists | not declared |");
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
                        // One value per line, each escaped: `<br>` is ours.
                        let cell = |l: Vec<String>| {
                            if l.is_empty() {
                                "—".to_string()
                            } else {
                                let lines: Vec<String> = l.iter().map(|v| text(v)).collect();
                                table_cell(&lines.join("<br>"))
                            }
                        };
                        let _ = writeln!(
                            out,
                            "| {resource} | {} | {} | {} |",
                            table_cell(&code_span(f.field.name())),
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
                "- {}: invalid or unreadable (see the job summary)",
                code_span(s.file())
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "**How to fix it**, per stack:\n\n\
         - to put EC2 back as the YAML says: comment `/plan STACK` here, read the plan it replies with, then `/apply STACK` (someone who may push); or merge a pull request that touches the stack file (even a comment line): its merge re-plans and applies the YAML, and the plan comment shows exactly what that reverts. A push to the default branch that no reviewed pull request explains lands here too, not applied;\n\
         - to keep what was changed in EC2: change the YAML to the values in the \"in EC2\" column, in a pull request.\n\n\
         This issue is updated by every drift check and closed when every stack matches again."
    );
    clip_markdown(&out, COMMENT_LIMIT)
}

/// The comment that closes the drift issue.
pub fn drift_resolved(sha: &str, stacks: usize) -> String {
    format!(
        "All {stacks} stack(s) match the YAML again (checked at {}). Closing.",
        code_span(short(sha))
    )
}

/// The drift issue's body once closed: as it was, and why it closed.
pub fn drift_issue_closed(body: &str, resolved: &str) -> String {
    format!("{body}\n\n{resolved}")
}

/// `/plan` on the drift issue before any plan was made there.
pub fn drift_no_plan_yet(prefix: &str) -> String {
    format!(
        "this issue has no plan yet: comment `{prefix}plan STACK` first, review it, then `{prefix}apply STACK`."
    )
}

/// `/apply` on the drift issue after the default branch moved.
pub fn drift_branch_moved(planned: &str, now: &str, prefix: &str) -> String {
    format!(
        "the default branch moved since the plan was made (planned at `{}`, now `{}`): comment `{prefix}plan` again and review the new plan.",
        short(planned),
        short(now)
    )
}

/// `/preview` on the drift issue.
pub fn preview_on_an_issue(prefix: &str) -> String {
    format!("`{prefix}preview` works on pull requests only: nothing was done.")
}
