//! The steps that carry out a plan, in dependency order.
//!
//! Pure: derived from the [`Plan`] (only what the plan shows is done) and the
//! inputs it was computed from (for the values the API calls need). Ids of
//! resources created during the run are [`Ref::New`] and resolved by the
//! executor.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};

mod addresses;
mod balancers;
pub mod batches;
mod destroys;
mod groups;
mod instances;
mod key_pairs;
mod volumes;

use super::diff::{
    desired_egress, ec2_key_name, kept_groups, key_name, name_peer, user_data_digest,
};
use super::{Action, Change, Field, Inputs, Plan};
use crate::model::{self, Kind, Peer, ResourceId, Rule};

/// A resource id known now, or one created earlier in the same run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ref {
    /// An EC2 id that exists.
    Existing(String),
    /// The resource this run creates (resolved by the executor).
    New(ResourceId),
}

/// A rule whose group reference may point at a group made in this run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleRef {
    /// The rule (its `peer` is ignored when `group` is set).
    pub rule: Rule,
    /// The referenced group, for group rules.
    pub group: Option<Ref>,
    /// Its description (`None`: none; an update sends it empty).
    pub description: Option<String>,
}

/// Everything RunInstances needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Launch {
    /// AMI.
    pub image: String,
    /// Instance type.
    pub instance_type: String,
    /// Subnet, or a default one.
    pub subnet: Option<String>,
    /// Security groups.
    pub groups: Vec<Ref>,
    /// EC2 key name.
    pub key_name: Option<String>,
    /// User data text.
    pub user_data: Option<String>,
    /// Root device name of the AMI and the wanted root volume.
    pub root_volume: Option<(String, model::RootVolume)>,
    /// IAM instance profile, by name.
    pub instance_profile: Option<String>,
    /// Metadata options.
    pub metadata: model::Metadata,
    /// All tags (user tags and the tool's own).
    pub tags: BTreeMap<String, String>,
    /// Termination protection.
    pub protect: bool,
    /// Deterministic idempotency token.
    pub client_token: String,
}

/// One `ModifyVolume`: the volume's size and type, and the IOPS and
/// throughput the YAML writes (`None`: not sent, EBS keeps them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modify {
    /// GiB.
    pub size_gb: i32,
    /// EBS type.
    pub volume_type: String,
    /// Provisioned IOPS.
    pub iops: Option<i32>,
    /// Throughput in MiB/s.
    pub throughput: Option<i32>,
}

/// Changes to an existing instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceUpdate {
    /// New type (needs a stop).
    pub instance_type: Option<String>,
    /// New user data text and its digest (needs a stop).
    pub user_data: Option<(String, String)>,
    /// New security groups.
    pub groups: Option<Vec<Ref>>,
    /// Tags to set.
    pub set_tags: BTreeMap<String, String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Its root volume (`vol-…`), which takes the same tag changes.
    pub root_volume_tags: Option<String>,
    /// New termination protection.
    pub protect: Option<bool>,
    /// Start the instance (it was stopped).
    pub start: bool,
    /// Root volume id, and what it becomes.
    pub root_volume: Option<(String, Modify)>,
    /// The instance profile to associate (`Some(None)`: remove it).
    pub instance_profile: Option<Option<String>>,
    /// New metadata options.
    pub metadata: Option<model::Metadata>,
}

impl InstanceUpdate {
    /// Whether the instance must be stopped for this update.
    pub fn needs_stop(&self) -> bool {
        self.instance_type.is_some() || self.user_data.is_some()
    }
}

