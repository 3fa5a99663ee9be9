//! `ec2-gitops action`: what the container runs. Reads the runner
//! environment and the event payload, and wires the event to GitHub, EC2,
//! the planner and the executor. Decisions (which stacks, which command,
//! what to say) are made by the pure modules it calls.

pub mod command;
pub mod env;
pub mod event;
pub mod identity;
mod record;
pub mod touched;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::app::Exclusive;
use crate::ec2::Ec2;
use crate::github::{ChangedFile, GitHub, GitHubError, Reaction, RetryPolicy, TestMerge};
use crate::marker::{self, Marker, PlanMeta, PlanStatus};
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

/// `GET /pulls/N` at most this often while GitHub computes a test merge
/// (backing off from the retry policy's first wait: about a minute in all).
const TEST_MERGE_POLLS: u32 = 7;

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
    let mut gh = GitHub::new(&env.api_url, &env.token, env.repo.clone(), retry)?;
    // Only the bot's own comments are read as its own: know who it is first.
    let me = match identity::identity(env.inputs.bot_login.as_deref(), &env.token) {
        identity::Identity::Known(login) => login,
        identity::Identity::AskGitHub => identity::from_token_login(gh.token_login().await?),
    };
    gh.set_identity(&me);
    let mut record = Record::new(env);
    let ctx = Ctx {
        env,
        gh: &gh,
        replies: AtomicU32::new(0),
        replying_to: AtomicU64::new(0),
    };
    let code = match env.event_name.as_str() {
        "pull_request" | "pull_request_target" => {
            let e: event::PullRequestEvent =
                event::parse(&env.event_name, &payload).map_err(unreadable)?;
            let pr = &e.pull_request;
            match (e.action.as_str(), pr.fork()) {
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
    /// Replies posted so far in this run (each reply's marker is unique).
    replies: AtomicU32,
    /// The comment whose commands this run answers (0: none).
    replying_to: AtomicU64,
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
        Ok(split_changes(self.gh.pull_files(number).await?))
    }

    /// Plans a PR merged into its base (GitHub's test merge, which the
    /// workspace must hold) and creates or updates its one plan comment. A
    /// PR that conflicts with its base, or whose test merge GitHub has not
    /// computed, is not planned: the comment or the status says why.
    async fn plan_pr(&self, number: u64, only: &[String], record: &mut Record) -> Result<u8> {
        let (merge, commit) = self.gh.test_merge(number, None, TEST_MERGE_POLLS).await?;
        let (pr, commit) = match (merge, commit) {
            (TestMerge::Ready(pr), Some(commit)) => (pr, commit),
            (TestMerge::Conflict(pr), _) => return self.conflict(number, &pr, record).await,
            (TestMerge::Closed(pr), _) => {
                self.reply(
                    number,
                    &comment::pull_closed(&self.env.inputs.command_prefix),
                )
                .await?;
                record.summary(&format!(
                    "Pull request #{number} is {}: nothing to plan.\n",
                    render::escape::text(&pr.state)
                ));
                return Ok(EXIT_FAILED);
            }
            (TestMerge::Pending(pr) | TestMerge::Ready(pr), _) => {
                let text = comment::test_merge_pending(&self.env.inputs.command_prefix);
                eprintln!("::warning::{}", render::escape::workflow_data(&text));
                record.summary(&format!("{text}\n"));
                self.gh
                    .set_status(
                        &pr.head.sha,
                        "failure",
                        "ec2-gitops/plan",
                        "not planned: GitHub has not computed the test merge yet",
                        self.env.run_url.as_deref(),
                    )
                    .await?;
                return Ok(EXIT_FAILED);
            }
        };
        // Plan the files of the merge, never the head's alone: the checkout
        // must be the test merge.
        let found = crate::git::head(&self.env.workspace);
        if found.as_deref() != Some(commit.sha.as_str()) {
            let text = comment::wrong_checkout(number, found.as_deref(), &commit.sha);
            eprintln!("::error::{}", render::escape::workflow_data(&text));
            record.summary(&format!("## ec2-gitops\n\n{text}\n"));
            self.gh
                .set_status(
                    &pr.head.sha,
                    "failure",
                    "ec2-gitops/plan",
                    "not planned: the workspace is not the pull request's test merge",
                    self.env.run_url.as_deref(),
                )
                .await?;
            return Ok(EXIT_FAILED);
        }
        let base = commit.parents.first().cloned();
        let (changed, removed) = split_changes(commit.files);
        self.plan_files(
            number,
            &pr.head.sha,
            base.as_deref(),
            (&changed, &removed),
            only,
            record,
        )
        .await
    }

    /// A PR that conflicts with its base: no plan, the comment and a failing
    /// status say to resolve the conflicts.
    async fn conflict(
        &self,
        number: u64,
        pr: &crate::github::PullRequest,
        record: &mut Record,
    ) -> Result<u8> {
        let text = comment::conflict(&pr.base.branch);
        let body = Marker::Plan(PlanMeta {
            status: PlanStatus::Conflict,
            head: pr.head.sha.clone(),
            base: None,
            stacks: vec![],
        })
        .wrap(&text);
        match self.gh.find_comment(number, is_plan).await? {
            Some((c, _)) => {
                self.gh.update_comment(c.id, &body).await?;
            }
            None => {
                self.gh.create_comment(number, &body).await?;
            }
        }
        self.gh
            .set_status(
                &pr.head.sha,
                "failure",
                "ec2-gitops/plan",
                &format!(
                    "not planned: conflicts with {}; resolve them first",
                    pr.base.branch
                ),
                self.env.run_url.as_deref(),
            )
            .await?;
        record.summary(&text);
        Ok(EXIT_FAILED)
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
    /// Plans the workspace's stacks that `changed` touches (a PR's test
    /// merge) and writes the one plan comment.
    async fn plan_files(
        &self,
        number: u64,
        head_sha: &str,
        base_sha: Option<&str>,
        (changed, removed): (&[String], &[String]),
        only: &[String],
        record: &mut Record,
    ) -> Result<u8> {
        let (changed, removed) = (changed.to_vec(), removed.to_vec());
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
                self.reply(
                    number,
                    &command::unknown_stacks(prefix, command::Named::Plan, &unknown, &known),
                )
                .await?;
                record.summary("`/plan` named a stack this pull request does not change: nothing was planned.\n");
                return Ok(EXIT_FAILED);
            }
        }
        let existing = || async {
            self.gh
                .find_comment(number, is_plan)
                .await
                .map(|c| c.map(|(c, _)| c.id))
        };
        let posted = self
            .post_plan(
                number,
                (head_sha, base_sha),
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
        (head_sha, base_sha): (&str, Option<&str>),
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
                let marker = Marker::Plan(PlanMeta {
                    status: PlanStatus::NoStack,
                    head: head_sha.to_string(),
                    base: None,
                    stacks: vec![],
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
        let body = comment::plan_marker(head_sha, base_sha, &stacks, state).wrap(
            &comment::plan_comment(head_sha, &stacks, &removed_stacks, state),
        );
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
        let Some((c, m)) = self.gh.find_comment(number, is_plan).await? else {
            println!("ec2-gitops: pull request #{number} closed; it had no plan");
            return Ok(EXIT_OK);
        };
        let Marker::Plan(meta) = m else {
            unreachable!("is_plan")
        };
        if meta.status == PlanStatus::Discarded {
            println!("ec2-gitops: pull request #{number} closed; its plan was discarded already");
            return Ok(EXIT_OK);
        }
        let body = c.body.unwrap_or_default();
        let marked = mark_state(
            &body,
            meta,
            PlanStatus::Discarded,
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
        // Never react to bots, nor to the bot's own comments (with a user's
        // token it writes as that user): no loops.
        let author = &e.comment.user.login;
        if e.comment.user.kind == "Bot"
            || author.ends_with("[bot]")
            || marker::trusted(
                author,
                self.gh.identity(),
                e.comment.body.as_deref().unwrap_or(""),
            )
            .is_some()
        {
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
        // Permission first: for a user who may not run commands, the
        // polite reply is the only thing written.
        let permission = self.gh.permission(user).await?;
        if !permission.push {
            let role = &permission.role;
            self.reply_to(number, e.comment.id, &comment::not_allowed(user, role))
                .await?;
            record.summary(&format!(
                "{} ({}) may not run commands: refused.\n",
                render::escape::text(&format!("@{user}")),
                render::escape::text(role)
            ));
            return Ok(EXIT_OK);
        }
        self.gh.react(e.comment.id, Reaction::Eyes).await?;
        self.replying_to(e.comment.id);
        let mut ok = true;
        for c in commands {
            let r = match c {
                Command::Help => {
                    self.reply(
                        number,
                        &comment::help(&self.env.inputs.command_prefix, None),
                    )
                    .await?;
                    EXIT_OK
                }
                Command::Unknown(word) => {
                    self.reply(
                        number,
                        &comment::help(&self.env.inputs.command_prefix, Some(&word)),
                    )
                    .await?;
                    EXIT_FAILED
                }
                Command::Plan(only) => self.plan_pr(number, &only, record).await?,
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
        let existing = self.gh.find_comment(number, is_plan).await?;
        let Some((_, Marker::Plan(meta))) = existing else {
            self.reply(
                number,
                &refuse("this pull request has no plan comment; comment `/plan` first."),
            )
            .await?;
            return Ok(EXIT_FAILED);
        };
        let status = meta.status;
        let pr = self.gh.pull(number).await?;
        let allowed = match self.env.inputs.apply_on_comment {
            ApplyOnComment::Never => Err("this repository applies only on merge (`apply-on-comment: never`).".to_string()),
            ApplyOnComment::AfterRefusedMerge if !(pr.is_merged() && status == PlanStatus::MergeRefused) => Err(
                "`/apply` is allowed only on a merged pull request whose merge-apply was refused because the plan changed (`apply-on-comment: after-refused-merge`).".to_string(),
            ),
            _ if status == PlanStatus::Discarded => Err("this plan was discarded.".to_string()),
            _ => Ok(()),
        };
        if let Err(reason) = allowed {
            self.reply(number, &refuse(&reason)).await?;
            return Ok(EXIT_FAILED);
        }
        // A name the plan comment does not show refuses the whole command:
        // `/apply web tpyo` must not apply `web` alone.
        let shown: Vec<String> = meta.stacks.iter().map(|s| s.stack.clone()).collect();
        let unknown: Vec<String> = only
            .iter()
            .filter(|s| !shown.contains(s))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let prefix = &self.env.inputs.command_prefix;
            self.reply(
                number,
                &command::unknown_stacks(prefix, command::Named::Apply, &unknown, &shown),
            )
            .await?;
            return Ok(EXIT_FAILED);
        }
        let reviewed = comment::reviewed_fingerprints(&meta);
        let loaded = self.load();
        let stacks: Vec<&Desired> = loaded
            .valid
            .iter()
            .filter(|d| reviewed.contains_key(&(d.stack.clone(), d.region.clone())))
            .filter(|d| only.is_empty() || only.contains(&d.stack))
            .collect();
        if stacks.is_empty() {
            self.reply(number, &refuse("no stack of the plan comment matches."))
                .await?;
            return Ok(EXIT_FAILED);
        }
        let sha = pr.merge_commit_sha.clone().unwrap_or(pr.head.sha.clone());
        let results = self.apply_stacks(&stacks, Some(&reviewed), None).await;
        self.report_apply(Some(number), &sha, &results, record)
            .await;
        Ok(if results.iter().all(StackApply::is_ok) {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }

    /// Re-plans and applies stacks; with `reviewed`, a stack whose fresh
    /// fingerprint differs from the reviewed one is not applied (`moved`:
    /// the base branch moved since review, which the refusal names).
    async fn apply_stacks(
        &self,
        stacks: &[&Desired],
        reviewed: Option<&BTreeMap<(String, String), String>>,
        moved: Option<&BaseMoved>,
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
                        let cause = match moved {
                            Some(m) => format!(
                                ": the base branch moved since review (the plan was made on `{}`, the merge is onto `{}`), so the merge applies other files than the ones reviewed, or EC2 changed",
                                short(&m.reviewed_on),
                                short(&m.merged_onto)
                            ),
                            None => String::new(),
                        };
                        out.push(StackApply::NotApplied {
                            stack: d.stack.clone(),
                            reason: format!(
                                "the plan changed since review{cause} (fingerprint `{f}` reviewed, `{}` now); nothing was applied.",
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
        let (changed, reviewed, comment_id, moved) = match &pr {
            Some(p) => {
                let (changed, _) = self.changed_files(p.number).await?;
                let c = self.gh.find_comment(p.number, is_plan).await?;
                let meta = c.as_ref().and_then(|(_, m)| m.plan());
                let reviewed = meta.map(comment::reviewed_fingerprints).unwrap_or_default();
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
        results.extend(
            self.apply_stacks(&touched, reviewed.as_ref(), moved.as_ref())
                .await,
        );

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
            let state = PlanState::MergeRefused {
                reasons: refused.clone(),
            };
            let body = comment::plan_marker(sha, None, &fresh, &state)
                .wrap(&comment::plan_comment(sha, &fresh, &[], &state));
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
                                "- #{}: re-planned (head `{}` merged into `{}`)\n",
                                m.number,
                                short(&m.head_sha),
                                short(sha)
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
            .find_issue(comment::DRIFT_LABEL, |m| *m == Marker::Drift)
            .await?;
        let sha = &self.env.sha;
        if drifted {
            let body = Marker::Drift.wrap(&comment::drift_issue(sha, &stacks));
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
                self.gh
                    .create_comment(
                        i.number,
                        &Marker::DriftResolved { sha: sha.clone() }.wrap(&text),
                    )
                    .await?;
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
            let Some((c, Marker::Plan(meta))) = self.gh.find_comment(pr.number, is_plan).await?
            else {
                continue;
            };
            let body = c.body.clone().unwrap_or_default();
            let covered: Vec<String> = comment::reviewed_fingerprints(&meta)
                .into_keys()
                .filter(|k| applied.contains(k))
                .map(|(s, _)| s)
                .collect();
            if covered.is_empty() || meta.status != PlanStatus::Planned {
                continue;
            }
            let marked_body = mark_state(
                &body,
                meta,
                PlanStatus::Stale,
                &comment::stale_callout(&covered),
            );
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
    /// the stack and user-data files its new test merge (the PR merged into
    /// the commit just applied, once GitHub recomputed it) changes, fetched
    /// at that merge from GitHub, over the checkout (the commit just
    /// applied): exactly the merge's files. Its comment then shows the fresh
    /// plan; on any failure it stays stale with its old fingerprints.
    async fn replan(&self, pr: &Stale, applied_sha: &str) -> Result<(), ReplanFailure> {
        let (merge, commit) = self
            .gh
            .test_merge(pr.number, Some(applied_sha), TEST_MERGE_POLLS)
            .await?;
        let (merged, commit) = match (merge, commit) {
            (TestMerge::Ready(p), Some(c)) => (p, c),
            (TestMerge::Conflict(_), _) => return Err(ReplanFailure::Conflict),
            (TestMerge::Closed(_), _) => return Err(ReplanFailure::Closed),
            (TestMerge::Pending(_) | TestMerge::Ready(_), _) => {
                return Err(ReplanFailure::NotRecomputed);
            }
        };
        let (changed, removed) = split_changes(commit.files);
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
                // The merge changes the file: it must be there.
                match self.gh.file_at(f, &commit.sha).await? {
                    Some(bytes) => overlay.put(f, bytes),
                    None => return Err(ReplanFailure::Missing(f.clone())),
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
            (&merged.head.sha, Some(applied_sha)),
            (&loaded, &changed, &removed),
            &[],
            || async move { Ok(Some(id)) },
            &state,
        )
        .await?;
        Ok(())
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
        let text = comment::apply_comment(sha, results);
        let ok = results.iter().all(StackApply::is_ok);
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

/// Why a stale pull request could not be re-planned (its comment then stays
/// marked stale, with its old fingerprints).
#[derive(Debug)]
enum ReplanFailure {
    /// It conflicts with the commit just applied.
    Conflict,
    /// It was closed meanwhile.
    Closed,
    /// GitHub had not recomputed its test merge on the commit just applied.
    NotRecomputed,
    /// A file its merge changes could not be read at the merge.
    Missing(String),
    /// GitHub failed.
    GitHub(GitHubError),
}

impl From<GitHubError> for ReplanFailure {
    fn from(e: GitHubError) -> Self {
        ReplanFailure::GitHub(e)
    }
}

impl std::fmt::Display for ReplanFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplanFailure::Conflict => f.write_str("it conflicts with the commit just applied"),
            ReplanFailure::Closed => f.write_str("it was closed"),
            ReplanFailure::NotRecomputed => {
                f.write_str("GitHub had not recomputed its test merge on the commit just applied")
            }
            ReplanFailure::Missing(path) => write!(
                f,
                "{path:?} could not be read at its test merge (the contents API answered 404)"
            ),
            ReplanFailure::GitHub(e) => write!(f, "{e}"),
        }
    }
}

/// The base branch a merge went onto is not the one its plan was made on.
struct BaseMoved {
    reviewed_on: String,
    merged_onto: String,
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
