//! `ec2-gitops action`: what the container runs. Reads the runner
//! environment and the event payload, and wires the event to GitHub, EC2,
//! the planner and the executor. Decisions (which stacks, which command,
//! what to say) are made by the pure modules it calls.

pub mod command;
pub mod env;
pub mod event;
mod record;
pub mod touched;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::app::Exclusive;
use crate::ec2::Ec2;
use crate::github::{GitHub, GitHubError, Reaction, RetryPolicy};
use crate::model::Desired;
use crate::render::comment::{self, PlanState, StackApply, StackPlan};
use crate::workspace::{self, Overlay};
use crate::{app, render};
use command::Command;
use env::{ActionEnv, ApplyOnComment};
pub use record::Record;

/// Exit code: done.
pub const EXIT_OK: u8 = 0;
/// Exit code: a plan or apply failed, or the event could not be handled.
pub const EXIT_FAILED: u8 = 1;

/// Runs the action for the event in `env`.
pub async fn run(env: &ActionEnv, retry: RetryPolicy) -> Result<u8> {
    let payload = std::fs::read(&env.event_path).with_context(|| {
        format!(
            "cannot read the event payload {} (GITHUB_EVENT_PATH)",
            env.event_path.display()
        )
    })?;
    // The runner writes the payload of GITHUB_EVENT_NAME's event: anything
    // else is a broken or forged run, refused before any request.
    let unreadable = |e: String| {
        anyhow::anyhow!(
            "{e} (read from GITHUB_EVENT_PATH={}; GITHUB_EVENT_NAME `{}` must name the event of this payload)",
            env.event_path.display(),
            env.event_name
        )
    };
    let gh = GitHub::new(&env.api_url, &env.token, env.repo.clone(), retry)?;
    let mut record = Record::new(env);
    let ctx = Ctx { env, gh: &gh };
    let code = match env.event_name.as_str() {
        "pull_request" | "pull_request_target" => {
            let e: event::PullRequestEvent =
                event::parse(&env.event_name, &payload).map_err(unreadable)?;
            let pr = &e.pull_request;
            match (e.action.as_str(), pr.fork()) {
                (_, Some(fork)) => {
                    ctx.fork(pr.number, &fork, &mut record);
                    EXIT_OK
                }
                ("opened" | "synchronize" | "reopened", None) => {
                    ctx.plan_pr(pr.number, &pr.head.sha, &[], &mut record)
                        .await?
                }
                ("closed", None) if pr.merged != Some(true) => {
                    ctx.discard(pr.number, &mut record).await?
                }
                (other, None) => {
                    println!(
                        "ec2-gitops: nothing to do for pull_request {}",
                        render::escape::terminal(other)
                    );
                    EXIT_OK
                }
            }
        }
        "issue_comment" => {
            let e: event::IssueCommentEvent =
                event::parse(&env.event_name, &payload).map_err(unreadable)?;
            ctx.comment(&e, &mut record).await?
        }
        "push" => {
            let e: event::PushEvent =
                event::parse(&env.event_name, &payload).map_err(unreadable)?;
            if e.is_default_branch() {
                ctx.apply_push(&e, &mut record).await?
            } else {
                println!(
                    "ec2-gitops: {} is not the default branch: nothing to apply",
                    render::escape::terminal(&e.git_ref)
                );
                EXIT_OK
            }
        }
        "schedule" | "workflow_dispatch" => ctx.drift(&mut record).await?,
        other => {
            println!(
                "ec2-gitops: nothing to do for event {}",
                render::escape::terminal(other)
            );
            EXIT_OK
        }
    };
    record.finish()?;
    Ok(code)
}

struct Ctx<'a> {
    env: &'a ActionEnv,
    gh: &'a GitHub,
}

/// Stack files of the workspace, each loaded on its own (one invalid file
/// does not hide the others).
struct Loaded {
    valid: Vec<Desired>,
    invalid: Vec<(String, Vec<crate::config::Diagnostic>)>,
}

