//! The action's own words outside its comments: lines of the run's log
//! (workflow commands included) and notes of the job summary. Every value
//! from a payload, EC2 or GitHub is escaped for where it goes.

use super::escape::{code_span, terminal, text, workflow_data};

/// A `::warning::` line of the log.
pub fn warning(message: &str) -> String {
    format!("::warning::{}", workflow_data(message))
}

/// An `::error::` line of the log.
pub fn error(message: &str) -> String {
    format!("::error::{}", workflow_data(message))
}

/// A job-summary section under the tool's title.
pub fn titled(markdown: &str) -> String {
    format!("## ec2-gitops\n\n{markdown}\n")
}

/// The log line for an event, or an action of one, the tool does nothing
/// for.
pub fn nothing_to_do_for(what: &str) -> String {
    format!("ec2-gitops: nothing to do for {}", terminal(what))
}

/// Why a payload cannot be read.
pub fn unreadable_payload(error: &str, path: &str, event: &str) -> String {
    format!(
        "{error} (read from GITHUB_EVENT_PATH={path}; GITHUB_EVENT_NAME `{event}` must name the event of this payload)"
    )
}

// ------------------------------------------------------------ checks ---

/// The job summary's note when the token is a user's: statuses, not check
/// runs.
pub const USER_TOKEN_NOTE: &str = "\n> [!NOTE]\n> The token is a user's (a personal access token): GitHub makes check runs only for GitHub Apps, so this run set the commit statuses `ec2-gitops/plan` and `ec2-gitops/apply`. The workflow's `GITHUB_TOKEN` or a GitHub App's token with `checks: write` gets the check runs, with the whole plan and annotations.\n";

/// The job summary's note when GitHub refused check runs.
pub const REFUSED_NOTE: &str = "\n> [!NOTE]\n> GitHub refused to create check runs (the token lacks `checks: write`), so this run set commit statuses instead. Grant the job `checks: write` to get the check runs `ec2-gitops/plan` and `ec2-gitops/apply` with the whole plan and annotations.\n";

/// The log's warning when GitHub refused the check run `name`.
pub fn checks_refused_warning(name: &str, error: &str) -> String {
    warning(&format!(
        "GitHub refused the check run {name} ({error}); this run sets commit statuses instead. Grant the job `checks: write`."
    ))
}

/// The log's warning when the plan check could not be recorded (the
/// comment is still posted).
pub fn plan_check_not_recorded(error: &str) -> String {
    warning(&format!(
        "could not record the check run ec2-gitops/plan: {error}"
    ))
}

// ------------------------------------------------------------ labels ---

const LABELS_FIX: &str =
    "Give the job `pull-requests: write` (or `issues: write`), or set the input `labels: false`.";

/// The log's warning when a pull request's labels could not be updated.
pub fn labels_not_updated_log(number: u64, error: &str) -> String {
    warning(&format!(
        "The labels of pull request #{number} could not be updated (the plan stands): {error}. {LABELS_FIX}"
    ))
}

/// The job summary's warning when a pull request's labels could not be
/// updated.
pub fn labels_not_updated(number: u64, error: &str) -> String {
    format!(
        "> [!WARNING]\n> The labels of pull request #{number} could not be updated (the plan stands): {}. {LABELS_FIX}\n",
        text(error)
    )
}

// -------------------------------------------------------------- plans ---

/// The failed plan check of a head whose test merge GitHub has not made.
pub const NOT_PLANNED_PENDING: &str = "not planned: GitHub has not computed the test merge yet";

/// The failed plan check of a head the workspace does not hold merged.
pub const NOT_PLANNED_WRONG_CHECKOUT: &str =
    "not planned: the workspace is not the pull request's test merge";

/// The failed plan check of a head that conflicts with its base.
pub fn not_planned_conflict(base_branch: &str) -> String {
    format!("not planned: conflicts with {base_branch}; resolve them first")
}

/// The job summary of a `/plan` on a pull request that is not open.
pub fn not_planned_closed(number: u64, state: &str) -> String {
    format!(
        "Pull request #{number} is {}: nothing to plan.\n",
        text(state)
    )
}

/// The job summary of a `/plan` that named a stack the pull request does
/// not change.
pub const PLAN_NAMED_AN_UNTOUCHED_STACK: &str =
    "`/plan` named a stack this pull request does not change: nothing was planned.\n";

/// The log line of a pull request that changes no stack.
pub fn changes_no_stack(number: u64) -> String {
    format!("ec2-gitops: pull request #{number} changes no stack: nothing to plan")
}

/// The log line of a closed pull request that had no plan.
pub fn closed_without_plan(number: u64) -> String {
    format!("ec2-gitops: pull request #{number} closed; it had no plan")
}

/// The log line of a closed pull request whose plan was discarded before.
pub fn closed_plan_discarded_already(number: u64) -> String {
    format!("ec2-gitops: pull request #{number} closed; its plan was discarded already")
}

