//! The result of an apply, and why a stack was not applied, in words.

use super::*;

/// The change of a fresh plan that its review did not see, in words.
pub(super) fn unreviewed_text(u: &crate::plan::review::Unreviewed) -> String {
    use crate::plan::review::Unreviewed;
    // Resource ids and field names are validated names: safe in code spans.
    match u {
        Unreviewed::NewChange(r) => format!(
            "{} changes, and the reviewed plan did not change it",
            code_span(&r.to_string())
        ),
        Unreviewed::OtherAction {
            resource,
            reviewed,
            now,
        } => format!(
            "{} would be {}, and the reviewed plan had it {}",
            code_span(&resource.to_string()),
            now.as_str(),
            reviewed.as_str()
        ),
        Unreviewed::NewField { resource, field } => format!(
            "{} would change {}, which is not what the review approved for it (or what is left of it)",
            code_span(&resource.to_string()),
            code_span(field)
        ),
    }
}

/// Why a stack was not applied, in words: one sentence, then (after a
/// blank line) the text it is about, when there is one.
pub fn refusal_text(r: &Refusal) -> String {
    let short = |sha: &str| sha[..sha.len().min(7)].to_string();
    match r {
        Refusal::InvalidFile { diagnostics } => {
            format!("the stack file is invalid:\n\n{diagnostics}")
        }
        Refusal::ReadFailed { error } => format!("EC2 could not be read: {error}"),
        Refusal::ChangedSinceReview {
            reviewed,
            now,
            moved,
            unreviewed,
        } => {
            let cause = match (moved, unreviewed) {
                (Some(m), _) => format!(
                    ": the base branch moved since review (the plan was made on `{}`, the merge is onto `{}`), so the merge applies other files than the ones reviewed, or EC2 changed",
                    short(&m.reviewed_on),
                    short(&m.merged_onto)
                ),
                (None, Some(u)) => format!(": {}", unreviewed_text(u)),
                (None, None) => String::new(),
            };
            format!(
                "the plan changed since review{cause} (fingerprint `{reviewed}` reviewed, `{now}` now); nothing was applied."
            )
        }
        Refusal::NotReviewed => "no reviewed plan of this stack was found in the pull request's plan comment; nothing was applied.".to_string(),
        Refusal::UnreviewedPush => "this push is not the merge of a reviewed pull request, and the input `apply-unreviewed-pushes` is `false`: nothing was applied. Its plan is in the drift issue, where someone who may push can apply it with `/apply STACK`.".to_string(),
        Refusal::Blocked { plan } => format!(
            "the plan has errors or blocked changes:\n\n{}",
            crate::render::text::plan(plan, false)
        ),
        Refusal::MovedUnderLease { reviewed, now } => format!(
            "the plan changed while another apply of this stack ran (fingerprint `{reviewed}` reviewed, `{now}` now); nothing was applied."
        ),
        Refusal::Failed { error } => format!("{error}; nothing was applied."),
        Refusal::NotConfirmed => "the plan was not confirmed; nothing was applied.".to_string(),
        // A stack name is a validated name ([a-z0-9-]): safe in a code span.
        Refusal::NotAttempted { after } => format!(
            "not attempted: it is applied after stack `{after}`, which was not applied; nothing was changed."
        ),
    }
}

/// A refusal or failure reason the tool wrote: its first paragraph as prose,
/// anything after a blank line (a plan, diagnostics, an error chain) as a
/// code block.
pub(super) fn reason(r: &str) -> String {
    match r.split_once("\n\n") {
        Some((head, rest)) => format!("{}\n\n{}", prose(head), code_block("", rest)),
        None => format!("{}\n", prose(r)),
    }
}

/// The result of a merge-apply, posted on the merged PR (and the job summary).
pub fn apply_comment(sha: &str, stacks: &[StackApply]) -> String {
    let ok = stacks.iter().all(StackApply::is_ok);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## ec2-gitops apply {}\n\nMerge commit {}.\n",
        if ok { "succeeded" } else { "FAILED" },
        code_span(short(sha))
    );
    for s in stacks {
        match s {
            StackApply::NoChanges { stack, region } => {
                let _ = writeln!(
                    out,
                    "### Stack {} ({}): no changes\n",
                    code_span(stack),
                    text(region)
                );
            }
            StackApply::NotApplied { stack, refusal } => {
                let _ = writeln!(
                    out,
                    "### Stack {}: not applied\n\n{}",
                    code_span(stack),
                    reason(&refusal_text(refusal))
                );
            }
            StackApply::Applied {
                plan,
                results,
                seconds,
            } => {
                let t = crate::render::report::tally(results);
                let _ = writeln!(
                    out,
                    "### Stack {} ({}): {} in {seconds:.1}s\n\n{}\n",
                    code_span(&plan.stack),
                    text(&plan.region),
                    if t.failed == 0 { "applied" } else { "FAILED" },
                    summary_line(&plan.summary)
                );
                let mut lines = Vec::new();
                for r in results {
                    let (mark, what) = match &r.outcome {
                        Outcome::Done(t) => ("✅", text(t)),
                        Outcome::Failed(e) => ("❌", text(&e.to_string())),
                        Outcome::Skipped(why) => ("⏭️", text(&format!("not attempted: {why}"))),
                    };
                    lines.push(format!(
                        "- {mark} {} {what}",
                        code_span(&r.step.resource.to_string())
                    ));
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
    if stacks
        .iter()
        .any(|s| matches!(s, StackApply::Applied { .. }))
    {
        let before = code_span(&format!("ec2-gitops apply --at {}~1", short(sha)));
        let _ = writeln!(
            out,
            "**To roll back**, revert the change: on a merged pull request GitHub's **Revert** button opens a pull request whose plan shows the way back, and its merge applies it. At a terminal, {before} applies the stack files of the commit before this one (plan it first with `plan --at`).\n"
        );
    }
    clip_markdown(&out, COMMENT_LIMIT)
}

/// One stack's refusal, for the list of a plan comment a merge refused.
pub fn stack_refusal(stack: &str, refusal: &Refusal) -> String {
    // A stack name is a validated name ([a-z0-9-]): safe in a code span.
    format!("`{stack}`: {}", refusal_text(refusal))
}
