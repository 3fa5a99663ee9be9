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

mod addresses;
mod balancers;
mod batches;
mod disks;
mod groups;
mod instances;
mod key_pairs;
mod launch;
mod server;
mod updates;
mod volumes;
mod watch;

use batches::Gathering;
use instances::TERMINATE_BATCH;
use watch::Watch;

use super::limits::Call;
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
    /// What batch launches of an interrupted run made and never named (the
    /// plan's read under the lease), by the hash of their launch parameters
    /// and the name their launch tag and index give them.
    orphans: HashMap<(String, String), model::Launched>,
    stack: String,
}

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
    /// One loop over the schedule, on purpose over 120 lines: the ready
    /// set, the results, skipped barriers and the trace frontier change
    /// together at each step's end, and are clearest in one place.
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
        // ends. Terminations that are ready together are one operation, and
        // so is each batch (launches, restarts) once all its members are.
        let mut running: Vec<StepFuture<'_>> = Vec::new();
        let mut gathering = Gathering::default();
        loop {
            let mut terminations = Vec::new();
            let mut batches = Vec::new();
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
                        batches.extend(gathering.skipped(&steps[position]));
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
                        _ if steps[p].batch.is_some() => {
                            batches.extend(gathering.ready(steps[p].clone()));
                        }
                        _ => running.push(run.start(steps[p].clone(), after(&steps[p], &awaited))),
                    },
                }
            }
            for batch in batches {
                let mut batch_after = trace::Frontier::default();
                for s in &batch {
                    batch_after.join(&after(s, &awaited));
                }
                running.push(run.start_batch(batch, batch_after));
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
            orphans: launch::orphans(&live.launched),
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
}

impl Run<'_> {
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

    /// Runs one step: one arm per operation, each in its kind's room.
    async fn step(&self, step: &Step) -> Result<String, Ec2Error> {
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
            Op::Retag {
                ec2_id,
                set,
                remove,
            } => self.retag(ec2_id, set, remove).await,
            Op::HealthGate {
                instances,
                health: model::Health::TargetGroup,
                timeout_secs,
                groups,
            } => {
                let timeout = Duration::from_secs(*timeout_secs);
                self.target_group_gate(instances, groups, timeout).await
            }
            Op::HealthGate {
                instances,
                health,
                timeout_secs,
                ..
            } => {
                self.health_gate(instances, *health, Duration::from_secs(*timeout_secs))
                    .await
            }
            Op::StopInstance { instance_id } => self.stop_replaced(instance_id).await,
            Op::DeleteKeyPair {
                key_pair_id,
                key_name,
            } => self.delete_key_pair(key_pair_id, key_name).await,
            Op::CreateGroup {
                group_name,
                description,
                vpc_id,
                tags,
            } => {
                self.create_group(step, group_name, description, vpc_id, tags)
                    .await
            }
            Op::SetRules { .. } => self.apply_rules(&step.op).await,
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
            Op::UpdateVolume { .. } => self.update_volume_step(step).await,
            Op::DeleteVolume { .. } => self.delete_volume_step(step).await,
            Op::AllocateAddress { tags } => self.allocate_step(step, tags).await,
            Op::AssociateAddress {
                allocation,
                instance,
            } => self.associate_step(allocation, instance).await,
            Op::ReleaseAddress {
                allocation_id,
                association_id,
            } => self.release_address(allocation_id, association_id).await,
            Op::CreateTargetGroup(create) => self.create_target_group(step, create).await,
            Op::ModifyTargetGroup {
                arn,
                health_check,
                deregistration_delay,
            } => {
                self.modify_target_group(arn, health_check.as_ref(), *deregistration_delay)
                    .await
            }
            Op::DeleteTargetGroup { arn } => self.delete_target_group(arn).await,
            Op::RegisterTargets { group, instances } => {
                self.register_targets(group, instances).await
            }
            Op::DeregisterTargets {
                group,
                instances,
                drain_secs,
            } => self.deregister_targets(group, instances, *drain_secs).await,
            Op::CreateLoadBalancer(create) => self.create_load_balancer(step, create).await,
            Op::ModifyLoadBalancer {
                arn,
                subnets,
                groups,
            } => {
                self.modify_load_balancer(arn, subnets.as_ref(), groups.as_ref())
                    .await
            }
            Op::SetListeners {
                balancer,
                create,
                modify,
                delete,
            } => self.set_listeners(balancer, create, modify, delete).await,
            Op::DeleteLoadBalancer { arn } => self.delete_load_balancer(arn).await,
        }
    }

    /// The stack's tag filters that find one resource by its name.
    fn identity_filters(&self, id: &ResourceId) -> [Filter; 2] {
        [
            filter(&format!("tag:{}", model::STACK_TAG), [self.stack.as_str()]),
            filter(&format!("tag:{}", model::NAME_TAG), [id.tag_value()]),
        ]
    }
}
