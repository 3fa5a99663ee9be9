//! Commands on a pull request: `/plan [STACK…]` plans it again, `/apply
//! [STACK…]` applies exactly the plans its comment shows, `/preview
//! [destroy] [STACK…]` applies (or destroys) its previews, `/help`.

use std::fmt::Write as _;

use anyhow::Result;

use crate::action::command::{self, Command};
use crate::action::policy;
use crate::action::record::Record;
use crate::action::services::Services;
use crate::action::steps::apply::apply_shown;
use crate::action::steps::plan_comment::{is_plan, plan_pr};
use crate::action::steps::previews::apply_and_describe;
use crate::action::steps::replies::{refused_unknown_stacks, reply};
use crate::action::{EXIT_FAILED, EXIT_OK};
use crate::github::Reaction;
use crate::marker::Marker;
use crate::model::Desired;
use crate::outcome::StackApply;
use crate::preview;
use crate::render::{comment, notes};

/// Runs a writer's `commands` from comment `comment_id` on pull request
/// `number`, in order: 👀 first, 🚀 when all succeeded, 😕 otherwise.
pub(super) async fn run(
    s: &Services<'_>,
    number: u64,
    comment_id: u64,
    commands: Vec<Command>,
    record: &mut Record,
) -> Result<u8> {
    s.gh.react(comment_id, Reaction::Eyes).await?;
    s.answer(comment_id);
    let prefix = &s.inputs().command_prefix;
    let mut ok = true;
    for c in commands {
        let r = match c {
            Command::Help => {
                reply(s, number, &comment::help(prefix, None)).await?;
                EXIT_OK
            }
            Command::Unknown(word) => {
                reply(s, number, &comment::help(prefix, Some(&word))).await?;
                EXIT_FAILED
            }
            Command::Plan(only) => plan_pr(s, number, &only, record).await?,
            Command::Preview { destroy, only } => {
                preview_command(s, number, destroy, &only, record).await?
            }
            Command::Apply(only) => apply_command(s, number, &only, record).await?,
        };
        ok &= r == EXIT_OK;
    }
    let done = if ok {
        Reaction::Rocket
    } else {
        Reaction::Confused
    };
    s.gh.react(comment_id, done).await?;
    Ok(if ok { EXIT_OK } else { EXIT_FAILED })
}

/// `/apply`: applies exactly the plans the plan comment shows.
async fn apply_command(
    s: &Services<'_>,
    number: u64,
    only: &[String],
    record: &mut Record,
) -> Result<u8> {
    let existing = s.gh.find_comment(number, is_plan).await?;
    let Some((_, Marker::Plan(meta))) = existing else {
        reply(
            s,
            number,
            &comment::apply_not_allowed(comment::NO_PLAN_COMMENT),
        )
        .await?;
        return Ok(EXIT_FAILED);
    };
    let pr = s.gh.pull(number).await?;
    if let Err(why) =
        policy::apply_allowed(s.inputs().apply_on_comment, pr.is_merged(), meta.status)
    {
        let text = comment::apply_not_allowed(comment::apply_setting_refusal(why));
        reply(s, number, &text).await?;
        return Ok(EXIT_FAILED);
    }
    // A name the plan comment does not show refuses the whole command:
    // `/apply web tpyo` must not apply `web` alone.
    let shown: Vec<String> = meta.stacks.iter().map(|s| s.stack.clone()).collect();
    if refused_unknown_stacks(s, number, command::Named::Apply, only, &shown).await? {
        return Ok(EXIT_FAILED);
    }
    // Before merge, the repository's requirements: an approval of this head
    // by someone else, a clean merge.
    if !pr.is_merged() && pr.state == "open" {
        let required = s.inputs().apply_requirements;
        let reviews = if required.approved {
            s.gh.reviews(number).await?
        } else {
            Vec::new()
        };
        let seen: Vec<policy::ReviewSeen> = reviews
            .into_iter()
            .filter_map(|r| {
                Some(policy::ReviewSeen {
                    reviewer: r.user?.login,
                    state: r.state,
                    commit: r.commit_id,
                })
            })
            .collect();
        let author = pr.user.as_ref().map(|u| u.login.as_str());
        let unmet = policy::unmet(required, author, &pr.head.sha, pr.mergeable, &seen);
        if !unmet.is_empty() {
            let text = comment::apply_requirements_unmet(&pr.head.sha, &unmet);
            reply(s, number, &text).await?;
            record.summary(notes::APPLY_REQUIREMENT_UNMET);
            return Ok(EXIT_FAILED);
        }
    }
    let sha = pr.merge_commit_sha.clone().unwrap_or(pr.head.sha.clone());
    let applied = apply_shown(s, number, &meta, only, &sha, record).await?;
    Ok(match applied {
        Some((results, _)) if results.iter().all(StackApply::is_ok) => EXIT_OK,
        _ => EXIT_FAILED,
    })
}

