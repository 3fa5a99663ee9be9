//! `ec2-gitops action`: what the container runs. Reads the runner
//! environment and the event payload, and hands the event to its handler:
//! one file per event (`pull_request`, `issue_comment`, `merge`, `stale`,
//! `drift`). This file holds what they share: the context, loading the
//! stack files, planning them and writing the one plan comment.

mod checks;
mod drift;
pub mod env;
pub use ec2_gitops_core::action::{command, identity, labels, policy};
pub mod event;
mod issue_comment;
mod merge;
mod outputs;
mod preview;
mod pull_request;
mod record;
mod stale;
pub mod touched;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use anyhow::{Context, Result};

use crate::ec2::Ec2;
use crate::github::{ChangedFile, GitHub, GitHubError, IdentitySource, RetryPolicy};
use crate::marker::{self, CheckRef, Marker, PlanMeta, PlanStatus};
use crate::model::Desired;
use crate::outcome::StackPlan;
use crate::render::comment::{self, PlanState};
use crate::workspace::{self, Overlay};
use crate::{app, render};
use env::ActionEnv;
pub use record::Record;

/// Exit code: done.
pub const EXIT_OK: u8 = 0;
/// Exit code: a plan or apply failed, or the event could not be handled.
pub const EXIT_FAILED: u8 = 1;

/// `GET /pulls/N` at most this often while GitHub computes a test merge
/// (backing off from the retry policy's first wait: about a minute in all).
const TEST_MERGE_POLLS: u32 = 7;

