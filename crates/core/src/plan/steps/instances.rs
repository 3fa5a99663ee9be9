//! Instances: launches and updates, and the health gates of rollouts.

use super::*;

impl Builder<'_> {
    /// Instances: launches and updates, after their groups, rules and key
    /// pairs. Returns the live id of each instance kept, and the launch
    /// step that replaces each replaced instance (by its live id). Over
    /// 120 lines: launches, updates and the rollout's gates are made in one
    /// pass over the plan's instances, in rollout order.
    pub(super) fn instances(
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
                // An instance's user tags are all the stack's: no record.
                tags.remove(model::TAGS_TAG);
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
                    subnet: crate::plan::diff::placed_subnet(spec, inputs.region),
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
                    instance_profile: spec.instance_profile.clone(),
                    metadata: spec.metadata,
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
                let mut update = instance_update(c, spec, groups, live_instance);
                if c.fields.iter().any(|f| f.field == Field::Tags) {
                    // The stack names a root volume after its instance
                    // (EC2 may report a root device the mapping does not use).
                    let root = format!("{}/root", c.resource.name);
                    update.root_volume_tags = (live.volumes.iter())
                        .find(|v| {
                            v.name == root
                                && v.attachment.as_ref().map(|(i, _)| i) == Some(&live_instance.id)
                        })
                        .map(|v| v.id.clone())
                        .or(update.root_volume_tags);
                }
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
    pub(super) fn rollouts(&mut self, plan: &Plan) {
        for r in &plan.rollouts {
            let mut previous: Option<usize> = None;
            let n = r.batches.len();
            for (k, batch) in r.batches.iter().enumerate() {
                let mut members = Vec::new();
                let mut named = Vec::new();
                let mut instances = Vec::new();
                let mut replaced = Vec::new();
                for name in batch {
                    let Some(&s) = self.instance_steps.get(name) else {
                        continue;
                    };
                    if let Some(gate) = previous {
                        self.steps[s].needs.push(gate);
                    }
                    members.push(s);
                    named.push((name.clone(), s));
                    let instance = match &self.steps[s].op {
                        Op::UpdateInstance { instance_id, .. } => {
                            Ref::Existing(instance_id.clone())
                        }
                        _ => {
                            replaced.extend(
                                by_kind(plan, Kind::Instance)
                                    .find(|c| &c.resource.name == name)
                                    .and_then(|c| c.live_id.clone())
                                    .map(|old| (name.clone(), old)),
                            );
                            Ref::New(ResourceId::new(Kind::Instance, name.clone()))
                        }
                    };
                    instances.push((name.clone(), instance));
                }
                if members.is_empty() {
                    continue;
                }
                // An entry behind a load balancer: out of rotation while it
                // changes, back in before its gate.
                let mut gate_needs = members.clone();
                let mut groups = vec![];
                if !r.target_groups.is_empty() {
                    gate_needs.extend(self.out_of_rotation(&named, previous, &r.target_groups));
                    groups = (r.target_groups.iter())
                        .map(|g| self.target_group_ref(g).0)
                        .collect();
                }
                let batch_name = format!("{} batch {}/{n}", r.entry, k + 1);
                super::batches::restarts(&mut self.steps, &batch_name, &members);
                let gate = self.add(
                    ResourceId::new(Kind::Instance, batch_name),
                    Op::HealthGate {
                        instances,
                        health: r.health,
                        timeout_secs: r.timeout_secs,
                        groups,
                    },
                    gate_needs,
                    false,
                );
                if !r.target_groups.is_empty() {
                    self.replaced_out_of_rotation(gate, &replaced);
                }
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
    pub(super) fn stop_before_moving(&mut self, old: &str, new: &str) -> usize {
        if let Some(&s) = self.stops.get(old) {
            return s;
        }
        let mut needs: Vec<usize> = self.gates.get(new).copied().into_iter().collect();
        needs.extend(self.instance_steps.get(new).copied());
        // A server behind a load balancer is drained before it stops.
        needs.extend(self.before_termination.get(old).into_iter().flatten());
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
}

pub(super) fn instance_update(
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
        u.root_volume_tags = live
            .root_device
            .as_ref()
            .and_then(|d| live.block_devices.get(d))
            .cloned();
    }
    if changed(Field::Protect) {
        u.protect = Some(spec.protect);
    }
    if changed(Field::State) {
        u.start = true;
    }
    if changed(Field::InstanceProfile) {
        u.instance_profile = Some(spec.instance_profile.clone());
    }
    if changed(Field::MetadataTokens) || changed(Field::MetadataHopLimit) {
        u.metadata = Some(spec.metadata);
    }
    if [
        Field::RootVolumeSizeGb,
        Field::RootVolumeType,
        Field::RootVolumeIops,
        Field::RootVolumeThroughput,
    ]
    .into_iter()
    .any(changed)
    {
        let rv = spec.root_volume.as_ref().expect("root volume in spec");
        let vid = live
            .root_device
            .as_ref()
            .and_then(|d| live.block_devices.get(d))
            .cloned()
            .unwrap_or_default();
        u.root_volume = Some((
            vid,
            Modify {
                size_gb: rv.size_gb,
                volume_type: rv.volume_type.clone(),
                iops: rv.disk.iops,
                throughput: rv.disk.throughput,
            },
        ));
    }
    u
}