impl Ctx<'_> {
    /// The checkout's stack files.
    fn load(&self) -> Loaded {
        self.load_via(&Overlay::default())
    }

    /// The stack files of the checkout with `overlay`'s versions over it.
    fn load_via(&self, overlay: &Overlay) -> Loaded {
        let files = overlay.stack_files(&self.env.inputs.config);
        let mut out = Loaded {
            valid: vec![],
            invalid: vec![],
        };
        for f in files {
            match overlay.load_stack(&f) {
                Ok(d) => out.valid.push(d),
                Err(diags) => out.invalid.push((f.display().to_string(), diags)),
            }
        }
        out
    }

    /// Plans the stacks `changed` touches (or, with `only`, the named ones).
    async fn plan_stacks(
        &self,
        loaded: &Loaded,
        changed: &[String],
        only: &[String],
    ) -> Vec<StackPlan> {
        let mut out = Vec::new();
        let changed_norm: Vec<String> = changed.iter().map(|c| touched::normalize(c)).collect();
        for (file, diags) in &loaded.invalid {
            if changed_norm.contains(&touched::normalize(file)) {
                print!("{}", render::diagnostics::github_annotations(diags));
                out.push(StackPlan::Invalid {
                    file: file.clone(),
                    errors: render::diagnostics::text(diags),
                });
            }
        }
        let mut set = tokio::task::JoinSet::new();
        let stacks: Vec<Desired> = touched::touched(&loaded.valid, changed)
            .into_iter()
            .filter(|d| only.is_empty() || only.contains(&d.stack))
            .cloned()
            .collect();
        // Bounded: a few stacks at a time, each a handful of EC2 calls.
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(4));
        for (i, d) in stacks.into_iter().enumerate() {
            let permits = permits.clone();
            set.spawn(async move {
                let _p = permits.acquire_owned().await;
                let ec2 = Ec2::connect(&d.region).await;
                let r = match app::plan(&ec2, &d).await {
                    Ok((plan, _, _)) => StackPlan::Planned(plan),
                    Err(e) => StackPlan::Failed {
                        file: d.file.clone(),
                        error: format!("{e:#}"),
                    },
                };
                (i, r)
            });
        }
        let mut planned: Vec<(usize, StackPlan)> = set.join_all().await;
        planned.sort_by_key(|(i, _)| *i);
        out.extend(planned.into_iter().map(|(_, p)| p));
        out
    }

    async fn changed_files(&self, number: u64) -> Result<(Vec<String>, Vec<String>), GitHubError> {
        let files = self.gh.pull_files(number).await?;
        let mut changed = Vec::new();
        let mut removed = Vec::new();
        for f in files {
            if f.status == "removed" {
                removed.push(f.filename.clone());
            }
            if let Some(prev) = f.previous_filename {
                removed.push(prev.clone());
                changed.push(prev);
            }
            changed.push(f.filename);
        }
        Ok((changed, removed))
    }

    /// Plans a PR and creates or updates its one plan comment.
    async fn plan_pr(
        &self,
        number: u64,
        head_sha: &str,
        only: &[String],
        record: &mut Record,
    ) -> Result<u8> {
        let (changed, removed) = self.changed_files(number).await?;
        let loaded = self.load();
        // `/plan NAME`: a name the PR does not touch must not reach the plan
        // comment (an empty selection would rewrite it as "no stack").
        if !only.is_empty() {
            let known: Vec<String> = touched::touched(&loaded.valid, &changed)
                .iter()
                .map(|d| d.stack.clone())
                .collect();
            let unknown: Vec<String> = only
                .iter()
                .filter(|s| !known.contains(s))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                let prefix = &self.env.inputs.command_prefix;
                self.gh
                    .create_comment(number, &command::unknown_stacks(prefix, &unknown, &known))
                    .await?;
                record.summary("`/plan` named a stack this pull request does not change: nothing was planned.\n");
                return Ok(EXIT_FAILED);
            }
        }
        let existing = || async {
            self.gh
                .find_comment(number, comment::PLAN_MARKER)
                .await
                .map(|c| c.map(|c| c.id))
        };
        let posted = self
            .post_plan(
                number,
                head_sha,
                (&loaded, &changed, &removed),
                only,
                existing,
                &PlanState::Planned,
            )
            .await?;
        let Some((body, stacks)) = posted else {
            println!("ec2-gitops: pull request #{number} changes no stack: nothing to plan");
            record.output("plan", "");
            record.output("result-json", "[]");
            return Ok(EXIT_OK);
        };
        record.summary(&body);
        record.output("plan", &body);
        record.output("result-json", &plans_json(&stacks));
        Ok(if stacks.iter().all(StackPlan::is_ok) {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }

    /// Plans the stacks a PR's files touch and writes the one plan comment
    /// (`comment` finds it, called after planning) and the plan status of
    /// `head_sha`. `None` when the PR changes no stack (an existing comment
    /// then says so).
    async fn post_plan<F, Fut>(
        &self,
        number: u64,
        head_sha: &str,
        (loaded, changed, removed): (&Loaded, &[String], &[String]),
        only: &[String],
        comment: F,
        state: &PlanState,
    ) -> Result<Option<(String, Vec<StackPlan>)>, GitHubError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<u64>, GitHubError>>,
    {
        let stacks = self.plan_stacks(loaded, changed, only).await;
        let removed_stacks = touched::removed_stack_files(removed, &loaded.valid, |p| {
            workspace::is_stack_path(p, &self.env.inputs.config)
        });
        let existing = comment().await?;
        if stacks.is_empty() && removed_stacks.is_empty() {
            if let Some(id) = existing {
                self.gh
                    .update_comment(id, &format!("{}\n## ec2-gitops plan\n\nThis pull request no longer changes any stack.\n", comment::PLAN_MARKER))
                    .await?;
            }
            return Ok(None);
        }
        let body = comment::plan_comment(head_sha, &stacks, &removed_stacks, state);
        match existing {
            Some(id) => {
                self.gh.update_comment(id, &body).await?;
            }
            None => {
                self.gh.create_comment(number, &body).await?;
            }
        }
        let ok = stacks.iter().all(StackPlan::is_ok);
        let description = plan_description(&stacks);
        self.gh
            .set_status(
                head_sha,
                if ok { "success" } else { "failure" },
                "ec2-gitops/plan",
                &description,
                self.env.run_url.as_deref(),
            )
            .await?;
        Ok(Some((body, stacks)))
    }

    /// A pull request from a fork is not planned on its own: in the
    /// documented workflow its run has no AWS credentials and a read-only
    /// token. Says so in the log and the job summary, and calls nobody.
    fn fork(&self, number: u64, fork: &str, record: &mut Record) {
        let prefix = &self.env.inputs.command_prefix;
        println!(
            "ec2-gitops: pull request #{number} comes from the fork {}: it is not planned automatically (a fork's run gets no AWS credentials and a read-only token). A maintainer can read its stack files and comment `{prefix}plan` to plan it.",
            render::escape::terminal(fork)
        );
        record.summary(&format!(
            "## ec2-gitops\n\nPull request #{number} comes from the fork {}: it is not planned automatically (a fork's run gets no AWS credentials and a read-only token). A maintainer can read its stack files and comment `{prefix}plan` to plan it.\n",
            render::escape::code_span(fork)
        ));
    }

    async fn discard(&self, number: u64, record: &mut Record) -> Result<u8> {
        let Some(c) = self.gh.find_comment(number, comment::PLAN_MARKER).await? else {
            println!("ec2-gitops: pull request #{number} closed; it had no plan");
            return Ok(EXIT_OK);
        };
        let body = c.body.unwrap_or_default();
        let marked = mark_state(
            &body,
            "discarded",
            "> [!NOTE]\n> This pull request was closed without merging: the plan below was **discarded** and will not be applied.\n",
        );
        self.gh.update_comment(c.id, &marked).await?;
        record.summary(&format!(
            "Pull request #{number} closed without merging: its plan was marked discarded.\n"
        ));
        Ok(EXIT_OK)
    }

    async fn comment(&self, e: &event::IssueCommentEvent, record: &mut Record) -> Result<u8> {
        if e.action != "created" || e.issue.pull_request.is_none() {
            println!("ec2-gitops: not a new comment on a pull request: nothing to do");
            return Ok(EXIT_OK);
        }
        // Never react to bots (our own comments included): no loops.
        if e.comment.user.kind == "Bot" || e.comment.user.login.ends_with("[bot]") {
            return Ok(EXIT_OK);
        }
        let commands = command::parse(
            e.comment.body.as_deref().unwrap_or(""),
            &self.env.inputs.command_prefix,
        );
        if commands.is_empty() {
            return Ok(EXIT_OK);
        }
        let number = e.issue.number;
        let user = &e.comment.user.login;
        // The login goes into an API path: only what GitHub allows in one.
        if user.is_empty()
            || user.len() > 39
            || !user.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            let shown: String = user.chars().take(40).collect();
            eprintln!(
                "error: the comment's author {shown:?} is not a GitHub login: the issue_comment payload is not what GitHub sends; nothing was run"
            );
            return Ok(EXIT_FAILED);
        }
        self.gh.react(e.comment.id, Reaction::Eyes).await?;
        let permission = self.gh.permission(user).await?;
        if !matches!(permission.as_str(), "admin" | "maintain" | "write") {
            self.gh
                .create_comment(number, &comment::not_allowed(user, &permission))
                .await?;
            self.gh.react(e.comment.id, Reaction::Confused).await?;
            record.summary(&format!(
                "{} ({}) may not run commands: refused.\n",
                render::escape::text(&format!("@{user}")),
                render::escape::text(&permission)
            ));
            return Ok(EXIT_OK);
        }
        let mut ok = true;
        for c in commands {
            let r = match c {
                Command::Help => {
                    self.gh
                        .create_comment(
                            number,
                            &comment::help(&self.env.inputs.command_prefix, None),
                        )
                        .await?;
                    EXIT_OK
                }
                Command::Unknown(word) => {
                    self.gh
                        .create_comment(
                            number,
                            &comment::help(&self.env.inputs.command_prefix, Some(&word)),
                        )
                        .await?;
                    EXIT_FAILED
                }
                Command::Plan(only) => {
                    let pr = self.gh.pull(number).await?;
                    self.plan_pr(number, &pr.head.sha, &only, record).await?
                }
                Command::Apply(only) => self.apply_comment(number, &only, record).await?,
            };
            ok &= r == EXIT_OK;
        }
        self.gh
            .react(
                e.comment.id,
                if ok {
                    Reaction::Rocket
                } else {
                    Reaction::Confused
                },
            )
            .await?;
        Ok(if ok { EXIT_OK } else { EXIT_FAILED })
    }

    /// `/apply`: applies exactly the plans the plan comment shows.
    async fn apply_comment(&self, number: u64, only: &[String], record: &mut Record) -> Result<u8> {
        let refuse = |reason: &str| comment::apply_not_allowed(reason);
        let existing = self.gh.find_comment(number, comment::PLAN_MARKER).await?;
        let Some(plan_comment) = existing else {
            self.gh
                .create_comment(
                    number,
                    &refuse("this pull request has no plan comment; comment `/plan` first."),
                )
                .await?;
            return Ok(EXIT_FAILED);
        };
        let body = plan_comment.body.clone().unwrap_or_default();
        let status = comment::comment_status(&body).unwrap_or_default();
        let pr = self.gh.pull(number).await?;
        let allowed = match self.env.inputs.apply_on_comment {
            ApplyOnComment::Never => Err("this repository applies only on merge (`apply-on-comment: never`).".to_string()),
            ApplyOnComment::AfterRefusedMerge if !(pr.is_merged() && status == "merge-refused") => Err(
                "`/apply` is allowed only on a merged pull request whose merge-apply was refused because the plan changed (`apply-on-comment: after-refused-merge`).".to_string(),
            ),
            _ if status == "discarded" => Err("this plan was discarded.".to_string()),
            _ => Ok(()),
        };
        if let Err(reason) = allowed {
            self.gh.create_comment(number, &refuse(&reason)).await?;
            return Ok(EXIT_FAILED);
        }
        let reviewed = comment::reviewed_fingerprints(&body);
        let loaded = self.load();
        let stacks: Vec<&Desired> = loaded
            .valid
            .iter()
            .filter(|d| reviewed.contains_key(&(d.stack.clone(), d.region.clone())))
            .filter(|d| only.is_empty() || only.contains(&d.stack))
            .collect();
        if stacks.is_empty() {
            self.gh
                .create_comment(number, &refuse("no stack of the plan comment matches."))
                .await?;
            return Ok(EXIT_FAILED);
        }
        let sha = pr.merge_commit_sha.clone().unwrap_or(pr.head.sha.clone());
        let results = self.apply_stacks(&stacks, Some(&reviewed)).await;
        self.report_apply(Some(number), &sha, &results, record)
            .await;
        Ok(if results.iter().all(StackApply::is_ok) {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }

    /// Re-plans and applies stacks; with `reviewed`, a stack whose fresh
    /// fingerprint differs from the reviewed one is not applied.
    async fn apply_stacks(
        &self,
        stacks: &[&Desired],
        reviewed: Option<&BTreeMap<(String, String), String>>,
    ) -> Vec<StackApply> {
        let mut out = Vec::new();
        for d in stacks {
            let ec2 = Ec2::connect(&d.region).await;
            let (plan, _, _) = match app::plan(&ec2, d).await {
                Ok(x) => x,
                Err(e) => {
                    out.push(StackApply::NotApplied {
                        stack: d.stack.clone(),
                        reason: format!("EC2 could not be read: {e:#}"),
                    });
                    continue;
                }
            };
            // Nothing to do is always safe, whatever was reviewed (e.g. a
            // re-run of a merge that was applied already).
            if plan.is_empty() && plan.is_applicable() {
                out.push(StackApply::NoChanges {
                    stack: d.stack.clone(),
                    region: d.region.clone(),
                });
                continue;
            }
            if let Some(reviewed) = reviewed {
                match reviewed.get(&(d.stack.clone(), d.region.clone())) {
                    Some(f) if *f == plan.fingerprint => {}
                    Some(f) => {
                        out.push(StackApply::NotApplied {
                            stack: d.stack.clone(),
                            reason: format!(
                                "the plan changed since review (fingerprint `{f}` reviewed, `{}` now); nothing was applied.",
                                plan.fingerprint
                            ),
                        });
                        continue;
                    }
                    None => {
                        out.push(StackApply::NotApplied {
                            stack: d.stack.clone(),
                            reason: "no reviewed plan of this stack was found in the pull request's plan comment; nothing was applied.".into(),
                        });
                        continue;
                    }
                }
            }
            if !plan.is_applicable() {
                out.push(StackApply::NotApplied {
                    stack: d.stack.clone(),
                    reason: format!(
                        "the plan has errors or blocked changes:\n\n{}",
                        render::text::plan(&plan, false)
                    ),
                });
                continue;
            }
            println!(
                "ec2-gitops: applying stack {} ({})",
                render::escape::terminal(&d.stack),
                render::escape::terminal(&d.region)
            );
            let start = Instant::now();
            let progress = crate::progress::LineProgress::new();
            let done =
                app::apply_exclusive(&ec2, d, Some(&plan), app::APPLY_LEASE_WAIT, &progress).await;
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
                Ok(Exclusive::Moved(fresh)) => StackApply::NotApplied {
                    stack: d.stack.clone(),
                    reason: format!(
                        "the plan changed while another apply of this stack ran (fingerprint `{}` reviewed, `{}` now); nothing was applied.",
                        plan.fingerprint, fresh.fingerprint
                    ),
                },
                Err(e) => StackApply::NotApplied {
                    stack: d.stack.clone(),
                    reason: format!("{e:#}; nothing was applied."),
                },
            });
        }
        out
    }

    /// Push to the default branch: apply the stacks the merge touched, each
    /// only if its plan is the one reviewed on the merged PR.
    async fn apply_push(&self, e: &event::PushEvent, record: &mut Record) -> Result<u8> {
        let sha = e.after.as_str();
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
        let (changed, reviewed, comment_id) = match &pr {
            Some(p) => {
                let (changed, _) = self.changed_files(p.number).await?;
                let c = self.gh.find_comment(p.number, comment::PLAN_MARKER).await?;
                let reviewed = c
                    .as_ref()
                    .and_then(|c| c.body.as_deref())
                    .map(comment::reviewed_fingerprints)
                    .unwrap_or_default();
                (changed, Some(reviewed), c.map(|c| c.id))
            }
            None => (e.files(), None, None),
        };
        let loaded = self.load();
        let touched: Vec<&Desired> = touched::touched(&loaded.valid, &changed);
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
                reason: format!(
                    "the stack file is invalid:\n\n{}",
                    render::diagnostics::text(d)
                ),
            })
            .collect();
        if touched.is_empty() && results.is_empty() {
            println!("ec2-gitops: {sha} changes no stack: nothing to apply");
            record.output("applied", "false");
            return Ok(EXIT_OK);
        }
        results.extend(self.apply_stacks(&touched, reviewed.as_ref()).await);

        // A refused stack gets its new plan posted for review.
        let refused: Vec<String> = results
            .iter()
            .filter_map(|r| match r {
                StackApply::NotApplied { stack, reason }
                    if reason.starts_with("the plan changed")
                        || reason.starts_with("no reviewed plan") =>
                {
                    Some(format!("`{stack}`: {reason}"))
                }
                _ => None,
            })
            .collect();
        if let (Some(p), false) = (&pr, refused.is_empty()) {
            let refused_names: Vec<&Desired> = touched
                .iter()
                .copied()
                .filter(|d| {
                    refused
                        .iter()
                        .any(|r| r.starts_with(&format!("`{}`", d.stack)))
                })
                .collect();
            let names: Vec<String> = refused_names.iter().map(|d| d.stack.clone()).collect();
            let fresh = self.plan_stacks(&loaded, &changed, &names).await;
            let body = comment::plan_comment(
                sha,
                &fresh,
                &[],
                &PlanState::MergeRefused {
                    reasons: refused.clone(),
                },
            );
            let posted = match comment_id {
                Some(id) => self.gh.update_comment(id, &body).await.map(|_| ()),
                None => self.gh.create_comment(p.number, &body).await.map(|_| ()),
            };
            if let Err(err) = posted {
                eprintln!(
                    "::warning::could not post the new plan on #{}: {}",
                    p.number,
                    render::escape::workflow_data(&err.to_string())
                );
            }
        }
        self.report_apply(pr.as_ref().map(|p| p.number), sha, &results, record)
            .await;
        let applied: Vec<(String, String)> = results
            .iter()
            .filter_map(|r| match r {
                StackApply::Applied { plan, .. } => Some((plan.stack.clone(), plan.region.clone())),
                _ => None,
            })
            .collect();
        match self
            .mark_stale(&applied, pr.as_ref().map(|p| p.number))
            .await
        {
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
                                "- #{}: re-planned at `{}`\n",
                                m.number,
                                short(&m.head_sha)
                            )),
                            Err(e) => {
                                eprintln!(
                                    "::warning::could not re-plan #{}: {}",
                                    m.number,
                                    render::escape::workflow_data(&e.to_string())
                                );
                                record.summary(&format!(
                                    "- #{}: could not be re-planned ({}); its comment stays marked stale\n",
                                    m.number,
                                    render::escape::text(&e.to_string())
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
        Ok(if results.iter().all(StackApply::is_ok) {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }

    /// Drift detection: plans every stack of the checkout (the default
    /// branch) and keeps ONE issue open while anything drifted.
    async fn drift(&self, record: &mut Record) -> Result<u8> {
        let loaded = self.load();
        let all: Vec<String> = loaded
            .valid
            .iter()
            .map(|d| d.file.clone())
            .chain(loaded.invalid.iter().map(|(f, _)| f.clone()))
            .collect();
        let stacks = self.plan_stacks(&loaded, &all, &[]).await;
        let drifted = stacks
            .iter()
            .any(|s| matches!(s, StackPlan::Planned(p) if !p.is_empty() || !p.errors.is_empty()));
        let checked_ok = stacks.iter().all(|s| matches!(s, StackPlan::Planned(_)));
        let existing = self
            .gh
            .find_issue(comment::DRIFT_LABEL, comment::DRIFT_MARKER)
            .await?;
        let sha = &self.env.sha;
        if drifted {
            let body = comment::drift_issue(sha, &stacks);
            match existing {
                Some(i) => self.gh.update_issue(i.number, &body, false).await?,
                None => {
                    self.gh
                        .create_issue(comment::DRIFT_TITLE, &body, comment::DRIFT_LABEL)
                        .await?;
                }
            }
            record.summary(&body);
        } else {
            if let Some(i) = existing {
                let text = comment::drift_resolved(sha, stacks.len());
                self.gh.create_comment(i.number, &text).await?;
                self.gh
                    .update_issue(
                        i.number,
                        &format!("{}\n\n{}", i.body.unwrap_or_default(), text),
                        true,
                    )
                    .await?;
            }
            record.summary(&format!(
                "## ec2-gitops drift check\n\nAll {} stack(s) match the YAML.\n",
                stacks.len()
            ));
        }
        record.output("drifted", if drifted { "true" } else { "false" });
        record.output("result-json", &plans_json(&stacks));
        Ok(if checked_ok { EXIT_OK } else { EXIT_FAILED })
    }

    /// After an apply: every other open PR whose plan covers an applied
    /// stack gets its comment marked stale (its plan was made against live
    /// state that has changed).
    async fn mark_stale(
        &self,
        applied: &[(String, String)],
        merged: Option<u64>,
    ) -> Result<Vec<Stale>, GitHubError> {
        let mut marked = Vec::new();
        if applied.is_empty() {
            return Ok(marked);
        }
        for pr in self.gh.open_pulls().await? {
            if Some(pr.number) == merged {
                continue;
            }
            let Some(c) = self
                .gh
                .find_comment(pr.number, comment::PLAN_MARKER)
                .await?
            else {
                continue;
            };
            let body = c.body.clone().unwrap_or_default();
            let covered: Vec<String> = comment::reviewed_fingerprints(&body)
                .into_keys()
                .filter(|k| applied.contains(k))
                .map(|(s, _)| s)
                .collect();
            if covered.is_empty() || comment::comment_status(&body).as_deref() == Some("stale") {
                continue;
            }
            let marked_body = mark_state(&body, "stale", &comment::stale_callout(&covered));
            self.gh.update_comment(c.id, &marked_body).await?;
            marked.push(Stale {
                number: pr.number,
                head_sha: pr.head.sha.clone(),
                comment_id: c.id,
            });
        }
        Ok(marked)
    }

    /// Re-plans a PR whose plan an apply made stale: the PR's versions of
    /// the stack and user-data files it changes, fetched at its head from
    /// GitHub, over the checkout (the default branch just applied). Its
    /// comment then shows the fresh plan; on any error it stays stale.
    async fn replan(&self, pr: &Stale, applied_sha: &str) -> Result<(), GitHubError> {
        let (changed, removed) = self.changed_files(pr.number).await?;
        let config = &self.env.inputs.config;
        let mut overlay = Overlay::default();
        for r in &removed {
            overlay.remove(r);
        }
        let mut loaded = self.load_via(&overlay);
        // The changed stack files, and the changed files a stack reads (its
        // user data); a stack file of the PR may name user data the
        // checkout's does not: fetch until every changed file read is the PR's.
        let mut wanted: Vec<&String> = changed
            .iter()
            .filter(|f| !overlay.holds(f))
            .filter(|f| {
                workspace::is_stack_path(f, config)
                    || overlay.reads().contains(&workspace::normalize(f))
            })
            .collect();
        while !wanted.is_empty() {
            for f in wanted {
                match self.gh.file_at(f, &pr.head_sha).await? {
                    Some(bytes) => overlay.put(f, bytes),
                    None => overlay.remove(f),
                }
            }
            loaded = self.load_via(&overlay);
            let read = overlay.reads();
            wanted = changed
                .iter()
                .filter(|f| !overlay.holds(f) && read.contains(&workspace::normalize(f)))
                .collect();
        }
        let state = PlanState::Replanned {
            after: applied_sha.to_string(),
        };
        let id = pr.comment_id;
        self.post_plan(
            pr.number,
            &pr.head_sha,
            (&loaded, &changed, &removed),
            &[],
            || async move { Ok(Some(id)) },
            &state,
        )
        .await
        .map(|_| ())
    }

    /// Records an apply everywhere: PR comment, commit status, a deployment
    /// per stack, job summary and outputs. GitHub failures are logged, never
    /// lose the result: the summary, outputs and exit code still carry it.
    async fn report_apply(
        &self,
        pr: Option<u64>,
        sha: &str,
        results: &[StackApply],
        record: &mut Record,
    ) {
        let body = comment::apply_comment(sha, results);
        let ok = results.iter().all(StackApply::is_ok);
        record.summary(&body);
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
            warn(
                "comment",
                self.gh.create_comment(n, &body).await.map(|_| ()),
            );
        }
        let description = if ok {
            "applied"
        } else {
            "apply failed or was refused: see the job summary"
        };
        warn(
            "commit status",
            self.gh
                .set_status(
                    sha,
                    if ok { "success" } else { "failure" },
                    "ec2-gitops/apply",
                    description,
                    self.env.run_url.as_deref(),
                )
                .await,
        );
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
            if stack.ends_with(".yaml") || stack.ends_with(".yml") {
                continue; // an invalid file has no stack to deploy
            }
            match self.gh.create_deployment(sha, &stack, &text).await {
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

/// An open PR whose plan comment was marked stale.
struct Stale {
    number: u64,
    head_sha: String,
    comment_id: u64,
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// Rewrites a plan comment's state marker and puts a callout under its title.
fn mark_state(body: &str, status: &str, callout: &str) -> String {
    let mut out = String::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("<!-- ec2-gitops:state status=") {
            let head = rest.split_whitespace().nth(1).unwrap_or("");
            out.push_str(&format!(
                "<!-- ec2-gitops:state status={status} {head} -->\n"
            ));
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line == "## ec2-gitops plan" {
            out.push('\n');
            out.push_str(callout);
        }
    }
    out
}

fn plan_description(stacks: &[StackPlan]) -> String {
    let bad = stacks.iter().filter(|s| !s.is_ok()).count();
    if bad > 0 {
        return format!("{bad} of {} stack(s) could not be planned", stacks.len());
    }
    let mut total = crate::plan::Summary::default();
    for s in stacks {
        if let StackPlan::Planned(p) = s {
            total.create += p.summary.create;
            total.update += p.summary.update;
            total.restart += p.summary.restart;
            total.replace += p.summary.replace;
            total.destroy += p.summary.destroy;
            total.blocked += p.summary.blocked;
        }
    }
    render::summary_line(&total)
}

/// `result-json` of a plan run: per stack its summary and fingerprint.
fn plans_json(stacks: &[StackPlan]) -> String {
    let v: Vec<serde_json::Value> = stacks
        .iter()
        .map(|s| match s {
            StackPlan::Planned(p) => serde_json::json!({
                "stack": p.stack, "region": p.region, "file": p.file,
                "result": if p.errors.is_empty() { "planned" } else { "plan-errors" },
                "fingerprint": p.fingerprint, "summary": p.summary,
            }),
            StackPlan::Invalid { file, errors } => {
                serde_json::json!({ "file": file, "result": "invalid", "error": errors })
            }
            StackPlan::Failed { file, error } => {
                serde_json::json!({ "file": file, "result": "failed", "error": error })
            }
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_default()
}

fn results_json(results: &[StackApply]) -> String {
    let v: Vec<serde_json::Value> = results
        .iter()
        .map(|r| match r {
            StackApply::Applied {
                plan,
                results,
                seconds,
            } => {
                let t = render::report::tally(results);
                let steps: Vec<serde_json::Value> = results
                    .iter()
                    .map(|r| {
                        let (outcome, detail) = match &r.outcome {
                            crate::ec2::Outcome::Done(t) => ("done", t.clone()),
                            crate::ec2::Outcome::Failed(e) => ("failed", e.to_string()),
                            crate::ec2::Outcome::Skipped(w) => ("skipped", w.clone()),
                        };
                        serde_json::json!({
                            "resource": r.step.resource.to_string(),
                            "outcome": outcome,
                            "detail": detail,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "stack": plan.stack, "region": plan.region,
                    "result": if t.failed == 0 { "applied" } else { "failed" },
                    "fingerprint": plan.fingerprint, "summary": plan.summary,
                    "done": t.done, "failed": t.failed, "skipped": t.skipped,
                    "seconds": seconds, "steps": steps,
                })
            }
            StackApply::NoChanges { stack, region } => {
                serde_json::json!({ "stack": stack, "region": region, "result": "no-changes" })
            }
            StackApply::NotApplied { stack, reason } => {
                serde_json::json!({ "stack": stack, "result": "not-applied", "reason": reason })
            }
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_default()
}

/// Changes into the workspace, so stack globs resolve as in the repository.
pub fn enter_workspace(dir: &Path) -> Result<()> {
    std::env::set_current_dir(dir)
        .with_context(|| format!("cannot enter GITHUB_WORKSPACE {}", dir.display()))
}