/// One API-level operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set and remove user tags of a resource that is not an instance (the
    /// stack's `tags:` changed): one `CreateTags` and one `DeleteTags`.
    Retag {
        /// Its EC2 id.
        ec2_id: String,
        /// Tags to set.
        set: BTreeMap<String, String>,
        /// Tag keys to remove.
        remove: Vec<String>,
    },
    /// Rename a resource: set its identity tags (one `CreateTags`), and
    /// those of an instance's root volume.
    Rename {
        /// Its EC2 id (`i-…`, `vol-…`, `sg-…`, `key-…`, `eipalloc-…`).
        ec2_id: String,
        /// The identity tags under its new name.
        tags: BTreeMap<String, String>,
        /// An instance's root volume (`vol-…`) and its new identity tags.
        root_volume: Option<(String, BTreeMap<String, String>)>,
    },
    /// Import a public key.
    ImportKeyPair {
        /// EC2 key name.
        key_name: String,
        /// OpenSSH public key.
        public_key: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// Delete a key pair (by name: EC2 names are unique per region).
    DeleteKeyPair {
        /// `key-…`.
        key_pair_id: String,
        /// The EC2 key name.
        key_name: String,
    },
    /// Create a security group (EC2 adds its default egress rule).
    CreateGroup {
        /// EC2 group name (deterministic).
        group_name: String,
        /// Description.
        description: String,
        /// VPC id.
        vpc_id: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// Authorize and revoke rules of one group.
    SetRules {
        /// The group.
        group: Ref,
        /// Ingress rules to authorize.
        authorize_ingress: Vec<RuleRef>,
        /// Ingress rules to revoke.
        revoke_ingress: Vec<RuleRef>,
        /// Egress rules to authorize.
        authorize_egress: Vec<RuleRef>,
        /// Egress rules to revoke.
        revoke_egress: Vec<RuleRef>,
        /// Kept ingress rules whose description changes.
        describe_ingress: Vec<RuleRef>,
        /// Kept egress rules whose description changes.
        describe_egress: Vec<RuleRef>,
    },
    /// Delete a security group.
    DeleteGroup {
        /// `sg-…`.
        group_id: String,
    },
    /// Launch one instance.
    RunInstance(Box<Launch>),
    /// Change an instance.
    UpdateInstance {
        /// `i-…`.
        instance_id: String,
        /// What changes.
        update: Box<InstanceUpdate>,
    },
    /// Wait until every instance of a rollout batch is healthy; past the
    /// timeout the rollout stops (the later batches need this step).
    HealthGate {
        /// The batch: instance names and the instances.
        instances: Vec<(String, Ref)>,
        /// What healthy means.
        health: model::Health,
        /// How long to wait.
        timeout_secs: u64,
        /// The target groups each instance must be `healthy` in (for
        /// `Health::TargetGroup`).
        groups: Vec<Ref>,
    },
    /// Nothing to do: it succeeds once every step it needs has succeeded.
    /// One barrier between the creations and the destructions of an apply
    /// keeps the number of dependencies linear in the number of steps.
    Barrier,
    /// Stop an instance being replaced, before its volumes move.
    StopInstance {
        /// `i-…`.
        instance_id: String,
    },
    /// Terminate an instance (switching its protection tag off is not needed:
    /// protected instances are never planned for destruction).
    TerminateInstance {
        /// `i-…`.
        instance_id: String,
    },
    /// Create a data volume in the instance's zone and attach it.
    CreateVolume {
        /// The instance.
        instance: Ref,
        /// Device name.
        device: String,
        /// GiB.
        size_gb: i32,
        /// EBS type.
        volume_type: String,
        /// Encryption and performance.
        disk: model::Disk,
        /// Tags.
        tags: BTreeMap<String, String>,
        /// Deterministic idempotency token.
        client_token: String,
    },
    /// Modify and/or move a data volume.
    UpdateVolume {
        /// `vol-…`.
        volume_id: String,
        /// What it becomes.
        modify: Option<Modify>,
        /// Detach first from (instance, device).
        detach: Option<(String, String)>,
        /// Attach to (instance, device).
        attach: Option<(Ref, String)>,
        /// Set (`true`) or remove (`false`) the `on_destroy: delete` tag.
        deletes_data: Option<bool>,
    },
    /// Snapshot (unless written with `on_destroy: delete`), detach (if
    /// attached) and delete a volume. The volume of an instance being
    /// terminated is not detached: when EC2 keeps it at termination it is
    /// deleted after the termination (its instance shut down cleanly); when
    /// EC2 deletes it with the instance, only the snapshot is taken, before.
    DeleteVolume {
        /// `vol-…`.
        volume_id: String,
        /// Current attachment, to detach from (never an instance being
        /// terminated).
        detach: Option<(String, String)>,
        /// The tags of the snapshot taken first (and waited for until
        /// completed); `None`: the data is deleted.
        snapshot: Option<BTreeMap<String, String>>,
        /// EC2 deletes it when this instance terminates
        /// (`DeleteOnTermination`): no `DeleteVolume`.
        deleted_with: Option<String>,
    },
    /// Allocate an address (from the start of the apply: an address
    /// brings no traffic until it is associated).
    AllocateAddress {
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// Associate an address (allocated in this run, or live).
    AssociateAddress {
        /// The address: `eipalloc-…`, or the one allocated in this run.
        allocation: Ref,
        /// The instance.
        instance: Ref,
    },
    /// Disassociate (if needed) and release an address.
    ReleaseAddress {
        /// `eipalloc-…`.
        allocation_id: String,
        /// `eipassoc-…`, when associated.
        association_id: Option<String>,
    },
    /// Create a target group (ELB's `CreateTargetGroup` is idempotent by
    /// name) and set its draining time.
    CreateTargetGroup(Box<TargetGroupCreate>),
    /// Change a target group's health check and draining time.
    ModifyTargetGroup {
        /// Its ARN.
        arn: String,
        /// The new health check.
        health_check: Option<model::HealthCheck>,
        /// The new draining time, in seconds.
        deregistration_delay: Option<u32>,
    },
    /// Delete a target group (no listener forwards to it any more).
    DeleteTargetGroup {
        /// Its ARN.
        arn: String,
    },
    /// Register servers in a target group: one `RegisterTargets`, once each
    /// is running.
    RegisterTargets {
        /// The group.
        group: Ref,
        /// The servers, by name.
        instances: Vec<(String, Ref)>,
    },
    /// Take servers out of a target group: one `DeregisterTargets`, then a
    /// wait until ELB has drained them (at most the group's draining time).
    DeregisterTargets {
        /// The group's ARN.
        group: String,
        /// The servers, by name and id.
        instances: Vec<(String, String)>,
        /// The group's draining time, in seconds, as ELB holds it.
        drain_secs: u32,
    },
    /// Create an Application Load Balancer (idempotent by name).
    CreateLoadBalancer(Box<BalancerCreate>),
    /// Change a load balancer's subnets and security groups.
    ModifyLoadBalancer {
        /// Its ARN.
        arn: String,
        /// Its new subnets.
        subnets: Option<Vec<String>>,
        /// Its new security groups.
        groups: Option<Vec<Ref>>,
    },
    /// Create, change and delete a load balancer's listeners.
    SetListeners {
        /// The load balancer.
        balancer: Ref,
        /// Listeners to create.
        create: Vec<ListenerOp>,
        /// Listeners to change, by ARN.
        modify: Vec<(String, ListenerOp)>,
        /// Listeners to delete, by ARN.
        delete: Vec<String>,
    },
    /// Delete a load balancer (its listeners go with it).
    DeleteLoadBalancer {
        /// Its ARN.
        arn: String,
    },
}

/// Everything `CreateTargetGroup` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupCreate {
    /// Its ELB name (deterministic).
    pub group_name: String,
    /// Port.
    pub port: u16,
    /// Protocol.
    pub protocol: model::ElbProtocol,
    /// VPC id.
    pub vpc_id: String,
    /// Health check.
    pub health_check: model::HealthCheck,
    /// Draining time, in seconds.
    pub deregistration_delay: u32,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// Everything `CreateLoadBalancer` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancerCreate {
    /// Its ELB name (deterministic).
    pub balancer_name: String,
    /// Internet-facing or internal.
    pub scheme: model::Scheme,
    /// Subnet ids.
    pub subnets: Vec<String>,
    /// Security groups.
    pub groups: Vec<Ref>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// One listener as `CreateListener` and `ModifyListener` take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerOp {
    /// Port.
    pub port: u16,
    /// Protocol.
    pub protocol: model::ElbProtocol,
    /// Certificate ARN (HTTPS).
    pub certificate: Option<String>,
    /// Forward to this target group…
    pub forward: Option<Ref>,
    /// …or redirect to HTTPS on this port.
    pub redirect_https: Option<u16>,
}

/// One step: an operation on one resource, after the steps it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Position in the list.
    pub index: usize,
    /// The resource it acts on.
    pub resource: ResourceId,
    /// The operation.
    pub op: Op,
    /// Steps that must succeed first.
    pub needs: Vec<usize>,
    /// Whether it destroys something (shown apart in reports).
    pub destroys: bool,
    /// The batch it goes to EC2 in, with other steps, when it does.
    pub batch: Option<Batch>,
}

