//! Executing steps: independent steps run concurrently (bounded), a step runs
//! once every step it needs has succeeded, and a failure skips only what
//! depends on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, BlockDeviceMapping, DomainType, EbsBlockDevice, Filter,
    InstanceType, IpPermission, IpRange, Ipv6Range, ResourceType, SecureBlobAttributeValue,
    SnapshotState, Tag, TagSpecification, UserIdGroupPair, VolumeType,
};
use base64::Engine as _;

use super::read::{SnapshotsByVolume, filter};
use super::{Ec2, Ec2Error, trace};
use crate::model::{self, Live, Peer, ResourceId};
use crate::outcome::{Outcome, StepResult};
use crate::plan::schedule::{Ready, Schedule};
use crate::plan::steps::{InstanceUpdate, Launch, Op, Ref, RuleRef, Step};

/// How many API operations run at once. EC2's buckets (`limits`), not this
/// number, set the sustained rate; this bounds the burst and the open
/// connections. It is above the launches of a typical apply, so that a
/// hundred instances start together (EC2 takes a burst of 1,000 launches).
const CONCURRENCY: usize = 128;

/// How long a snapshot of a volume about to be deleted may take.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(2 * 60 * 60);
/// How long an instance may take to reach a state.
const WAIT_TIMEOUT: Duration = Duration::from_secs(600);

/// Where the executor reports progress (a spinner on a TTY, lines in CI).
pub trait Progress: Sync {
    /// A step starts.
    fn started(&self, step: &Step);
    /// A step ended.
    fn finished(&self, result: &StepResult);
    /// Instances are being waited for.
    fn waiting(&self, pending: usize, state: &str, elapsed: Duration);
    /// Something else is being waited for (said again while it lasts).
    fn note(&self, _text: &str) {}
}

struct Run<'a> {
    ec2: &'a Ec2,
    progress: &'a dyn Progress,
    /// Ids of resources created in this run.
    created: Mutex<BTreeMap<ResourceId, String>>,
    /// Availability zone of each instance (live ones, then new ones).
    zones: Mutex<BTreeMap<String, String>>,
    /// Instances known to be running.
    running: Mutex<BTreeSet<String>>,
    /// Snapshots taken, by the index of the step that deleted the volume.
    kept: Mutex<BTreeMap<usize, String>>,
    /// Instances waited for until they run, polled together.
    watch: Watch,
    /// Whether a step deletes a volume after a snapshot.
    takes_snapshots: bool,
    /// The stack's snapshots by volume (one paged read for every volume the
    /// apply deletes, started with the apply: a snapshot an interrupted run
    /// took is found, not taken twice).
    /// With what that read awaited (see `trace`): a step that uses it
    /// waited for it.
    snapshots: tokio::sync::OnceCell<(Result<SnapshotsByVolume, Ec2Error>, trace::Frontier)>,
    stack: String,
}

/// The instances that steps wait for until they run. Whichever step waits
/// while nobody polls becomes the poller: one `DescribeInstances` per poll
/// (per 1,000 ids) for every instance waited for, never one per instance.
#[derive(Default)]
struct Watch {
    state: Mutex<WatchState>,
    changed: tokio::sync::Notify,
}

/// Ends a step's turn as the poller of a [`Watch`] when dropped.
struct Handover<'w>(&'w Watch);

impl Drop for Handover<'_> {
    fn drop(&mut self) {
        if let Ok(mut st) = self.0.state.lock() {
            st.polling = false;
        }
        self.0.changed.notify_waiters();
    }
}

#[derive(Default)]
struct WatchState {
    /// Instances waited for, with when the first wait for each began.
    wanted: BTreeMap<String, Instant>,
    /// Instances that will not run, with why.
    failed: BTreeMap<String, Ec2Error>,
    polling: bool,
    /// When tracing: what the poll that settled each instance awaited (a
    /// waiter waited for that poll).
    settled_after: BTreeMap<String, trace::Frontier>,
}

/// The most instances one `TerminateInstances` call names.
const TERMINATE_BATCH: usize = 1000;

/// Executes `steps` in dependency order and reports each one.
pub async fn execute(
    ec2: &Ec2,
    stack: &str,
    live: &Live,
    steps: Vec<Step>,
    progress: &dyn Progress,
) -> Vec<StepResult> {
    let run = Run::new(ec2, stack, live, &steps, progress);
    // The snapshot read goes with the first steps, not before them.
    let (_, results) = tokio::join!(
        trace::branch(run.read_snapshots()),
        trace::branch(run.drive(&steps))
    );
    results
}

impl Run<'_> {
    /// Runs every step, as many at once as are ready (up to CONCURRENCY).
    async fn drive(&self, steps: &[Step]) -> Vec<StepResult> {
        let run = self;
        let progress = self.progress;
        let mut results: BTreeMap<usize, StepResult> = BTreeMap::new();
        let mut schedule = Schedule::new(steps);
        let position: HashMap<usize, usize> = steps
            .iter()
            .enumerate()
            .map(|(p, s)| (s.index, p))
            .collect();
        // Why each barrier that was skipped did not pass: the resources that
        // did not succeed before it, for the steps it skips in turn.
        let mut barrier_failed: HashMap<usize, Vec<String>> = HashMap::new();
        // What each settled step awaited, by index: a step's calls are traced
        // as sent after its needs' (see `trace`), not after whatever ended
        // before it.
        let base = trace::current();
        let mut awaited: HashMap<usize, trace::Frontier> = HashMap::new();
        let after = |step: &Step, awaited: &HashMap<usize, trace::Frontier>| {
            let mut after = trace::Frontier::default();
            for n in &step.needs {
                if let Some(f) = awaited.get(n) {
                    after.join(f);
                }
            }
            // A need started after `base`: what it awaited stands for it.
            if after.calls().is_empty() {
                after = base.clone();
            }
            after
        };
        // At most CONCURRENCY operations run at once; a new one starts as one
        // ends. Terminations that are ready together are one operation.
        let mut running: Vec<StepFuture<'_>> = Vec::new();
        loop {
            let mut terminations = Vec::new();
            while running.len() < CONCURRENCY {
                match schedule.take_ready() {
                    None => break,
                    Some(Ready::Skip { position, failed }) => {
                        let mut names: Vec<String> = Vec::new();
                        for n in failed {
                            let failed_names = match barrier_failed.get(&n) {
                                Some(names) => names.clone(),
                                None => vec![steps[n].resource.to_string()],
                            };
                            for name in failed_names {
                                if !names.contains(&name) {
                                    names.push(name);
                                }
                            }
                        }
                        schedule.settle(position, false);
                        awaited.insert(steps[position].index, after(&steps[position], &awaited));
                        if steps[position].op == Op::Barrier {
                            barrier_failed.insert(position, names);
                            continue;
                        }
                        let r = StepResult {
                            step: steps[position].clone(),
                            outcome: Outcome::Skipped(format!(
                                "{} did not succeed",
                                names.join(", ")
                            )),
                            elapsed: Duration::ZERO,
                            kept: None,
                        };
                        progress.finished(&r);
                        results.insert(r.step.index, r);
                    }
                    Some(Ready::Start(p)) => match &steps[p].op {
                        Op::Barrier => {
                            awaited.insert(steps[p].index, after(&steps[p], &awaited));
                            schedule.settle(p, true);
                        }
                        Op::TerminateInstance { .. } => terminations.push(steps[p].clone()),
                        _ => running.push(run.start(steps[p].clone(), after(&steps[p], &awaited))),
                    },
                }
            }
            for batch in terminations.chunks(TERMINATE_BATCH) {
                let mut batch_after = trace::Frontier::default();
                for s in batch {
                    batch_after.join(&after(s, &awaited));
                }
                running.push(run.terminate_batch(batch.to_vec(), batch_after));
            }
            if schedule.is_finished() {
                break;
            }
            match next(&mut running).await {
                Some((ended, ended_after)) => {
                    for r in ended {
                        awaited.insert(r.step.index, ended_after.clone());
                        progress.finished(&r);
                        schedule.settle(
                            position[&r.step.index],
                            matches!(r.outcome, Outcome::Done(_)),
                        );
                        results.insert(r.step.index, r);
                    }
                }
                None => {
                    // Nothing running and nothing ready: only a cycle could do
                    // this, and steps are built acyclic (needs point backwards).
                    break;
                }
            }
        }
        // What comes after the steps comes after all of them.
        for f in awaited.values() {
            trace::merge(f);
        }
        trace::part(
            "wait for every launch to run",
            run.wait_for_launches(&mut results),
        )
        .await;
        results.into_values().collect()
    }
}

