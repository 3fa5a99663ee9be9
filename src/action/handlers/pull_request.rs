//! `pull_request` events: plan the pull request merged into its base into
//! its one plan comment; a fork's is not planned; a closed one's plan is
//! discarded and its previews destroyed.

use anyhow::Result;

use crate::action::EXIT_OK;
use crate::action::event::PullRequestEvent;
use crate::action::record::Record;
use crate::action::services::Services;
use crate::action::steps::{plan_comment, previews};
use crate::render::notes;

/// Handles a `pull_request` event.
pub async fn handle(s: &Services<'_>, e: &PullRequestEvent, record: &mut Record) -> Result<u8> {
    let pr = &e.pull_request;
    // A closed or merged pull request's previews go (a fork's never had
    // any).
    let previews = if e.action == "closed" && pr.fork().is_none() {
        previews::destroy_all(s, pr.number, record).await?
    } else {
        EXIT_OK
    };
    let handled = match (e.action.as_str(), pr.fork()) {
        // Whatever was planned on it (a fork's PR by `/plan`), a PR closed
        // without merge has its plan discarded.
        ("closed", _) if pr.merged != Some(true) => {
            plan_comment::discard(s, pr.number, record).await?
        }
        // In the documented workflow a fork's run has no AWS credentials and
        // a read-only token: it is not planned on its own.
        (_, Some(fork)) => {
            let prefix = &s.inputs().command_prefix;
            println!("{}", notes::fork_not_planned_log(pr.number, &fork, prefix));
            record.summary(&notes::fork_not_planned(pr.number, &fork, prefix));
            EXIT_OK
        }
        ("opened" | "synchronize" | "reopened", None) => {
            plan_comment::plan_pr(s, pr.number, &[], record).await?
        }
        (other, None) => {
            println!(
                "{}",
                notes::nothing_to_do_for(&format!("pull_request {other}"))
            );
            EXIT_OK
        }
    };
    Ok(handled.max(previews))
}
