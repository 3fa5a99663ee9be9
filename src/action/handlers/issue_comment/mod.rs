//! `issue_comment` events: the comment commands (`/plan`, `/apply`,
//! `/preview`, `/help`) on a pull request or on the drift issue, for people
//! who may push only, asked before anything is written.

mod drift_issue;
mod pull_request;

use anyhow::Result;

use crate::action::command;
use crate::action::event::IssueCommentEvent;
use crate::action::policy;
use crate::action::record::Record;
use crate::action::services::Services;
use crate::action::steps::drift::is_drift_issue;
use crate::action::steps::replies::reply_to;
use crate::action::{EXIT_FAILED, EXIT_OK};
use crate::marker;
use crate::render::{comment, notes};

/// Handles an `issue_comment` event.
pub async fn handle(s: &Services<'_>, e: &IssueCommentEvent, record: &mut Record) -> Result<u8> {
    // A comment on an issue counts only on the drift issue (its label
    // first, which costs no call; its marker is checked before any command
    // runs).
    let on_drift_issue = e.issue.pull_request.is_none()
        && e.issue
            .labels
            .iter()
            .any(|l| l.name == comment::DRIFT_LABEL);
    if e.action != "created" || (e.issue.pull_request.is_none() && !on_drift_issue) {
        println!("{}", notes::NOT_A_NEW_COMMAND);
        return Ok(EXIT_OK);
    }
    // Never react to bots, nor to the bot's own comments (with a user's
    // token it writes as that user): no loops.
    let author = &e.comment.user.login;
    if policy::ignores_author(&e.comment.user.kind, author, false) {
        return Ok(EXIT_OK);
    }
    let body = e.comment.body.as_deref().unwrap_or("");
    let commands = command::parse(body, &s.inputs().command_prefix);
    if commands.is_empty() {
        return Ok(EXIT_OK);
    }
    // Only now is the bot's own login needed (one `GET /user` for a user's
    // token): its own comments are never obeyed.
    let ours = marker::trusted(author, &s.gh.identity().await?, body).is_some();
    if policy::ignores_author(&e.comment.user.kind, author, ours) {
        return Ok(EXIT_OK);
    }
    let number = e.issue.number;
    let user = &e.comment.user.login;
    // The login goes into an API path: only what GitHub allows in one.
    if !policy::is_login(user) {
        eprintln!("{}", notes::not_a_login(user));
        return Ok(EXIT_FAILED);
    }
    // A labelled issue that is not the bot's drift issue: nothing is
    // written on it, not even a refusal.
    if on_drift_issue && !is_drift_issue(s, number).await? {
        println!("{}", notes::labelled_but_not_the_drift_issue(number));
        return Ok(EXIT_OK);
    }
    // Permission first: for a user who may not run commands, the polite
    // reply is the only thing written.
    let permission = s.gh.permission(user).await?;
    if !permission.push {
        let role = &permission.role;
        reply_to(s, number, e.comment.id, &comment::not_allowed(user, role)).await?;
        record.summary(&notes::may_not_run_commands(user, role));
        record.output("allowed", "false");
        return Ok(EXIT_OK);
    }
    // The gate job: it holds no AWS credentials and decides whether the job
    // that does starts.
    if s.inputs().check_commenter {
        record.output("allowed", "true");
        println!("{}", notes::may_run_commands(user));
        return Ok(EXIT_OK);
    }
    if on_drift_issue {
        drift_issue::run(s, number, e.comment.id, commands, record).await
    } else {
        pull_request::run(s, number, e.comment.id, commands, record).await
    }
}
