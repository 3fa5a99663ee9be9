//! `schedule` and `workflow_dispatch`: drift detection. Every stack of the
//! default branch is planned, and ONE issue is kept open while anything
//! drifted.

use anyhow::Result;

use super::outputs::plans_json;
use super::{Ctx, EXIT_FAILED, EXIT_OK, Record};
use crate::marker::Marker;
use crate::outcome::StackPlan;
use crate::render::comment;

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
        // Previews whose pull request closed or whose time is up go.
        let swept = self.sweep_previews(&loaded.valid, record).await;
        Ok(if checked_ok && swept {
            EXIT_OK
        } else {
            EXIT_FAILED
        })
    }
}
