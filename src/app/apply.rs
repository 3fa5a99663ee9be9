//! Applying: one stack's plan executed with the stack's lease held, and
//! several stacks in their `after:` order, each only as its caller's
//! [`Driver`] approves its fresh plan.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::plan::plan_in;
use crate::ec2::{Ec2, Holder, Progress, StepResult, trace};
use crate::model::{Desired, Live, Region};
use crate::outcome::{Refusal, StackApply, Verdict};
use crate::plan::{self, Inputs, Plan};
use crate::render;

/// How long an apply waits for another apply of the same stack.
pub const APPLY_LEASE_WAIT: Duration = Duration::from_secs(30 * 60);

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

/// What the caller of [`apply_stacks`] decides and is told, stack by
/// stack: the command line asks the person at the terminal, the action
/// checks the reviewed plan.
pub trait Driver {
    /// What to do with `plan`, the fresh plan of `desired`.
    fn judge(&mut self, desired: &Desired, plan: &Plan) -> Verdict;
    /// Whether what is applied must be the plan judged (else whatever the
    /// plan is once the lease is held, as `--auto-approve` asks).
    fn pinned(&self) -> bool {
        true
    }
    /// What the images `desired` names by reference resolved to when its
    /// plan was judged worth applying (the reviewed plan's): the fresh plan
    /// resolves them so. None by default: resolved now.
    fn pins(&self, _desired: &Desired) -> Vec<(crate::model::ImageRef, String)> {
        Vec::new()
    }
    /// Whether a stack with nothing to apply has the lease a stopped run
    /// left behind removed.
    fn clears_stale_leases(&self) -> bool {
        false
    }
    /// `desired` ended as `done` says.
    fn done(&mut self, _desired: &Desired, _done: &Done<'_>) {}
}

/// How one stack of [`apply_stacks`] ended.
pub struct Done<'a> {
    /// Its result.
    pub result: &'a StackApply,
    /// The plan it was judged on, when it was planned.
    pub judged: Option<&'a Plan>,
    /// Its plan under the lease, when another apply changed it meanwhile.
    pub moved: Option<&'a Plan>,
    /// The lease a stopped run left behind was removed.
    pub lease_cleared: bool,
}

/// What [`apply_stacks`] did.
#[derive(Default)]
pub struct Applied {
    /// Per stack, in the order they were taken.
    pub results: Vec<StackApply>,
    /// The latest plan of each stack refused for want of review (the one
    /// to post for review: never planned a third time).
    pub to_review: BTreeMap<String, Plan>,
}

/// Applies `stacks` in their `after:` order: each is planned afresh, judged
/// by `driver`, and applied under its lease only if the plan is still the
/// one judged (when the driver pins it). A stack after one that was not
/// applied is not attempted.
pub async fn apply_stacks(
    stacks: &[&Desired],
    driver: &mut dyn Driver,
    progress: &dyn Progress,
) -> Applied {
    let mut out = Applied::default();
    for d in crate::config::after::apply_order(stacks) {
        let not_applied = d.after.iter().find_map(|(name, _)| {
            out.results
                .iter()
                .any(|r| !r.is_ok() && r.stack() == name)
                .then(|| name.clone())
        });
        let (result, judged, moved, lease_cleared) = match not_applied {
            Some(after) => (
                StackApply::NotApplied {
                    stack: d.stack.clone(),
                    refusal: Refusal::NotAttempted { after },
                },
                None,
                None,
                false,
            ),
            None => apply_one(d, driver, progress).await,
        };
        driver.done(
            d,
            &Done {
                result: &result,
                judged: judged.as_ref(),
                moved: moved.as_ref(),
                lease_cleared,
            },
        );
        if let StackApply::NotApplied { refusal, .. } = &result
            && let Some(plan) = moved.or(judged.filter(|_| refusal.needs_review()))
        {
            out.to_review.insert(d.stack.clone(), plan);
        }
        out.results.push(result);
    }
    out
}

/// One stack of [`apply_stacks`]: its result, the plan judged, the plan
/// found under the lease when it moved, and whether a stale lease went.
async fn apply_one(
    d: &Desired,
    driver: &mut dyn Driver,
    progress: &dyn Progress,
) -> (StackApply, Option<Plan>, Option<Plan>, bool) {
    let not_applied = |refusal| StackApply::NotApplied {
        stack: d.stack.clone(),
        refusal,
    };
    let planned = match Ec2::for_stack(d).await {
        Ok(ec2) => super::plan::plan_pinned(&ec2, d, &driver.pins(d))
            .await
            .map(|p| (ec2, p)),
        Err(e) => Err(e.into()),
    };
    let (ec2, (fresh, _, region)) = match planned {
        Ok(x) => x,
        Err(e) => {
            let error = format!("{e:#}");
            return (
                not_applied(Refusal::ReadFailed { error }),
                None,
                None,
                false,
            );
        }
    };
    match driver.judge(d, &fresh) {
        Verdict::Apply => {}
        Verdict::NoChanges => {
            // A run killed after its changes left its lease: give it back.
            let cleared = driver.clears_stale_leases()
                && match ec2
                    .clear_stale_lease(&d.stack, d.preview_of, &Holder::this_process())
                    .await
                {
                    Ok(cleared) => cleared,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not check for a lease left behind");
                        false
                    }
                };
            let result = StackApply::NoChanges {
                stack: d.stack.clone(),
                region: d.region.clone(),
            };
            return (result, Some(fresh), None, cleared);
        }
        Verdict::Refuse(refusal) => return (not_applied(refusal), Some(fresh), None, false),
    }
    let start = Instant::now();
    let expected = driver.pinned().then_some(&fresh);
    let done = apply_exclusive(&ec2, d, expected, Some(&region), APPLY_LEASE_WAIT, progress).await;
    match done {
        Ok(Exclusive::Applied { plan, results }) => {
            let seconds = start.elapsed().as_secs_f64();
            let result = StackApply::Applied {
                plan,
                results,
                seconds,
            };
            (result, Some(fresh), None, false)
        }
        Ok(Exclusive::AlreadyDone) => {
            let result = StackApply::NoChanges {
                stack: d.stack.clone(),
                region: d.region.clone(),
            };
            (result, Some(fresh), None, false)
        }
        Ok(Exclusive::Moved(now)) => {
            let refusal = Refusal::MovedUnderLease {
                reviewed: fresh.fingerprint.clone(),
                now: now.fingerprint.clone(),
            };
            (not_applied(refusal), Some(fresh), Some(*now), false)
        }
        Err(e) => {
            let error = format!("{e:#}");
            (
                not_applied(Refusal::Failed { error }),
                Some(fresh),
                None,
                false,
            )
        }
    }
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
    max_wait: Duration,
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
    if let Err(e) = trace::part("apply lease: give back", lease.release()).await {
        eprintln!(
            "{}",
            render::text::lease_not_released(&e.lease, &e.error, e.expires_in)
        );
    }
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
