//! `pull_request` events: plan the pull request merged into its base into
//! its one plan comment; a fork's is not planned; a closed one's plan is
//! discarded.

use anyhow::Result;

use super::outputs::plans_json;
use super::{
    Ctx, EXIT_FAILED, EXIT_OK, Posted, Record, TEST_MERGE_POLLS, command, is_plan, labels,
    mark_state, split_changes, touched,
};
use crate::github::TestMerge;
use crate::marker::{Marker, PlanMeta, PlanStatus};
use crate::outcome::StackPlan;
use crate::render;
use crate::render::comment::{self, PlanState};

impl Ctx<'_> {
    /// Plans a PR merged into its base (GitHub's test merge, which the
    /// workspace must hold) and creates or updates its one plan comment. A
    /// PR that conflicts with its base, or whose test merge GitHub has not
    /// computed, is not planned: the comment or the status says why.
    pub(super) async fn plan_pr(
        &self,
        number: u64,
        only: &[String],
        record: &mut Record,
    ) -> Result<u8> {
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
                self.plan_not_made(
                    &pr.head.sha,
                    "not planned: GitHub has not computed the test merge yet",
                )
                .await?;
                return Ok(EXIT_FAILED);
            }
        };
        // Plan the files of the merge, never the head's alone: the checkout
        // must be the test merge.
        let found = crate::git::head(&self.checkout);
        if found.as_deref() != Some(commit.sha.as_str()) {
            let text = comment::wrong_checkout(number, found.as_deref(), &commit.sha);
            eprintln!("::error::{}", render::escape::workflow_data(&text));
            record.summary(&format!("## ec2-gitops\n\n{text}\n"));
            self.plan_not_made(
                &pr.head.sha,
                "not planned: the workspace is not the pull request's test merge",
            )
            .await?;
            return Ok(EXIT_FAILED);
        }
        let base = commit.parents.first().cloned();
        let (changed, removed) = split_changes(commit.files);
        let labels: Vec<String> = pr.labels.iter().map(|l| l.name.clone()).collect();
        self.plan_files(
            number,
            (&pr.head.sha, base.as_deref()),
            (&changed, &removed),
            only,
            &labels,
            record,
        )
        .await
    }

    /// Puts the labels the plans call for on the pull request, which carries
    /// `current`: at most one call per label added or removed, none when
    /// nothing changes. A failure (a token without `issues: write`) is a
    /// warning: the plan stands.
    pub(super) async fn sync_labels(
        &self,
        number: u64,
        current: &[String],
        stacks: &[StackPlan],
        record: Option<&mut Record>,
    ) {
        if !self.env.inputs.labels {
            return;
        }
        let (add, remove) = labels::changes(current, &labels::wanted(stacks));
        let result = async {
            for m in &add {
                self.gh.ensure_label(m.name, m.color, m.description).await?;
            }
            if !add.is_empty() {
                let names: Vec<&str> = add.iter().map(|m| m.name).collect();
                self.gh.add_labels(number, &names).await?;
            }
            for m in &remove {
                self.gh.remove_label(number, m.name).await?;
            }
            Ok::<(), crate::github::GitHubError>(())
        }
        .await;
        if let Err(e) = result {
            let (why, fix) = (
                format!(
                    "The labels of pull request #{number} could not be updated (the plan stands)"
                ),
                "Give the job `pull-requests: write` (or `issues: write`), or set the input `labels: false`.",
            );
            eprintln!(
                "::warning::{}",
                render::escape::workflow_data(&format!("{why}: {e}. {fix}"))
            );
            if let Some(record) = record {
                record.summary(&format!(
                    "> [!WARNING]\n> {why}: {}. {fix}\n",
                    render::escape::text(&e.to_string())
                ));
            }
        }
    }

    /// A PR that conflicts with its base: no plan, the comment and a failing
    /// status say to resolve the conflicts.
    pub(super) async fn conflict(
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
            check: None,
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
        self.plan_not_made(
            &pr.head.sha,
            &format!(
                "not planned: conflicts with {}; resolve them first",
                pr.base.branch
            ),
        )
        .await?;
        record.summary(&text);
        Ok(EXIT_FAILED)
    }

    /// Plans the workspace's stacks that `changed` touches (a PR's test
    /// merge) and writes the one plan comment.
    pub(super) async fn plan_files(
        &self,
        number: u64,
        (head_sha, base_sha): (&str, Option<&str>),
        (changed, removed): (&[String], &[String]),
        only: &[String],
        labels: &[String],
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
            if self
                .refused_unknown_stacks(number, command::Named::Plan, only, &known)
                .await?
            {
                record.summary("`/plan` named a stack this pull request does not change: nothing was planned.\n");
                return Ok(EXIT_FAILED);
            }
        }
        // The plan comment, and the check run it made for this same head.
        let existing = || async {
            self.gh.find_comment(number, is_plan).await.map(|c| {
                c.map(|(c, m)| {
                    let check = match m {
                        Marker::Plan(meta) if meta.head == head_sha => meta.check,
                        _ => None,
                    };
                    (c.id, check)
                })
            })
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
        let Some(Posted {
            body,
            summary,
            stacks,
        }) = posted
        else {
            println!("ec2-gitops: pull request #{number} changes no stack: nothing to plan");
            // No plan, no plan labels.
            self.sync_labels(number, labels, &[], Some(record)).await;
            record.output("plan", "");
            record.output("result-json", "[]");
            return Ok(EXIT_OK);
        };
        self.sync_labels(number, labels, &stacks, Some(record))
            .await;
        record.summary(&summary);
        record.output("plan", &body);
        record.output("result-json", &plans_json(&stacks));
        Ok(if stacks.iter().all(StackPlan::is_ok) {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }

    /// A pull request from a fork is not planned on its own: in the
    /// documented workflow its run has no AWS credentials and a read-only
    /// token. Says so in the log and the job summary, and calls nobody.
    pub(super) fn fork(&self, number: u64, fork: &str, record: &mut Record) {
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

    pub(super) async fn discard(&self, number: u64, record: &mut Record) -> Result<u8> {
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
}
