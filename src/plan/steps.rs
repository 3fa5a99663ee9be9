//! The steps that carry out a plan, in dependency order.
//!
//! Pure: derived from the [`Plan`] (only what the plan shows is done) and the
//! inputs it was computed from (for the values the API calls need). Ids of
//! resources created during the run are [`Ref::New`] and resolved by the
//! executor.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use super::diff::{
    desired_egress, ec2_key_name, kept_groups, key_name, name_peer, user_data_digest,
};
use super::{Action, Change, Field, Inputs, Plan};
use crate::model::{self, Kind, Peer, ResourceId, Rule};

/// A resource id known now, or one created earlier in the same run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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
}

/// Everything RunInstances needs.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// All tags (user tags and the tool's own).
    pub tags: BTreeMap<String, String>,
    /// Termination protection.
    pub protect: bool,
    /// Deterministic idempotency token.
    pub client_token: String,
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
    /// New termination protection.
    pub protect: Option<bool>,
    /// Start the instance (it was stopped).
    pub start: bool,
    /// Root volume id, new size and type.
    pub root_volume: Option<(String, i32, String)>,
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
        /// Tags.
        tags: BTreeMap<String, String>,
        /// Deterministic idempotency token.
        client_token: String,
    },
    /// Modify and/or move a data volume.
    UpdateVolume {
        /// `vol-…`.
        volume_id: String,
        /// New size and type.
        modify: Option<(i32, String)>,
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
        });
        index
    }

    fn tags(&self, id: &ResourceId) -> BTreeMap<String, String> {
        model::identity_tags(&self.inputs.desired.stack, id)
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
/// dependency order (key pairs, groups, rules, instances, volumes,
/// addresses), then destroys, each after what replaces it.
pub fn steps(plan: &Plan, inputs: &Inputs<'_>) -> Vec<Step> {
    // The plan was made against the live state under the new names.
    let renamed = super::renames::apply(inputs.desired, inputs.live);
    let seen = Inputs {
        desired: inputs.desired,
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
    };
    b.renames(plan);
    b.key_pairs(plan);
    b.groups(plan);
    let rule_steps = b.rules(plan);
    let (live_instance_ids, replaced) = b.instances(plan, &rule_steps);
    b.rule_steps = rule_steps.into_iter().map(|(g, (s, _))| (g, s)).collect();
    b.rollouts(plan);
    b.volumes(plan, &live_instance_ids);
    b.addresses(plan, &live_instance_ids);
    b.destroys(plan, &replaced);
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

/// Whether a change makes a new resource.
fn is_creation(c: &Change) -> bool {
    matches!(c.action, Action::Create | Action::Replace)
}

impl Builder<'_> {
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

    /// Key pairs: a replace deletes first (EC2 key names are unique).
    fn key_pairs(&mut self, plan: &Plan) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        let live = inputs.live;
        let stack = desired.stack.as_str();
        for c in by_kind(plan, Kind::KeyPair).filter(|c| is_creation(c)) {
            let spec = &desired.key_pairs[&c.resource.name];
            let mut needs = vec![];
            if c.action == Action::Replace {
                let id = c.live_id.clone().expect("replace has a live id");
                needs.push(self.add(
                    c.resource.clone(),
                    Op::DeleteKeyPair {
                        key_name: live_key_name(live, &id),
                        key_pair_id: id,
                    },
                    vec![],
                    true,
                ));
            }
            let op = Op::ImportKeyPair {
                // A replaced key keeps its EC2 name, so instances still match it.
                key_name: match (&c.action, &c.live_id) {
                    (Action::Replace, Some(id)) => live_key_name(live, id),
                    _ => key_name(stack, &c.resource.name),
                },
                public_key: spec.public_key.clone(),
                tags: self.tags(&c.resource),
            };
            let s = self.add(c.resource.clone(), op, needs, false);
            self.created.insert(c.resource.clone(), s);
        }
    }

    /// Security groups: created all before any rule (rules may reference
    /// any group).
    fn groups(&mut self, plan: &Plan) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        let stack = desired.stack.as_str();
        for c in by_kind(plan, Kind::SecurityGroup).filter(|c| is_creation(c)) {
            let spec = &desired.security_groups[&c.resource.name];
            let vpc = spec
                .vpc
                .clone()
                .or_else(|| inputs.region.default_vpc.clone())
                .unwrap_or_default();
            let op = Op::CreateGroup {
                group_name: group_name(stack, &c.resource.name, &spec.description, &vpc),
                description: spec.description.clone(),
                vpc_id: vpc,
                tags: self.tags(&c.resource),
            };
            let s = self.add(c.resource.clone(), op, vec![], false);
            self.created.insert(c.resource.clone(), s);
        }
    }

    /// The rule changes of each group: the step that sets them, and
    /// whether it takes any rule away, by group.
    fn rules(&mut self, plan: &Plan) -> BTreeMap<String, (usize, bool)> {
        let inputs = self.inputs;
        let desired = inputs.desired;
        let live = inputs.live;
        let kept = kept_groups(inputs);
        let mut rule_steps: BTreeMap<String, (usize, bool)> = BTreeMap::new();
        for c in by_kind(plan, Kind::SecurityGroup).filter(|c| c.action != Action::Destroy) {
            let name = &c.resource.name;
            let spec = &desired.security_groups[name];
            let (live_in, live_out) = if is_creation(c) {
                (vec![], super::diff::default_egress())
            } else {
                let g = live
                    .security_groups
                    .iter()
                    .find(|g| Some(&g.id) == c.live_id.as_ref())
                    .expect("updated group is live");
                let named =
                    |rs: &[Rule]| rs.iter().map(|r| name_peer(r, &kept)).collect::<Vec<_>>();
                (named(&g.ingress), named(&g.egress))
            };
            let mut needs = vec![];
            let (group, s) = self.group_ref(name);
            needs.extend(s);
            let mut delta = |want: &[Rule], have: &[Rule]| -> (Vec<RuleRef>, Vec<RuleRef>) {
                let want: BTreeSet<&Rule> = want.iter().collect();
                let have: BTreeSet<&Rule> = have.iter().collect();
                let to_ref = |r: &Rule, needs: &mut Vec<usize>| RuleRef {
                    rule: r.clone(),
                    group: match &r.peer {
                        Peer::Group(g) => {
                            let (gr, s) = self.group_ref(g);
                            needs.extend(s);
                            Some(gr)
                        }
                        Peer::GroupId(id) => Some(Ref::Existing(id.clone())),
                        _ => None,
                    },
                };
                let add = want
                    .difference(&have)
                    .map(|r| to_ref(r, &mut needs))
                    .collect();
                let remove = have
                    .difference(&want)
                    .map(|r| to_ref(r, &mut needs))
                    .collect();
                (add, remove)
            };
            let (authorize_ingress, revoke_ingress) = delta(&spec.ingress, &live_in);
            let (authorize_egress, revoke_egress) = delta(&desired_egress(spec), &live_out);
            if authorize_ingress.is_empty()
                && revoke_ingress.is_empty()
                && authorize_egress.is_empty()
                && revoke_egress.is_empty()
            {
                continue;
            }
            let narrows = !revoke_ingress.is_empty() || !revoke_egress.is_empty();
            let op = Op::SetRules {
                group,
                authorize_ingress,
                revoke_ingress,
                authorize_egress,
                revoke_egress,
            };
            let s = self.add(c.resource.clone(), op, needs, false);
            rule_steps.insert(name.clone(), (s, narrows));
        }
        rule_steps
    }

    /// Instances: launches and updates, after their groups, rules and key
    /// pairs. Returns the live id of each instance kept, and the launch
    /// step that replaces each replaced instance (by its live id).
    fn instances(
        &mut self,
        plan: &Plan,
        rule_steps: &BTreeMap<String, (usize, bool)>,
    ) -> (BTreeMap<String, String>, BTreeMap<String, usize>) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        let live = inputs.live;
        let stack = desired.stack.as_str();
        let changed: BTreeSet<&str> = by_kind(plan, Kind::Instance)
            .filter_map(|c| c.live_id.as_deref())
            .collect();
        let live_instance_ids: BTreeMap<String, String> = plan
            .changes
            .iter()
            .filter(|c| c.resource.kind == Kind::Instance && c.action != Action::Destroy)
            .filter_map(|c| Some((c.resource.name.clone(), c.live_id.clone()?)))
            .chain(
                live.instances
                    .iter()
                    .filter(|i| !changed.contains(i.id.as_str()))
                    .map(|i| (i.name.clone(), i.id.clone())),
            )
            .collect();
        let mut replaced_instances = BTreeMap::new();
        for c in by_kind(plan, Kind::Instance)
            .filter(|c| c.action != Action::Destroy && !only_renamed(c))
        {
            let name = &c.resource.name;
            let spec = &desired.instances[name];
            let mut needs = vec![];
            // A new instance starts under rules no wider than the YAML's: it
            // waits for its groups' revocations; the rules its groups gain
            // are authorized while it starts (its address waits for them).
            let creation = is_creation(c);
            let groups: Vec<Ref> = spec
                .security_groups
                .iter()
                .map(|g| {
                    let (r, s) = self.group_ref(g);
                    needs.extend(s);
                    needs.extend(
                        rule_steps
                            .get(g)
                            .filter(|(_, narrows)| *narrows || !creation)
                            .map(|(s, _)| *s),
                    );
                    r
                })
                .collect();
            if is_creation(c) {
                if let Some(k) = &spec.key_pair {
                    needs.extend(
                        self.created
                            .get(&ResourceId::new(Kind::KeyPair, k))
                            .copied(),
                    );
                }
                let mut tags = spec.tags.clone();
                tags.extend(self.tags(&c.resource));
                if let Some(ud) = &spec.user_data {
                    tags.insert(model::USER_DATA_TAG.into(), user_data_digest(ud));
                }
                if spec.protect {
                    tags.insert(model::PROTECT_TAG.into(), "true".into());
                }
                let terminated = live
                    .terminated
                    .get(name)
                    .cloned()
                    .unwrap_or_default()
                    .join(",");
                let replaced = c.live_id.clone().unwrap_or_default();
                let launch = Launch {
                    image: spec.image.clone(),
                    instance_type: spec.instance_type.clone(),
                    subnet: spec.subnet.clone(),
                    groups,
                    key_name: spec.key_pair.as_deref().map(|k| ec2_key_name(inputs, k)),
                    user_data: spec.user_data.clone(),
                    root_volume: spec.root_volume.clone().map(|rv| {
                        let dev = inputs
                            .region
                            .images
                            .get(&spec.image)
                            .cloned()
                            .unwrap_or_else(|| "/dev/xvda".into());
                        (dev, rv)
                    }),
                    client_token: client_token(&[
                        stack,
                        &c.resource.tag_value(),
                        &format!("{:?}", unlocated_instance(spec)),
                        &terminated,
                        &replaced,
                    ]),
                    tags,
                    protect: spec.protect,
                };
                let s = self.add(
                    c.resource.clone(),
                    Op::RunInstance(Box::new(launch)),
                    needs,
                    false,
                );
                self.created.insert(c.resource.clone(), s);
                self.instance_steps.insert(name.clone(), s);
                if let (Action::Replace, Some(old)) = (c.action, &c.live_id) {
                    replaced_instances.insert(old.clone(), s);
                }
            } else {
                let live_instance = c
                    .live_id
                    .as_deref()
                    .and_then(|id| self.instances_by_id.get(id).copied())
                    .expect("updated instance is live");
                let update = instance_update(c, spec, groups, live_instance);
                let op = Op::UpdateInstance {
                    instance_id: c.live_id.clone().expect("update has a live id"),
                    update: Box::new(update),
                };
                let s = self.add(c.resource.clone(), op, needs, false);
                self.instance_steps.insert(name.clone(), s);
            }
        }
        (live_instance_ids, replaced_instances)
    }

    /// Health gates: after each batch of an entry's restarts and replaces,
    /// one gate waits until the batch is healthy; the next batch's steps
    /// need it (what moves onto a new instance — volumes, addresses — needs
    /// its batch's gate too).
    fn rollouts(&mut self, plan: &Plan) {
        for r in &plan.rollouts {
            let mut previous: Option<usize> = None;
            let n = r.batches.len();
            for (k, batch) in r.batches.iter().enumerate() {
                let mut members = Vec::new();
                let mut instances = Vec::new();
                for name in batch {
                    let Some(&s) = self.instance_steps.get(name) else {
                        continue;
                    };
                    if let Some(gate) = previous {
                        self.steps[s].needs.push(gate);
                    }
                    members.push(s);
                    let instance = match &self.steps[s].op {
                        Op::UpdateInstance { instance_id, .. } => {
                            Ref::Existing(instance_id.clone())
                        }
                        _ => Ref::New(ResourceId::new(Kind::Instance, name.clone())),
                    };
                    instances.push((name.clone(), instance));
                }
                if members.is_empty() {
                    continue;
                }
                let gate = self.add(
                    ResourceId::new(Kind::Instance, format!("{} batch {}/{n}", r.entry, k + 1)),
                    Op::HealthGate {
                        instances,
                        health: r.health,
                        timeout_secs: r.timeout_secs,
                    },
                    members,
                    false,
                );
                for name in batch {
                    self.gates.insert(name.clone(), gate);
                }
                previous = Some(gate);
            }
        }
    }

    /// The step that stops the replaced instance `old` (once its
    /// replacement `new` is healthy), so its volumes are detached from a
    /// stopped instance: made once per instance.
    fn stop_before_moving(&mut self, old: &str, new: &str) -> usize {
        if let Some(&s) = self.stops.get(old) {
            return s;
        }
        let mut needs: Vec<usize> = self.gates.get(new).copied().into_iter().collect();
        needs.extend(self.instance_steps.get(new).copied());
        let s = self.add(
            ResourceId::new(Kind::Instance, new),
            Op::StopInstance {
                instance_id: old.to_string(),
            },
            needs,
            false,
        );
        self.stops.insert(old.to_string(), s);
        s
    }

    /// Volumes: created, resized or moved, after their instance.
    fn volumes(&mut self, plan: &Plan, live_instance_ids: &BTreeMap<String, String>) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        let stack = desired.stack.as_str();
        for c in
            by_kind(plan, Kind::Volume).filter(|c| c.action != Action::Destroy && !only_renamed(c))
        {
            let spec = &desired.volumes[&c.resource.name];
            let (instance, s) = self.instance_ref(&spec.instance, live_instance_ids);
            let mut needs: Vec<usize> = s.into_iter().collect();
            needs.extend(self.gates.get(&spec.instance).copied());
            let op = if c.action == Action::Create {
                Op::CreateVolume {
                    client_token: client_token(&[
                        stack,
                        &c.resource.tag_value(),
                        &format!("{:?}", unlocated_volume(spec)),
                        &format!("{instance:?}"),
                    ]),
                    instance,
                    device: spec.device.clone(),
                    size_gb: spec.size_gb,
                    volume_type: spec.volume_type.clone(),
                    tags: {
                        let mut t = self.tags(&c.resource);
                        if spec.protect {
                            t.insert(model::PROTECT_TAG.into(), "true".into());
                        }
                        if spec.on_destroy == model::OnDestroy::Delete {
                            t.insert(model::ON_DESTROY_TAG.into(), "delete".into());
                        }
                        t
                    },
                }
            } else {
                let v = c
                    .live_id
                    .as_deref()
                    .and_then(|id| self.volumes_by_id.get(id).copied())
                    .expect("updated volume is live");
                let changed = |f: Field| c.fields.iter().any(|x| x.field == f);
                let reattach = changed(Field::Attachment);
                // Off an instance being replaced: it is stopped first (a
                // volume is never detached from a running instance).
                if let (true, Some((from, _))) = (reattach, &v.attachment) {
                    let replaced = plan.changes.iter().any(|x| {
                        x.resource.kind == Kind::Instance
                            && x.action == Action::Replace
                            && x.live_id.as_ref() == Some(from)
                    });
                    if replaced {
                        needs.push(self.stop_before_moving(from, &spec.instance));
                    }
                }
                Op::UpdateVolume {
                    volume_id: v.id.clone(),
                    modify: (changed(Field::SizeGb) || changed(Field::Type))
                        .then(|| (spec.size_gb.max(v.size_gb), spec.volume_type.clone())),
                    detach: v.attachment.clone().filter(|_| reattach),
                    attach: reattach.then(|| (instance, spec.device.clone())),
                    deletes_data: changed(Field::OnDestroy)
                        .then_some(spec.on_destroy == model::OnDestroy::Delete),
                }
            };
            self.add(c.resource.clone(), op, needs, false);
        }
    }

    /// Elastic IPs: allocated or moved, after their instance.
    fn addresses(&mut self, plan: &Plan, live_instance_ids: &BTreeMap<String, String>) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        for c in by_kind(plan, Kind::ElasticIp)
            .filter(|c| c.action != Action::Destroy && !only_renamed(c))
        {
            let spec = &desired.elastic_ips[&c.resource.name];
            let (instance, s) = self.instance_ref(&spec.instance, live_instance_ids);
            let mut needs: Vec<usize> = s.into_iter().collect();
            needs.extend(self.gates.get(&spec.instance).copied());
            // Traffic reaches the address once its instance's rules are set.
            if let Some(i) = desired.instances.get(&spec.instance) {
                needs.extend(
                    i.security_groups
                        .iter()
                        .filter_map(|g| self.rule_steps.get(g).copied()),
                );
            }
            let allocation = match &c.live_id {
                None => {
                    let tags = self.tags(&c.resource);
                    needs.push(self.add(
                        c.resource.clone(),
                        Op::AllocateAddress { tags },
                        vec![],
                        false,
                    ));
                    Ref::New(c.resource.clone())
                }
                Some(a) => Ref::Existing(a.clone()),
            };
            self.add(
                c.resource.clone(),
                Op::AssociateAddress {
                    allocation,
                    instance,
                },
                needs,
                false,
            );
        }
    }

    /// Destroys, in reverse order of creation; each waits for what replaces
    /// it.
    /// A step that succeeds once all of `needs` have: what comes after
    /// needs it alone. `None` when there is nothing to wait for.
    fn barrier(&mut self, needs: Vec<usize>) -> Option<usize> {
        if needs.is_empty() {
            return None;
        }
        let id = ResourceId::new(Kind::Instance, format!("barrier {}", self.steps.len()));
        Some(self.add(id, Op::Barrier, needs, false))
    }

    /// Destructions, after every creation and change: volumes of kept
    /// instances first, then instances (with addresses alongside), then
    /// the volumes they kept and the groups and key pairs. Each stage
    /// waits for the one before through one barrier step.
    fn destroys(&mut self, plan: &Plan, replaced_instances: &BTreeMap<String, usize>) {
        let destroyed = |c: &&Change| matches!(c.action, Action::Destroy | Action::Replace);
        if !plan.changes.iter().any(|c| destroyed(&c)) {
            return;
        }
        let inputs = self.inputs;
        let live = inputs.live;
        let after_creations: Vec<usize> = self
            .barrier((0..self.steps.len()).collect())
            .into_iter()
            .collect();
        let addresses: HashMap<&str, &model::LiveAddress> = live
            .addresses
            .iter()
            .map(|a| (a.allocation_id.as_str(), a))
            .collect();
        let old_instances: Vec<(ResourceId, String)> = by_kind(plan, Kind::Instance)
            .filter(destroyed)
            .filter_map(|c| Some((c.resource.clone(), c.live_id.clone()?)))
            .collect();
        let terminated: BTreeSet<&str> = old_instances.iter().map(|(_, i)| i.as_str()).collect();
        // Addresses are released alongside the terminations (an address
        // on an instance that terminates first is simply no longer
        // associated).
        for c in by_kind(plan, Kind::ElasticIp).filter(|c| c.action == Action::Destroy) {
            let a = c
                .live_id
                .as_deref()
                .and_then(|id| addresses.get(id))
                .expect("destroyed address is live");
            self.add(
                c.resource.clone(),
                Op::ReleaseAddress {
                    allocation_id: a.allocation_id.clone(),
                    association_id: a.association_id.clone(),
                },
                after_creations.clone(),
                true,
            );
        }
        // Before the terminations: volumes of kept instances, and the
        // snapshots of volumes EC2 deletes with their instance.
        let mut before = vec![];
        // After them, by the instance they wait for (by its live id).
        let mut after: Vec<(ResourceId, Op, String)> = vec![];
        for c in by_kind(plan, Kind::Volume).filter(|c| c.action == Action::Destroy) {
            let v = c
                .live_id
                .as_deref()
                .and_then(|id| self.volumes_by_id.get(id))
                .expect("destroyed volume is live");
            let snapshot = (!super::diff::deletes_data(v))
                .then(|| model::snapshot_tags(&self.inputs.desired.stack, &v.name));
            let on_terminated = v
                .attachment
                .as_ref()
                .map(|(i, _)| i.clone())
                .filter(|i| terminated.contains(i.as_str()));
            match on_terminated {
                // Kept by EC2: taken and deleted once the instance is gone.
                Some(instance) if v.kept_on_termination => after.push((
                    c.resource.clone(),
                    Op::DeleteVolume {
                        volume_id: v.id.clone(),
                        detach: None,
                        snapshot,
                        deleted_with: None,
                    },
                    instance,
                )),
                // Deleted by EC2 with its instance: the snapshot first.
                Some(instance) => {
                    let op = Op::DeleteVolume {
                        volume_id: v.id.clone(),
                        detach: None,
                        deleted_with: Some(instance.clone()),
                        snapshot: snapshot.clone(),
                    };
                    if snapshot.is_some() {
                        before.push(self.add(
                            c.resource.clone(),
                            op,
                            after_creations.clone(),
                            true,
                        ));
                    } else {
                        after.push((c.resource.clone(), op, instance));
                    }
                }
                None => before.push(self.add(
                    c.resource.clone(),
                    Op::DeleteVolume {
                        volume_id: v.id.clone(),
                        detach: v.attachment.clone(),
                        snapshot,
                        deleted_with: None,
                    },
                    after_creations.clone(),
                    true,
                )),
            }
        }
        // A stage's barrier stands for the stage before it too.
        let before_terminations = if old_instances.is_empty() {
            vec![]
        } else {
            self.barrier(before)
                .map_or(after_creations.clone(), |b| vec![b])
        };
        let mut terminations = vec![];
        let mut termination_of: HashMap<String, usize> = HashMap::new();
        for (id, instance_id) in old_instances {
            let mut needs = before_terminations.clone();
            needs.extend(replaced_instances.get(&instance_id).copied());
            let s = self.add(
                id,
                Op::TerminateInstance {
                    instance_id: instance_id.clone(),
                },
                needs,
                true,
            );
            termination_of.insert(instance_id, s);
            terminations.push(s);
        }
        for (id, op, instance) in after {
            let needs = termination_of.get(&instance).copied().into_iter().collect();
            self.add(id, op, needs, true);
        }
        let old_groups: Vec<(ResourceId, String)> = by_kind(plan, Kind::SecurityGroup)
            .filter(destroyed)
            .filter_map(|c| Some((c.resource.clone(), c.live_id.clone()?)))
            .collect();
        let old_key_pairs = by_kind(plan, Kind::KeyPair).any(|c| c.action == Action::Destroy);
        let after_terminations = if old_groups.is_empty() && !old_key_pairs {
            vec![]
        } else {
            self.barrier(terminations)
                .map_or(after_creations, |b| vec![b])
        };
        for (id, group_id) in old_groups {
            self.add(
                id,
                Op::DeleteGroup { group_id },
                after_terminations.clone(),
                true,
            );
        }
        for c in by_kind(plan, Kind::KeyPair).filter(|c| c.action == Action::Destroy) {
            let key_pair_id = c.live_id.clone().expect("destroyed key pair is live");
            self.add(
                c.resource.clone(),
                Op::DeleteKeyPair {
                    key_name: live_key_name(live, &key_pair_id),
                    key_pair_id,
                },
                after_terminations.clone(),
                true,
            );
        }
    }
}