/// `/preview [destroy] [STACK…]`: a pull request's own copy of the stacks
/// that allow it (`preview:`), `<stack>-pr<N>`, applied from its test
/// merge's files (or destroyed); the plan comment then shows it.
async fn preview_command(
    s: &Services<'_>,
    number: u64,
    destroy: bool,
    only: &[String],
    record: &mut Record,
) -> Result<u8> {
    let pr = s.gh.pull(number).await?;
    let refuse = |why: &str| comment::preview_refused(why);
    if pr.state != "open" || pr.is_merged() {
        reply(s, number, &refuse(comment::PREVIEW_CLOSED_PR)).await?;
        return Ok(EXIT_FAILED);
    }
    // A fork's files are never applied: not even with a writer's word.
    if pr.is_fork(&s.env.repo) {
        reply(s, number, &refuse(comment::PREVIEW_FORK)).await?;
        record.summary(notes::PREVIEW_OF_A_FORK);
        return Ok(EXIT_FAILED);
    }
    // What is applied is the pull request's test merge, never whatever else
    // the job checked out.
    let found = crate::git::head(&s.checkout);
    if !destroy && (pr.merge_commit_sha.is_none() || found != pr.merge_commit_sha) {
        let why = comment::preview_not_the_test_merge(
            number,
            found.as_deref(),
            pr.merge_commit_sha.as_deref(),
        );
        reply(s, number, &refuse(&why)).await?;
        return Ok(EXIT_FAILED);
    }
    let loaded = s.load();
    let mut stacks: Vec<&Desired> = loaded
        .valid
        .iter()
        .filter(|d| d.preview.is_some())
        .collect();
    if !only.is_empty() {
        let unknown: Vec<&String> = only
            .iter()
            .filter(|n| !stacks.iter().any(|d| d.stack == **n))
            .collect();
        if !unknown.is_empty() {
            reply(
                s,
                number,
                &refuse(&comment::preview_unknown_stacks(&unknown)),
            )
            .await?;
            return Ok(EXIT_FAILED);
        }
        stacks.retain(|d| only.contains(&d.stack));
    }
    if stacks.is_empty() {
        reply(s, number, &refuse(comment::PREVIEW_NO_STACK)).await?;
        return Ok(EXIT_FAILED);
    }
    let mut body = String::new();
    let mut ok = true;
    for d in stacks {
        let target = if destroy {
            preview::empty(d, number)
        } else {
            preview::of(d, number)
        };
        let target = match target {
            Ok(t) => t,
            Err(r) => {
                let _ = writeln!(body, "{}", comment::preview_not_made(&r.words(&d.stack)));
                ok = false;
                continue;
            }
        };
        match apply_and_describe(&target).await {
            Ok(section) => body.push_str(&section),
            Err(e) => {
                ok = false;
                body.push_str(&comment::preview_failed(
                    &target.stack,
                    &d.stack,
                    &format!("{e:#}"),
                ));
            }
        }
    }
    let reply_text = comment::preview_reply(destroy, &body);
    reply(s, number, &reply_text).await?;
    record.summary(&reply_text);
    // The plan comment shows the previews (or no longer does).
    let replanned = plan_pr(s, number, &[], record).await?;
    Ok(if ok { replanned } else { EXIT_FAILED })
}
