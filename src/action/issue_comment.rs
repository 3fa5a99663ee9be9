//! `issue_comment` events: the comment commands (`/plan`, `/apply`,
//! `/help`), for people who may push only, asked before anything is written.

use anyhow::Result;

use super::command::{self, Command};
use super::{Ctx, EXIT_FAILED, EXIT_OK, Loaded, Record, event, is_plan, policy};
use crate::github::Reaction;
use crate::marker::{self, Marker, PlanMeta};
use crate::model::Desired;
use crate::outcome::StackApply;
use crate::render;
use crate::render::comment;

impl Ctx<'_> {
    pub(super) async fn comment(
        &self,
        e: &event::IssueCommentEvent,
        record: &mut Record,
    ) -> Result<u8> {
        // A comment on an issue counts only on the drift issue (its label
        // first, which costs no call; its marker is checked before any
        // command runs).
        let on_drift_issue = e.issue.pull_request.is_none()
            && e.issue
                .labels
                .iter()
                .any(|l| l.name == comment::DRIFT_LABEL);
        if e.action != "created" || (e.issue.pull_request.is_none() && !on_drift_issue) {
            println!(
                "ec2-gitops: not a new comment on a pull request or the drift issue: nothing to do"
            );
            return Ok(EXIT_OK);
        }
        // Never react to bots, nor to the bot's own comments (with a user's
        // token it writes as that user): no loops.
        let author = &e.comment.user.login;
        if policy::ignores_author(&e.comment.user.kind, author, false) {
            return Ok(EXIT_OK);
        }
        let commands = command::parse(
            e.comment.body.as_deref().unwrap_or(""),
            &self.env.inputs.command_prefix,
        );
        if commands.is_empty() {
            return Ok(EXIT_OK);
        }
        // Only now is the bot's own login needed (one `GET /user` for a
        // user's token): its own comments are never obeyed.
        let ours = marker::trusted(
            author,
            &self.gh.identity().await?,
            e.comment.body.as_deref().unwrap_or(""),
        )
        .is_some();
        if policy::ignores_author(&e.comment.user.kind, author, ours) {
            return Ok(EXIT_OK);
        }
        let number = e.issue.number;
        let user = &e.comment.user.login;
        // The login goes into an API path: only what GitHub allows in one.
        if !policy::is_login(user) {
            let shown: String = user.chars().take(40).collect();
            eprintln!(
                "error: the comment's author {shown:?} is not a GitHub login: the issue_comment payload is not what GitHub sends; nothing was run"
            );
            return Ok(EXIT_FAILED);
        }
        // A labelled issue that is not the bot's drift issue: nothing is
        // written on it, not even a refusal.
        if on_drift_issue && !self.is_drift_issue(number).await? {
            println!(
                "ec2-gitops: issue #{number} carries the drift label but is not the drift issue: nothing to do"
            );
            return Ok(EXIT_OK);
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
            record.output("allowed", "false");
            return Ok(EXIT_OK);
        }
        // The gate job: it holds no AWS credentials and decides whether the
        // job that does starts.
        if self.env.inputs.check_commenter {
            record.output("allowed", "true");
            println!("ec2-gitops: @{user} may run commands: allowed");
            return Ok(EXIT_OK);
        }
        if on_drift_issue {
            return self
                .drift_commands(number, e.comment.id, commands, record)
                .await;
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
                Command::Preview { destroy, only } => {
                    self.preview(number, destroy, &only, record).await?
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
    pub(super) async fn apply_comment(
        &self,
        number: u64,
        only: &[String],
        record: &mut Record,
    ) -> Result<u8> {
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
        if let Err(why) =
            policy::apply_allowed(self.env.inputs.apply_on_comment, pr.is_merged(), status)
        {
            self.reply(number, &refuse(comment::apply_setting_refusal(why)))
                .await?;
            return Ok(EXIT_FAILED);
        }
        // A name the plan comment does not show refuses the whole command:
        // `/apply web tpyo` must not apply `web` alone.
        let shown: Vec<String> = meta.stacks.iter().map(|s| s.stack.clone()).collect();
        if self
            .refused_unknown_stacks(number, command::Named::Apply, only, &shown)
            .await?
        {
            return Ok(EXIT_FAILED);
        }
        // Before merge, the repository's requirements: an approval of this
        // head by someone else, a clean merge.
        if !pr.is_merged() && pr.state == "open" {
            let required = self.env.inputs.apply_requirements;
            let reviews = if required.approved {
                self.gh.reviews(number).await?
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
                self.reply(
                    number,
                    &comment::apply_requirements_unmet(&pr.head.sha, &unmet),
                )
                .await?;
                record.summary("`/apply` refused: the pull request misses an apply requirement; nothing was applied.\n");
                return Ok(EXIT_FAILED);
            }
        }
        let sha = pr.merge_commit_sha.clone().unwrap_or(pr.head.sha.clone());
        let applied = self.apply_shown(number, &meta, only, &sha, record).await?;
        Ok(match applied {
            Some((results, _)) if results.iter().all(StackApply::is_ok) => EXIT_OK,
            _ => EXIT_FAILED,
        })
    }

    /// Applies exactly the plans `meta` shows (the plan comment's, or the
    /// drift issue's latest `/plan` reply's), of the stacks `only` names
    /// (all when empty), each under its lease and checked against its
    /// fingerprint, and records the result on `sha` as a merge-apply is.
    /// Returns the results and the stack files it read; `None` when no
    /// stack matches (the reply says so).
    pub(super) async fn apply_shown(
        &self,
        number: u64,
        meta: &PlanMeta,
        only: &[String],
        sha: &str,
        record: &mut Record,
    ) -> Result<Option<(Vec<StackApply>, Loaded)>> {
        let reviewed = comment::reviewed_stacks(meta);
        let loaded = self.load();
        let stacks: Vec<&Desired> = loaded
            .valid
            .iter()
            .filter(|d| reviewed.contains_key(&(d.stack.clone(), d.region.clone())))
            .filter(|d| only.is_empty() || only.contains(&d.stack))
            .collect();
        if stacks.is_empty() {
            self.reply(
                number,
                &comment::apply_not_allowed("no stack of the plan matches."),
            )
            .await?;
            return Ok(None);
        }
        let (results, _) = self.apply_stacks(&stacks, Some(&reviewed), None).await;
        self.report_apply(Some(number), sha, &results, record).await;
        Ok(Some((results, loaded)))
    }
}
