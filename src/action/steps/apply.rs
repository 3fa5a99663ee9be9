//! Applying on GitHub's side: which plans a merge or a command may apply
//! (each stack's reviewed plan), and the result recorded everywhere: the
//! pull request's comment, the apply check, a deployment per stack, the
//! job summary and the outputs.

use std::collections::BTreeMap;

use anyhow::Result;

use super::checks::apply_check;
use super::replies::reply;
use crate::action::policy;
use crate::action::record::Record;
use crate::action::services::Services;
use crate::app::{self, Applied, Driver};
use crate::github::GitHubError;
use crate::marker::{Marker, PlanMeta, ReviewedStack};
use crate::model::Desired;
use crate::outcome::{BaseMoved, Refusal, StackApply, StackPlan, Verdict};
use crate::plan::Plan;
use crate::progress::LineProgress;
use crate::render::comment::{self, PlanState};
use crate::render::outputs::results_json;
use crate::render::{self, notes};
use crate::workspace::Loaded;

/// The action's side of an apply: a stack is applied only when its fresh
/// plan is the reviewed one (when a review is asked for), and the log says
/// which stack is being applied.
struct Reviewed<'a> {
    /// `None`: no review asked for (a direct push allowed to apply).
    reviewed: Option<&'a BTreeMap<(String, String), ReviewedStack>>,
    /// The base branch moved since the review.
    moved: Option<&'a BaseMoved>,
}

impl Driver for Reviewed<'_> {
    fn judge(&mut self, d: &Desired, plan: &Plan) -> Verdict {
        let review = self
            .reviewed
            .map(|r| r.get(&(d.stack.clone(), d.region.clone())));
        let verdict = policy::verdict(plan, review, self.moved);
        if verdict == Verdict::Apply {
            println!("{}", notes::applying(&d.stack, &d.region));
        }
        verdict
    }

    fn pins(&self, d: &Desired) -> Vec<(crate::model::ImageRef, String)> {
        self.reviewed
            .and_then(|r| r.get(&(d.stack.clone(), d.region.clone())))
            .map(|s| s.images.clone())
            .unwrap_or_default()
    }
}

/// Re-plans and applies stacks in order; with `reviewed`, a stack whose
/// fresh plan is not the reviewed one is not applied (`moved`: the base
/// branch moved since review, which the refusal names).
pub async fn apply_stacks(
    stacks: &[&Desired],
    reviewed: Option<&BTreeMap<(String, String), ReviewedStack>>,
    moved: Option<&BaseMoved>,
) -> Applied {
    let progress = LineProgress::new();
    app::apply_stacks(stacks, &mut Reviewed { reviewed, moved }, &progress).await
}

/// Applies exactly the plans `meta` shows (the plan comment's, or the drift
/// issue's latest `/plan` reply's), of the stacks `only` names (all when
/// empty), each under its lease and checked against its fingerprint, and
/// records the result on `sha` as a merge-apply is. Returns the results
/// and the stack files it read; `None` when no stack matches (the reply
/// says so).
pub async fn apply_shown(
    s: &Services<'_>,
    number: u64,
    meta: &PlanMeta,
    only: &[String],
    sha: &str,
    record: &mut Record,
) -> Result<Option<(Vec<StackApply>, Loaded)>> {
    let reviewed = meta.reviewed();
    let loaded = s.load();
    let stacks: Vec<&Desired> = loaded
        .valid
        .iter()
        .filter(|d| reviewed.contains_key(&(d.stack.clone(), d.region.clone())))
        .filter(|d| only.is_empty() || only.contains(&d.stack))
        .collect();
    if stacks.is_empty() {
        reply(
            s,
            number,
            &comment::apply_not_allowed("no stack of the plan matches."),
        )
        .await?;
        return Ok(None);
    }
    let applied = apply_stacks(&stacks, Some(&reviewed), None).await;
    let prs = [(number, applied.results.as_slice())];
    report_apply(s, &prs, sha, &applied.results, &loaded, record).await;
    Ok(Some((applied.results, loaded)))
}

