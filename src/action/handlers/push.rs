//! A push to the default branch: apply what the merge touched, each stack
//! only if its plan is the one reviewed on the merged pull request, and
//! record the result everywhere; a push no reviewed pull request explains
//! goes to the drift issue instead (unless `apply-unreviewed-pushes`).

use anyhow::Result;

use crate::action::event::PushEvent;
use crate::action::record::Record;
use crate::action::services::Services;
use crate::action::steps::apply::{apply_stacks, post_refused_plans, report_apply};
use crate::action::steps::plan_comment::{changed_files, is_plan};
use crate::action::steps::{drift, stale};
use crate::action::touched;
use crate::action::{EXIT_FAILED, EXIT_OK};
use crate::config::normalize;
use crate::model::Desired;
use crate::outcome::{BaseMoved, Refusal, StackApply, StackPlan};
use crate::render::{self, notes};
use crate::workspace::Loaded;

/// Handles a `push` event.
pub async fn handle(s: &Services<'_>, e: &PushEvent, record: &mut Record) -> Result<u8> {
    if !e.is_default_branch() {
        println!("{}", notes::not_the_default_branch(&e.git_ref));
        return Ok(EXIT_OK);
    }
    let sha = e.after.as_str();
    if !crate::marker::is_sha(sha) {
        anyhow::bail!(notes::push_after_not_a_sha(sha));
    }
    // GitHub unreachable must not stop the apply of a direct push; a merged
    // PR whose comment cannot be read is not applied (unreviewed).
    let pr = match s.gh.pulls_for_commit(sha).await {
        Ok(prs) => prs
            .into_iter()
            .filter(|p| p.is_merged())
            .min_by_key(|p| p.merge_commit_sha.as_deref() != Some(sha)),
        Err(err) => {
            let err = err.to_string();
            eprintln!("{}", notes::merged_pr_unknown_log(sha, &err));
            record.summary(&notes::merged_pr_unknown(sha, &err));
            record.output("applied", "false");
            return Ok(EXIT_FAILED);
        }
    };
    let (changed, reviewed, comment_id, moved) = match &pr {
        Some(p) => {
            let (changed, _) = changed_files(s, p.number).await?;
            let c = s.gh.find_comment(p.number, is_plan).await?;
            let meta = c.as_ref().and_then(|(_, m)| m.plan());
            let reviewed = meta.map(|m| m.reviewed()).unwrap_or_default();
            // The reviewed plan was made on the PR merged into `base`; this
            // merge is onto `before`.
            let moved = meta
                .and_then(|m| m.base.clone())
                .filter(|base| !e.before.is_empty() && *base != e.before)
                .map(|base| BaseMoved {
                    reviewed_on: base,
                    merged_onto: e.before.clone(),
                });
            (changed, Some(reviewed), c.map(|(c, _)| c.id), moved)
        }
        None => (e.files(), None, None, None),
    };
    let loaded = s.load();
    let mut touched: Vec<&Desired> = touched::touched(&loaded.valid, &changed);
    // Input `environments`: this job applies only those; another job (say,
    // behind a GitHub Environment's reviewers) applies the rest.
    if let Some(chosen) = &s.inputs().environments {
        touched.retain(|d| {
            let here = chosen.iter().any(|e| e == d.environment());
            if !here {
                println!(
                    "{}",
                    notes::left_to_its_environment(&d.stack, d.environment())
                );
            }
            here
        });
    }
    let mut results: Vec<StackApply> = loaded
        .invalid
        .iter()
        .filter(|(f, _)| changed.iter().any(|c| normalize(c) == normalize(f)))
        .map(|(f, d)| StackApply::NotApplied {
            stack: f.clone(),
            refusal: Refusal::InvalidFile {
                diagnostics: render::diagnostics::text(d),
            },
        })
        .collect();
    if touched.is_empty() && results.is_empty() {
        println!("{}", notes::changes_no_stack_to_apply(sha));
        record.output("applied", "false");
        return Ok(EXIT_OK);
    }
    if pr.is_none() && !s.inputs().apply_unreviewed_pushes {
        return refuse_unreviewed_push(s, sha, &loaded, &touched, results, record).await;
    }
    let applied = apply_stacks(&touched, reviewed.as_ref(), moved.as_ref()).await;
    results.extend(applied.results);
    if let Some(p) = &pr {
        post_refused_plans(s, p.number, comment_id, sha, &results, &applied.to_review).await;
    }
    let number = pr.as_ref().map(|p| p.number);
    report_apply(s, number, sha, &results, &loaded, record).await;
    stale::mark_and_replan(s, &results, number, sha, record).await;
    Ok(if results.iter().all(StackApply::is_ok) {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

/// A push that no merged pull request explains, with
/// `apply-unreviewed-pushes` off: nothing is applied; the drift check puts
/// its plan (the default branch against EC2) in the drift issue, where
/// `/apply STACK` applies it; the apply check fails saying so.
async fn refuse_unreviewed_push(
    s: &Services<'_>,
    sha: &str,
    loaded: &Loaded,
    touched: &[&Desired],
    mut results: Vec<StackApply>,
    record: &mut Record,
) -> Result<u8> {
    let plans = match drift::check_drift(s, loaded, record).await {
        Ok((plans, _)) => plans,
        Err(e) => {
            eprintln!(
                "{}",
                notes::warning(&format!(
                    "cannot put the push's plan in the drift issue: {e:#}"
                ))
            );
            Vec::new()
        }
    };
    for d in touched {
        let unchanged = plans.iter().any(|p| {
            matches!(p, StackPlan::Planned(p) if p.stack == d.stack && p.is_empty() && p.is_applicable())
        });
        results.push(if unchanged {
            StackApply::NoChanges {
                stack: d.stack.clone(),
                region: d.region.clone(),
            }
        } else {
            StackApply::NotApplied {
                stack: d.stack.clone(),
                refusal: Refusal::UnreviewedPush,
            }
        });
    }
    report_apply(s, None, sha, &results, loaded, record).await;
    Ok(if results.iter().all(StackApply::is_ok) {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
