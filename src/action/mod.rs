//! `ec2-gitops action`: what the container runs. Reads the runner
//! environment and the event payload, builds the run's [`Services`], and
//! hands the typed [`Event`] to its handler (`handlers/`, one file per
//! event). The steps the handlers share are in `steps/`; every decision is
//! the core's (`policy`, `command`, `labels`, `touched`), every word
//! `render`'s, every EC2 flow a use-case of `app`.

pub use ec2_gitops_core::action::{command, identity, labels, moves, policy, queue, touched};
pub mod env;
pub mod event;
mod handlers;
mod record;
mod services;
mod steps;

use std::path::Path;

use anyhow::{Context, Result};

use crate::github::{GitHub, IdentitySource, RetryPolicy};
use crate::render::notes;
use crate::workspace;
use env::ActionEnv;
use event::Event;
pub use record::Record;
use services::Services;

/// Exit code: done.
pub const EXIT_OK: u8 = 0;
/// Exit code: a plan or apply failed, or the event could not be handled.
pub const EXIT_FAILED: u8 = 1;

/// Runs the action for the event in `env`.
pub async fn run(env: &ActionEnv) -> Result<u8> {
    // Each stack's connection assumes the role its account maps to.
    crate::ec2::accounts::set(env.inputs.accounts.clone());
    let mut retry = RetryPolicy::default();
    if let Some(first) = env.github_backoff {
        retry.backoff = first;
    }
    let payload = std::fs::read(&env.event_path).with_context(|| {
        format!(
            "cannot read the event payload {} (GITHUB_EVENT_PATH)",
            env.event_path.display()
        )
    })?;
    // The runner writes the payload of GITHUB_EVENT_NAME's event: anything
    // else is a broken or forged run, refused before any request.
    let event = Event::parse(&env.event_name, &payload).map_err(|e| {
        anyhow::anyhow!(notes::unreadable_payload(
            &e,
            &env.event_path.display().to_string(),
            &env.event_name
        ))
    })?;
    let mut gh = GitHub::new(&env.api_url, &env.token, env.repo.clone(), retry)?;
    // Only the bot's own comments are read as its own. Who it is, is asked
    // (for a user's token) only when an event needs to know.
    let identity = identity::identity(env.inputs.bot_login.as_deref(), &env.token);
    // A user's token (a personal access token): GitHub makes check runs
    // only for GitHub Apps, so this run sets commit statuses from the start
    // instead of asking for a check run GitHub refuses.
    let user_token = matches!(identity, identity::Identity::AskGitHub);
    gh.set_identity(match identity {
        identity::Identity::Known(login) => IdentitySource::Login(login),
        // A token GitHub says is no user's is an installation's.
        identity::Identity::AskGitHub => IdentitySource::TokenUser {
            otherwise: identity::WORKFLOW_BOT.to_string(),
        },
    });
    // The checkout is the repository: a stack reads no file outside it.
    // (The command line entered GITHUB_WORKSPACE before this.)
    let checkout = std::env::current_dir().context("cannot read the current directory")?;
    let root = workspace::Root::given(&checkout).with_context(|| {
        format!(
            "cannot resolve GITHUB_WORKSPACE {} to a directory",
            checkout.display()
        )
    })?;
    let mut record = Record::new(env);
    let s = Services::new(env, &gh, root, checkout, user_token);
    let code = match &event {
        Event::PullRequest(e) => handlers::pull_request::handle(&s, e, &mut record).await?,
        Event::IssueComment(e) => handlers::issue_comment::handle(&s, e, &mut record).await?,
        Event::Push(e) => handlers::push::handle(&s, e, &mut record).await?,
        Event::MergeGroup(e) => handlers::merge_group::handle(&s, e, &mut record).await?,
        Event::Schedule => handlers::schedule::handle(&s, &mut record).await?,
        Event::Other(name) => {
            println!("{}", notes::nothing_to_do_for(&format!("event {name}")));
            EXIT_OK
        }
    };
    if user_token {
        record.summary(notes::USER_TOKEN_NOTE);
    } else if s.checks_refused() {
        record.summary(notes::REFUSED_NOTE);
    }
    record.finish()?;
    Ok(code)
}

/// Changes into the workspace, so stack globs resolve as in the repository.
pub fn enter_workspace(dir: &Path) -> Result<()> {
    std::env::set_current_dir(dir)
        .with_context(|| format!("cannot enter GITHUB_WORKSPACE {}", dir.display()))
}