/// A stack refused for want of review gets its new plan posted on the
/// merged pull request, in its plan comment (`comment_id`) when it has one.
pub async fn post_refused_plans(
    s: &Services<'_>,
    number: u64,
    comment_id: Option<u64>,
    sha: &str,
    results: &[StackApply],
    to_review: &BTreeMap<String, Plan>,
) {
    let refused: Vec<(&String, &Refusal)> = results
        .iter()
        .filter_map(|r| match r {
            StackApply::NotApplied { stack, refusal } if refusal.needs_review() => {
                Some((stack, refusal))
            }
            _ => None,
        })
        .collect();
    if refused.is_empty() {
        return;
    }
    let fresh: Vec<StackPlan> = refused
        .iter()
        .filter_map(|(stack, _)| to_review.get(*stack).cloned())
        .map(StackPlan::Planned)
        .collect();
    let state = PlanState::MergeRefused {
        reasons: refused
            .iter()
            .map(|(stack, refusal)| comment::stack_refusal(stack, refusal))
            .collect(),
    };
    let body = Marker::of_plans(sha, None, &fresh, state.status()).wrap(&comment::plan_comment(
        sha,
        &fresh,
        &[],
        &state,
    ));
    let posted = match comment_id {
        Some(id) => s.gh.update_comment(id, &body).await.map(|_| ()),
        None => s.gh.create_comment(number, &body).await.map(|_| ()),
    };
    if let Err(err) = posted {
        eprintln!("{}", notes::new_plan_not_posted(number, &err.to_string()));
    }
}

/// Records an apply everywhere: a comment on each pull request with its
/// stacks' results (`prs`), the apply check, a deployment per stack (to the
/// stack's GitHub environment, from `loaded`), job summary and outputs.
/// GitHub failures are logged, never lose the result: the summary, outputs
/// and exit code still carry it.
pub async fn report_apply(
    s: &Services<'_>,
    prs: &[(u64, &[StackApply])],
    sha: &str,
    results: &[StackApply],
    loaded: &Loaded,
    record: &mut Record,
) {
    let text = comment::apply_comment(sha, results);
    // Each stack's GitHub environment (`environment:`, default its name).
    let environments: BTreeMap<String, String> = loaded
        .valid
        .iter()
        .map(|d| (d.stack.clone(), d.environment().to_string()))
        .collect();
    record.summary(&text);
    let any_applied = results
        .iter()
        .any(|r| matches!(r, StackApply::Applied { .. }));
    record.output("applied", if any_applied { "true" } else { "false" });
    record.output("result-json", &results_json(results));
    let mut warn = |what: &str, r: Result<(), GitHubError>| {
        if let Err(e) = r {
            let e = e.to_string();
            eprintln!("{}", notes::result_not_recorded_log(what, &e));
            record.summary(&notes::result_not_recorded(what, &e));
        }
    };
    for (n, theirs) in prs {
        let marker = Marker::Apply {
            sha: sha.to_string(),
            run: s.env.run_key.clone(),
        };
        let text = match prs.len() {
            1 => text.clone(),
            _ => comment::apply_comment(sha, theirs),
        };
        warn(
            "comment",
            s.gh.create_comment(*n, &marker.wrap(&text))
                .await
                .map(|_| ()),
        );
    }
    warn("check", apply_check(s, sha, results, &text).await);
    for r in results {
        // An invalid file has no stack to deploy.
        if matches!(
            r,
            StackApply::NotApplied {
                refusal: Refusal::InvalidFile { .. },
                ..
            }
        ) {
            continue;
        }
        let (state, description) = render::outputs::deployment(r);
        let stack = r.stack().to_string();
        let environment = environments.get(&stack).cloned().unwrap_or(stack);
        match s
            .gh
            .create_deployment(sha, &environment, &description)
            .await
        {
            Ok(id) => warn(
                "deployment status",
                s.gh.deployment_status(id, state, &description, s.env.run_url.as_deref())
                    .await,
            ),
            Err(e) => warn("deployment", Err(e)),
        }
    }
}