/// An operation: its steps' results and what it awaited (see `trace`).
type StepFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = (Vec<StepResult>, trace::Frontier)> + 'a>>;

/// Polls the running futures and returns the results of the first that
/// finishes.
async fn next(running: &mut Vec<StepFuture<'_>>) -> Option<(Vec<StepResult>, trace::Frontier)> {
    if running.is_empty() {
        return None;
    }
    std::future::poll_fn(|cx| {
        for i in 0..running.len() {
            if let std::task::Poll::Ready(r) = running[i].as_mut().poll(cx) {
                drop(running.swap_remove(i));
                return std::task::Poll::Ready(Some(r));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

fn tag_spec(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags.iter().map(|(k, v)| tag(k, v)).collect()))
        .build()
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

impl<'a> Run<'a> {
    /// The state of a run. What the steps need of EC2 is what the plan read
    /// under the lease (`live`): an instance, volume or address an
    /// interrupted run made is in it (each is tagged as it is made), so the
    /// plan does not make it again; EC2's client tokens cover the moment in
    /// which a new one may not be listed yet.
    fn new(
        ec2: &'a Ec2,
        stack: &str,
        live: &Live,
        steps: &[Step],
        progress: &'a dyn Progress,
    ) -> Self {
        let zones = live
            .instances
            .iter()
            .filter_map(|i| Some((i.id.clone(), i.availability_zone.clone()?)))
            .collect();
        let running_now = live
            .instances
            .iter()
            .filter(|i| i.state == "running")
            .map(|i| i.id.clone())
            .collect();
        let takes_snapshots = steps.iter().any(|s| {
            matches!(
                s.op,
                Op::DeleteVolume {
                    snapshot: Some(_),
                    ..
                }
            )
        });
        Run {
            ec2,
            progress,
            created: Mutex::new(BTreeMap::new()),
            zones: Mutex::new(zones),
            running: Mutex::new(running_now),
            kept: Mutex::new(BTreeMap::new()),
            watch: Watch::default(),
            takes_snapshots,
            snapshots: tokio::sync::OnceCell::new(),
            stack: stack.to_string(),
        }
    }

    /// The stack's snapshots by volume, read once (when a step deletes a
    /// volume after a snapshot).
    async fn read_snapshots(&self) -> Option<&Result<SnapshotsByVolume, Ec2Error>> {
        if !self.takes_snapshots {
            return None;
        }
        let (read, awaited) = self
            .snapshots
            .get_or_init(|| {
                trace::path(
                    "read of the stack's snapshots",
                    trace::current(),
                    self.ec2.snapshots_by_volume(&self.stack),
                )
            })
            .await;
        trace::merge(awaited);
        Some(read)
    }

    /// Runs one step, traced as sent after `after` (what its needs awaited).
    fn start(&'a self, step: Step, after: trace::Frontier) -> StepFuture<'a> {
        let purpose = format!("step {}: {}", step.index, step.resource);
        Box::pin(trace::path(purpose, after, async move {
            self.progress.started(&step);
            let start = Instant::now();
            let outcome = match Box::pin(self.step(&step)).await {
                Ok(text) => Outcome::Done(text),
                Err(e) => Outcome::Failed(e),
            };
            let kept = self.kept.lock().expect("kept lock").remove(&step.index);
            vec![StepResult {
                step,
                outcome,
                elapsed: start.elapsed(),
                kept,
            }]
        }))
    }

    /// Terminates instances with one `TerminateInstances` and one batched
    /// wait. When the call fails, each is terminated alone, so the report
    /// says which instance failed and why.
    fn terminate_batch(&'a self, steps: Vec<Step>, after: trace::Frontier) -> StepFuture<'a> {
        let purpose = format!("terminations of {} instance(s)", steps.len());
        Box::pin(trace::path(purpose, after, async move {
            let start = Instant::now();
            let ids: Vec<String> = steps
                .iter()
                .map(|s| match &s.op {
                    Op::TerminateInstance { instance_id } => instance_id.clone(),
                    _ => unreachable!("a termination batch holds terminations"),
                })
                .collect();
            for s in &steps {
                self.progress.started(s);
            }
            let ec2 = self.ec2;
            let c = &ec2.client;
            let batched = ec2
                .call("TerminateInstances", true, || {
                    c.terminate_instances()
                        .set_instance_ids(Some(ids.clone()))
                        .send()
                })
                .await;
            let outcomes: Vec<Result<(), Ec2Error>> = match batched {
                Ok(_) => vec![Ok(()); ids.len()],
                Err(e) if ids.len() == 1 => vec![Err(e)],
                Err(e) => {
                    tracing::warn!(error = %e, "TerminateInstances of {} instances failed; terminating each alone", ids.len());
                    let mut each = Vec::with_capacity(ids.len());
                    for id in &ids {
                        let r = ec2
                            .call("TerminateInstances", true, || {
                                c.terminate_instances().instance_ids(id).send()
                            })
                            .await;
                        each.push(r.map(|_| ()));
                    }
                    each
                }
            };
            let sent: Vec<String> = ids
                .iter()
                .zip(&outcomes)
                .filter(|(_, o)| o.is_ok())
                .map(|(id, _)| id.clone())
                .collect();
            let waited = if sent.is_empty() {
                Ok(())
            } else {
                ec2.wait_for(
                    &sent,
                    "terminated",
                    WAIT_TIMEOUT,
                    &self.wait_progress("terminated"),
                )
                .await
                .map(|_| ())
            };
            let elapsed = start.elapsed();
            steps
                .into_iter()
                .zip(ids)
                .zip(outcomes)
                .map(|((step, id), sent)| {
                    let outcome = match (sent, &waited) {
                        (Err(e), _) => Outcome::Failed(e),
                        (Ok(()), Err(e)) => Outcome::Failed(e.clone()),
                        (Ok(()), Ok(())) => Outcome::Done(format!("terminated {id}")),
                    };
                    StepResult {
                        step,
                        outcome,
                        elapsed,
                        kept: None,
                    }
                })
                .collect()
        }))
    }
}

impl Run<'_> {
    /// One batched wait for every instance launched in this run; a launch
    /// that never runs turns its step into a failure.
    async fn wait_for_launches(&self, results: &mut BTreeMap<usize, StepResult>) {
        let launched: Vec<(usize, String)> = results
            .values()
            .filter(|r| {
                matches!(r.step.op, Op::RunInstance(_)) && matches!(r.outcome, Outcome::Done(_))
            })
            .filter_map(|r| {
                let id = self
                    .created
                    .lock()
                    .expect("created lock")
                    .get(&r.step.resource)
                    .cloned()?;
                (!self.running.lock().expect("running lock").contains(&id))
                    .then_some((r.step.index, id))
            })
            .collect();
        if launched.is_empty() {
            return;
        }
        let ids: Vec<String> = launched.iter().map(|(_, id)| id.clone()).collect();
        match self
            .ec2
            .wait_for(
                &ids,
                "running",
                WAIT_TIMEOUT,
                &self.wait_progress("running"),
            )
            .await
        {
            Ok(facts) => {
                for (index, id) in launched {
                    if let (Some(r), Some(ip)) = (
                        results.get_mut(&index),
                        facts.get(&id).and_then(|f| f.public_ip.clone()),
                    ) && let Outcome::Done(text) = &mut r.outcome
                    {
                        text.push_str(&format!(", running, public IP {ip}"));
                    }
                }
            }
            Err(e) => {
                for (index, _) in launched {
                    if let Some(r) = results.get_mut(&index) {
                        r.outcome = Outcome::Failed(e.clone());
                    }
                }
            }
        }
    }

    fn resolve(&self, r: &Ref) -> Result<String, Ec2Error> {
        match r {
            Ref::Existing(id) => Ok(id.clone()),
            Ref::New(id) => self
                .created
                .lock()
                .expect("created lock")
                .get(id)
                .cloned()
                .ok_or_else(|| Ec2Error {
                    action: "resolve",
                    code: "Internal".into(),
                    message: format!("{id} was not created in this run"),
                }),
        }
    }

    fn record(&self, id: &ResourceId, ec2_id: &str) {
        self.created
            .lock()
            .expect("created lock")
            .insert(id.clone(), ec2_id.to_string());
    }

    fn wait_progress(&self, state: &'static str) -> impl Fn(usize, Duration) + Sync + '_ {
        move |n, t| self.progress.waiting(n, state, t)
    }

    async fn step(&self, step: &Step) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        match &step.op {
            Op::ImportKeyPair {
                key_name,
                public_key,
                tags,
            } => self.import_key_pair(step, key_name, public_key, tags).await,
            Op::Rename {
                ec2_id,
                tags,
                root_volume,
            } => self.rename(ec2_id, tags, root_volume.as_ref()).await,
            Op::HealthGate {
                instances,
                health,
                timeout_secs,
            } => {
                self.health_gate(instances, *health, Duration::from_secs(*timeout_secs))
                    .await
            }
            Op::StopInstance { instance_id } => self.stop_replaced(instance_id).await,
            Op::DeleteKeyPair {
                key_pair_id,
                key_name,
            } => {
                ec2.call("DeleteKeyPair", false, || {
                    c.delete_key_pair().key_name(key_name).send()
                })
                .await?;
                Ok(format!("deleted key pair {key_pair_id}"))
            }
            Op::CreateGroup {
                group_name,
                description,
                vpc_id,
                tags,
            } => {
                self.create_group(step, group_name, description, vpc_id, tags)
                    .await
            }
            Op::SetRules {
                group,
                authorize_ingress,
                revoke_ingress,
                authorize_egress,
                revoke_egress,
            } => {
                self.apply_rules(
                    group,
                    authorize_ingress,
                    revoke_ingress,
                    authorize_egress,
                    revoke_egress,
                )
                .await
            }
            Op::DeleteGroup { group_id } => self.delete_group(group_id).await,
            Op::RunInstance(launch) => self.run_instance(step, launch).await,
            Op::UpdateInstance {
                instance_id,
                update,
            } => self.update_instance(instance_id, update).await,
            Op::TerminateInstance { .. } | Op::Barrier => {
                unreachable!("execute runs barriers and terminations itself")
            }
            Op::CreateVolume { .. } => self.create_volume(step).await,
            Op::UpdateVolume {
                volume_id,
                modify,
                detach,
                attach,
                deletes_data,
            } => {
                let mut did = self
                    .update_volume(volume_id, modify, detach, attach)
                    .await?;
                if let Some(delete) = deletes_data {
                    self.set_on_destroy(volume_id, *delete).await?;
                    did.push(format!(
                        "on_destroy {}",
                        if *delete { "delete" } else { "snapshot" }
                    ));
                }
                Ok(format!("{volume_id}: {}", did.join(", ")))
            }
            Op::DeleteVolume {
                volume_id,
                detach,
                snapshot,
                deleted_with,
            } => {
                let (text, kept) = self
                    .delete_volume(volume_id, detach, snapshot, deleted_with.as_deref())
                    .await?;
                if let Some(snap) = kept {
                    self.kept
                        .lock()
                        .expect("kept lock")
                        .insert(step.index, snap);
                }
                Ok(text)
            }
            Op::AllocateAddress { tags } => {
                // One an interrupted run allocated is in the plan's read (it
                // is tagged as it is made): the plan associates it instead.
                let (allocation_id, ip) = self.allocate(&step.resource, tags).await?;
                self.record(&step.resource, &allocation_id);
                Ok(format!("allocated {ip} ({allocation_id})"))
            }
            Op::AssociateAddress {
                allocation,
                instance,
            } => {
                let allocation_id = self.resolve(allocation)?;
                let instance_id = self.resolve(instance)?;
                self.associate(&allocation_id, &instance_id).await?;
                Ok(format!("associated {allocation_id} with {instance_id}"))
            }
            Op::ReleaseAddress {
                allocation_id,
                association_id,
            } => self.release_address(allocation_id, association_id).await,
        }
    }
    /// Takes the snapshot (when one is wanted), detaches the volume (when
    /// attached) and deletes it; one already gone is fine. A volume EC2
    /// deletes with its instance (`deleted_with`) only gets the snapshot.
    async fn delete_volume(
        &self,
        volume_id: &str,
        detach: &Option<(String, String)>,
        snapshot: &Option<BTreeMap<String, String>>,
        deleted_with: Option<&str>,
    ) -> Result<(String, Option<String>), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let kept = match snapshot {
            Some(tags) => Some(self.snapshot(volume_id, tags).await?),
            None => None,
        };
        if let Some(instance) = deleted_with {
            let text = match &kept {
                Some(snap) => {
                    format!("snapshot {snap} completed; EC2 deletes {volume_id} with {instance}")
                }
                None => format!("deleted {volume_id} with {instance}"),
            };
            return Ok((text, kept));
        }
        if let Some((instance_id, device)) = detach {
            self.detach(volume_id, instance_id, device).await?;
        }
        match ec2
            .call("DeleteVolume", false, || {
                c.delete_volume().volume_id(volume_id).send()
            })
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let text = match &kept {
            Some(snap) => format!("snapshot {snap} completed, then deleted {volume_id}"),
            None => format!("deleted {volume_id}"),
        };
        Ok((text, kept))
    }

    /// Takes a snapshot of a volume about to be deleted — or finds the one
    /// an interrupted run took (CreateSnapshot has no client token) — and
    /// waits until it is completed. Its id.
    async fn snapshot(
        &self,
        volume_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let existing = match self.read_snapshots().await {
            Some(Ok(by_volume)) => by_volume.get(volume_id).and_then(|found| {
                found
                    .iter()
                    .find(|(name, _)| Some(name) == tags.get(model::NAME_TAG))
                    .map(|(_, id)| id.clone())
            }),
            Some(Err(e)) => return Err(e.clone()),
            None => unreachable!("snapshots are read when a volume is deleted with one"),
        };
        let snapshot_id = match existing {
            Some(id) => id,
            None => {
                let mut tags = tags.clone();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                tags.insert(model::DATE_TAG.into(), model::utc_date(now));
                let out = ec2
                    .call("CreateSnapshot", false, || {
                        c.create_snapshot()
                            .volume_id(volume_id)
                            .description(format!(
                                "ec2-gitops: {} before deleting {volume_id}",
                                tags.get(model::NAME_TAG).map_or("", String::as_str)
                            ))
                            .tag_specifications(tag_spec(ResourceType::Snapshot, &tags))
                            .send()
                    })
                    .await?;
                out.snapshot_id().unwrap_or_default().to_string()
            }
        };
        self.wait_snapshot(&snapshot_id, volume_id).await?;
        Ok(snapshot_id)
    }

    /// Polls a snapshot until it is completed, with a progress line.
    async fn wait_snapshot(&self, snapshot_id: &str, volume_id: &str) -> Result<(), Ec2Error> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            let out = trace::polling(self.ec2.call("DescribeSnapshots", true, || {
                self.ec2
                    .client
                    .describe_snapshots()
                    .snapshot_ids(snapshot_id)
                    .send()
            }))
            .await?;
            let snap = out.snapshots().first();
            let state = snap.and_then(|s| s.state()).cloned();
            let progress = snap.and_then(|s| s.progress()).unwrap_or("0%");
            match state {
                Some(SnapshotState::Completed) => return Ok(()),
                Some(SnapshotState::Error) => {
                    return Err(Ec2Error {
                        action: "CreateSnapshot",
                        code: "SnapshotFailed".into(),
                        message: format!(
                            "snapshot {snapshot_id} of {volume_id} failed ({}); the volume was not deleted",
                            snap.and_then(|s| s.state_message()).unwrap_or("no message")
                        ),
                    });
                }
                _ => {}
            }
            self.progress.note(&format!(
                "snapshot {snapshot_id} of {volume_id}: {progress}"
            ));
            if start.elapsed() > SNAPSHOT_TIMEOUT {
                return Err(Ec2Error {
                    action: "DescribeSnapshots",
                    code: "WaitTimeout".into(),
                    message: format!(
                        "snapshot {snapshot_id} of {volume_id} is at {progress} after {} min; the volume was not deleted. Run the apply again to keep waiting",
                        SNAPSHOT_TIMEOUT.as_secs() / 60
                    ),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(15));
        }
    }

    /// Disassociates an address (when associated) and releases it.
    async fn release_address(
        &self,
        allocation_id: &str,
        association_id: &Option<String>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        if let Some(assoc) = association_id {
            match ec2
                .call("DisassociateAddress", false, || {
                    c.disassociate_address().association_id(assoc).send()
                })
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        ec2.call("ReleaseAddress", false, || {
            c.release_address().allocation_id(allocation_id).send()
        })
        .await?;
        Ok(format!("released {allocation_id}"))
    }

    /// Authorizes and revokes the rules of one group.
    async fn apply_rules(
        &self,
        group: &Ref,
        authorize_ingress: &[RuleRef],
        revoke_ingress: &[RuleRef],
        authorize_egress: &[RuleRef],
        revoke_egress: &[RuleRef],
    ) -> Result<String, Ec2Error> {
        let group_id = self.resolve(group)?;
        self.set_rules(
            &group_id,
            authorize_ingress,
            revoke_ingress,
            authorize_egress,
            revoke_egress,
        )
        .await?;
        Ok(format!(
            "{group_id}: {} rule(s) authorized, {} revoked",
            authorize_ingress.len() + authorize_egress.len(),
            revoke_ingress.len() + revoke_egress.len()
        ))
    }

    /// Waits until every instance of a batch is healthy: one
    /// `DescribeInstanceStatus` per poll for the whole batch. Past `timeout`,
    /// fails naming each unhealthy instance and its statuses.
    async fn health_gate(
        &self,
        instances: &[(String, Ref)],
        health: model::Health,
        timeout: Duration,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let ids: Vec<(String, String)> = instances
            .iter()
            .map(|(name, r)| Ok((name.clone(), self.resolve(r)?)))
            .collect::<Result<_, Ec2Error>>()?;
        let start = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            let out = trace::polling(ec2.call("DescribeInstanceStatus", true, || {
                c.describe_instance_status()
                    .set_instance_ids(Some(ids.iter().map(|(_, i)| i.clone()).collect()))
                    .include_all_instances(true)
                    .send()
            }))
            .await?;
            let status: BTreeMap<&str, (String, String, String)> = out
                .instance_statuses()
                .iter()
                .filter_map(|s| {
                    let word = |d: Option<&aws_sdk_ec2::types::InstanceStatusSummary>| {
                        d.and_then(|d| d.status())
                            .map_or("unknown", |s| s.as_str())
                            .to_string()
                    };
                    Some((
                        s.instance_id()?,
                        (
                            s.instance_state()
                                .and_then(|x| x.name())
                                .map_or("unknown", |n| n.as_str())
                                .to_string(),
                            word(s.instance_status()),
                            word(s.system_status()),
                        ),
                    ))
                })
                .collect();
            let unhealthy: Vec<String> = ids
                .iter()
                .filter_map(|(name, id)| {
                    let (state, inst, sys) = status.get(id.as_str()).cloned().unwrap_or((
                        "unknown".into(),
                        "unknown".into(),
                        "unknown".into(),
                    ));
                    let ok = state == "running"
                        && (health == model::Health::Running || (inst == "ok" && sys == "ok"));
                    (!ok).then(|| {
                        format!(
                            "instance.{name} ({id}): state {state}, instance status {inst}, system status {sys}"
                        )
                    })
                })
                .collect();
            if unhealthy.is_empty() {
                let names: Vec<&str> = ids.iter().map(|(n, _)| n.as_str()).collect();
                return Ok(format!(
                    "healthy ({}): {}",
                    health.as_str(),
                    names.join(", ")
                ));
            }
            if start.elapsed() >= timeout {
                return Err(Ec2Error {
                    action: "DescribeInstanceStatus",
                    code: "HealthGate".into(),
                    message: format!(
                        "not healthy ({}) after {}s: {}. The rollout stopped: later batches were left as they are; fix the instance and run apply again",
                        health.as_str(),
                        timeout.as_secs(),
                        unhealthy.join("; ")
                    ),
                });
            }
            self.progress
                .waiting(unhealthy.len(), "healthy", start.elapsed());
            tokio::time::sleep(delay.min(timeout.saturating_sub(start.elapsed()))).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    /// Stops an instance being replaced (its replacement is healthy), so its
    /// volumes are detached from a stopped instance.
    async fn stop_replaced(&self, instance_id: &str) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        ec2.call("StopInstances", true, || {
            c.stop_instances().instance_ids(instance_id).send()
        })
        .await?;
        ec2.wait_for(
            &[instance_id.to_string()],
            "stopped",
            WAIT_TIMEOUT,
            &self.wait_progress("stopped"),
        )
        .await?;
        self.running
            .lock()
            .expect("running lock")
            .remove(instance_id);
        Ok(format!("stopped {instance_id} so its volumes move cleanly"))
    }

    /// Renames a resource: its identity tags, then its root volume's.
    async fn rename(
        &self,
        ec2_id: &str,
        tags: &BTreeMap<String, String>,
        root_volume: Option<&(String, BTreeMap<String, String>)>,
    ) -> Result<String, Ec2Error> {
        self.set_tags(ec2_id, tags).await?;
        if let Some((volume_id, tags)) = root_volume {
            self.set_tags(volume_id, tags).await?;
        }
        Ok(format!(
            "renamed {ec2_id} to {}",
            tags.get(model::NAME_TAG).map_or("", String::as_str)
        ))
    }

    /// Sets tags on one resource (one `CreateTags`; setting a tag twice is
    /// harmless, so a retried call is too).
    async fn set_tags(&self, id: &str, tags: &BTreeMap<String, String>) -> Result<(), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        ec2.call("CreateTags", true, || {
            c.create_tags()
                .resources(id)
                .set_tags(Some(tags.iter().map(|(k, v)| tag(k, v)).collect()))
                .send()
        })
        .await?;
        Ok(())
    }

    /// Terminates an instance and waits until it is terminated.
    /// Imports a public key; a key of that name owned by the stack (an interrupted run) is adopted, anyone else's refused.
    async fn import_key_pair(
        &self,
        step: &Step,
        key_name: &str,
        public_key: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let res = ec2
            .call("ImportKeyPair", false, || {
                c.import_key_pair()
                    .key_name(key_name)
                    .public_key_material(Blob::new(public_key.as_bytes()))
                    .tag_specifications(tag_spec(ResourceType::KeyPair, tags))
                    .send()
            })
            .await;
        let id = match res {
            Ok(out) => out.key_pair_id().unwrap_or_default().to_string(),
            // A key of that name exists: ours from an interrupted run
            // (adopt it) or someone else's (refuse to touch it).
            Err(e) if e.code == "InvalidKeyPair.Duplicate" => {
                let out = ec2
                    .call("DescribeKeyPairs", false, || {
                        c.describe_key_pairs().key_names(key_name).send()
                    })
                    .await?;
                let k = out.key_pairs().first();
                let owned = k.is_some_and(|k| {
                    k.tags().iter().any(|t| {
                        t.key() == Some(model::STACK_TAG) && t.value() == Some(&self.stack)
                    })
                });
                if !owned {
                    return Err(Ec2Error {
                        message: format!(
                            "a key pair named {key_name} exists and is not owned by stack {}; rename the key pair in the YAML or import it",
                            self.stack
                        ),
                        ..e
                    });
                }
                k.and_then(|k| k.key_pair_id())
                    .unwrap_or_default()
                    .to_string()
            }
            Err(e) => return Err(e),
        };
        self.record(&step.resource, &id);
        Ok(format!("imported key pair {key_name} ({id})"))
    }

    /// Creates a security group; one of that name owned by the stack (an interrupted run) is adopted, anyone else's refused.
    async fn create_group(
        &self,
        step: &Step,
        group_name: &str,
        description: &str,
        vpc_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let res = ec2
            .call("CreateSecurityGroup", false, || {
                c.create_security_group()
                    .group_name(group_name)
                    .description(description)
                    .vpc_id(vpc_id)
                    .tag_specifications(tag_spec(ResourceType::SecurityGroup, tags))
                    .send()
            })
            .await;
        let id = match res {
            Ok(out) => out.group_id().unwrap_or_default().to_string(),
            Err(e) if e.code == "InvalidGroup.Duplicate" => {
                let out = ec2
                    .call("DescribeSecurityGroups", false, || {
                        c.describe_security_groups()
                            .filters(filter("group-name", [group_name]))
                            .filters(filter("vpc-id", [vpc_id]))
                            .filters(filter(
                                &format!("tag:{}", model::STACK_TAG),
                                [self.stack.as_str()],
                            ))
                            .send()
                    })
                    .await?;
                match out.security_groups().first().and_then(|g| g.group_id()) {
                    Some(id) => id.to_string(),
                    None => {
                        return Err(Ec2Error {
                            message: format!(
                                "a security group named {group_name} exists in {vpc_id} and is not owned by stack {}",
                                self.stack
                            ),
                            ..e
                        });
                    }
                }
            }
            Err(e) => return Err(e),
        };
        self.record(&step.resource, &id);
        Ok(format!("created security group {group_name} ({id})"))
    }

    /// Deletes a security group, waiting out the ENIs of just-terminated instances.
    async fn delete_group(&self, group_id: &str) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        // ENIs of just-terminated instances keep a group in use for a
        // while: DependencyViolation is retried for a bounded time.
        let mut delay = Duration::from_secs(1);
        let start = Instant::now();
        loop {
            match ec2
                .call("DeleteSecurityGroup", true, || {
                    c.delete_security_group().group_id(group_id).send()
                })
                .await
            {
                Ok(_) => break,
                Err(e) if e.is_not_found() => break,
                Err(e)
                    if e.code == "DependencyViolation"
                        && start.elapsed() < Duration::from_secs(120) =>
                {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(15));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(format!("deleted security group {group_id}"))
    }

    /// Creates a data volume in its instance's zone and attaches it.
    async fn create_volume(&self, step: &Step) -> Result<String, Ec2Error> {
        let Op::CreateVolume {
            instance,
            device,
            size_gb,
            volume_type,
            tags,
            client_token,
        } = &step.op
        else {
            unreachable!("create_volume runs CreateVolume steps")
        };
        let size_gb = *size_gb;
        let ec2 = self.ec2;
        let c = &ec2.client;
        let instance_id = self.resolve(instance)?;
        // Made while the instance starts; attached once it runs.
        let zone = self.zone_of(&instance_id).await?;
        let out = ec2
            .call("CreateVolume", false, || {
                c.create_volume()
                    .availability_zone(&zone)
                    .size(size_gb)
                    .volume_type(VolumeType::from(volume_type.as_str()))
                    .client_token(client_token)
                    .tag_specifications(tag_spec(ResourceType::Volume, tags))
                    .send()
            })
            .await?;
        let volume_id = out.volume_id().unwrap_or_default().to_string();
        self.record(&step.resource, &volume_id);
        // Both waited for at once: attached as soon as both are ready.
        let (available, running) = tokio::join!(
            trace::branch(self.wait_volume(&volume_id, "available")),
            trace::branch(self.ensure_running(&instance_id))
        );
        available?;
        running?;
        self.attach(&volume_id, &instance_id, device).await?;
        Ok(format!(
            "created {volume_id} ({size_gb} GiB {volume_type}) attached to {instance_id} at {device}"
        ))
    }

    /// Modifies a volume, then moves it (detach, attach) when its attachment changes.
    async fn update_volume(
        &self,
        volume_id: &str,
        modify: &Option<(i32, String)>,
        detach: &Option<(String, String)>,
        attach: &Option<(Ref, String)>,
    ) -> Result<Vec<String>, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut did = vec![];
        if let Some((size, kind)) = modify {
            ec2.call("ModifyVolume", true, || {
                c.modify_volume()
                    .volume_id(volume_id)
                    .size(*size)
                    .volume_type(VolumeType::from(kind.as_str()))
                    .send()
            })
            .await?;
            did.push(format!("modified to {size} GiB {kind}"));
        }
        if let Some((instance_id, device)) = detach {
            self.detach(volume_id, instance_id, device).await?;
            did.push(format!("detached from {instance_id}"));
        }
        if let Some((instance, device)) = attach {
            let instance_id = self.resolve(instance)?;
            self.attach(volume_id, &instance_id, device).await?;
            did.push(format!("attached to {instance_id} at {device}"));
        }
        Ok(did)
    }

    /// Sets or removes a volume's `on_destroy: delete` tag.
    async fn set_on_destroy(&self, volume_id: &str, delete: bool) -> Result<(), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        if delete {
            let tags = BTreeMap::from([(model::ON_DESTROY_TAG.to_string(), "delete".to_string())]);
            return self.set_tags(volume_id, &tags).await;
        }
        ec2.call("DeleteTags", true, || {
            c.delete_tags()
                .resources(volume_id)
                .tags(Tag::builder().key(model::ON_DESTROY_TAG).build())
                .send()
        })
        .await?;
        Ok(())
    }

    /// AllocateAddress takes no client token, so a call whose answer was
    /// lost must not simply be sent again (that makes a second address):
    /// the SDK does not retry it; after a failure that may have allocated,
    /// the address is looked up by its tags (set at allocation) first.
    async fn allocate(
        &self,
        id: &ResourceId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(String, String), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut delay = Duration::from_millis(500);
        for attempt in 1.. {
            let sent = ec2
                .call("AllocateAddress", false, || {
                    c.allocate_address()
                        .domain(DomainType::Vpc)
                        .tag_specifications(tag_spec(ResourceType::ElasticIp, tags))
                        .customize()
                        .config_override(
                            aws_sdk_ec2::config::Config::builder()
                                .retry_config(aws_config::retry::RetryConfig::disabled()),
                        )
                        .send()
                })
                .await;
            let err = match sent {
                Ok(out) => {
                    return Ok((
                        out.allocation_id().unwrap_or_default().to_string(),
                        out.public_ip().unwrap_or_default().to_string(),
                    ));
                }
                Err(e) if e.is_transient() && attempt < 8 => e,
                Err(e) => return Err(e),
            };
            tracing::warn!(error = %err, attempt, "AllocateAddress failed; looking for an address it may have made");
            // Tags are set with the allocation: if it happened, the address
            // shows up under them (given a moment to propagate).
            for _ in 0..3 {
                tokio::time::sleep(delay).await;
                if let Some(found) = self.find_tagged_address(id).await? {
                    return Ok(found);
                }
            }
            delay = (delay * 2).min(Duration::from_secs(8));
        }
        unreachable!("the loop returns")
    }

    /// Attaches a volume. An attachment that is already there (a retried
    /// call whose first answer was lost gets `VolumeInUse`) is success.
    async fn attach(
        &self,
        volume_id: &str,
        instance_id: &str,
        device: &str,
    ) -> Result<(), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        self.ensure_running(instance_id).await?;
        let sent = ec2
            .call("AttachVolume", true, || {
                c.attach_volume()
                    .volume_id(volume_id)
                    .instance_id(instance_id)
                    .device(device)
                    .send()
            })
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.code == "VolumeInUse" || e.code == "IncorrectState" => {
                let out = ec2
                    .call("DescribeVolumes", false, || {
                        c.describe_volumes().volume_ids(volume_id).send()
                    })
                    .await?;
                let attached_here =
                    out.volumes().iter().flat_map(|v| v.attachments()).any(|a| {
                        a.instance_id() == Some(instance_id) && a.device() == Some(device)
                    });
                if attached_here { Ok(()) } else { Err(e) }
            }
            Err(e) => Err(e),
        }
    }

    async fn associate(&self, allocation_id: &str, instance_id: &str) -> Result<(), Ec2Error> {
        self.ensure_running(instance_id).await?;
        self.ec2
            .call("AssociateAddress", true, || {
                self.ec2
                    .client
                    .associate_address()
                    .allocation_id(allocation_id)
                    .instance_id(instance_id)
                    .allow_reassociation(true)
                    .send()
            })
            .await?;
        Ok(())
    }

    async fn detach(
        &self,
        volume_id: &str,
        instance_id: &str,
        device: &str,
    ) -> Result<(), Ec2Error> {
        // Instance and device are passed: EC2 needs only the volume, but
        // naming the attachment makes a stale plan fail instead of detaching
        // something else.
        match self
            .ec2
            .call("DetachVolume", false, || {
                self.ec2
                    .client
                    .detach_volume()
                    .volume_id(volume_id)
                    .instance_id(instance_id)
                    .device(device)
                    .send()
            })
            .await
        {
            Ok(_) => {}
            Err(e) if e.code == "IncorrectState" || e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        self.wait_volume(volume_id, "available").await
    }

    async fn wait_volume(&self, volume_id: &str, state: &str) -> Result<(), Ec2Error> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            let out = trace::polling(self.ec2.call("DescribeVolumes", true, || {
                self.ec2
                    .client
                    .describe_volumes()
                    .volume_ids(volume_id)
                    .send()
            }))
            .await?;
            let now = out
                .volumes()
                .first()
                .and_then(|v| v.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            if now == state {
                return Ok(());
            }
            if start.elapsed() > WAIT_TIMEOUT {
                return Err(Ec2Error {
                    action: "DescribeVolumes",
                    code: "WaitTimeout".into(),
                    message: format!("volume {volume_id} is {now}, not {state}"),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// The stack's tag filters that find one resource by its name.
    fn identity_filters(&self, id: &ResourceId) -> [Filter; 2] {
        [
            filter(&format!("tag:{}", model::STACK_TAG), [self.stack.as_str()]),
            filter(&format!("tag:{}", model::NAME_TAG), [id.tag_value()]),
        ]
    }

    /// An elastic IP of the stack with this name: (allocation id, address).
    async fn find_tagged_address(
        &self,
        id: &ResourceId,
    ) -> Result<Option<(String, String)>, Ec2Error> {
        let out = self
            .ec2
            .call("DescribeAddresses", false, || {
                self.ec2
                    .client
                    .describe_addresses()
                    .set_filters(Some(self.identity_filters(id).to_vec()))
                    .send()
            })
            .await?;
        Ok(out.addresses().first().map(|a| {
            (
                a.allocation_id().unwrap_or_default().to_string(),
                a.public_ip().unwrap_or_default().to_string(),
            )
        }))
    }

    /// The zone of an instance: known from its launch or the plan's read,
    /// else read when it runs.
    async fn zone_of(&self, instance_id: &str) -> Result<String, Ec2Error> {
        let known = || {
            self.zones
                .lock()
                .expect("zones lock")
                .get(instance_id)
                .cloned()
        };
        if let Some(z) = known() {
            return Ok(z);
        }
        self.ensure_running(instance_id).await?;
        Ok(known().unwrap_or_default())
    }

    async fn set_rules(
        &self,
        group_id: &str,
        authorize_ingress: &[RuleRef],
        revoke_ingress: &[RuleRef],
        authorize_egress: &[RuleRef],
        revoke_egress: &[RuleRef],
    ) -> Result<(), Ec2Error> {
        let c = &self.ec2.client;
        // Revoke first: an egress allow-all replaced by narrower rules must
        // not be authorized twice, and nothing is ever opened wider in between
        // than either the old or the new set.
        self.rule_call("RevokeSecurityGroupIngress", revoke_ingress, |p| {
            c.revoke_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(p))
                .send()
        })
        .await?;
        self.rule_call("RevokeSecurityGroupEgress", revoke_egress, |p| {
            c.revoke_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(p))
                .send()
        })
        .await?;
        self.rule_call("AuthorizeSecurityGroupIngress", authorize_ingress, |p| {
            c.authorize_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(p))
                .send()
        })
        .await?;
        self.rule_call("AuthorizeSecurityGroupEgress", authorize_egress, |p| {
            c.authorize_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(p))
                .send()
        })
        .await
    }

    /// One authorize or revoke call for `rules` (none when empty). A rule
    /// already there (or already gone) is what an interrupted run leaves: fine.
    async fn rule_call<T, E, R, F, Fut>(
        &self,
        action: &'static str,
        rules: &[RuleRef],
        send: F,
    ) -> Result<(), Ec2Error>
    where
        F: Fn(Vec<IpPermission>) -> Fut,
        Fut: std::future::Future<Output = Result<T, aws_sdk_ec2::error::SdkError<E, R>>>,
        E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        if rules.is_empty() {
            return Ok(());
        }
        let perms: Vec<IpPermission> = rules
            .iter()
            .map(|r| self.permission(r))
            .collect::<Result<_, _>>()?;
        match self.ec2.call(action, true, || send(perms.clone())).await {
            Err(e)
                if e.code != "InvalidPermission.NotFound"
                    && e.code != "InvalidPermission.Duplicate" =>
            {
                Err(e)
            }
            _ => Ok(()),
        }
    }

    fn permission(&self, r: &RuleRef) -> Result<IpPermission, Ec2Error> {
        let rule = &r.rule;
        let mut p = IpPermission::builder().ip_protocol(rule.protocol.ec2_name());
        if rule.protocol != model::Protocol::All {
            p = p.from_port(rule.from_port).to_port(rule.to_port);
        }
        p = match (&r.group, &rule.peer) {
            (Some(g), _) => p.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(self.resolve(g)?)
                    .build(),
            ),
            (None, Peer::Cidr4(c)) => p.ip_ranges(IpRange::builder().cidr_ip(c).build()),
            (None, Peer::Cidr6(c)) => p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build()),
            (None, Peer::Group(g) | Peer::GroupId(g)) => {
                p.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build())
            }
        };
        Ok(p.build())
    }

    async fn run_instance(&self, step: &Step, launch: &Launch) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let groups: Vec<String> = launch
            .groups
            .iter()
            .map(|g| self.resolve(g))
            .collect::<Result<_, _>>()?;
        let instance_id = {
            {
                let user_data = launch
                    .user_data
                    .as_ref()
                    .map(|u| base64::engine::general_purpose::STANDARD.encode(u));
                let mut root_tags = model::identity_tags(
                    &self.stack,
                    &ResourceId::new(model::Kind::Volume, format!("{}/root", step.resource.name)),
                );
                if launch.protect {
                    root_tags.insert(model::PROTECT_TAG.into(), "true".into());
                }
                let out = ec2
                    .call("RunInstances", false, || {
                        let mut req = c
                            .run_instances()
                            .image_id(&launch.image)
                            .instance_type(InstanceType::from(launch.instance_type.as_str()))
                            .min_count(1)
                            .max_count(1)
                            .client_token(&launch.client_token)
                            .set_subnet_id(launch.subnet.clone())
                            .set_security_group_ids(Some(groups.clone()))
                            .set_key_name(launch.key_name.clone())
                            .set_user_data(user_data.clone())
                            .disable_api_termination(launch.protect)
                            .tag_specifications(tag_spec(ResourceType::Instance, &launch.tags))
                            .tag_specifications(tag_spec(ResourceType::Volume, &root_tags));
                        if let Some((device, rv)) = &launch.root_volume {
                            req = req.block_device_mappings(
                                BlockDeviceMapping::builder()
                                    .device_name(device)
                                    .ebs(
                                        EbsBlockDevice::builder()
                                            .volume_size(rv.size_gb)
                                            .volume_type(VolumeType::from(rv.volume_type.as_str()))
                                            .delete_on_termination(true)
                                            .build(),
                                    )
                                    .build(),
                            );
                        }
                        req.send()
                    })
                    .await?;
                let i = out.instances().first();
                if let (Some(id), Some(z)) = (
                    i.and_then(|i| i.instance_id()),
                    i.and_then(|i| i.placement())
                        .and_then(|p| p.availability_zone()),
                ) {
                    self.zones
                        .lock()
                        .expect("zones lock")
                        .insert(id.to_string(), z.to_string());
                }
                i.and_then(|i| i.instance_id())
                    .unwrap_or_default()
                    .to_string()
            }
        };
        self.record(&step.resource, &instance_id);
        // Not waited for here: every launch of the run is waited for at the
        // end with one poll, and dependants wait through `ensure_running`.
        Ok(format!("launched {instance_id} ({})", launch.instance_type))
    }

    /// Waits until an instance runs (attachments and associations need it):
    /// polled with every other instance a step waits for (see [`Watch`]).
    async fn ensure_running(&self, instance_id: &str) -> Result<(), Ec2Error> {
        let is_running = || {
            self.running
                .lock()
                .expect("running lock")
                .contains(instance_id)
        };
        loop {
            let changed = self.watch.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so no news is missed in between.
            changed.as_mut().enable();
            if is_running() {
                if let Some(f) = self
                    .watch
                    .state
                    .lock()
                    .expect("watch lock")
                    .settled_after
                    .get(instance_id)
                {
                    trace::merge(f);
                }
                return Ok(());
            }
            let poller = {
                let mut st = self.watch.state.lock().expect("watch lock");
                if let Some(e) = st.failed.get(instance_id) {
                    return Err(e.clone());
                }
                st.wanted
                    .entry(instance_id.to_string())
                    .or_insert_with(Instant::now);
                !std::mem::replace(&mut st.polling, true)
            };
            if !poller {
                changed.await;
                continue;
            }
            // Given back however the polling ends (even if this wait were
            // dropped): someone else waiting takes it over.
            let _handover = Handover(&self.watch);
            return self.poll_until(instance_id).await;
        }
    }

    /// Polls every instance waited for until `mine` runs or fails: one
    /// `DescribeInstances` per poll (per 1,000 ids), telling the waiters
    /// after each.
    async fn poll_until(&self, mine: &str) -> Result<(), Ec2Error> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            let ids: Vec<String> = {
                let st = self.watch.state.lock().expect("watch lock");
                st.wanted.keys().cloned().collect()
            };
            self.progress.waiting(ids.len(), "running", start.elapsed());
            let seen = match self.ec2.instance_states(&ids).await {
                Ok(seen) => seen,
                Err(e) => {
                    // Only this wait fails: another waiter polls again.
                    self.watch
                        .state
                        .lock()
                        .expect("watch lock")
                        .wanted
                        .remove(mine);
                    return Err(e);
                }
            };
            {
                let mut st = self.watch.state.lock().expect("watch lock");
                for id in &ids {
                    let Some(since) = st.wanted.get(id).copied() else {
                        continue;
                    };
                    let verdict = match seen.get(id) {
                        Some(s) if s.state == "running" => Some(Ok(s)),
                        Some(s) if matches!(s.state.as_str(), "terminated" | "shutting-down") => {
                            Some(Err(Ec2Error {
                                action: "RunInstances",
                                code: "InstanceTerminated".into(),
                                message: format!(
                                    "instance {id} went to {} while starting: {}",
                                    s.state,
                                    s.reason.as_deref().unwrap_or("no reason given")
                                ),
                            }))
                        }
                        other if since.elapsed() > WAIT_TIMEOUT => Some(Err(Ec2Error {
                            action: "DescribeInstances",
                            code: "WaitTimeout".into(),
                            message: format!(
                                "instance {id} is {}, not running, after {}s",
                                other.map_or("not visible", |s| s.state.as_str()),
                                WAIT_TIMEOUT.as_secs()
                            ),
                        })),
                        _ => None,
                    };
                    if verdict.is_some() && trace::enabled() {
                        st.settled_after.insert(id.clone(), trace::current());
                    }
                    match verdict {
                        Some(Ok(s)) => {
                            st.wanted.remove(id);
                            if let Some(z) = &s.facts.availability_zone {
                                self.zones
                                    .lock()
                                    .expect("zones lock")
                                    .insert(id.clone(), z.clone());
                            }
                            self.running
                                .lock()
                                .expect("running lock")
                                .insert(id.clone());
                        }
                        Some(Err(e)) => {
                            st.wanted.remove(id);
                            st.failed.insert(id.clone(), e);
                        }
                        None => {}
                    }
                }
            }
            self.watch.changed.notify_waiters();
            let done = {
                let st = self.watch.state.lock().expect("watch lock");
                (!st.wanted.contains_key(mine)).then(|| match st.failed.get(mine) {
                    Some(e) => Err(e.clone()),
                    None => Ok(()),
                })
            };
            if let Some(done) = done {
                return done;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Changes an instance: stops it when a field needs that, changes
    /// groups, protection, tags and the root volume, and starts it again.
    async fn update_instance(&self, id: &str, u: &InstanceUpdate) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut did = vec![];
        if u.needs_stop() {
            did.extend(self.change_while_stopped(id, u).await?);
        }
        if let Some(groups) = &u.groups {
            let ids: Vec<String> = groups
                .iter()
                .map(|g| self.resolve(g))
                .collect::<Result<_, _>>()?;
            ec2.call("ModifyInstanceAttribute", false, || {
                c.modify_instance_attribute()
                    .instance_id(id)
                    .set_groups(Some(ids.clone()))
                    .send()
            })
            .await?;
            did.push("security groups".to_string());
        }
        if let Some(protect) = u.protect {
            ec2.call("ModifyInstanceAttribute", false, || {
                c.modify_instance_attribute()
                    .instance_id(id)
                    .disable_api_termination(
                        AttributeBooleanValue::builder().value(protect).build(),
                    )
                    .send()
            })
            .await?;
            did.push(format!(
                "termination protection {}",
                if protect { "on" } else { "off" }
            ));
        }
        self.update_tags(id, u).await?;
        if !u.set_tags.is_empty() || !u.remove_tags.is_empty() {
            did.push("tags".to_string());
        }
        if let Some((vid, size, kind)) = &u.root_volume {
            ec2.call("ModifyVolume", false, || {
                c.modify_volume()
                    .volume_id(vid)
                    .size(*size)
                    .volume_type(VolumeType::from(kind.as_str()))
                    .send()
            })
            .await?;
            did.push(format!("root volume {size} GiB {kind}"));
        }
        if u.needs_stop() || u.start {
            ec2.call("StartInstances", true, || {
                c.start_instances().instance_ids(id).send()
            })
            .await?;
            ec2.wait_for(
                &[id.to_string()],
                "running",
                WAIT_TIMEOUT,
                &self.wait_progress("running"),
            )
            .await?;
            did.push("started".to_string());
        }
        Ok(format!("{id}: {}", did.join(", ")))
    }

    /// Stops an instance and changes what EC2 changes only while it is
    /// stopped (type, user data); says what it did.
    async fn change_while_stopped(
        &self,
        id: &str,
        u: &InstanceUpdate,
    ) -> Result<Vec<String>, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut did = vec![];
        ec2.call("StopInstances", true, || {
            c.stop_instances().instance_ids(id).send()
        })
        .await?;
        ec2.wait_for(
            &[id.to_string()],
            "stopped",
            WAIT_TIMEOUT,
            &self.wait_progress("stopped"),
        )
        .await?;
        did.push("stopped".to_string());
        if let Some(t) = &u.instance_type {
            ec2.call("ModifyInstanceAttribute", false, || {
                c.modify_instance_attribute()
                    .instance_id(id)
                    .instance_type(AttributeValue::builder().value(t).build())
                    .send()
            })
            .await?;
            did.push(format!("type {t}"));
        }
        if let Some((text, digest)) = &u.user_data {
            ec2.call("ModifyInstanceAttribute", false, || {
                c.modify_instance_attribute()
                    .instance_id(id)
                    // The attribute's value is the base64 text of the user
                    // data (as RunInstances takes it); the SDK encodes the
                    // blob once more for the wire.
                    .user_data(
                        SecureBlobAttributeValue::builder()
                            .value(Blob::new(
                                base64::engine::general_purpose::STANDARD.encode(text),
                            ))
                            .build(),
                    )
                    .send()
            })
            .await?;
            ec2.call("CreateTags", false, || {
                c.create_tags()
                    .resources(id)
                    .tags(tag(model::USER_DATA_TAG, digest))
                    .send()
            })
            .await?;
            did.push("user data".to_string());
        }
        Ok(did)
    }

    /// Sets and removes an instance's tags (the protection tag follows
    /// `protect`).
    async fn update_tags(&self, id: &str, u: &InstanceUpdate) -> Result<(), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut set = u.set_tags.clone();
        let mut remove = u.remove_tags.clone();
        match u.protect {
            Some(true) => {
                set.insert(model::PROTECT_TAG.into(), "true".into());
            }
            Some(false) => remove.push(model::PROTECT_TAG.into()),
            None => {}
        }
        if !set.is_empty() {
            ec2.call("CreateTags", false, || {
                c.create_tags()
                    .resources(id)
                    .set_tags(Some(set.iter().map(|(k, v)| tag(k, v)).collect()))
                    .send()
            })
            .await?;
        }
        if !remove.is_empty() {
            ec2.call("DeleteTags", false, || {
                c.delete_tags()
                    .resources(id)
                    .set_tags(Some(
                        remove
                            .iter()
                            .map(|k| Tag::builder().key(k).build())
                            .collect(),
                    ))
                    .send()
            })
            .await?;
        }
        Ok(())
    }
}