/// The job summary of a pull request closed without merging.
pub fn plan_discarded(number: u64) -> String {
    format!("Pull request #{number} closed without merging: its plan was marked discarded.\n")
}

const FORK_NOT_PLANNED: &str = "it is not planned automatically (a fork's run gets no AWS credentials and a read-only token). A maintainer can read its stack files and comment";

/// The log line of a fork's pull request, not planned on its own.
pub fn fork_not_planned_log(number: u64, fork: &str, prefix: &str) -> String {
    format!(
        "ec2-gitops: pull request #{number} comes from the fork {}: {FORK_NOT_PLANNED} `{prefix}plan` to plan it.",
        terminal(fork)
    )
}

/// The job summary of a fork's pull request, not planned on its own.
pub fn fork_not_planned(number: u64, fork: &str, prefix: &str) -> String {
    titled(&format!(
        "Pull request #{number} comes from the fork {}: {FORK_NOT_PLANNED} `{prefix}plan` to plan it.",
        code_span(fork)
    ))
}

// ----------------------------------------------------------- commands ---

/// The log line of a comment that is no new command.
pub const NOT_A_NEW_COMMAND: &str =
    "ec2-gitops: not a new comment on a pull request or the drift issue: nothing to do";

/// The error of a comment whose author is not a GitHub login.
pub fn not_a_login(user: &str) -> String {
    let shown: String = user.chars().take(40).collect();
    format!(
        "error: the comment's author {shown:?} is not a GitHub login: the issue_comment payload is not what GitHub sends; nothing was run"
    )
}

/// The log line of an issue with the drift label that is not the bot's.
pub fn labelled_but_not_the_drift_issue(number: u64) -> String {
    format!(
        "ec2-gitops: issue #{number} carries the drift label but is not the drift issue: nothing to do"
    )
}

/// The job summary of a command by someone who may not run commands.
pub fn may_not_run_commands(user: &str, role: &str) -> String {
    format!(
        "{} ({}) may not run commands: refused.\n",
        text(&format!("@{user}")),
        text(role)
    )
}

/// The gate job's log line for a commenter who may run commands (a login,
/// checked).
pub fn may_run_commands(user: &str) -> String {
    format!("ec2-gitops: @{user} may run commands: allowed")
}

/// The job summary of an `/apply` that misses an apply requirement.
pub const APPLY_REQUIREMENT_UNMET: &str =
    "`/apply` refused: the pull request misses an apply requirement; nothing was applied.\n";

// ------------------------------------------------------------ applies ---

/// The log line of a push to another branch than the default one.
pub fn not_the_default_branch(git_ref: &str) -> String {
    format!(
        "ec2-gitops: {} is not the default branch: nothing to apply",
        terminal(git_ref)
    )
}

/// Whether a change moves a stack between accounts could not be told.
pub fn account_move_unknown(error: &str) -> String {
    format!(
        "cannot tell whether this change moves the stack between accounts ({}): it is not planned nor applied until that can be read",
        terminal(error)
    )
}

/// Why a merge group payload is refused.
pub fn merge_group_not_a_sha(sha: &str) -> String {
    format!(
        "the merge_group payload names a commit that is not a SHA ({}): it is not what GitHub sends; nothing was checked",
        terminal(&sha.chars().take(80).collect::<String>())
    )
}

/// The workflow checked out another commit than the merge group's head.
pub fn merge_group_wrong_checkout(found: Option<&str>, head: &str) -> String {
    format!(
        "the checkout is {}, not the merge group's head {}: check out `github.event.merge_group.head_sha` (actions/checkout does by default); the group was not checked, so it does not merge",
        found
            .map(terminal)
            .unwrap_or_else(|| "not a git checkout".into()),
        terminal(head)
    )
}

/// The group's pull requests could not be told.
pub fn merge_group_unknown(error: &str) -> String {
    format!(
        "cannot tell which pull requests the merge group holds ({}); the group was not checked, so it does not merge: queue it again",
        terminal(error)
    )
}

/// The log line of a checked merge group.
pub fn merge_group_checked(pulls: &[u64], title: &str) -> String {
    let numbers: Vec<String> = pulls.iter().map(|n| format!("#{n}")).collect();
    format!(
        "ec2-gitops: merge group of {}: {}",
        numbers.join(", "),
        terminal(title)
    )
}

/// Why a push payload is refused.
pub fn push_after_not_a_sha(after: &str) -> String {
    format!(
        "the push payload's `after` is not a commit SHA ({}): it is not what GitHub sends; nothing was applied",
        terminal(&after.chars().take(80).collect::<String>())
    )
}

/// The log's error when GitHub cannot say which pull request a push
/// merges.
pub fn merged_pr_unknown_log(sha: &str, error: &str) -> String {
    self::error(&format!(
        "cannot ask GitHub which pull request {sha} merges: {error}. Nothing is applied without its reviewed plan."
    ))
}

