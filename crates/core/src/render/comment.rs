//! Every comment the bot posts. Each is posted behind its hidden marker
//! (`crate::marker`), which the caller puts on the first line, so the bot
//! finds and updates its own comment instead of posting another.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::escape::{code_block, code_span, prose, table_cell, text};
use super::markdown::{self, Listing};
use super::summary_line;
use crate::marker::{Marker, PlanMeta, PlanStatus, ReviewedStack};
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
pub fn stack_table(stacks: &[StackPlan]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| stack | region | plan |\n| --- | --- | --- |");
    for s in stacks {
        let (name, region, summary) = match s {
            StackPlan::Planned(p) if p.errors.is_empty() => {
                (text(&p.stack), text(&p.region), summary_line(&p.summary))
            }
            StackPlan::Planned(p) => (
                text(&p.stack),
                text(&p.region),
                format!("{} error(s)", p.errors.len()),
            ),
            StackPlan::Invalid { file, .. } => (code_span(file), "-".into(), "invalid YAML".into()),
            StackPlan::Failed { file, .. } => {
                (code_span(file), "-".into(), "could not be planned".into())
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {summary} |",
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

/// A refusal or failure reason the tool wrote: its first paragraph as prose,
/// anything after a blank line (a plan, diagnostics, an error chain) as a
/// code block.
/// The change of a fresh plan that its review did not see, in words.
fn unreviewed_text(u: &crate::plan::review::Unreviewed) -> String {
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
            super::text::plan(plan, false)
        ),
        Refusal::MovedUnderLease { reviewed, now } => format!(
            "the plan changed while another apply of this stack ran (fingerprint `{reviewed}` reviewed, `{now}` now); nothing was applied."
        ),
        Refusal::Failed { error } => format!("{error}; nothing was applied."),
        // A stack name is a validated name ([a-z0-9-]): safe in a code span.
        Refusal::NotAttempted { after } => format!(
            "not attempted: it is applied after stack `{after}`, which was not applied; nothing was changed."
        ),
    }
}

fn reason(r: &str) -> String {
    match r.split_once("\n\n") {
        Some((head, rest)) => format!("{}\n\n{}", prose(head), code_block("", rest)),
        None => format!("{}\n", prose(r)),
    }
}

/// A whole comment cut to `max` bytes at a line end, with a code block and
/// `<details>` left open by the cut closed again, so what follows the cut
/// (the pointer to the job summary) is not swallowed.
pub(crate) fn clip_markdown(md: &str, max: usize) -> String {
    // Room for the closing fence, `</details>` lines and the pointer.
    const TAIL: usize = 400;
    if md.len() <= max {
        return md.to_string();
    }
    let mut end = max.saturating_sub(TAIL);
    while !md.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &md[..md[..end].rfind('\n').map_or(0, |i| i + 1)];
    let mut fence: Option<String> = None;
    let mut details = 0usize;
    for line in cut.lines() {
        let rest = line.trim_start_matches(' ');
        let run = |c: char| rest.chars().take_while(|x| *x == c).count();
        match &fence {
            Some(f) => {
                let c = f.chars().next().unwrap_or('`');
                if run(c) >= f.len() && rest[run(c)..].trim().is_empty() {
                    fence = None;
                }
            }
            None => {
                for c in ['`', '~'] {
                    if run(c) >= 3 && !(c == '`' && rest[run(c)..].contains('`')) {
                        fence = Some(c.to_string().repeat(run(c)));
                    }
                }
                details += line.matches("<details>").count();
                details = details.saturating_sub(line.matches("</details>").count());
            }
        }
    }
    let mut out = cut.to_string();
    if let Some(f) = fence {
        out.push_str(&f);
        out.push('\n');
    }
    for _ in 0..details {
        out.push_str("\n</details>\n");
    }
    out.push_str("\n… (cut: the full text is in the job summary)\n");
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
    // The reviewed changes of as many stacks as fit the marker's budget.
    let mut budget = crate::plan::review::MAX_CHARS;
    let mut reviewed: Vec<ReviewedStack> = stacks
        .iter()
        .filter_map(|s| match s {
            StackPlan::Planned(p) => Some(ReviewedStack {
                stack: p.stack.clone(),
                region: p.region.clone(),
                fingerprint: p.fingerprint.clone(),
                changes: crate::plan::review::of(p).filter(|c| {
                    let size = crate::plan::review::size(c);
                    let fits = size <= budget;
                    if fits {
                        budget -= size;
                    }
                    fits
                }),
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
        check: None,
    })
}

/// The reviewed plan of each stack of a plan comment's marker,
/// `(stack, region)` → what was reviewed.
pub fn reviewed_stacks(meta: &PlanMeta) -> BTreeMap<(String, String), ReviewedStack> {
    meta.stacks
        .iter()
        .map(|s| ((s.stack.clone(), s.region.clone()), s.clone()))
        .collect()
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
                let t = super::report::tally(results);
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

/// The reply to a commenter without write permission: mentions them, if
/// `user` is a GitHub login (anything else is only shown).
pub fn not_allowed(user: &str, permission: &str) -> String {
    let login = !user.is_empty()
        && user.len() <= 39
        && user.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let who = if login {
        format!("@{user}")
    } else {
        text(user)
    };
    format!(
        "{who} thanks — only people with write access to this repository can run ec2-gitops commands (your permission: {}). Nothing was run. Ask a maintainer to comment the command for you.",
        code_span(permission)
    )
}

/// `/help`, and the reply to an unknown command.
pub fn help(prefix: &str, unknown: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(u) = unknown {
        let _ = writeln!(
            out,
            "{} is not an ec2-gitops command.\n",
            code_span(&format!("{prefix}{u}"))
        );
    }
    let cmd = |c: &str| table_cell(&code_span(&format!("{prefix}{c}")));
    let _ = writeln!(
        out,
        "**ec2-gitops commands** (one per line, people with write access only):\n\n\
         | command | what it does |\n| --- | --- |\n\
         | {} | re-plan this pull request's stacks (or the named ones), merged into its base as merging it would, and update the plan comment |\n\
         | {} | apply the plan shown in the plan comment, where the repository allows it (by default only after a merge whose apply was refused because the plan changed) |\n\
         | {} | apply this pull request's version of the stacks that allow previews as their own stacks (`<stack>-pr<N>`), and list their servers; `destroy` removes them (closing the pull request does too) |\n\
         | {} | this text |",
        cmd("plan [stack…]"),
        cmd("apply [stack…]"),
        cmd("preview [destroy] [stack…]"),
        cmd("help")
    );
    out
}

/// The reply when `/apply` is not allowed here.
pub fn apply_not_allowed(reason: &str) -> String {
    format!("`/apply` was not run: {}", prose(reason))
}

/// Why a stale pull request was not re-planned, as plain words (the caller
/// escapes them for its output).
pub fn replan_failure(f: &ReplanFailure) -> String {
    match f {
        ReplanFailure::Conflict => "it conflicts with the commit just applied".into(),
        ReplanFailure::Closed => "it was closed".into(),
        ReplanFailure::NotRecomputed => {
            "GitHub had not recomputed its test merge on the commit just applied".into()
        }
        ReplanFailure::Missing(path) => {
            format!("{path:?} could not be read at its test merge (the contents API answered 404)")
        }
        ReplanFailure::GitHub(e) => e.clone(),
    }
}

/// Why the repository's `apply-on-comment` setting refuses `/apply` here.
pub fn apply_setting_refusal(r: ApplyNotAllowed) -> &'static str {
    match r {
        ApplyNotAllowed::OnlyOnMerge => {
            "this repository applies only on merge (`apply-on-comment: never`)."
        }
        ApplyNotAllowed::NotARefusedMerge => {
            "`/apply` is allowed only on a merged pull request whose merge-apply was refused because the plan changed (`apply-on-comment: after-refused-merge`)."
        }
        ApplyNotAllowed::Discarded => "this plan was discarded.",
    }
}

/// The reply to an `/apply` on an open pull request that misses one of
/// the `apply-requirements`: each one missing, and that nothing ran.
pub fn apply_requirements_unmet(head: &str, unmet: &[Unmet]) -> String {
    let mut out = String::from(
        "`/apply` did not run: on an open pull request it needs (input `apply-requirements`):\n\n",
    );
    for u in unmet {
        let line = match u {
            Unmet::NotApproved => format!(
                "`approved`: an approving review by someone other than the author, on the current head {}.",
                code_span(short(head))
            ),
            Unmet::ApprovedOnOlderHead { by, commit } => format!(
                "`approved`: an approval of the current head {}: {} approved {}, and commits came after (ask for a new review).",
                code_span(short(head)),
                code_span(by),
                code_span(short(commit))
            ),
            Unmet::NotMergeable => {
                "`mergeable`: a pull request that merges cleanly: GitHub says it conflicts with its base (resolve the conflicts, then `/apply`).".to_string()
            }
            Unmet::MergeableUnknown => {
                "`mergeable`: a pull request GitHub has checked for a clean merge: it has not yet (comment `/apply` again in a minute).".to_string()
            }
        };
        let _ = writeln!(out, "- {line}");
    }
    out.push_str("\nNothing was applied. The requirements are the input `apply-requirements` of the workflow (`approved,mergeable` by default; `none` drops them).\n");
    out
}

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

/// The plan comment of a pull request that conflicts with its base: nothing
/// is planned until the conflicts are resolved.
pub fn conflict(base_branch: &str) -> String {
    format!(
        "## ec2-gitops plan\n\n> [!WARNING]\n> **Not planned: this pull request conflicts with {}.** A plan is made of the pull request merged into its base, which GitHub cannot compute while they conflict. Resolve the conflicts and push: the next push is planned.\n",
        code_span(base_branch)
    )
}

/// The reply to `/plan` on a closed pull request.
pub fn pull_closed(prefix: &str) -> String {
    format!(
        "{} was not run: this pull request is closed, so there is nothing to merge and nothing to plan.",
        code_span(&format!("{prefix}plan"))
    )
}

/// Why a pull request was not planned: GitHub had not computed its test
/// merge after about a minute of polling.
pub fn test_merge_pending(prefix: &str) -> String {
    format!(
        "Not planned: GitHub has not computed this pull request's test merge (`mergeable` stayed unknown), and a plan is only made of the pull request merged into its base. Comment {} in a minute to try again.",
        code_span(&format!("{prefix}plan"))
    )
}

/// Why a pull request was not planned: the workspace holds another commit
/// than its test merge (the files there are not the ones the merge applies).
pub fn wrong_checkout(number: u64, found: Option<&str>, want: &str) -> String {
    let found = match found {
        Some(sha) => format!("commit {}", code_span(first(sha, 12))),
        None => "no Git checkout (no readable .git)".to_string(),
    };
    format!(
        "Not planned: the workspace holds {found}, but pull request #{number} merged into its base is {}. Plans are made of the merge, never of the head alone: check out `refs/pull/{number}/merge` with actions/checkout, as the example workflow does. If the base branch moved since the run started, re-run it.",
        code_span(first(want, 12))
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
