//! Previews: a pull request's own copy of a stack (`<stack>-pr<N>`),
//! applied without review from the pull request's files, or emptied to
//! destroy it. Which stacks may have one, and how it is named and bounded,
//! is the core's `preview`; when to make or destroy one is the action's.

use anyhow::{Result, bail};

use super::apply::{APPLY_LEASE_WAIT, Exclusive, apply_exclusive};
use crate::ec2::{Ec2, Progress};
use crate::model::{Desired, Live};
use crate::outcome::Outcome;

/// A preview after an apply.
pub enum Preview {
    /// Nothing of it is left.
    Destroyed,
    /// It runs: what EC2 has of it now.
    Up(Box<Live>),
}

/// Applies one preview stack (`target`: a copy, or an empty one to destroy
/// it) under its lease. An error says which steps failed, or why its plan
/// cannot be applied.
pub async fn apply_preview(target: &Desired, progress: &dyn Progress) -> Result<Preview> {
    let ec2 = Ec2::for_stack(target).await?;
    let done = apply_exclusive(&ec2, target, None, None, APPLY_LEASE_WAIT, progress).await?;
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
        bail!("{}", failed.join("; "));
    }
    // A destroy that succeeded left nothing: no need to read it again.
    if target.instances.is_empty() {
        return Ok(Preview::Destroyed);
    }
    let live = ec2.read_live(&target.stack, target.preview_of).await?;
    Ok(Preview::Up(Box::new(live)))
}

/// What EC2 has of the preview `target` (one read of its stack).
pub async fn read_preview(target: &Desired) -> Result<Live> {
    let ec2 = Ec2::for_stack(target).await?;
    Ok(ec2.read_live(&target.stack, target.preview_of).await?)
}

/// The previews of `stack` that have something in EC2, each with the
/// launch time of its oldest instance (seconds since the epoch).
pub async fn previews_of(
    stack: &Desired,
) -> Result<std::collections::BTreeMap<String, Option<u64>>> {
    // Previews live where the job's own credentials reach, whatever account
    // the stack itself names.
    let ec2 = Ec2::connect(&stack.region).await;
    Ok(ec2.preview_stacks(&stack.stack).await?)
}