/// The job summary when GitHub cannot say which pull request a push
/// merges.
pub fn merged_pr_unknown(sha: &str, error: &str) -> String {
    format!(
        "## ec2-gitops apply\n\nNot applied: GitHub could not be asked which pull request {} merges ({}).\n",
        code_span(sha),
        text(error)
    )
}

/// The log line of a stack another job (its environment's) applies.
pub fn left_to_its_environment(stack: &str, environment: &str) -> String {
    format!(
        "ec2-gitops: stack {} (environment {}) is left to the job that applies that environment",
        terminal(stack),
        terminal(environment)
    )
}

/// The log line of a push that changes no stack (`sha`: checked).
pub fn changes_no_stack_to_apply(sha: &str) -> String {
    format!("ec2-gitops: {sha} changes no stack: nothing to apply")
}

/// The log line before a stack is applied.
pub fn applying(stack: &str, region: &str) -> String {
    format!(
        "ec2-gitops: applying stack {} ({})",
        terminal(stack),
        terminal(region)
    )
}

/// The log's warning when a refused stack's new plan could not be posted.
pub fn new_plan_not_posted(number: u64, error: &str) -> String {
    warning(&format!(
        "could not post the new plan on #{number}: {error}"
    ))
}

/// The log's warning when part of an apply's record (`what`) could not be
/// posted to GitHub.
pub fn result_not_recorded_log(what: &str, error: &str) -> String {
    warning(&format!(
        "could not record the apply result ({what}): {error}"
    ))
}

/// The job summary's warning when part of an apply's record could not be
/// posted to GitHub.
pub fn result_not_recorded(what: &str, error: &str) -> String {
    format!(
        "\n> [!WARNING]\n> The result could not be posted to GitHub ({what}): {}\n",
        text(error)
    )
}

// -------------------------------------------------------------- stale ---

/// The log's warning when stale plans could not be marked.
pub fn stale_not_marked(error: &str) -> String {
    warning(&format!("could not mark stale plans: {error}"))
}

/// The job summary's list of pull requests whose plans were marked stale.
pub fn marked_stale(numbers: &[u64]) -> String {
    let list = numbers
        .iter()
        .map(|n| format!("#{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("\nOther open pull requests had plans of these stacks: {list} (marked stale).\n")
}

/// The job summary's line of a pull request re-planned after an apply.
pub fn replanned(number: u64, head: &str, applied: &str) -> String {
    format!(
        "- #{number}: re-planned (head `{}` merged into `{}`)\n",
        short(head),
        short(applied)
    )
}

/// The log's warning when a stale pull request could not be re-planned.
pub fn not_replanned_log(number: u64, why: &str) -> String {
    warning(&format!("could not re-plan #{number}: {why}"))
}

/// The job summary's line of a stale pull request not re-planned.
pub fn not_replanned(number: u64, why: &str) -> String {
    format!(
        "- #{number}: could not be re-planned ({}); its comment stays marked stale\n",
        text(why)
    )
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

// -------------------------------------------------------------- drift ---

/// Why the drift check does not run without a commit to name.
pub fn not_a_sha_for_drift(sha: &str) -> String {
    format!(
        "GITHUB_SHA is not a commit SHA ({:?}): the drift check names the commit it checked; run it in GitHub Actions (or set GITHUB_SHA)",
        sha.chars().take(80).collect::<String>()
    )
}

/// The job summary of a drift check that found nothing.
pub fn no_drift(stacks: usize) -> String {
    format!("## ec2-gitops drift check\n\nAll {stacks} stack(s) match the YAML.\n")
}

// ----------------------------------------------------------- previews ---

/// Why a preview is swept: its time is up.
pub const PREVIEW_EXPIRED: &str = "older than its `preview.ttl`";
/// Why a preview is swept: its pull request is closed.
pub const PREVIEW_PR_CLOSED: &str = "its pull request is closed";

/// The job summary of a `/preview` on a fork's pull request.
pub const PREVIEW_OF_A_FORK: &str =
    "`/preview` on a fork's pull request: refused, nothing applied.\n";

/// The job summary of a preview swept (`why`: one of the reasons above).
pub fn preview_swept(name: &str, why: &str, section: &str) -> String {
    format!("Preview {} ({why}):\n\n{section}", code_span(name))
}

/// The job summary of a preview that could not be destroyed.
pub fn preview_not_destroyed(name: &str, why: Option<&str>, error: &str) -> String {
    match why {
        Some(why) => format!(
            "Preview {} ({why}) could not be destroyed: {}\n",
            code_span(name),
            text(error)
        ),
        None => format!(
            "Preview {} could not be destroyed: {}\n",
            code_span(name),
            text(error)
        ),
    }
}

/// The job summary when a stack's previews could not be listed.
pub fn previews_not_listed(stack: &str, error: &str) -> String {
    format!(
        "The previews of {} could not be listed: {}\n",
        code_span(stack),
        text(error)
    )
}