/// Steps that go to EC2 as one call (see [`batches`]): the executor starts
/// them together once all of them are ready, and reports each on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// What its members share: a launch batch's `ec2-gitops:launch` tag,
    /// the rollout batch of restarts.
    pub key: String,
    /// This member's place, from 0 (a launch's `AmiLaunchIndex`).
    pub index: usize,
    /// How many steps the batch holds.
    pub size: usize,
    /// The client token of a launch batch's `RunInstances`.
    pub client_token: Option<String>,
}

/// A deterministic token from stack, resource, configuration and history,
/// so a retried call creates nothing twice and a re-creation after a
/// termination is never answered with the terminated resource.
pub fn client_token(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("ec2-gitops-{}", &hex::encode(h.finalize())[..40])
}

/// The EC2 name of a stack's security group: deterministic, and different
/// when the group is replaced (EC2 names are unique per VPC).
pub fn group_name(stack: &str, name: &str, description: &str, vpc: &str) -> String {
    let suffix = &client_token(&[description, vpc])[11..19];
    format!("{stack}-{name}-{suffix}")
}

struct Builder<'a> {
    inputs: &'a Inputs<'a>,
    /// The live instances and volumes by id.
    instances_by_id: HashMap<&'a str, &'a model::LiveInstance>,
    volumes_by_id: HashMap<&'a str, &'a model::LiveVolume>,
    steps: Vec<Step>,
    /// Step that creates each resource made in this run.
    created: BTreeMap<ResourceId, usize>,
    /// Step that launches or changes each instance, by name.
    instance_steps: BTreeMap<String, usize>,
    /// The health gate after each rolled-out instance's batch, by name.
    gates: BTreeMap<String, usize>,
    /// The step that stops a replaced instance before its volumes move, by
    /// its live id.
    stops: BTreeMap<String, usize>,
    /// The step that sets each group's rules, by group name.
    rule_steps: BTreeMap<String, usize>,
    /// The steps that attach data volumes to each instance, by name.
    attachments: BTreeMap<String, Vec<usize>>,
    /// The steps that take each live instance (by id) out of its target
    /// groups, which its stop or termination waits for.
    before_termination: BTreeMap<String, Vec<usize>>,
    /// The steps that register servers in each target group, by name.
    registrations: BTreeMap<String, Vec<usize>>,
    /// Instances whose joins and leaves their rollout makes, by name.
    rolled: BTreeSet<String>,
    /// The steps that set listeners.
    listener_steps: Vec<usize>,
}

