//! Commands on the drift issue (the bot's own, checked; a writer's, asked
//! already): `/plan [STACK…]` replies with the plan of the default branch's
//! YAML against EC2 and its fingerprints; `/apply [STACK…]` applies exactly
//! the latest such plan, records it as a merge-apply is recorded, then
//! edits the drift issue (closed when every stack is clean).

use anyhow::Result;

use crate::action::command::{self, Command};
use crate::action::record::Record;
use crate::action::services::Services;
use crate::action::steps::apply::apply_shown;
use crate::action::steps::drift::check_drift;
use crate::action::steps::plan_comment::{is_plan, plan_stacks};
use crate::action::steps::replies::{refused_unknown_stacks, reply};
use crate::action::{EXIT_FAILED, EXIT_OK};
use crate::github::Reaction;
use crate::marker::{Marker, PlanStatus};
use crate::outcome::{StackApply, StackPlan};
use crate::render::comment;
use crate::render::outputs::plans_json;

/// Runs a writer's `commands` from comment `comment_id` on the drift issue
/// `number`: 👀 first, 🚀 when all succeeded, 😕 otherwise.
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
    // The plan is of the default branch: the checkout must be the commit
    // this run is for.
    let found = crate::git::head(&s.checkout);
    let ok = if found.as_deref() != Some(s.env.sha.as_str()) {
        let text = comment::drift_wrong_checkout(found.as_deref(), &s.env.sha);
        reply(s, number, &text).await?;
        false
    } else {
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
                Command::Preview { .. } => {
                    reply(s, number, &comment::preview_on_an_issue(prefix)).await?;
                    EXIT_FAILED
                }
                Command::Plan(only) => plan(s, number, &only, record).await?,
                Command::Apply(only) => apply(s, number, &only, record).await?,
            };
            ok &= r == EXIT_OK;
        }
        ok
    };
    let done = if ok {
        Reaction::Rocket
    } else {
        Reaction::Confused
    };
    s.gh.react(comment_id, done).await?;
    Ok(if ok { EXIT_OK } else { EXIT_FAILED })
}

/// `/plan [STACK…]` on the drift issue.
async fn plan(s: &Services<'_>, number: u64, only: &[String], record: &mut Record) -> Result<u8> {
    let loaded = s.load();
    let known: Vec<String> = loaded.valid.iter().map(|d| d.stack.clone()).collect();
    if refused_unknown_stacks(s, number, command::Named::DriftPlan, only, &known).await? {
        return Ok(EXIT_FAILED);
    }
    let files: Vec<String> = loaded.valid.iter().map(|d| d.file.clone()).collect();
    let stacks = plan_stacks(&loaded, &files, only).await;
    let sha = &s.env.sha;
    let text = comment::drift_plan(sha, &stacks, &s.inputs().command_prefix);
    let body = Marker::of_plans(sha, None, &stacks, PlanStatus::Planned).wrap(&text);
    s.gh.create_comment(number, &body).await?;
    record.summary(&text);
    record.output("result-json", &plans_json(&stacks));
    Ok(if stacks.iter().all(StackPlan::is_ok) {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

/// `/apply [STACK…]` on the drift issue: exactly the latest `/plan`.
async fn apply(s: &Services<'_>, number: u64, only: &[String], record: &mut Record) -> Result<u8> {
    let prefix = &s.inputs().command_prefix;
    let latest = s.gh.find_last_comment(number, is_plan).await?;
    let Some((_, Marker::Plan(meta))) = latest else {
        reply(
            s,
            number,
            &comment::apply_not_allowed(&comment::drift_no_plan_yet(prefix)),
        )
        .await?;
        return Ok(EXIT_FAILED);
    };
    let sha = s.env.sha.clone();
    if meta.head != sha {
        let why = comment::drift_branch_moved(&meta.head, &sha, prefix);
        reply(s, number, &comment::apply_not_allowed(&why)).await?;
        return Ok(EXIT_FAILED);
    }
    let shown: Vec<String> = meta.stacks.iter().map(|s| s.stack.clone()).collect();
    if refused_unknown_stacks(s, number, command::Named::Apply, only, &shown).await? {
        return Ok(EXIT_FAILED);
    }
    let Some((results, loaded)) = apply_shown(s, number, &meta, only, &sha, record).await? else {
        return Ok(EXIT_FAILED);
    };
    // What EC2 is now: the issue is edited, or closed when clean.
    check_drift(s, &loaded, record).await?;
    Ok(if results.iter().all(StackApply::is_ok) {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
