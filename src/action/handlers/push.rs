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
use crate::action::steps::{drift, moves, stale};
use crate::action::touched;
use crate::action::{EXIT_FAILED, EXIT_OK};
use crate::config::normalize;
use std::collections::BTreeMap;

use crate::marker::ReviewedStack;
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
    let loaded = s.load();
    let merged: Vec<Merged> = match &pr {
        Some(p) => {
            let first = Merged::read(s, p.number, &e.before).await?;
            let mut all = also_merged(s, e, &loaded, &first).await?;
            all.push(first);
            all
        }
        None => Vec::new(),
    };
    let changed: Vec<String> = match &pr {
        Some(_) => merged.iter().flat_map(|m| m.changed.clone()).collect(),
        None => e.files(),
    };
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
    // A stack the push moves between accounts while the old one still
    // holds some of it is not applied (its plan said so on review).
    let (touched, moving) = moves::refuse_moves(s, &e.before, &changed, touched).await;
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
    results.extend(
        moving
            .into_iter()
            .map(|(stack, error)| StackApply::NotApplied {
                stack,
                refusal: Refusal::Failed { error },
            }),
    );
    if touched.is_empty() && results.is_empty() {
        println!("{}", notes::changes_no_stack_to_apply(sha));
        record.output("applied", "false");
        return Ok(EXIT_OK);
    }
    if pr.is_none() {
        if !s.inputs().apply_unreviewed_pushes {
            return refuse_unreviewed_push(s, sha, &loaded, &touched, results, record).await;
        }
        results.extend(apply_stacks(&touched, None, None).await.results);
        report_apply(s, &[], sha, &results, &loaded, record).await;
        stale::mark_and_replan(s, &results, None, sha, record).await;
        return Ok(exit_code(&results));
    }
    // What no review could apply (an invalid file, a refused account
    // move) is told on the pull request the push merged.
    let head_pr = pr.as_ref().map_or(0, |p| p.number);
    let mut theirs: Vec<(u64, Vec<StackApply>)> = vec![(head_pr, results.clone())];
    for (number, applied) in apply_merged(s, &merged, &touched, sha).await {
        results.extend(applied.iter().cloned());
        match theirs.iter_mut().find(|(n, _)| *n == number) {
            Some((_, mine)) => mine.extend(applied),
            None => theirs.push((number, applied)),
        }
    }
    let prs: Vec<(u64, &[StackApply])> = theirs
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(n, r)| (*n, r.as_slice()))
        .collect();
    report_apply(s, &prs, sha, &results, &loaded, record).await;
    let number = pr.as_ref().map(|p| p.number);
    stale::mark_and_replan(s, &results, number, sha, record).await;
    Ok(exit_code(&results))
}

/// Applies each stack of `touched` against the review on the pull request
/// that changed it (the last of `merged` that did, when a merge queue
/// merged several in one push); a stack refused for want of review gets
/// its new plan posted there. Returns each pull request's results.
async fn apply_merged(
    s: &Services<'_>,
    merged: &[Merged],
    touched: &[&Desired],
    sha: &str,
) -> Vec<(u64, Vec<StackApply>)> {
    let mut out = Vec::new();
    for (i, m) in merged.iter().enumerate() {
        let owned: Vec<&Desired> = touched
            .iter()
            .copied()
            .filter(|d| {
                let last = merged.iter().rposition(|m| {
                    !touched::touched(std::slice::from_ref(*d), &m.changed).is_empty()
                });
                last == Some(i)
            })
            .collect();
        if owned.is_empty() {
            continue;
        }
        let applied = apply_stacks(&owned, Some(&m.reviewed), m.moved.as_ref()).await;
        post_refused_plans(
            s,
            m.number,
            m.comment_id,
            sha,
            &applied.results,
            &applied.to_review,
        )
        .await;
        out.push((m.number, applied.results));
    }
    out
}

fn exit_code(results: &[StackApply]) -> u8 {
    if results.iter().all(StackApply::is_ok) {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

/// A merged pull request of the push, with what its review says.
struct Merged {
    number: u64,
    /// The files it changes.
    changed: Vec<String>,
    /// The reviewed plan of each stack (empty: none found).
    reviewed: BTreeMap<(String, String), ReviewedStack>,
    /// Its plan comment.
    comment_id: Option<u64>,
    /// The base moved since its review.
    moved: Option<BaseMoved>,
}

impl Merged {
    /// Reads pull request `n`'s files and plan comment; `before` is the
    /// base it was merged onto.
    async fn read(s: &Services<'_>, n: u64, before: &str) -> Result<Merged> {
        let (changed, _) = changed_files(s, n).await?;
        let c = s.gh.find_comment(n, is_plan).await?;
        let meta = c.as_ref().and_then(|(_, m)| m.plan());
        let reviewed = meta.map(|m| m.reviewed()).unwrap_or_default();
        // The reviewed plan was made on the PR merged into `base`; this
        // merge is onto `before`.
        let moved = BaseMoved::between(meta.and_then(|m| m.base.as_deref()), before);
        Ok(Merged {
            number: n,
            changed,
            reviewed,
            comment_id: c.map(|(c, _)| c.id),
            moved,
        })
    }
}

/// The other pull requests a push merged, oldest first: a merge queue
/// merges a group of several in one push, each its own commit. Asked only
/// when the push changes a stack that `first` does not (one call per
/// pushed commit then), so a push of one merge costs nothing more.
async fn also_merged(
    s: &Services<'_>,
    e: &PushEvent,
    loaded: &Loaded,
    first: &Merged,
) -> Result<Vec<Merged>> {
    let pushed = touched::touched(&loaded.valid, &e.files());
    let explained = touched::touched(&loaded.valid, &first.changed);
    if pushed.iter().all(|d| explained.contains(d)) {
        return Ok(Vec::new());
    }
    let mut out: Vec<Merged> = Vec::new();
    for c in e
        .commits
        .iter()
        .filter(|c| c.id != e.after && crate::marker::is_sha(&c.id))
    {
        let prs = s.gh.pulls_for_commit(&c.id).await?;
        for p in prs {
            let merged_here = p.is_merged() && p.merge_commit_sha.as_deref() == Some(c.id.as_str());
            if merged_here && p.number != first.number && out.iter().all(|m| m.number != p.number) {
                out.push(Merged::read(s, p.number, &e.before).await?);
            }
        }
    }
    Ok(out)
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
    report_apply(s, &[], sha, &results, loaded, record).await;
    Ok(if results.iter().all(StackApply::is_ok) {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