impl Builder<'_> {
    fn add(&mut self, resource: ResourceId, op: Op, needs: Vec<usize>, destroys: bool) -> usize {
        let index = self.steps.len();
        let mut needs = needs;
        needs.sort_unstable();
        needs.dedup();
        self.steps.push(Step {
            index,
            resource,
            op,
            needs,
            destroys,
            batch: None,
        });
        index
    }

    fn tags(&self, id: &ResourceId) -> BTreeMap<String, String> {
        model::owner_tags(self.inputs.desired, id)
    }

    /// A reference to a stack resource: new in this run, or live.
    fn reference(&self, id: &ResourceId, live: Option<String>) -> (Ref, Option<usize>) {
        match self.created.get(id) {
            Some(&step) => (Ref::New(id.clone()), Some(step)),
            None => (
                Ref::Existing(live.unwrap_or_else(|| format!("<missing {id}>"))),
                None,
            ),
        }
    }

    fn group_ref(&self, name: &str) -> (Ref, Option<usize>) {
        let kept = kept_groups(self.inputs);
        let live = kept
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| id.clone());
        self.reference(&ResourceId::new(Kind::SecurityGroup, name), live)
    }

    fn instance_ref(&self, name: &str, live: &BTreeMap<String, String>) -> (Ref, Option<usize>) {
        self.reference(
            &ResourceId::new(Kind::Instance, name),
            live.get(name).cloned(),
        )
    }
}

