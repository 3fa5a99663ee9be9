//! The use-cases: plan a stack, apply a plan under the stack's lease, check
//! a reviewed plan, import. They wire the pure planner to the EC2 adapter;
//! the command line and the GitHub Action call them and only parse and print.

pub mod import;

use anyhow::{Context, Result};

use crate::ec2::{Ec2, Holder, Progress, StepResult, trace};
use crate::model::{Desired, Live, Region};
use crate::plan::{self, Inputs, Plan};

/// Reads a stack's live state and the region facts it needs (concurrently,
/// a handful of batched calls), then plans it.
pub async fn plan(ec2: &Ec2, desired: &Desired) -> Result<(Plan, Live, Region)> {
    plan_in(ec2, desired, None).await
}

/// Like [`plan`]; with the region's facts already read (images, subnets,
/// VPCs, instance types, the address quota), only the stack is read again.
async fn plan_in(
    ec2: &Ec2,
    desired: &Desired,
    known: Option<&Region>,
) -> Result<(Plan, Live, Region)> {
    let region = async {
        if let Some(r) = known {
            return Ok(r.clone());
        }
        let names = |f: fn(&crate::model::InstanceSpec) -> Option<String>| {
            let mut v: Vec<String> = desired.instances.values().filter_map(f).collect();
            v.sort();
            v.dedup();
            v
        };
        let images = names(|i| Some(i.image.clone()));
        let subnets = names(|i| i.subnet.clone());
        let types = names(|i| Some(i.instance_type.clone()));
        ec2.read_region(images, subnets, types, !desired.elastic_ips.is_empty())
            .await
    };
    // Boxed: the SDK's futures are large, and a caller's stack need not be.
    let reads = async {
        tokio::try_join!(
            trace::branch(Box::pin(ec2.read_live(&desired.stack, desired.preview_of))),
            trace::branch(Box::pin(region))
        )
    };
    let (live, region) = trace::part("plan: read", reads).await.with_context(|| {
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

/// How long an apply waits for another apply of the same stack.
pub const APPLY_LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// What an exclusive apply did.
pub enum Exclusive {
    /// The plan (the one expected, when one was) was executed.
    Applied {
        /// The plan executed.
        plan: Box<Plan>,
        /// Per step.
        results: Vec<StepResult>,
    },
    /// Another run applied it while this one waited: nothing left to do.
    AlreadyDone,
    /// Under the lease, the plan is no longer the one expected: nothing was
    /// changed. The fresh plan says what moved.
    Moved(Box<Plan>),
}

/// Applies a plan of `desired` with the stack's lease held, so no two
/// applies of one stack overlap: takes the lease (waiting up to `max_wait`
/// for a running apply), plans again, and executes that plan — only if it
/// is still `expected` (a reviewed or confirmed plan) when one is given;
/// then gives the lease back. With the `region` facts the caller read for
/// its own plan a moment before, only the stack is read again under the
/// lease (the lease guards the stack, not the region's images or VPCs).
pub async fn apply_exclusive(
    ec2: &Ec2,
    desired: &Desired,
    expected: Option<&Plan>,
    region: Option<&Region>,
    max_wait: std::time::Duration,
    progress: &dyn Progress,
) -> Result<Exclusive> {
    let me = Holder::this_process();
    let waiting = |holder: &str| {
        progress.note(&format!(
            "waiting for another apply of stack {} to finish ({holder})",
            desired.stack
        ))
    };
    let lease = trace::part(
        "apply lease: take",
        ec2.acquire_lease(&desired.stack, desired.preview_of, &me, max_wait, &waiting),
    )
    .await
    .with_context(|| format!("cannot take the apply lease of stack {}", desired.stack))?;
    let moved = |fresh: &Plan| {
        expected.is_some_and(|e| !plan::fingerprint::approves(&e.fingerprint, fresh))
    };
    let outcome = match plan_in(ec2, desired, region).await {
        Err(e) => Err(e),
        Ok((fresh, _, _)) if fresh.is_empty() && fresh.is_applicable() => {
            Ok(Exclusive::AlreadyDone)
        }
        Ok((fresh, _, _)) if moved(&fresh) || !fresh.is_applicable() => {
            Ok(Exclusive::Moved(Box::new(fresh)))
        }
        Ok((fresh, live, region)) => {
            let results = apply(ec2, desired, &fresh, &live, &region, progress).await;
            Ok(Exclusive::Applied {
                plan: Box::new(fresh),
                results,
            })
        }
    };
    trace::part("apply lease: give back", lease.release()).await;
    outcome
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
