//! Replies to commands, and what a pull request that cannot be planned says.

use super::*;

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

/// Why `/apply` cannot apply on a pull request without a plan comment.
pub const NO_PLAN_COMMENT: &str = "this pull request has no plan comment; comment `/plan` first.";