/// Derives the steps of an applicable plan: creations and updates in
/// dependency order (key pairs, groups, rules, instances, target groups and
/// their servers, load balancers, volumes, addresses), then destroys, each
/// after what replaces it.
pub fn steps(plan: &Plan, inputs: &Inputs<'_>) -> Vec<Step> {
    // The plan was made against the live state under the new names.
    // Images by reference carry the id they resolved to from here on.
    let desired = super::images::resolved(inputs.desired, inputs.region);
    let renamed = super::renames::apply(&desired, inputs.live);
    let seen = Inputs {
        desired: &desired,
        live: &renamed.live,
        region: inputs.region,
    };
    let mut b = Builder {
        inputs: &seen,
        instances_by_id: seen
            .live
            .instances
            .iter()
            .map(|i| (i.id.as_str(), i))
            .collect(),
        volumes_by_id: seen
            .live
            .volumes
            .iter()
            .map(|v| (v.id.as_str(), v))
            .collect(),
        steps: Vec::new(),
        created: BTreeMap::new(),
        instance_steps: BTreeMap::new(),
        gates: BTreeMap::new(),
        stops: BTreeMap::new(),
        rule_steps: BTreeMap::new(),
        attachments: BTreeMap::new(),
        before_termination: BTreeMap::new(),
        registrations: BTreeMap::new(),
        rolled: BTreeSet::new(),
        listener_steps: Vec::new(),
    };
    b.renames(plan);
    b.retags(plan);
    b.key_pairs(plan);
    b.groups(plan);
    let rule_steps = b.rules(plan);
    let (live_instance_ids, replaced) = b.instances(plan, &rule_steps);
    b.rule_steps = rule_steps.into_iter().map(|(g, (s, _))| (g, s)).collect();
    b.target_groups(plan);
    b.rollouts(plan);
    b.memberships(plan);
    b.load_balancers(plan);
    b.volumes(plan, &live_instance_ids);
    b.addresses(plan, &live_instance_ids);
    b.destroys(plan, &replaced);
    batches::launches(&mut b.steps, seen.desired);
    b.steps
}

/// The changes of `plan` to resources of `kind`.
fn by_kind(plan: &Plan, kind: Kind) -> impl Iterator<Item = &Change> {
    plan.changes.iter().filter(move |c| c.resource.kind == kind)
}

/// Whether a change is only a rename (made by the rename step).
fn only_renamed(c: &Change) -> bool {
    !c.fields.is_empty() && c.fields.iter().all(|f| f.field == Field::Name)
}

/// Whether a change of a resource that is not an instance is only a
/// rename and new tags (made by the rename and retag steps).
fn only_renamed_or_retagged(c: &Change) -> bool {
    !c.fields.is_empty()
        && c.fields
            .iter()
            .all(|f| matches!(f.field, Field::Name | Field::Tags))
}

/// Whether a change makes a new resource.
fn is_creation(c: &Change) -> bool {
    matches!(c.action, Action::Create | Action::Replace)
}