/// Runs the action for the event in `env`.
pub async fn run(env: &ActionEnv) -> Result<u8> {
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
    let unreadable = |e: String| {
        anyhow::anyhow!(
            "{e} (read from GITHUB_EVENT_PATH={}; GITHUB_EVENT_NAME `{}` must name the event of this payload)",
            env.event_path.display(),
            env.event_name
        )
    };
    let mut gh = GitHub::new(&env.api_url, &env.token, env.repo.clone(), retry)?;
    // Only the bot's own comments are read as its own. Who it is, is asked
    // (for a user's token) only when an event needs to know.
    gh.set_identity(
        match identity::identity(env.inputs.bot_login.as_deref(), &env.token) {
            identity::Identity::Known(login) => IdentitySource::Login(login),
            // A token GitHub says is no user's is an installation's.
            identity::Identity::AskGitHub => IdentitySource::TokenUser {
                otherwise: identity::WORKFLOW_BOT.to_string(),
            },
        },
    );
    // The checkout is the repository: a stack reads no file outside it.
    // (`cli` entered GITHUB_WORKSPACE before this.)
    let checkout = std::env::current_dir().context("cannot read the current directory")?;
    let root = workspace::Root::given(&checkout).with_context(|| {
        format!(
            "cannot resolve GITHUB_WORKSPACE {} to a directory",
            checkout.display()
        )
    })?;
    let mut record = Record::new(env);
    // A user's token (a personal access token): GitHub makes check runs
    // only for GitHub Apps, so this run sets commit statuses from the start
    // instead of asking for a check run GitHub refuses.
    let user_token = matches!(
        identity::identity(env.inputs.bot_login.as_deref(), &env.token),
        identity::Identity::AskGitHub
    );
    let ctx = Ctx {
        env,
        gh: &gh,
        root,
        checkout,
        replies: AtomicU32::new(0),
        replying_to: AtomicU64::new(0),
        checks_refused: AtomicBool::new(user_token),
    };
    let code = match env.event_name.as_str() {
        "pull_request" | "pull_request_target" => {
            let e: event::PullRequestEvent =
                event::parse(&env.event_name, &payload).map_err(unreadable)?;
            let pr = &e.pull_request;
            // A closed or merged pull request's previews go (a fork's never
            // had any).
            let previews = if e.action == "closed" && pr.fork().is_none() {
                ctx.destroy_previews(pr.number, &mut record).await?
            } else {
                EXIT_OK
            };
            let handled = match (e.action.as_str(), pr.fork()) {
                // Whatever was planned on it (a fork's PR by `/plan`), a PR
                // closed without merge has its plan discarded.
                ("closed", _) if pr.merged != Some(true) => {
                    ctx.discard(pr.number, &mut record).await?
                }
                (_, Some(fork)) => {
                    ctx.fork(pr.number, &fork, &mut record);
                    EXIT_OK
                }
                ("opened" | "synchronize" | "reopened", None) => {
                    ctx.plan_pr(pr.number, &[], &mut record).await?
                }
                (other, None) => {
                    println!(
                        "ec2-gitops: nothing to do for pull_request {}",
                        render::escape::terminal(other)
                    );
                    EXIT_OK
                }
            };
            handled.max(previews)
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
    if user_token {
        record.summary(checks::USER_TOKEN_NOTE);
    } else if ctx.checks_refused.load(Ordering::Relaxed) {
        record.summary(checks::REFUSED_NOTE);
    }
    record.finish()?;
    Ok(code)
}

struct Ctx<'a> {
    env: &'a ActionEnv,
    gh: &'a GitHub,
    /// The repository's files (`GITHUB_WORKSPACE`): nothing outside is read.
    root: workspace::Root,
    /// The checkout's directory (the same place).
    checkout: std::path::PathBuf,
    /// Replies posted so far in this run (each reply's marker is unique).
    replies: AtomicU32,
    /// The comment whose commands this run answers (0: none).
    replying_to: AtomicU64,
    /// GitHub refused a check run (a token without `checks: write`): the
    /// rest of the run sets commit statuses.
    checks_refused: AtomicBool,
}

/// Whether a marker is a pull request's plan comment.
fn is_plan(m: &Marker) -> bool {
    matches!(m, Marker::Plan(_))
}

/// Stack files of the workspace, each loaded on its own (one invalid file
/// does not hide the others).
struct Loaded {
    valid: Vec<Desired>,
    invalid: Vec<(String, Vec<crate::config::Diagnostic>)>,
}

impl Ctx<'_> {
    /// The comment whose commands this run answers.
    fn replying_to(&self, comment_id: u64) {
        self.replying_to.store(comment_id, Ordering::Relaxed);
    }

    /// Posts a reply to the comment being answered, behind a marker of its
    /// own (so a reply whose POST answer is lost is found, not posted twice).
    async fn reply(&self, number: u64, text: &str) -> Result<(), GitHubError> {
        self.reply_to(number, self.replying_to.load(Ordering::Relaxed), text)
            .await
    }

    /// Refuses a command that names a stack not in `known` (the whole
    /// command: `/apply web tpyo` must not apply `web` alone): replies which
    /// names are unknown and which are known. Whether it refused.
    async fn refused_unknown_stacks(
        &self,
        number: u64,
        named: command::Named,
        only: &[String],
        known: &[String],
    ) -> Result<bool, GitHubError> {
        let unknown = policy::unknown(only, known);
        if unknown.is_empty() {
            return Ok(false);
        }
        let prefix = &self.env.inputs.command_prefix;
        self.reply(
            number,
            &command::unknown_stacks(prefix, named, &unknown, known),
        )
        .await?;
        Ok(true)
    }

    async fn reply_to(&self, number: u64, to: u64, text: &str) -> Result<(), GitHubError> {
        let seq = self.replies.fetch_add(1, Ordering::Relaxed);
        let marker = Marker::Reply { to, seq };
        self.gh
            .create_comment(number, &marker.wrap(text))
            .await
            .map(|_| ())
    }

    /// The checkout's stack files.
    fn load(&self) -> Loaded {
        self.load_via(&Overlay::within(self.root.clone()))
    }

    /// The stack files of the checkout with `overlay`'s versions over it.
    fn load_via(&self, overlay: &Overlay) -> Loaded {
        let files = overlay.stack_files(&self.env.inputs.config);
        let mut out = Loaded {
            valid: vec![],
            invalid: vec![],
        };
        let mut bases = Vec::new();
        for f in files {
            match overlay.load_stack_or_base(&f) {
                (_, Ok(d)) => out.valid.push(d),
                (true, Err(diags)) => bases.push((f.display().to_string(), diags)),
                (false, Err(diags)) => out.invalid.push((f.display().to_string(), diags)),
            }
        }
        // A file without `stack:` that a stack extends is a base, planned
        // through those stacks; any other is an invalid stack file.
        let extended = crate::workspace::extended_files(&out.valid);
        for (file, diags) in bases {
            if !extended.contains(&touched::normalize(&file)) {
                out.invalid.push((file, diags));
            }
        }
        // An `after` that names no stack, or makes a cycle: that stack's
        // file is invalid.
        let problems = crate::config::order::check(&out.valid, Some(&Default::default()));
        if !problems.is_empty() {
            let (bad, good): (Vec<Desired>, Vec<Desired>) = std::mem::take(&mut out.valid)
                .into_iter()
                .partition(|d| problems.iter().any(|p| p.at.file == d.file));
            out.valid = good;
            for d in bad {
                let diags = problems
                    .iter()
                    .filter(|p| p.at.file == d.file)
                    .cloned()
                    .collect();
                out.invalid.push((d.file, diags));
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
            // Its file changed, or a base its errors point into.
            let touched_by = |f: &str| changed_norm.contains(&touched::normalize(f));
            if touched_by(file) || diags.iter().any(|d| touched_by(&d.at.file)) {
                print!("{}", render::diagnostics::github_annotations(diags));
                out.push(StackPlan::Invalid {
                    file: file.clone(),
                    errors: render::diagnostics::text(diags),
                    at: diags
                        .iter()
                        .map(|d| crate::outcome::Annotation {
                            path: d.at.file.clone(),
                            line: d.at.line.max(1) as u32,
                            level: "failure",
                            message: match &d.hint {
                                Some(h) => format!("{} (hint: {h})", d.message),
                                None => d.message.clone(),
                            },
                        })
                        .collect(),
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
        Ok(split_changes(self.gh.pull_files(number).await?))
    }
}

/// The changed and the removed paths of a diff (a renamed file's old path is
/// both).
fn split_changes(files: Vec<ChangedFile>) -> (Vec<String>, Vec<String>) {
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
    (changed, removed)
}

impl Ctx<'_> {
    /// Plans the stacks a PR's files touch and writes the one plan comment
    /// (`comment` finds it, called after planning) and the plan status of
    /// `head_sha`. `None` when the PR changes no stack (an existing comment
    /// then says so).
    async fn post_plan<F, Fut>(
        &self,
        number: u64,
        (head_sha, base_sha): (&str, Option<&str>),
        (loaded, changed, removed): (&Loaded, &[String], &[String]),
        only: &[String],
        comment: F,
        state: &PlanState,
    ) -> Result<Option<Posted>, GitHubError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<(u64, Option<CheckRef>)>, GitHubError>>,
    {
        let stacks = self.plan_stacks(loaded, changed, only).await;
        let removed_stacks = touched::removed_stack_files(removed, &loaded.valid, |p| {
            workspace::is_stack_path(p, &self.env.inputs.config)
        });
        let existing = comment().await?;
        let (existing, previous_check) = match existing {
            Some((id, check)) => (Some(id), check),
            None => (None, None),
        };
        if stacks.is_empty() && removed_stacks.is_empty() {
            if let Some(id) = existing {
                let marker = Marker::Plan(PlanMeta {
                    status: PlanStatus::NoStack,
                    head: head_sha.to_string(),
                    base: None,
                    stacks: vec![],
                    check: None,
                });
                self.gh
                    .update_comment(
                        id,
                        &marker.wrap("## ec2-gitops plan\n\nThis pull request no longer changes any stack.\n"),
                    )
                    .await?;
            }
            return Ok(None);
        }
        let mut text = comment::plan_comment(head_sha, &stacks, &removed_stacks, state);
        let mut summary = comment::plan_summary(head_sha, &stacks, &removed_stacks, state);
        // The pull request's previews, when it has some: their servers.
        let previews = self.preview_sections(number, &loaded.valid).await;
        if !previews.is_empty() {
            let section = format!("\n## Previews\n\n{previews}");
            if text.len() + section.len() < 65_000 {
                text.push_str(&section);
            }
            summary.push_str(&section);
        }
        // The check first: the comment's marker keeps its id, so that the
        // next plan of this head updates it in place.
        // A check GitHub will not take (other than for want of
        // permission, which falls back to a status) must not keep the
        // reviewer from the plan: warn, and post the comment.
        let check = match self
            .plan_check(head_sha, &stacks, &summary, previous_check)
            .await
        {
            Ok(check) => check,
            Err(e) => {
                eprintln!(
                    "::warning::could not record the check run ec2-gitops/plan: {}",
                    render::escape::workflow_data(&e.to_string())
                );
                None
            }
        };
        let mut marker = comment::plan_marker(head_sha, base_sha, &stacks, state);
        if let Marker::Plan(meta) = &mut marker {
            meta.check = check;
        }
        let body = marker.wrap(&text);
        match existing {
            Some(id) => {
                self.gh.update_comment(id, &body).await?;
            }
            None => {
                self.gh.create_comment(number, &body).await?;
            }
        }
        Ok(Some(Posted {
            body,
            summary,
            stacks,
        }))
    }
}

/// What [`Ctx::post_plan`] wrote.
struct Posted {
    /// The comment's body.
    body: String,
    /// The same plan for the job summary, every change listed.
    summary: String,
    /// The plans.
    stacks: Vec<StackPlan>,
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// Rewrites a plan comment (whose marker is `meta`) to `status`, with a
/// callout under its title: the bot's title is the first `##` line after
/// the marker, before any content.
fn mark_state(body: &str, meta: PlanMeta, status: PlanStatus, callout: &str) -> String {
    let marked = marker::replace(body, &Marker::Plan(PlanMeta { status, ..meta }));
    let mut out = String::new();
    let mut placed = false;
    for line in marked.lines() {
        out.push_str(line);
        out.push('\n');
        if !placed && line == "## ec2-gitops plan" {
            out.push('\n');
            out.push_str(callout);
            placed = true;
        }
    }
    out
}

/// Changes into the workspace, so stack globs resolve as in the repository.
pub fn enter_workspace(dir: &Path) -> Result<()> {
    std::env::set_current_dir(dir)
        .with_context(|| format!("cannot enter GITHUB_WORKSPACE {}", dir.display()))
}
