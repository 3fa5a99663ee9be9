//! `/preview` and `/preview destroy`: a pull request's own copy of the
//! stacks that allow it (`preview:`), `<stack>-pr<N>`, applied from the
//! pull request's version of the files; destroyed on `/preview destroy` and
//! when the pull request closes.

use std::fmt::Write as _;

use anyhow::Result;

use super::{Ctx, EXIT_FAILED, EXIT_OK, Record};
use crate::app::{self, Exclusive};
use crate::ec2::Ec2;
use crate::model::Desired;
use crate::outcome::Outcome;
use crate::preview;
use crate::render::escape::{code_span, prose, table_cell, text};

impl Ctx<'_> {
    /// `/preview [destroy] [stack…]` on pull request `number`, by a writer.
    pub(super) async fn preview(
        &self,
        number: u64,
        destroy: bool,
        only: &[String],
        record: &mut Record,
    ) -> Result<u8> {
        let pr = self.gh.pull(number).await?;
        let refuse = |why: &str| format!("`/preview` was not run: {why}");
        if pr.state != "open" || pr.is_merged() {
            self.reply(
                number,
                &refuse(
                    "previews are for open pull requests; a closed one's previews are destroyed.",
                ),
            )
            .await?;
            return Ok(EXIT_FAILED);
        }
        // A fork's files are never applied: not even with a writer's word.
        if pr.is_fork(&self.env.repo) {
            self.reply(number, &refuse("this pull request comes from a fork; its files are never applied to EC2. Push the branch to this repository to preview it."))
                .await?;
            record.summary("`/preview` on a fork's pull request: refused, nothing applied.\n");
            return Ok(EXIT_FAILED);
        }
        // What is applied is the pull request's test merge, never whatever
        // else the job checked out.
        let found = crate::git::head(&self.checkout);
        if !destroy && (pr.merge_commit_sha.is_none() || found != pr.merge_commit_sha) {
            let why = match &pr.merge_commit_sha {
                None => "GitHub has no test merge of this pull request (it conflicts with its base, or is still computing it); nothing was applied.".to_string(),
                Some(merge) => format!(
                    "the job checked out {}, not this pull request's test merge {}; nothing was applied. Check out `refs/pull/{number}/merge`.",
                    code_span(found.as_deref().unwrap_or("no commit")),
                    code_span(merge)
                ),
            };
            self.reply(number, &refuse(&why)).await?;
            return Ok(EXIT_FAILED);
        }
        let loaded = self.load();
        let mut stacks: Vec<&Desired> = loaded
            .valid
            .iter()
            .filter(|d| d.preview.is_some())
            .collect();
        if !only.is_empty() {
            let unknown: Vec<&String> = only
                .iter()
                .filter(|n| !stacks.iter().any(|d| d.stack == **n))
                .collect();
            if !unknown.is_empty() {
                let names: Vec<String> = unknown.iter().map(|n| code_span(n)).collect();
                self.reply(
                    number,
                    &refuse(&format!(
                        "{} is not a stack with `preview:` here.",
                        names.join(", ")
                    )),
                )
                .await?;
                return Ok(EXIT_FAILED);
            }
            stacks.retain(|d| only.contains(&d.stack));
        }
        if stacks.is_empty() {
            self.reply(number, &refuse("no stack of this pull request has `preview:`; add `preview: { max_instances: 4 }` to a stack file to allow previews."))
                .await?;
            return Ok(EXIT_FAILED);
        }
        let mut body = String::new();
        let mut ok = true;
        for d in stacks {
            let target = if destroy {
                preview::empty(d, number)
            } else {
                preview::of(d, number)
            };
            let target = match target {
                Ok(t) => t,
                Err(r) => {
                    let _ = writeln!(body, "- {}\n", prose(&r.words(&d.stack)));
                    ok = false;
                    continue;
                }
            };
            match self.apply_preview(&target).await {
                Ok(section) => body.push_str(&section),
                Err(e) => {
                    ok = false;
                    let _ = writeln!(
                        body,
                        "### Preview {} (from {}): FAILED\n\n{}\n",
                        code_span(&target.stack),
                        code_span(&d.stack),
                        text(&format!("{e:#}"))
                    );
                }
            }
        }
        let title = if destroy {
            "## ec2-gitops preview destroyed"
        } else {
            "## ec2-gitops preview"
        };
        let reply = format!("{title}\n\n{body}");
        self.reply(number, &reply).await?;
        record.summary(&reply);
        // The plan comment shows the previews (or no longer does).
        let replanned = self.plan_pr(number, &[], record).await?;
        Ok(if ok { replanned } else { EXIT_FAILED })
    }

    /// Applies one preview stack (a copy, or an empty one to destroy it)
    /// under its lease; the section that says what it is now.
    async fn apply_preview(&self, target: &Desired) -> Result<String> {
        let ec2 = Ec2::connect(&target.region).await;
        let progress = crate::progress::LineProgress::new();
        let done = app::apply_exclusive(&ec2, target, None, None, app::APPLY_LEASE_WAIT, &progress)
            .await?;
        let failed: Vec<String> = match &done {
            Exclusive::Applied { results, .. } => results
                .iter()
                .filter_map(|r| match &r.outcome {
                    Outcome::Failed(e) => Some(format!("{}: {e}", r.step.resource)),
                    Outcome::Skipped(why) => {
                        Some(format!("{}: not attempted ({why})", r.step.resource))
                    }
                    Outcome::Done(_) => None,
                })
                .collect(),
            Exclusive::AlreadyDone => vec![],
            // With no reviewed plan to match, only a plan that cannot be
            // applied (errors, blocked changes) lands here.
            Exclusive::Moved(plan) => vec![format!(
                "its plan cannot be applied:\n{}",
                crate::render::text::plan(plan, false)
            )],
        };
        if !failed.is_empty() {
            anyhow::bail!("{}", failed.join("; "));
        }
        // A destroy that succeeded left nothing: no need to read it again.
        if target.instances.is_empty() {
            return Ok(format!(
                "### Preview {}: destroyed\n\nNothing of the preview is left.\n\n",
                code_span(&target.stack)
            ));
        }
        let live = ec2.read_live(&target.stack, target.preview_of).await?;
        Ok(section(&target.stack, &target.region, &live))
    }

    /// The sections of the plan comment of pull request `number` for its
    /// live previews (stacks with `preview:` only; a read that fails leaves
    /// its section out, with a warning).
    pub(super) async fn preview_sections(&self, number: u64, stacks: &[Desired]) -> String {
        let mut out = String::new();
        for d in stacks.iter().filter(|d| d.preview.is_some()) {
            let Ok(target) = preview::empty(d, number) else {
                continue;
            };
            let ec2 = Ec2::connect(&target.region).await;
            match ec2.read_live(&target.stack, target.preview_of).await {
                Ok(live) if !live.instances.is_empty() => {
                    out.push_str(&section(&target.stack, &target.region, &live));
                }
                Ok(_) => {}
                Err(e) => eprintln!(
                    "::warning::{}",
                    crate::render::escape::workflow_data(&format!(
                        "cannot read preview {} for the plan comment: {e}",
                        target.stack
                    ))
                ),
            }
        }
        out
    }

    /// The scheduled run: destroys the previews whose pull request is closed
    /// or whose oldest server is older than the stack's `preview.ttl`.
    pub(super) async fn sweep_previews(&self, stacks: &[Desired], record: &mut Record) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut ok = true;
        for d in stacks {
            let Some(settings) = d.preview else {
                continue;
            };
            let ec2 = Ec2::connect(&d.region).await;
            let found = match ec2.preview_stacks(&d.stack).await {
                Ok(f) => f,
                Err(e) => {
                    ok = false;
                    record.summary(&format!(
                        "The previews of {} could not be listed: {}\n",
                        code_span(&d.stack),
                        text(&e.to_string())
                    ));
                    continue;
                }
            };
            for (name, launched) in found {
                let Some(number) = preview::pr_of(&name, &d.stack) else {
                    continue;
                };
                let why = if preview::expired(launched, settings.ttl_secs, now) {
                    Some("older than its `preview.ttl`")
                } else {
                    match self.gh.pull(number).await {
                        Ok(pr) if pr.state != "open" || pr.is_merged() => {
                            Some("its pull request is closed")
                        }
                        Ok(_) => None,
                        Err(e) => {
                            eprintln!(
                                "::warning::{}",
                                crate::render::escape::workflow_data(&format!(
                                    "cannot ask GitHub about pull request #{number} of preview {name}: {e}"
                                ))
                            );
                            None
                        }
                    }
                };
                let Some(why) = why else {
                    continue;
                };
                let Ok(target) = preview::empty(d, number) else {
                    continue;
                };
                match self.apply_preview(&target).await {
                    Ok(section) => record.summary(&format!(
                        "Preview {} ({why}):\n\n{section}",
                        code_span(&name)
                    )),
                    Err(e) => {
                        ok = false;
                        record.summary(&format!(
                            "Preview {} ({why}) could not be destroyed: {}\n",
                            code_span(&name),
                            text(&format!("{e:#}"))
                        ));
                    }
                }
            }
        }
        ok
    }

    /// Destroys pull request `number`'s previews (it was closed or merged):
    /// every stack with `preview:` whose `<stack>-pr<N>` has resources.
    pub(super) async fn destroy_previews(&self, number: u64, record: &mut Record) -> Result<u8> {
        let loaded = self.load();
        let mut ok = true;
        for d in loaded.valid.iter().filter(|d| d.preview.is_some()) {
            let Ok(target) = preview::empty(d, number) else {
                continue;
            };
            let ec2 = Ec2::connect(&target.region).await;
            let live = match ec2.read_live(&target.stack, target.preview_of).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!(
                        "::warning::{}",
                        crate::render::escape::workflow_data(&format!(
                            "cannot read preview {} to destroy it: {e}",
                            target.stack
                        ))
                    );
                    ok = false;
                    continue;
                }
            };
            let nothing = live.instances.is_empty()
                && live.security_groups.is_empty()
                && live.volumes.is_empty()
                && live.key_pairs.is_empty();
            if nothing {
                continue;
            }
            match self.apply_preview(&target).await {
                Ok(section) => record.summary(&section),
                Err(e) => {
                    ok = false;
                    record.summary(&format!(
                        "Preview {} could not be destroyed: {}\n",
                        code_span(&target.stack),
                        text(&format!("{e:#}"))
                    ));
                }
            }
        }
        Ok(if ok { EXIT_OK } else { EXIT_FAILED })
    }
}

/// A preview's servers: id, public IP and DNS name of each.
fn section(stack: &str, region: &str, live: &crate::model::Live) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Preview {} ({})\n\n| instance | id | public IP | public DNS name |\n| --- | --- | --- | --- |",
        code_span(stack),
        text(region)
    );
    for i in &live.instances {
        let cell = |v: &Option<String>| {
            v.as_deref()
                .map(code_span)
                .map_or("-".to_string(), |c| table_cell(&c))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            table_cell(&code_span(&i.name)),
            table_cell(&code_span(&i.id)),
            cell(&i.public_ip),
            cell(&i.public_dns)
        );
    }
    let _ = writeln!(
        out,
        "\nPushes do not change it: comment `/preview` again to update it, `/preview destroy` to remove it. Closing or merging the pull request destroys it.\n"
    );
    out
}