impl Builder<'_> {
    /// New stack tags on resources that are not instances (an instance's
    /// tags are its update's): one step each, needing nothing.
    fn retags(&mut self, plan: &Plan) {
        for c in &plan.changes {
            let (
                Some(ec2_id),
                Kind::KeyPair
                | Kind::SecurityGroup
                | Kind::Volume
                | Kind::ElasticIp
                | Kind::TargetGroup
                | Kind::LoadBalancer,
            ) = (&c.live_id, c.resource.kind)
            else {
                continue;
            };
            if c.action != Action::Update || !c.fields.iter().any(|f| f.field == Field::Tags) {
                continue;
            }
            let live_tags = self.live_tags(c.resource.kind, ec2_id);
            let wanted = &self.inputs.desired.tags;
            let set = model::stack_tags(wanted);
            // Only what the stack set before and no longer sets goes.
            let mut remove: Vec<String> = model::stack_tag_keys(&live_tags)
                .into_iter()
                .filter(|k| !wanted.contains_key(k) && live_tags.contains_key(k))
                .collect();
            if wanted.is_empty() && live_tags.contains_key(model::TAGS_TAG) {
                remove.push(model::TAGS_TAG.to_string());
            }
            let op = Op::Retag {
                ec2_id: ec2_id.clone(),
                set,
                remove,
            };
            self.add(c.resource.clone(), op, vec![], false);
        }
    }

    /// The tags EC2 holds on the live resource `ec2_id` of `kind`.
    fn live_tags(&self, kind: Kind, ec2_id: &str) -> BTreeMap<String, String> {
        let live = self.inputs.live;
        let found = match kind {
            Kind::KeyPair => live
                .key_pairs
                .iter()
                .find(|k| k.id == ec2_id)
                .map(|k| &k.tags),
            Kind::SecurityGroup => (live.security_groups.iter())
                .find(|g| g.id == ec2_id)
                .map(|g| &g.tags),
            Kind::Volume => live
                .volumes
                .iter()
                .find(|v| v.id == ec2_id)
                .map(|v| &v.tags),
            Kind::ElasticIp => (live.addresses.iter())
                .find(|a| a.allocation_id == ec2_id)
                .map(|a| &a.tags),
            Kind::TargetGroup => (live.target_groups.iter())
                .find(|g| g.arn == ec2_id)
                .map(|g| &g.tags),
            Kind::LoadBalancer => (live.load_balancers.iter())
                .find(|b| b.arn == ec2_id)
                .map(|b| &b.tags),
            Kind::Instance => None,
        };
        found.cloned().unwrap_or_default()
    }

    /// Renames: one tag update each, needing nothing (identity is the tag,
    /// so every other step finds the resource by its EC2 id).
    fn renames(&mut self, plan: &Plan) {
        for c in &plan.changes {
            let (Some(ec2_id), true) =
                (&c.live_id, c.fields.iter().any(|f| f.field == Field::Name))
            else {
                continue;
            };
            let root_volume = Some(c.resource.kind)
                .filter(|k| *k == Kind::Instance)
                .and_then(|_| self.instances_by_id.get(ec2_id.as_str()).copied())
                .and_then(|i| i.block_devices.get(i.root_device.as_ref()?))
                .map(|vol| {
                    let root = ResourceId::new(Kind::Volume, format!("{}/root", c.resource.name));
                    (vol.clone(), self.tags(&root))
                });
            let op = Op::Rename {
                ec2_id: ec2_id.clone(),
                tags: self.tags(&c.resource),
                root_volume,
            };
            self.add(c.resource.clone(), op, vec![], false);
        }
    }

    /// A step that succeeds once all of `needs` have: what comes after
    /// needs it alone. `None` when there is nothing to wait for.
    fn barrier(&mut self, needs: Vec<usize>) -> Option<usize> {
        if needs.is_empty() {
            return None;
        }
        let id = ResourceId::new(Kind::Instance, format!("barrier {}", self.steps.len()));
        Some(self.add(id, Op::Barrier, needs, false))
    }
}

/// The configuration of an instance without where it is written: moving it
/// in the file, or naming the file another way, changes no client token.
fn unlocated_instance(spec: &model::InstanceSpec) -> model::InstanceSpec {
    let mut entry = spec.entry.clone();
    // How it is rolled out, and where its siblings go, is not what is
    // launched (its own subnet or zone is).
    entry.rollout = model::Rollout::default();
    entry.subnets.clear();
    model::InstanceSpec {
        at: model::Location::default(),
        renamed_from: None,
        entry,
        ..spec.clone()
    }
}
