//! A push to the default branch: apply what the merge touched, each stack
//! only if its plan is the one reviewed on the merged pull request, and
//! record the result everywhere.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;

use super::outputs::results_json;
use super::policy::{self, Verdict};
use super::{Ctx, EXIT_FAILED, EXIT_OK, Loaded, Record, event, is_plan, short, touched};
use crate::app::{self, Exclusive};
use crate::ec2::Ec2;
use crate::github::GitHubError;
use crate::marker::{Marker, ReviewedStack};
use crate::model::Desired;
use crate::outcome::{BaseMoved, Refusal, StackApply, StackPlan};
use crate::plan::Plan;
use crate::render;
use crate::render::comment::{self, PlanState};

impl Ctx<'_> {
    /// Re-plans and applies stacks; with `reviewed`, a stack whose fresh
    /// fingerprint differs from the reviewed one is not applied (`moved`:
    /// the base branch moved since review, which the refusal names).
    pub(super) async fn apply_stacks(
        &self,
        stacks: &[&Desired],
        reviewed: Option<&BTreeMap<(String, String), ReviewedStack>>,
        moved: Option<&BaseMoved>,
    ) -> (Vec<StackApply>, BTreeMap<String, Plan>) {
        let mut out = Vec::new();
        // The latest plan of each stack refused for want of review: the one
        // posted for review (never planned a third time).
        let mut to_review = BTreeMap::new();
        // A stack goes after those it names in `after`, and is not
        // attempted when one of them was not applied.
        for d in crate::config::order::apply_order(stacks) {
            let not_applied = d.after.iter().find_map(|(name, _)| {
                out.iter()
                    .any(|r: &StackApply| !r.is_ok() && r.stack() == name)
                    .then(|| name.clone())
            });
            if let Some(after) = not_applied {
                out.push(StackApply::NotApplied {
                    stack: d.stack.clone(),
                    refusal: Refusal::NotAttempted { after },
                });
                continue;
            }
            let ec2 = Ec2::connect(&d.region).await;
            let (plan, _, region) = match app::plan(&ec2, d).await {
                Ok(x) => x,
                Err(e) => {
                    out.push(StackApply::NotApplied {
                        stack: d.stack.clone(),
                        refusal: Refusal::ReadFailed {
                            error: format!("{e:#}"),
                        },
                    });
                    continue;
                }
            };
            let review = reviewed.map(|r| r.get(&(d.stack.clone(), d.region.clone())));
            match policy::verdict(&plan, review, moved) {
                Verdict::Apply => {}
                Verdict::NoChanges => {
                    out.push(StackApply::NoChanges {
                        stack: d.stack.clone(),
                        region: d.region.clone(),
                    });
                    continue;
                }
                Verdict::Refuse(refusal) => {
                    if refusal.needs_review() {
                        to_review.insert(d.stack.clone(), plan.clone());
                    }
                    out.push(StackApply::NotApplied {
                        stack: d.stack.clone(),
                        refusal,
                    });
                    continue;
                }
            }
            println!(
                "ec2-gitops: applying stack {} ({})",
                render::escape::terminal(&d.stack),
                render::escape::terminal(&d.region)
            );
            let start = Instant::now();
            let progress = crate::progress::LineProgress::new();
            let done = app::apply_exclusive(
                &ec2,
                d,
                Some(&plan),
                Some(&region),
                app::APPLY_LEASE_WAIT,
                &progress,
            )
            .await;
            out.push(match done {
                Ok(Exclusive::Applied { plan, results }) => StackApply::Applied {
                    plan,
                    results,
                    seconds: start.elapsed().as_secs_f64(),
                },
                Ok(Exclusive::AlreadyDone) => StackApply::NoChanges {
                    stack: d.stack.clone(),
                    region: d.region.clone(),
                },
                Ok(Exclusive::Moved(fresh)) => {
                    let refusal = Refusal::MovedUnderLease {
                        reviewed: plan.fingerprint.clone(),
                        now: fresh.fingerprint.clone(),
                    };
                    to_review.insert(d.stack.clone(), *fresh);
                    StackApply::NotApplied {
                        stack: d.stack.clone(),
                        refusal,
                    }
                }
                Err(e) => StackApply::NotApplied {
                    stack: d.stack.clone(),
                    refusal: Refusal::Failed {
                        error: format!("{e:#}"),
                    },
                },
            });
        }
        (out, to_review)
    }

    /// Push to the default branch: apply the stacks the merge touched, each
    /// only if its plan is the one reviewed on the merged PR.
    pub(super) async fn apply_push(&self, e: &event::PushEvent, record: &mut Record) -> Result<u8> {
        let sha = e.after.as_str();
        if !crate::marker::is_sha(sha) {
            anyhow::bail!(
                "the push payload's `after` is not a commit SHA ({}): it is not what GitHub sends; nothing was applied",
                render::escape::terminal(&sha.chars().take(80).collect::<String>())
            );
        }
        // GitHub unreachable must not stop the apply of a direct push; a
        // merged PR whose comment cannot be read is not applied (unreviewed).
        let pr = match self.gh.pulls_for_commit(sha).await {
            Ok(prs) => prs
                .into_iter()
                .filter(|p| p.is_merged())
                .min_by_key(|p| p.merge_commit_sha.as_deref() != Some(sha)),
            Err(err) => {
                eprintln!(
                    "::error::{}",
                    render::escape::workflow_data(&format!(
                        "cannot ask GitHub which pull request {sha} merges: {err}. Nothing is applied without its reviewed plan."
                    ))
                );
                record.summary(&format!(
                    "## ec2-gitops apply\n\nNot applied: GitHub could not be asked which pull request {} merges ({}).\n",
                    render::escape::code_span(sha),
                    render::escape::text(&err.to_string())
                ));
                record.output("applied", "false");
                return Ok(EXIT_FAILED);
            }
        };
        let (changed, reviewed, comment_id, moved) = match &pr {
            Some(p) => {
                let (changed, _) = self.changed_files(p.number).await?;
                let c = self.gh.find_comment(p.number, is_plan).await?;
                let meta = c.as_ref().and_then(|(_, m)| m.plan());
                let reviewed = meta.map(comment::reviewed_stacks).unwrap_or_default();
                // The reviewed plan was made on the PR merged into `base`;
                // this merge is onto `before`.
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
        let loaded = self.load();
        let mut touched: Vec<&Desired> = touched::touched(&loaded.valid, &changed);
        // Input `environments`: this job applies only those; another job
        // (say, behind a GitHub Environment's reviewers) applies the rest.
        if let Some(chosen) = &self.env.inputs.environments {
            touched.retain(|d| {
                let here = chosen.iter().any(|e| e == d.environment());
                if !here {
                    println!(
                        "ec2-gitops: stack {} (environment {}) is left to the job that applies that environment",
                        render::escape::terminal(&d.stack),
                        render::escape::terminal(d.environment())
                    );
                }
                here
            });
        }
        let mut results: Vec<StackApply> = loaded
            .invalid
            .iter()
            .filter(|(f, _)| {
                changed
                    .iter()
                    .any(|c| touched::normalize(c) == touched::normalize(f))
            })
            .map(|(f, d)| StackApply::NotApplied {
                stack: f.clone(),
                refusal: Refusal::InvalidFile {
                    diagnostics: render::diagnostics::text(d),
                },
            })
            .collect();
        if touched.is_empty() && results.is_empty() {
            println!("ec2-gitops: {sha} changes no stack: nothing to apply");
            record.output("applied", "false");
            return Ok(EXIT_OK);
        }
        if pr.is_none() && !self.env.inputs.apply_unreviewed_pushes {
            return self
                .refuse_unreviewed_push(sha, &loaded, &touched, results, record)
                .await;
        }
        let (applied, to_review) = self
            .apply_stacks(&touched, reviewed.as_ref(), moved.as_ref())
            .await;
        results.extend(applied);

        if let Some(p) = &pr {
            self.post_refused_plans(p.number, comment_id, sha, &results, &to_review)
                .await;
        }
        self.report_apply(pr.as_ref().map(|p| p.number), sha, &results, record)
            .await;
        self.mark_and_replan(&results, pr.as_ref().map(|p| p.number), sha, record)
            .await;
        Ok(if results.iter().all(StackApply::is_ok) {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }

    /// A push that no merged pull request explains, with
    /// `apply-unreviewed-pushes` off: nothing is applied; the drift check
    /// puts its plan (the default branch against EC2) in the drift issue,
    /// where `/apply STACK` applies it; the apply check fails saying so.
    async fn refuse_unreviewed_push(
        &self,
        sha: &str,
        loaded: &Loaded,
        touched: &[&Desired],
        mut results: Vec<StackApply>,
        record: &mut Record,
    ) -> Result<u8> {
        let plans = match self.check_drift(loaded, record).await {
            Ok((plans, _)) => plans,
            Err(e) => {
                eprintln!(
                    "::warning::{}",
                    render::escape::workflow_data(&format!(
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
        self.report_apply(None, sha, &results, record).await;
        Ok(if results.iter().all(StackApply::is_ok) {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }

    /// A stack refused for want of review gets its new plan posted on the
    /// merged pull request, in its plan comment (`comment_id`) when it has one.
    async fn post_refused_plans(
        &self,
        number: u64,
        comment_id: Option<u64>,
        sha: &str,
        results: &[StackApply],
        to_review: &std::collections::BTreeMap<String, crate::plan::Plan>,
    ) {
        // A stack refused for want of review gets its new plan posted.
        let refused: Vec<(&String, &Refusal)> = results
            .iter()
            .filter_map(|r| match r {
                StackApply::NotApplied { stack, refusal } if refusal.needs_review() => {
                    Some((stack, refusal))
                }
                _ => None,
            })
            .collect();
        if !refused.is_empty() {
            let fresh: Vec<StackPlan> = refused
                .iter()
                .filter_map(|(stack, _)| to_review.get(*stack).cloned())
                .map(StackPlan::Planned)
                .collect();
            let state = PlanState::MergeRefused {
                reasons: refused
                    .iter()
                    .map(|(stack, refusal)| {
                        format!("`{stack}`: {}", comment::refusal_text(refusal))
                    })
                    .collect(),
            };
            let body = comment::plan_marker(sha, None, &fresh, &state)
                .wrap(&comment::plan_comment(sha, &fresh, &[], &state));
            let posted = match comment_id {
                Some(id) => self.gh.update_comment(id, &body).await.map(|_| ()),
                None => self.gh.create_comment(number, &body).await.map(|_| ()),
            };
            if let Err(err) = posted {
                eprintln!(
                    "::warning::could not post the new plan on #{}: {}",
                    number,
                    render::escape::workflow_data(&err.to_string())
                );
            }
        }
    }

    /// Marks the plans of other open pull requests of the applied stacks
    /// stale and, with `replan-stale`, plans them again; the job summary
    /// says which.
    async fn mark_and_replan(
        &self,
        results: &[StackApply],
        pr: Option<u64>,
        sha: &str,
        record: &mut Record,
    ) {
        let applied: Vec<(String, String)> = results
            .iter()
            .filter_map(|r| match r {
                StackApply::Applied { plan, .. } => Some((plan.stack.clone(), plan.region.clone())),
                _ => None,
            })
            .collect();
        match self.mark_stale(&applied, pr).await {
            Ok(marked) if !marked.is_empty() => {
                let list = marked
                    .iter()
                    .map(|m| format!("#{}", m.number))
                    .collect::<Vec<_>>()
                    .join(", ");
                record.summary(&format!(
                    "\nOther open pull requests had plans of these stacks: {list} (marked stale).\n"
                ));
                if self.env.inputs.replan_stale {
                    for m in &marked {
                        match self.replan(m, sha).await {
                            Ok(()) => record.summary(&format!(
                                "- #{}: re-planned (head `{}` merged into `{}`)\n",
                                m.number,
                                short(&m.head_sha),
                                short(sha)
                            )),
                            Err(failure) => {
                                let e = comment::replan_failure(&failure);
                                eprintln!(
                                    "::warning::could not re-plan #{}: {}",
                                    m.number,
                                    render::escape::workflow_data(&e)
                                );
                                record.summary(&format!(
                                    "- #{}: could not be re-planned ({}); its comment stays marked stale\n",
                                    m.number,
                                    render::escape::text(&e)
                                ));
                            }
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) => eprintln!(
                "::warning::could not mark stale plans: {}",
                render::escape::workflow_data(&e.to_string())
            ),
        }
    }

    /// Records an apply everywhere: PR comment, commit status, a deployment
    /// per stack, job summary and outputs. GitHub failures are logged, never
    /// lose the result: the summary, outputs and exit code still carry it.
    pub(super) async fn report_apply(
        &self,
        pr: Option<u64>,
        sha: &str,
        results: &[StackApply],
        record: &mut Record,
    ) {
        let text = comment::apply_comment(sha, results);
        // Each stack's GitHub environment (`environment:`, default its name).
        let environments: BTreeMap<String, String> = self
            .load()
            .valid
            .iter()
            .map(|d| (d.stack.clone(), d.environment().to_string()))
            .collect();
        record.summary(&text);
        record.output(
            "applied",
            if results
                .iter()
                .any(|r| matches!(r, StackApply::Applied { .. }))
            {
                "true"
            } else {
                "false"
            },
        );
        record.output("result-json", &results_json(results));
        let mut warn = |what: &str, r: Result<(), GitHubError>| {
            if let Err(e) = r {
                eprintln!(
                    "::warning::could not record the apply result ({what}): {}",
                    render::escape::workflow_data(&e.to_string())
                );
                record.summary(&format!(
                    "\n> [!WARNING]\n> The result could not be posted to GitHub ({what}): {}\n",
                    render::escape::text(&e.to_string())
                ));
            }
        };
        if let Some(n) = pr {
            let marker = Marker::Apply {
                sha: sha.to_string(),
                run: self.env.run_key.clone(),
            };
            warn(
                "comment",
                self.gh
                    .create_comment(n, &marker.wrap(&text))
                    .await
                    .map(|_| ()),
            );
        }
        warn("check", self.apply_check(sha, results, &text).await);
        for r in results {
            let (stack, state, text) = match r {
                StackApply::Applied { plan, .. } => (
                    plan.stack.clone(),
                    if r.is_ok() { "success" } else { "failure" },
                    render::summary_line(&plan.summary),
                ),
                StackApply::NoChanges { stack, .. } => {
                    (stack.clone(), "success", "no changes".to_string())
                }
                StackApply::NotApplied { stack, .. } => {
                    (stack.clone(), "failure", "not applied".to_string())
                }
            };
            if matches!(
                r,
                StackApply::NotApplied {
                    refusal: Refusal::InvalidFile { .. },
                    ..
                }
            ) {
                continue; // an invalid file has no stack to deploy
            }
            let environment = environments.get(&stack).cloned().unwrap_or(stack);
            match self.gh.create_deployment(sha, &environment, &text).await {
                Ok(id) => warn(
                    "deployment status",
                    self.gh
                        .deployment_status(id, state, &text, self.env.run_url.as_deref())
                        .await,
                ),
                Err(e) => warn("deployment", Err(e)),
            }
        }
    }
}
