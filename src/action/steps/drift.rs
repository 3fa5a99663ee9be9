//! The drift issue: ONE issue, the bot's own (its marker, not just its
//! label, makes it the one), open while EC2 differs from the default
//! branch's YAML, closed with a comment once nothing does.

use anyhow::Result;

use super::plan_comment::plan_stacks;
use crate::action::record::Record;
use crate::action::services::Services;
use crate::marker::Marker;
use crate::outcome::StackPlan;
use crate::render::{comment, notes};
use crate::workspace::Loaded;

/// Plans every stack of `loaded` and keeps the drift issue in step: opened
/// or edited while anything drifted, closed (with a comment) once nothing
/// has. Returns the plans and whether anything drifted.
pub async fn check_drift(
    s: &Services<'_>,
    loaded: &Loaded,
    record: &mut Record,
) -> Result<(Vec<StackPlan>, bool)> {
    let all: Vec<String> = loaded
        .valid
        .iter()
        .map(|d| d.file.clone())
        .chain(loaded.invalid.iter().map(|(f, _)| f.clone()))
        .collect();
    let stacks = plan_stacks(loaded, &all, &[]).await;
    let drifted = stacks
        .iter()
        .any(|s| matches!(s, StackPlan::Planned(p) if !p.is_empty() || !p.errors.is_empty()));
    let existing =
        s.gh.find_issue(comment::DRIFT_LABEL, |m| *m == Marker::Drift)
            .await?;
    let sha = &s.env.sha;
    if drifted {
        let body = Marker::Drift.wrap(&comment::drift_issue(sha, &stacks));
        match existing {
            Some(i) => s.gh.update_issue(i.number, &body, false).await?,
            None => {
                s.gh.create_issue(comment::DRIFT_TITLE, &body, comment::DRIFT_LABEL)
                    .await?;
            }
        }
        record.summary(&body);
    } else {
        if let Some(i) = existing {
            let text = comment::drift_resolved(sha, stacks.len());
            s.gh.create_comment(
                i.number,
                &Marker::DriftResolved { sha: sha.clone() }.wrap(&text),
            )
            .await?;
            s.gh.update_issue(
                i.number,
                &comment::drift_issue_closed(&i.body.unwrap_or_default(), &text),
                true,
            )
            .await?;
        }
        record.summary(&notes::no_drift(stacks.len()));
    }
    Ok((stacks, drifted))
}

/// Whether issue `number` is the bot's own drift issue: anyone can put the
/// label on an issue, and only the bot's marker makes it the one.
pub async fn is_drift_issue(s: &Services<'_>, number: u64) -> Result<bool> {
    let ours =
        s.gh.find_issue(comment::DRIFT_LABEL, |m| *m == Marker::Drift)
            .await?;
    Ok(ours.map(|i| i.number) == Some(number))
}
