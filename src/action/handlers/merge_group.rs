//! `merge_group`: GitHub's merge queue asks for the checks of a group (its
//! temporary branch, holding the pull requests ahead of it). The check
//! `ec2-gitops/plan` on the group's head passes only when every stack the
//! group changes plans there as it was reviewed on the one pull request
//! that changes it; otherwise it fails with the reason, and the queue
//! drops the group before anything unreviewed is merged. The push of the
//! merged commit applies, as for any merge.

use anyhow::Result;

use crate::action::event::MergeGroupEvent;
use crate::action::queue::{Gate, GateOutcome, answerable};
use crate::action::record::Record;
use crate::action::services::Services;
use crate::action::steps::{checks, moves, queue};
use crate::action::{EXIT_FAILED, EXIT_OK};
use crate::config::normalize;
use crate::model::Desired;
use crate::outcome::Refusal;
use crate::render::{self, check_run, notes};

/// Handles a `merge_group` event.
pub async fn handle(s: &Services<'_>, e: &MergeGroupEvent, record: &mut Record) -> Result<u8> {
    let group = &e.merge_group;
    if e.action != "checks_requested" {
        // `destroyed`: the group merged or left the queue. Nothing is kept
        // for a group but its check, which stays on its commit.
        println!(
            "{}",
            notes::nothing_to_do_for(&format!("merge_group {}", e.action))
        );
        return Ok(EXIT_OK);
    }
    for sha in [&group.head_sha, &group.base_sha] {
        if !crate::marker::is_sha(sha) {
            anyhow::bail!(notes::merge_group_not_a_sha(sha));
        }
    }
    let head = group.head_sha.as_str();
    // The group's files are planned, never another commit's.
    let found = crate::git::head(&s.checkout);
    if found.as_deref() != Some(head) {
        let why = notes::merge_group_wrong_checkout(found.as_deref(), head);
        return fail(s, head, &why, record).await;
    }
    let queue::Group { pulls, changed } = match queue::group(s, group).await {
        Ok(g) => g,
        Err(err) => {
            let why = notes::merge_group_unknown(&err);
            return fail(s, head, &why, record).await;
        }
    };
    let loaded = s.load();
    let mut gates: Vec<Gate> = loaded
        .invalid
        .iter()
        .filter(|(f, _)| changed.iter().any(|c| normalize(c) == normalize(f)))
        .map(|(f, d)| Gate {
            stack: f.clone(),
            region: String::new(),
            pulls: pulls
                .iter()
                .filter(|(_, files)| files.iter().any(|c| normalize(c) == normalize(f)))
                .map(|(n, _)| *n)
                .collect(),
            outcome: GateOutcome::Invalid(render::diagnostics::text(d)),
        })
        .collect();
    let answered = answerable(&loaded.valid, &changed, &pulls);
    let touched: Vec<&Desired> = answered.iter().map(|(d, _)| *d).collect();
    let (_, moving) = moves::refuse_moves(s, &group.base_sha, &changed, touched).await;
    let reviews = queue::reviews(s, &answered).await;
    for (d, who) in &answered {
        let gate = match moving.iter().find(|(stack, _)| *stack == d.stack) {
            // The merge would not apply it: the group must not merge.
            Some((_, error)) => Gate {
                stack: d.stack.clone(),
                region: d.region.clone(),
                pulls: who.pulls(),
                outcome: GateOutcome::Refused(Refusal::Failed {
                    error: error.clone(),
                }),
            },
            None => queue::gate(group, d, who, &reviews).await,
        };
        gates.push(gate);
    }
    let numbers: Vec<u64> = pulls.iter().map(|(n, _)| *n).collect();
    let output = check_run::queue(head, &gates);
    println!("{}", notes::merge_group_checked(&numbers, &output.title));
    record.summary(&output.text);
    record.summary(&output.summary);
    let passed = output.conclusion == "success";
    record.output("merge-group-passed", if passed { "true" } else { "false" });
    checks::queue_check(s, head, &output).await?;
    Ok(if passed { EXIT_OK } else { EXIT_FAILED })
}

/// The group cannot be judged: its check fails saying why, so the queue
/// drops it rather than waiting for a check that never comes.
async fn fail(s: &Services<'_>, head: &str, why: &str, record: &mut Record) -> Result<u8> {
    eprintln!("{}", notes::error(why));
    record.summary(&notes::titled(why));
    record.output("merge-group-passed", "false");
    checks::plan_not_made(s, head, why).await?;
    Ok(EXIT_FAILED)
}