/// The configuration of an instance without where it is written: moving it
/// in the file, or naming the file another way, changes no client token.
fn unlocated_instance(spec: &model::InstanceSpec) -> model::InstanceSpec {
    let mut entry = spec.entry.clone();
    // How it is rolled out is not what is launched.
    entry.rollout = model::Rollout::default();
    model::InstanceSpec {
        at: model::Location::default(),
        renamed_from: None,
        entry,
        ..spec.clone()
    }
}

/// [`unlocated_instance`] for a volume.
fn unlocated_volume(spec: &model::VolumeSpec) -> model::VolumeSpec {
    model::VolumeSpec {
        at: model::Location::default(),
        renamed_from: None,
        on_destroy: model::OnDestroy::default(),
        ..spec.clone()
    }
}

fn live_key_name(live: &model::Live, id: &str) -> String {
    live.key_pairs
        .iter()
        .find(|k| k.id == id)
        .map(|k| k.key_name.clone())
        .expect("planned key pair is live")
}

fn instance_update(
    c: &Change,
    spec: &model::InstanceSpec,
    groups: Vec<Ref>,
    live: &model::LiveInstance,
) -> InstanceUpdate {
    let changed = |f: Field| c.fields.iter().any(|x| x.field == f);
    let mut u = InstanceUpdate::default();
    if changed(Field::Type) {
        u.instance_type = Some(spec.instance_type.clone());
    }
    if changed(Field::UserData) {
        let text = spec.user_data.clone().unwrap_or_default();
        let digest = user_data_digest(&text);
        u.user_data = Some((text, digest));
    }
    if changed(Field::SecurityGroups) {
        u.groups = Some(groups);
    }
    if changed(Field::Tags) {
        u.set_tags = spec.tags.clone();
        u.remove_tags = live
            .tags
            .keys()
            .filter(|k| !k.starts_with("ec2-gitops:") && !k.starts_with("aws:") && *k != "Name")
            .filter(|k| !spec.tags.contains_key(*k))
            .cloned()
            .collect();
    }
    if changed(Field::Protect) {
        u.protect = Some(spec.protect);
    }
    if changed(Field::State) {
        u.start = true;
    }
    if changed(Field::RootVolumeSizeGb) || changed(Field::RootVolumeType) {
        let rv = spec.root_volume.as_ref().expect("root volume in spec");
        let vid = live
            .root_device
            .as_ref()
            .and_then(|d| live.block_devices.get(d))
            .cloned()
            .unwrap_or_default();
        u.root_volume = Some((vid, rv.size_gb, rv.volume_type.clone()));
    }
    u
}
