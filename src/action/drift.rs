//! `schedule` and `workflow_dispatch`: drift detection. Every stack of the
//! default branch is planned, and ONE issue is kept open while anything
//! drifted.

use anyhow::Result;

use super::command::{self, Command};
use super::outputs::plans_json;
use super::{Ctx, EXIT_FAILED, EXIT_OK, Loaded, Record, is_plan};
use crate::github::Reaction;
use crate::marker::Marker;
use crate::outcome::{StackApply, StackPlan};
use crate::render::comment::{self, PlanState};

impl Ctx<'_> {
    /// Drift detection: plans every stack of the checkout (the default
    /// branch) and keeps ONE issue open while anything drifted.
    pub(super) async fn drift(&self, record: &mut Record) -> Result<u8> {
        if !crate::marker::is_sha(&self.env.sha) {
            anyhow::bail!(
                "GITHUB_SHA is not a commit SHA ({:?}): the drift check names the commit it checked; run it in GitHub Actions (or set GITHUB_SHA)",
                self.env.sha.chars().take(80).collect::<String>()
            );
        }
        let loaded = self.load();
        let (stacks, drifted) = self.check_drift(&loaded, record).await?;
        let checked_ok = stacks.iter().all(|s| matches!(s, StackPlan::Planned(_)));
        record.output("drifted", if drifted { "true" } else { "false" });
        record.output("result-json", &plans_json(&stacks));
        // Previews whose pull request closed or whose time is up go.
        let swept = self.sweep_previews(&loaded.valid, record).await;
        Ok(if checked_ok && swept {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }

    /// Plans every stack of the checkout and keeps the drift issue in step:
    /// opened or edited while anything drifted, closed (with a comment)
    /// once nothing has. Returns the plans and whether anything drifted.
    pub(super) async fn check_drift(
        &self,
        loaded: &Loaded,
        record: &mut Record,
    ) -> Result<(Vec<StackPlan>, bool)> {
        let all: Vec<String> = loaded
            .valid
            .iter()
            .map(|d| d.file.clone())
            .chain(loaded.invalid.iter().map(|(f, _)| f.clone()))
            .collect();
        let stacks = self.plan_stacks(loaded, &all, &[]).await;
        let drifted = stacks
            .iter()
            .any(|s| matches!(s, StackPlan::Planned(p) if !p.is_empty() || !p.errors.is_empty()));
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
        Ok((stacks, drifted))
    }

    /// Whether issue `number` is the bot's own drift issue: anyone can put
    /// the label on an issue, and only the bot's marker makes it the one.
    pub(super) async fn is_drift_issue(&self, number: u64) -> Result<bool> {
        let ours = self
            .gh
            .find_issue(comment::DRIFT_LABEL, |m| *m == Marker::Drift)
            .await?;
        Ok(ours.map(|i| i.number) == Some(number))
    }

    /// Commands on the drift issue `number` (the bot's own, checked with
    /// [`Self::is_drift_issue`]; a writer's, asked already):
    /// `/plan [STACK…]` replies with the plan of the default branch's YAML
    /// against EC2 and its fingerprints; `/apply [STACK…]` applies exactly
    /// the latest such plan, records it as a merge-apply is recorded, then
    /// edits the drift issue (closed when every stack is clean).
    pub(super) async fn drift_commands(
        &self,
        number: u64,
        comment_id: u64,
        commands: Vec<Command>,
        record: &mut Record,
    ) -> Result<u8> {
        self.gh.react(comment_id, Reaction::Eyes).await?;
        self.replying_to(comment_id);
        let prefix = &self.env.inputs.command_prefix;
        // The plan is of the default branch: the checkout must be the
        // commit this run is for.
        let found = crate::git::head(&self.checkout);
        let ok = if found.as_deref() != Some(self.env.sha.as_str()) {
            self.reply(
                number,
                &comment::drift_wrong_checkout(found.as_deref(), &self.env.sha),
            )
            .await?;
            false
        } else {
            let mut ok = true;
            for c in commands {
                let r = match c {
                    Command::Help => {
                        self.reply(number, &comment::help(prefix, None)).await?;
                        EXIT_OK
                    }
                    Command::Unknown(word) => {
                        self.reply(number, &comment::help(prefix, Some(&word)))
                            .await?;
                        EXIT_FAILED
                    }
                    Command::Preview { .. } => {
                        self.reply(
                            number,
                            &format!(
                                "`{prefix}preview` works on pull requests only: nothing was done."
                            ),
                        )
                        .await?;
                        EXIT_FAILED
                    }
                    Command::Plan(only) => self.drift_plan(number, &only, record).await?,
                    Command::Apply(only) => self.drift_apply(number, &only, record).await?,
                };
                ok &= r == EXIT_OK;
            }
            ok
        };
        self.gh
            .react(
                comment_id,
                if ok {
                    Reaction::Rocket
                } else {
                    Reaction::Confused
                },
            )
            .await?;
        Ok(if ok { EXIT_OK } else { EXIT_FAILED })
    }

    /// `/plan [STACK…]` on the drift issue.
    async fn drift_plan(&self, number: u64, only: &[String], record: &mut Record) -> Result<u8> {
        let loaded = self.load();
        let known: Vec<String> = loaded.valid.iter().map(|d| d.stack.clone()).collect();
        if self
            .refused_unknown_stacks(number, command::Named::DriftPlan, only, &known)
            .await?
        {
            return Ok(EXIT_FAILED);
        }
        let files: Vec<String> = loaded.valid.iter().map(|d| d.file.clone()).collect();
        let stacks = self.plan_stacks(&loaded, &files, only).await;
        let sha = &self.env.sha;
        let text = comment::drift_plan(sha, &stacks, &self.env.inputs.command_prefix);
        let body = comment::plan_marker(sha, None, &stacks, &PlanState::Planned).wrap(&text);
        self.gh.create_comment(number, &body).await?;
        record.summary(&text);
        record.output("result-json", &plans_json(&stacks));
        Ok(if stacks.iter().all(StackPlan::is_ok) {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }

    /// `/apply [STACK…]` on the drift issue: exactly the latest `/plan`.
    async fn drift_apply(&self, number: u64, only: &[String], record: &mut Record) -> Result<u8> {
        let refuse = |reason: &str| comment::apply_not_allowed(reason);
        let prefix = &self.env.inputs.command_prefix;
        let latest = self.gh.find_last_comment(number, is_plan).await?;
        let Some((_, Marker::Plan(meta))) = latest else {
            self.reply(
                number,
                &refuse(&format!(
                    "this issue has no plan yet: comment `{prefix}plan STACK` first, review it, then `{prefix}apply STACK`."
                )),
            )
            .await?;
            return Ok(EXIT_FAILED);
        };
        let sha = self.env.sha.clone();
        if meta.head != sha {
            self.reply(
                number,
                &refuse(&format!(
                    "the default branch moved since the plan was made (planned at `{}`, now `{}`): comment `{prefix}plan` again and review the new plan.",
                    &meta.head[..meta.head.len().min(7)],
                    &sha[..sha.len().min(7)]
                )),
            )
            .await?;
            return Ok(EXIT_FAILED);
        }
        let shown: Vec<String> = meta.stacks.iter().map(|s| s.stack.clone()).collect();
        if self
            .refused_unknown_stacks(number, command::Named::Apply, only, &shown)
            .await?
        {
            return Ok(EXIT_FAILED);
        }
        let Some((results, loaded)) = self.apply_shown(number, &meta, only, &sha, record).await?
        else {
            return Ok(EXIT_FAILED);
        };
        // What EC2 is now: the issue is edited, or closed when clean.
        self.check_drift(&loaded, record).await?;
        Ok(if results.iter().all(StackApply::is_ok) {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }
}
