//! `schedule` and `workflow_dispatch`: drift detection. Every stack of the
//! default branch is planned, ONE issue is kept open while anything
//! drifted, and the previews whose time is up go.

use anyhow::Result;

use crate::action::record::Record;
use crate::action::services::Services;
use crate::action::steps::{drift, previews};
use crate::action::{EXIT_FAILED, EXIT_OK};
use crate::outcome::StackPlan;
use crate::render::notes;
use crate::render::outputs::plans_json;

/// Handles the scheduled (or dispatched) run.
pub async fn handle(s: &Services<'_>, record: &mut Record) -> Result<u8> {
    if !crate::marker::is_sha(&s.env.sha) {
        anyhow::bail!(notes::not_a_sha_for_drift(&s.env.sha));
    }
    let loaded = s.load();
    let (stacks, drifted) = drift::check_drift(s, &loaded, record).await?;
    let checked_ok = stacks.iter().all(|s| matches!(s, StackPlan::Planned(_)));
    record.output("drifted", if drifted { "true" } else { "false" });
    record.output("result-json", &plans_json(&stacks));
    // Previews whose pull request closed or whose time is up go.
    let swept = previews::sweep(s, &loaded.valid, record).await;
    Ok(if checked_ok && swept {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
