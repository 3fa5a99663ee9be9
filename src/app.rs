//! The orchestrator: one place that wires a stack to EC2, the planner and
//! the executor. The command line (and later the GitHub Action) call this.

use anyhow::{Context, Result};

use crate::ec2::{Ec2, Progress, StepResult};
use crate::model::{Desired, Live, Region};
use crate::plan::{self, Inputs, Plan};

/// Reads a stack's live state and the region facts it needs (concurrently,
/// a handful of batched calls), then plans it.
pub async fn plan(ec2: &Ec2, desired: &Desired) -> Result<(Plan, Live, Region)> {
    let mut images: Vec<String> = desired
        .instances
        .values()
        .map(|i| i.image.clone())
        .collect();
    images.sort();
    images.dedup();
    let mut subnets: Vec<String> = desired
        .instances
        .values()
        .filter_map(|i| i.subnet.clone())
        .collect();
    subnets.sort();
    subnets.dedup();
    let mut types: Vec<String> = desired
        .instances
        .values()
        .map(|i| i.instance_type.clone())
        .collect();
    types.sort();
    types.dedup();
    // Boxed: the SDK's futures are large, and a caller's stack need not be.
    let (live, region) = tokio::try_join!(
        Box::pin(ec2.read_live(&desired.stack)),
        Box::pin(ec2.read_region(images, subnets, types, !desired.elastic_ips.is_empty()))
    )
    .with_context(|| {
        format!(
            "cannot read stack {} from EC2 in {}",
            desired.stack, desired.region
        )
    })?;
    let plan = plan::compute(&Inputs {
        desired,
        live: &live,
        region: &region,
    });
    Ok((plan, live, region))
}

/// Executes an applicable plan computed from `live` and `region`.
pub async fn apply(
    ec2: &Ec2,
    desired: &Desired,
    plan: &Plan,
    live: &Live,
    region: &Region,
    progress: &dyn Progress,
) -> Vec<StepResult> {
    debug_assert!(
        plan.is_applicable(),
        "apply of a plan with errors or blocked changes"
    );
    let steps = plan::steps::steps(
        plan,
        &Inputs {
            desired,
            live,
            region,
        },
    );
    Box::pin(crate::ec2::execute(
        ec2,
        &desired.stack,
        live,
        steps,
        progress,
    ))
    .await
}
