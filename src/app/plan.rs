//! Planning: a stack's live state and the region facts it needs, read in a
//! handful of batched calls, then the pure planner.

use anyhow::{Context, Result};

use crate::ec2::{Ec2, trace};
use crate::model::{Desired, Live, Region};
use crate::outcome::StackPlan;
use crate::plan::{self, Inputs, Plan, RegionQuery};

/// How many stacks are planned at once: each is a handful of EC2 calls.
const STACKS_AT_ONCE: usize = 4;

/// Reads a stack's live state and the region facts it needs (concurrently,
/// a handful of batched calls), then plans it.
pub async fn plan(ec2: &Ec2, desired: &Desired) -> Result<(Plan, Live, Region)> {
    plan_in(ec2, desired, None).await
}

/// Plans `stacks`, a few at a time, each in its region: in the order given,
/// a stack EC2 could not be read for as [`StackPlan::Failed`].
pub async fn plan_all(stacks: Vec<Desired>) -> Vec<StackPlan> {
    let mut set = tokio::task::JoinSet::new();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(STACKS_AT_ONCE));
    for (i, d) in stacks.into_iter().enumerate() {
        let permits = permits.clone();
        set.spawn(async move {
            let _p = permits.acquire_owned().await;
            let planned = match Ec2::for_stack(&d).await {
                Ok(ec2) => plan(&ec2, &d).await,
                Err(e) => Err(e.into()),
            };
            let r = match planned {
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
    planned.into_iter().map(|(_, p)| p).collect()
}

/// Like [`plan`], with the images by reference that a reviewer saw
/// resolved as then (`pins`), whatever they resolve to now.
pub async fn plan_pinned(
    ec2: &Ec2,
    desired: &Desired,
    pins: &[(crate::model::ImageRef, String)],
) -> Result<(Plan, Live, Region)> {
    if pins.is_empty() {
        return plan(ec2, desired).await;
    }
    let query = plan::images::pinned_query(RegionQuery::of(desired), pins);
    let mut region = ec2
        .read_region(&query)
        .await
        .with_context(|| format!("cannot read the region facts of {}", desired.stack))?;
    plan::images::pin(&mut region, pins);
    plan_in(ec2, desired, Some(&region)).await
}

/// Like [`plan`]; with the region's facts already read (images, subnets,
/// VPCs, instance types, the address quota), only the stack is read again.
pub(super) async fn plan_in(
    ec2: &Ec2,
    desired: &Desired,
    known: Option<&Region>,
) -> Result<(Plan, Live, Region)> {
    let region = async {
        match known {
            Some(r) => Ok(r.clone()),
            None => ec2.read_region(&RegionQuery::of(desired)).await,
        }
    };
    // Boxed: the SDK's futures are large, and a caller's stack need not be.
    let reads = async {
        tokio::try_join!(
            trace::branch(Box::pin(ec2.read_live(&desired.stack, desired.preview_of))),
            trace::branch(Box::pin(region))
        )
    };
    let (live, mut region) = trace::part("plan: read", reads).await.with_context(|| {
        format!(
            "cannot read stack {} from EC2 in {}",
            desired.stack, desired.region
        )
    })?;
    let mut plan = plan::compute(&Inputs {
        desired,
        live: &live,
        region: &region,
    });
    // A plan that modifies volumes asks when each was last modified (EBS
    // takes one modification every six hours), then is made again.
    let modified = plan::diff::modified_volumes(&plan, &live);
    if !modified.is_empty() && region.volume_modifications.is_none() {
        let known = ec2
            .read_volume_modifications(&modified)
            .await
            .with_context(|| format!("cannot read volume modifications in {}", desired.region))?;
        region.volume_modifications = Some(known);
        plan = plan::compute(&Inputs {
            desired,
            live: &live,
            region: &region,
        });
    }
    Ok((plan, live, region))
}
