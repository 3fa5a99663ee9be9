//! Desired against live, resource by resource and field by field.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::ownership::{duplicate_warnings, launched_warnings, unclaimed_warnings};
use super::security::admin_port_warnings;
use super::{Action, Change, Effect, Field, FieldChange, Inputs, Plan, PlanError, Summary, Value};
use crate::model::{
    self, Desired, GroupSpec, InstanceSpec, Kind, Live, LiveGroup, LiveInstance, Peer, ResourceId,
    Rule,
};

/// Computes the plan of one stack.
pub fn compute(inputs: &Inputs<'_>) -> Plan {
    let renamed = super::renames::apply(inputs.desired, inputs.live);
    let seen = Inputs {
        desired: inputs.desired,
        live: &renamed.live,
        region: inputs.region,
    };
    let mut p = Planner {
        inputs: &seen,
        volumes_by_id: renamed
            .live
            .volumes
            .iter()
            .map(|v| (v.id.as_str(), v))
            .collect(),
        changes: Vec::new(),
        errors: Vec::new(),
        unchanged: 0,
        renamed_from: &renamed.from,
    };
    p.check_region();
    p.key_pairs();
    p.security_groups();
    p.instances();
    p.volumes();
    p.addresses();
    p.check_address_quota();

    let Planner {
        mut changes,
        errors,
        unchanged,
        ..
    } = p;
    super::order::sort(&mut changes);
    let mut warnings = admin_port_warnings(inputs.desired, &changes);
    warnings.extend(unclaimed_warnings(&inputs.desired.stack, inputs.live));
    warnings.extend(launched_warnings(&inputs.desired.stack, inputs.live));
    warnings.extend(duplicate_warnings(inputs.live));
    let summary = summarize(&changes, unchanged);
    let rollouts = super::rollout::plan(&changes, inputs.desired);
    let mut plan = Plan {
        format_version: super::FORMAT_VERSION,
        stack: inputs.desired.stack.clone(),
        region: inputs.desired.region.clone(),
        file: inputs.desired.file.clone(),
        fingerprint: String::new(),
        summary,
        changes,
        warnings,
        errors,
        rollouts,
        graph: super::graph::Graph::default(),
    };
    plan.graph = super::graph::of(inputs.desired, &plan.changes);
    plan.fingerprint = super::fingerprint::of(&plan);
    plan
}

fn summarize(changes: &[Change], unchanged: usize) -> Summary {
    let mut s = Summary {
        unchanged,
        ..Summary::default()
    };
    for c in changes {
        if c.blocked.is_some() {
            s.blocked += 1;
        }
        match c.action {
            Action::NoOp => {}
            Action::Create => s.create += 1,
            Action::Update => s.update += 1,
            Action::UpdateWithRestart => {
                s.update += 1;
                s.restart += 1;
            }
            Action::Replace => s.replace += 1,
            Action::Destroy => s.destroy += 1,
        }
    }
    s
}

struct Planner<'a> {
    inputs: &'a Inputs<'a>,
    /// The live volumes by id.
    volumes_by_id: HashMap<&'a str, &'a crate::model::LiveVolume>,
    changes: Vec<Change>,
    errors: Vec<PlanError>,
    unchanged: usize,
    /// Old names of renamed resources, by their new identity.
    renamed_from: &'a BTreeMap<ResourceId, String>,
}

/// Tags the tool manages itself; user `tags:` never include them.
fn is_reserved_tag(key: &str) -> bool {
    key == "Name" || key.starts_with("ec2-gitops:") || key.starts_with("aws:")
}

/// The EC2 key name of a stack key pair.
pub fn key_name(stack: &str, name: &str) -> String {
    format!("{stack}-{name}")
}

/// The EC2 name of a stack key pair: the live one's (a key pair adopted by
/// `import` keeps its name), or the derived one for a new key pair.
pub fn ec2_key_name(inputs: &Inputs<'_>, logical: &str) -> String {
    inputs
        .live
        .key_pairs
        .iter()
        .find(|k| k.name == logical)
        .map(|k| k.key_name.clone())
        .unwrap_or_else(|| key_name(&inputs.desired.stack, logical))
}

/// What deleting a live data volume does to its data.
pub fn volume_end(v: &model::LiveVolume) -> &'static str {
    if deletes_data(v) {
        "its data is deleted (`on_destroy: delete`)"
    } else {
        "snapshot, then delete"
    }
}

fn on_destroy_word(deletes: bool) -> &'static str {
    if deletes { "delete" } else { "snapshot" }
}

/// Whether a live data volume was written with `on_destroy: delete`.
pub fn deletes_data(v: &model::LiveVolume) -> bool {
    v.tags
        .get(model::ON_DESTROY_TAG)
        .is_some_and(|t| t == "delete")
}

/// Hex SHA-256 of user data, as kept in the [`model::USER_DATA_TAG`] tag.
pub fn user_data_digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn field(
    field: Field,
    before: Value,
    after: Value,
    effect: Effect,
    reason: &str,
) -> Option<FieldChange> {
    (before != after).then(|| FieldChange {
        field,
        before,
        after,
        effect,
        reason: reason.to_string(),
    })
}

fn action_of(fields: &[FieldChange]) -> Action {
    match fields.iter().map(|f| f.effect).max() {
        None => Action::NoOp,
        Some(Effect::InPlace) => Action::Update,
        Some(Effect::Restart) => Action::UpdateWithRestart,
        Some(Effect::Replace) => Action::Replace,
    }
}

impl<'a> Planner<'a> {
    fn desired(&self) -> &'a Desired {
        self.inputs.desired
    }

    fn live(&self) -> &'a Live {
        self.inputs.live
    }

    fn push(&mut self, mut change: Change) {
        // A resource kept under a new name: its tags change in place.
        let kept = matches!(
            change.action,
            Action::NoOp | Action::Update | Action::UpdateWithRestart
        );
        if let (true, Some(old)) = (kept, self.renamed_from.get(&change.resource)) {
            let new = change.resource.name.clone();
            change.fields.insert(
                0,
                FieldChange {
                    field: Field::Name,
                    before: Value::Text(old.clone()),
                    after: Value::Text(new.clone()),
                    effect: Effect::InPlace,
                    reason: "identity is the `ec2-gitops:name` tag: a rename changes tags only"
                        .into(),
                },
            );
            if change.action == Action::NoOp {
                change.action = Action::Update;
            }
            change
                .reason
                .get_or_insert_with(|| format!("rename {old} → {new} (tags only)"));
        }
        if change.action == Action::NoOp {
            self.unchanged += 1;
        } else {
            self.changes.push(change);
        }
    }

    /// A creation, with the values it creates: they are what the reviewer
    /// approves, so they are shown and fingerprinted like any change.
    fn create(&mut self, id: ResourceId, values: Vec<(Field, Value)>) {
        let fields = values
            .into_iter()
            .filter(|(_, v)| *v != Value::None)
            .map(|(field, after)| FieldChange {
                field,
                before: Value::None,
                after,
                effect: Effect::InPlace,
                reason: "set at creation".to_string(),
            })
            .collect();
        self.push(Change {
            resource: id,
            action: Action::Create,
            live_id: None,
            fields,
            reason: None,
            blocked: None,
        });
    }

    fn destroy(&mut self, id: ResourceId, live_id: &str, reason: &str, protected: bool) {
        self.push(Change {
            resource: id,
            action: Action::Destroy,
            live_id: Some(live_id.to_string()),
            fields: vec![],
            reason: Some(reason.to_string()),
            blocked: protected.then(|| {
                "protected: set `protect: false` and apply that first, then remove it".to_string()
            }),
        });
    }

    fn update(&mut self, id: ResourceId, live_id: &str, fields: Vec<FieldChange>, protect: bool) {
        let action = action_of(&fields);
        let blocked = (protect && action == Action::Replace).then(|| {
            "protected: `protect: true` forbids replacing this resource; revert the change or set `protect: false` first".to_string()
        });
        self.push(Change {
            resource: id,
            action,
            live_id: Some(live_id.to_string()),
            fields,
            reason: None,
            blocked,
        });
    }

    fn error(&mut self, id: ResourceId, at: &model::Location, message: String, hint: &str) {
        self.errors.push(PlanError {
            resource: id,
            at: Some(at.clone()),
            message,
            hint: Some(hint.to_string()),
        });
    }

    /// Images, subnets and VPCs the YAML names must exist in the region.
    /// The instances of one `count` entry share their settings: an error in
    /// them is the entry's, reported once at it.
    fn check_region(&mut self) {
        let instances = self.count_entries();
        let mut errors = self.image_and_subnet_errors(&instances);
        errors.extend(self.type_and_group_vpc_errors(&instances));
        errors.extend(self.group_region_errors());
        for (id, at, message, hint) in errors {
            self.error(id, &at, message, hint);
        }
    }

    /// One instance per `count` entry (and every instance outside one), with
    /// the entry's id and the prefix its messages start with.
    fn count_entries(&self) -> Vec<CountEntry<'a>> {
        let mut entries: BTreeSet<(&str, &model::Location)> = BTreeSet::new();
        self.desired()
            .instances
            .iter()
            .filter_map(|(n, i)| {
                let (entry, prefix) = match (i.entry.name.as_str(), i.entry.count) {
                    ("", _) => (n.as_str(), String::new()),
                    (e, c) if c > 1 => (e, format!("`instances.{e}` ({c} instances): ")),
                    (e, _) => (e, String::new()),
                };
                entries
                    .insert((entry, &i.at))
                    .then(|| (ResourceId::new(Kind::Instance, entry), prefix, i))
            })
            .collect()
    }

    /// Images and subnets the instances name that the region does not have.
    fn image_and_subnet_errors(&self, instances: &[CountEntry<'_>]) -> Vec<RegionError> {
        let region = self.inputs.region;
        let name = &self.desired().region;
        let mut errors = Vec::new();
        for (id, prefix, i) in instances {
            if !region.images.contains_key(&i.image) {
                errors.push((
                    id.clone(),
                    i.at.clone(),
                    format!(
                        "{prefix}image {} does not exist in {name} (or is not visible to this account)",
                        i.image
                    ),
                    "AMI ids differ per region: look the image up in this region",
                ));
            }
            if let Some(s) = &i.subnet
                && !region.subnets.contains_key(s)
            {
                errors.push((
                    id.clone(),
                    i.at.clone(),
                    format!("{prefix}subnet {s} does not exist in {name}"),
                    "omit `subnet` to use a default subnet",
                ));
            }
        }
        errors
    }

    /// Instance types the region does not offer, and groups in another VPC
    /// than their instance's.
    fn type_and_group_vpc_errors(&self, instances: &[CountEntry<'_>]) -> Vec<RegionError> {
        let region = self.inputs.region;
        let name = &self.desired().region;
        let mut errors = Vec::new();
        for (id, prefix, i) in instances {
            if let Some(offered) = &region.instance_types
                && !offered.contains(&i.instance_type)
            {
                errors.push((
                    id.clone(),
                    i.at.clone(),
                    format!(
                        "{prefix}instance type {} is not offered in {name}",
                        i.instance_type
                    ),
                    "pick a type this region offers (aws ec2 describe-instance-type-offerings)",
                ));
            }
            // The instance lands in its subnet's VPC (or the default VPC):
            // its groups must live there too.
            let instance_vpc = match &i.subnet {
                Some(s) => region.subnets.get(s).map(|(v, _)| v.clone()),
                None => region.default_vpc.clone(),
            };
            for g in &i.security_groups {
                let group_vpc = self
                    .desired()
                    .security_groups
                    .get(g)
                    .and_then(|spec| expected_vpc(self.inputs, spec));
                if let (Some(iv), Some(gv)) = (&instance_vpc, &group_vpc)
                    && iv != gv
                {
                    errors.push((
                        id.clone(),
                        i.at.clone(),
                        format!(
                            "{prefix}security group {g} is in {gv}, but the instance's {} is in {iv}",
                            i.subnet.as_deref().map_or("default subnet".to_string(), |s| format!("subnet {s}"))
                        ),
                        "an instance's groups must be in its subnet's VPC: set `subnet:` or the group's `vpc:` to match",
                    ));
                }
            }
        }
        errors
    }

    /// Group rules that reference a group in another VPC, and group VPCs the
    /// region does not have.
    fn group_region_errors(&self) -> Vec<RegionError> {
        let region = self.inputs.region;
        let name = &self.desired().region;
        let mut errors = Vec::new();
        for (n, g) in &self.desired().security_groups {
            let id = ResourceId::new(Kind::SecurityGroup, n);
            let vpc = expected_vpc(self.inputs, g);
            for r in g.ingress.iter().chain(g.egress.iter().flatten()) {
                if let Peer::Group(other) = &r.peer {
                    let other_vpc = self
                        .desired()
                        .security_groups
                        .get(other)
                        .and_then(|o| expected_vpc(self.inputs, o));
                    if other_vpc.is_some() && vpc.is_some() && other_vpc != vpc {
                        errors.push((
                            id.clone(),
                            g.at.clone(),
                            format!(
                                "rule `{r}` references group {other} in {}, but {n} is in {}",
                                other_vpc.unwrap_or_default(),
                                vpc.clone().unwrap_or_default()
                            ),
                            "security groups can reference groups of their own VPC only",
                        ));
                    }
                }
            }
            match &g.vpc {
                Some(v) if !region.vpcs.contains(v) => errors.push((
                    id,
                    g.at.clone(),
                    format!("VPC {v} does not exist in {name}"),
                    "omit `vpc` to use the region's default VPC",
                )),
                None if region.default_vpc.is_none() => errors.push((
                    id,
                    g.at.clone(),
                    format!("{name} has no default VPC"),
                    "set `vpc:` on the security group",
                )),
                _ => {}
            }
        }
        errors
    }

    /// New elastic IPs must fit in the account's quota for the region.
    fn check_address_quota(&mut self) {
        let Some((max, used)) = self.inputs.region.address_quota else {
            return;
        };
        let new: Vec<String> = self
            .changes
            .iter()
            .filter(|c| c.resource.kind == Kind::ElasticIp && c.action == Action::Create)
            .map(|c| c.resource.name.clone())
            .collect();
        if used + new.len() > max {
            let first = &new[0];
            let at = self.desired().elastic_ips[first].at.clone();
            let region = self.desired().region.clone();
            self.error(
                ResourceId::new(Kind::ElasticIp, first),
                &at,
                format!(
                    "{} new elastic IP(s) do not fit: the account has {used} of its {max} allowed in {region}",
                    new.len()
                ),
                "release unused addresses or ask AWS for a higher elastic IP quota",
            );
        }
    }

    fn key_pairs(&mut self) {
        let stack = self.desired().stack.clone();
        let mut live: BTreeMap<&str, Vec<_>> = BTreeMap::new();
        for k in &self.live().key_pairs {
            live.entry(k.name.as_str()).or_default().push(k);
        }
        for (name, spec) in &self.desired().key_pairs {
            let id = ResourceId::new(Kind::KeyPair, name);
            let Some(found) = live.remove(name.as_str()) else {
                self.create(
                    id,
                    vec![
                        (Field::KeyName, Value::Text(key_name(&stack, name))),
                        (
                            Field::PublicKey,
                            Value::Text(key_material(&spec.public_key)),
                        ),
                    ],
                );
                continue;
            };
            let (k, dups) = found.split_first().expect("non-empty");
            let before = k.public_key.as_deref().map(key_material);
            let fields = field(
                Field::PublicKey,
                Value::opt(before),
                Value::Text(key_material(&spec.public_key)),
                Effect::Replace,
                "EC2 cannot change a key pair's key: it is deleted and imported again (running instances keep the key they booted with)",
            )
            .filter(|_| k.public_key.is_some())
            .into_iter()
            .collect();
            self.update(id.clone(), &k.id, fields, false);
            for d in dups {
                self.destroy(
                    id.clone(),
                    &d.id,
                    "duplicate: another key pair has this name",
                    false,
                );
            }
        }
        for (name, ks) in live {
            for k in ks {
                self.destroy(
                    ResourceId::new(Kind::KeyPair, name),
                    &k.id,
                    "no longer in the YAML",
                    false,
                );
            }
        }
    }

    fn security_groups(&mut self) {
        let mut live: BTreeMap<&str, Vec<&LiveGroup>> = BTreeMap::new();
        for g in &self.live().security_groups {
            live.entry(g.name.as_str()).or_default().push(g);
        }
        let kept = kept_groups(self.inputs);
        for (name, spec) in &self.desired().security_groups {
            let id = ResourceId::new(Kind::SecurityGroup, name);
            let Some(mut found) = live.remove(name.as_str()) else {
                let rules = |rs: &[Rule]| {
                    Value::List(super::order::natural_list(
                        rs.iter().map(ToString::to_string),
                    ))
                };
                self.create(
                    id,
                    vec![
                        (Field::Description, Value::Text(spec.description.clone())),
                        (Field::Vpc, Value::opt(expected_vpc(self.inputs, spec))),
                        (Field::Ingress, rules(&spec.ingress)),
                        (Field::Egress, rules(&desired_egress(spec))),
                    ],
                );
                continue;
            };
            sort_groups(self.inputs, spec, &mut found);
            let (g, dups) = found.split_first().expect("non-empty");
            let fields = group_fields(self.inputs, spec, g, &kept);
            self.update(id.clone(), &g.id, fields, false);
            for d in dups {
                self.destroy(
                    id.clone(),
                    &d.id,
                    "duplicate: left by an interrupted replace",
                    false,
                );
            }
        }
        for (name, gs) in live {
            for g in gs {
                self.destroy(
                    ResourceId::new(Kind::SecurityGroup, name),
                    &g.id,
                    "no longer in the YAML",
                    false,
                );
            }
        }
    }

    fn instances(&mut self) {
        let mut live: BTreeMap<&str, Vec<&LiveInstance>> = BTreeMap::new();
        for i in &self.live().instances {
            live.entry(i.name.as_str()).or_default().push(i);
        }
        for (name, spec) in &self.desired().instances {
            let id = ResourceId::new(Kind::Instance, name);
            let Some(mut found) = live.remove(name.as_str()) else {
                let values = self.instance_values(spec);
                self.create(id, values);
                continue;
            };
            // Of several instances with one name (an interrupted replace),
            // keep the one closest to the YAML and destroy the others.
            found.sort_by_key(|i| {
                let f = self.instance_fields(spec, i);
                (action_of(&f), f.len(), i.id.clone())
            });
            let (i, dups) = found.split_first().expect("non-empty");
            let fields = self.instance_fields(spec, i);
            self.update(id.clone(), &i.id, fields, spec.protect);
            for d in dups {
                self.destroy(
                    id.clone(),
                    &d.id,
                    &format!(
                        "duplicate of {} ({}): left by an interrupted replace",
                        name, i.id
                    ),
                    d.tags.get(model::PROTECT_TAG).is_some_and(|v| v == "true"),
                );
            }
        }
        for (name, is) in live {
            for i in is {
                self.destroy(
                    ResourceId::new(Kind::Instance, name),
                    &i.id,
                    "no longer in the YAML",
                    i.tags.get(model::PROTECT_TAG).is_some_and(|v| v == "true"),
                );
            }
        }
    }

    /// The values a new instance is launched with.
    fn instance_values(&self, spec: &InstanceSpec) -> Vec<(Field, Value)> {
        let mut groups = spec.security_groups.clone();
        groups.sort();
        let mut v = vec![
            (Field::Image, Value::Text(spec.image.clone())),
            (Field::Type, Value::Text(spec.instance_type.clone())),
            (Field::Subnet, Value::opt(spec.subnet.clone())),
            (
                Field::KeyPair,
                Value::opt(
                    spec.key_pair
                        .as_deref()
                        .map(|k| ec2_key_name(self.inputs, k)),
                ),
            ),
            (
                Field::UserData,
                spec.user_data
                    .as_ref()
                    .map_or(Value::None, |u| Value::Digest {
                        sha256: user_data_digest(u),
                        bytes: u.len(),
                    }),
            ),
            (Field::SecurityGroups, Value::List(groups)),
            (
                Field::Tags,
                Value::List(spec.tags.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            ),
            (Field::Protect, Value::Text(spec.protect.to_string())),
        ];
        if let Some(rv) = &spec.root_volume {
            v.push((Field::RootVolumeType, Value::Text(rv.volume_type.clone())));
            v.push((Field::RootVolumeSizeGb, Value::Text(rv.size_gb.to_string())));
        }
        v
    }

    /// How live instance `i` differs from `spec`, field by field.
    fn instance_fields(&self, spec: &InstanceSpec, i: &LiveInstance) -> Vec<FieldChange> {
        let mut fields = self.launch_fields(spec, i);
        fields.extend(in_place_instance_fields(spec, i, self.live_group_names(i)));
        fields.extend(self.root_volume_fields(spec, i));
        fields.into_iter().flatten().collect()
    }

    /// Changes to what an instance is launched with: image, type, subnet,
    /// key pair and user data.
    fn launch_fields(&self, spec: &InstanceSpec, i: &LiveInstance) -> Vec<Option<FieldChange>> {
        let live_ud = i.tags.get(model::USER_DATA_TAG).cloned();
        let want_ud = spec.user_data.as_deref().map(user_data_digest);
        vec![
            field(
                Field::Image,
                Value::Text(i.image.clone()),
                Value::Text(spec.image.clone()),
                Effect::Replace,
                "an instance boots from its image once: a new image needs a new instance",
            ),
            field(
                Field::Type,
                Value::Text(i.instance_type.clone()),
                Value::Text(spec.instance_type.clone()),
                Effect::Restart,
                "EC2 changes the instance type only while the instance is stopped",
            ),
            spec.subnet.as_ref().and_then(|s| {
                field(
                    Field::Subnet,
                    Value::opt(i.subnet.clone()),
                    Value::Text(s.clone()),
                    Effect::Replace,
                    "an instance cannot move to another subnet",
                )
            }),
            field(
                Field::KeyPair,
                Value::opt(i.key_name.clone()),
                Value::opt(
                    spec.key_pair
                        .as_deref()
                        .map(|k| ec2_key_name(self.inputs, k)),
                ),
                Effect::Replace,
                "EC2 installs the key pair only at launch",
            ),
            // Sizes of live user data are unknown (only the digest is kept).
            if live_ud == want_ud {
                None
            } else {
                field(
                    Field::UserData,
                    user_data_value(live_ud, None),
                    user_data_value(want_ud, spec.user_data.as_ref().map(String::len)),
                    Effect::Restart,
                    "EC2 changes user data only while the instance is stopped (cloud-init runs it again only if it is written to)",
                )
            },
        ]
    }

    /// The sorted names of a live instance's groups: a kept stack group by
    /// its logical name, any other by its id.
    fn live_group_names(&self, i: &LiveInstance) -> Vec<String> {
        let names = kept_groups(self.inputs);
        let mut live_groups: Vec<String> = i
            .security_group_ids
            .iter()
            .map(|g| {
                names
                    .get(g.as_str())
                    .map_or_else(|| g.clone(), |n| n.to_string())
            })
            .collect();
        live_groups.sort();
        live_groups
    }

    /// Changes to the root volume's type and size, when the YAML sets them
    /// and the root volume is known.
    fn root_volume_fields(
        &self,
        spec: &InstanceSpec,
        i: &LiveInstance,
    ) -> Vec<Option<FieldChange>> {
        let mut fields = Vec::new();
        if let Some(rv) = &spec.root_volume {
            let root = i
                .root_device
                .as_ref()
                .and_then(|d| i.block_devices.get(d))
                .and_then(|vid| self.volumes_by_id.get(vid.as_str()).copied());
            if let Some(root) = root {
                fields.push(field(
                    Field::RootVolumeType,
                    Value::Text(root.volume_type.clone()),
                    Value::Text(rv.volume_type.clone()),
                    Effect::InPlace,
                    "EBS changes the volume type in place",
                ));
                fields.push(field(
                    Field::RootVolumeSizeGb,
                    Value::Text(root.size_gb.to_string()),
                    Value::Text(rv.size_gb.to_string()),
                    Effect::InPlace,
                    "EBS grows a volume in place (grow the file system afterwards)",
                ));
            }
        }
        fields
    }

    fn volumes(&mut self) {
        let mut live: BTreeMap<&str, Vec<&model::LiveVolume>> = BTreeMap::new();
        for v in &self.live().volumes {
            if !v.name.ends_with("/root") {
                live.entry(v.name.as_str()).or_default().push(v);
            }
        }
        let instance_ids = self.instance_ids();
        let mut errors = Vec::new();
        for (name, spec) in &self.desired().volumes {
            let id = ResourceId::new(Kind::Volume, name);
            let Some(found) = live.remove(name.as_str()) else {
                let attach = instance_ids
                    .get(spec.instance.as_str())
                    .map(|iid| format!("{iid} {}", spec.device))
                    .unwrap_or_else(|| format!("{} (new) {}", spec.instance, spec.device));
                self.create(
                    id,
                    vec![
                        (Field::SizeGb, Value::Text(spec.size_gb.to_string())),
                        (Field::Type, Value::Text(spec.volume_type.clone())),
                        (Field::Attachment, Value::Text(attach)),
                        (
                            Field::OnDestroy,
                            match spec.on_destroy {
                                model::OnDestroy::Delete => Value::Text("delete".into()),
                                model::OnDestroy::Snapshot => Value::None,
                            },
                        ),
                    ],
                );
                continue;
            };
            let (v, dups) = found.split_first().expect("non-empty");
            if spec.size_gb < v.size_gb {
                errors.push((
                    id.clone(),
                    spec.at.clone(),
                    format!(
                        "volume {name} cannot shrink from {} GiB to {} GiB",
                        v.size_gb, spec.size_gb
                    ),
                ));
            }
            let want_attach = instance_ids
                .get(spec.instance.as_str())
                .map(|iid| format!("{iid} {}", spec.device))
                .unwrap_or_else(|| format!("{} (new) {}", spec.instance, spec.device));
            let fields = [
                field(
                    Field::Type,
                    Value::Text(v.volume_type.clone()),
                    Value::Text(spec.volume_type.clone()),
                    Effect::InPlace,
                    "EBS changes the volume type in place",
                ),
                (spec.size_gb > v.size_gb)
                    .then(|| {
                        field(
                            Field::SizeGb,
                            Value::Text(v.size_gb.to_string()),
                            Value::Text(spec.size_gb.to_string()),
                            Effect::InPlace,
                            "EBS grows a volume in place (grow the file system afterwards)",
                        )
                    })
                    .flatten(),
                field(
                    Field::Attachment,
                    Value::opt(v.attachment.as_ref().map(|(i, d)| format!("{i} {d}"))),
                    Value::Text(want_attach),
                    Effect::InPlace,
                    "the volume is detached and attached in place; its data is kept",
                ),
                field(
                    Field::OnDestroy,
                    Value::Text(on_destroy_word(deletes_data(v)).into()),
                    Value::Text(
                        on_destroy_word(spec.on_destroy == model::OnDestroy::Delete).into(),
                    ),
                    Effect::InPlace,
                    "kept as a tag, so the choice holds once the volume is removed from the YAML",
                ),
            ]
            .into_iter()
            .flatten()
            .collect();
            self.update(id.clone(), &v.id, fields, spec.protect);
            for d in dups {
                let reason = format!("duplicate: another volume has this name; {}", volume_end(d));
                self.destroy(id.clone(), &d.id, &reason, spec.protect);
            }
        }
        for (id, at, message) in errors {
            self.error(
                id,
                &at,
                message,
                "EBS volumes can only grow; restore the size in the YAML",
            );
        }
        for (name, vs) in live {
            for v in vs {
                let protected = v.tags.get(model::PROTECT_TAG).is_some_and(|p| p == "true");
                let reason = format!("no longer in the YAML: {}", volume_end(v));
                self.destroy(
                    ResourceId::new(Kind::Volume, name),
                    &v.id,
                    &reason,
                    protected,
                );
            }
        }
    }

    /// Live ids of instances that stay (not replaced, not created).
    fn instance_ids(&self) -> BTreeMap<String, String> {
        let replaced: BTreeSet<&str> = self
            .changes
            .iter()
            .filter(|c| c.resource.kind == Kind::Instance && c.action == Action::Replace)
            .map(|c| c.resource.name.as_str())
            .collect();
        let mut out = BTreeMap::new();
        for c in self
            .changes
            .iter()
            .filter(|c| c.resource.kind == Kind::Instance)
        {
            if c.action == Action::Destroy || replaced.contains(c.resource.name.as_str()) {
                continue;
            }
            if let Some(id) = &c.live_id {
                out.insert(c.resource.name.clone(), id.clone());
            }
        }
        // No-op instances are not in `changes`: take them from live. (A kept
        // instance may share its name with a destroyed duplicate: match ids.)
        for i in &self.live().instances {
            if self.desired().instances.contains_key(&i.name)
                && !replaced.contains(i.name.as_str())
                && !self
                    .changes
                    .iter()
                    .any(|c| c.resource.kind == Kind::Instance && c.live_id.as_ref() == Some(&i.id))
            {
                out.insert(i.name.clone(), i.id.clone());
            }
        }
        out
    }

    fn addresses(&mut self) {
        let mut live: BTreeMap<&str, Vec<&model::LiveAddress>> = BTreeMap::new();
        for a in &self.live().addresses {
            live.entry(a.name.as_str()).or_default().push(a);
        }
        let instance_ids = self.instance_ids();
        for (name, spec) in &self.desired().elastic_ips {
            let id = ResourceId::new(Kind::ElasticIp, name);
            let Some(found) = live.remove(name.as_str()) else {
                let want = instance_ids
                    .get(&spec.instance)
                    .cloned()
                    .unwrap_or_else(|| format!("{} (new)", spec.instance));
                self.create(id, vec![(Field::Instance, Value::Text(want))]);
                continue;
            };
            let (a, dups) = found.split_first().expect("non-empty");
            let want = instance_ids
                .get(&spec.instance)
                .cloned()
                .unwrap_or_else(|| format!("{} (new)", spec.instance));
            let fields: Vec<FieldChange> = field(
                Field::Instance,
                Value::opt(a.instance_id.clone()),
                Value::Text(want),
                Effect::InPlace,
                "the address is re-associated in place (its IP is kept)",
            )
            .into_iter()
            .collect();
            self.update(id.clone(), &a.allocation_id, fields, false);
            for d in dups {
                self.destroy(
                    id.clone(),
                    &d.allocation_id,
                    "duplicate: another address has this name",
                    false,
                );
            }
        }
        for (name, addrs) in live {
            for a in addrs {
                self.destroy(
                    ResourceId::new(Kind::ElasticIp, name),
                    &a.allocation_id,
                    &format!("no longer in the YAML: {} is released", a.public_ip),
                    false,
                );
            }
        }
    }
}

/// One instance per `count` entry: the entry's id, the prefix of its
/// messages, and its settings.
type CountEntry<'a> = (ResourceId, String, &'a InstanceSpec);

/// An error about the region, before it is reported: the resource, where it
/// is written, the message and the hint.
type RegionError = (ResourceId, model::Location, String, &'static str);

/// Changes an instance takes in place: groups, tags, protection and state.
/// `live_groups` are the instance's groups as [`Planner::live_group_names`]
/// names them.
fn in_place_instance_fields(
    spec: &InstanceSpec,
    i: &LiveInstance,
    live_groups: Vec<String>,
) -> Vec<Option<FieldChange>> {
    let mut want_groups = spec.security_groups.clone();
    want_groups.sort();
    let live_tags: Vec<String> = i
        .tags
        .iter()
        .filter(|(k, _)| !is_reserved_tag(k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let want_tags: Vec<String> = spec.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    vec![
        // No groups in the YAML: EC2 puts the instance in the VPC's
        // default group, which is then left alone.
        field(
            Field::SecurityGroups,
            Value::List(live_groups),
            Value::List(want_groups),
            Effect::InPlace,
            "security-group membership changes in place",
        )
        .filter(|_| !spec.security_groups.is_empty()),
        field(
            Field::Tags,
            Value::List(live_tags),
            Value::List(want_tags),
            Effect::InPlace,
            "tags change in place",
        ),
        field(
            Field::Protect,
            Value::Text(
                i.tags
                    .get(model::PROTECT_TAG)
                    .map_or("false", |v| v.as_str())
                    .to_string(),
            ),
            Value::Text(spec.protect.to_string()),
            Effect::InPlace,
            "termination protection is switched in place",
        ),
        (i.state == "stopped" || i.state == "stopping")
            .then(|| {
                field(
                    Field::State,
                    Value::Text(i.state.clone()),
                    Value::Text("running".into()),
                    Effect::InPlace,
                    "the stack's instances run; this one was stopped outside ec2-gitops",
                )
            })
            .flatten(),
    ]
}

/// The value shown for user data: its digest and size, or none.
fn user_data_value(digest: Option<String>, bytes: Option<usize>) -> Value {
    match digest {
        None => Value::None,
        Some(sha256) => Value::Digest {
            sha256,
            bytes: bytes.unwrap_or(0),
        },
    }
}

/// What EC2 gives a new security group: all traffic out to anywhere (IPv4).
pub fn default_egress() -> Vec<Rule> {
    vec![Rule {
        protocol: model::Protocol::All,
        from_port: -1,
        to_port: -1,
        peer: Peer::Cidr4("0.0.0.0/0".into()),
    }]
}

/// The OpenSSH key without its comment: EC2 drops comments on import.
fn key_material(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The expected VPC of a group: its own, or the region's default.
fn expected_vpc(inputs: &Inputs<'_>, spec: &GroupSpec) -> Option<String> {
    spec.vpc
        .clone()
        .or_else(|| inputs.region.default_vpc.clone())
}

/// Whether a live group can serve a desired one without replacement.
fn group_needs_replace(inputs: &Inputs<'_>, spec: &GroupSpec, g: &LiveGroup) -> bool {
    g.description != spec.description || Some(&g.vpc_id) != expected_vpc(inputs, spec).as_ref()
}

/// Orders the live groups of one name so the one to keep comes first (an
/// interrupted replace leaves two).
fn sort_groups(inputs: &Inputs<'_>, spec: &GroupSpec, found: &mut [&LiveGroup]) {
    found.sort_by_key(|g| (group_needs_replace(inputs, spec, g), g.id.clone()));
}

/// Live group id → logical name, for the groups that stay (neither replaced
/// nor destroyed). Instances and rules that point at any other group id point
/// at something that is going away.
pub fn kept_groups(inputs: &Inputs<'_>) -> BTreeMap<String, String> {
    let mut by_name: BTreeMap<&str, Vec<&LiveGroup>> = BTreeMap::new();
    for g in &inputs.live.security_groups {
        by_name.entry(g.name.as_str()).or_default().push(g);
    }
    let mut out = BTreeMap::new();
    for (name, spec) in &inputs.desired.security_groups {
        if let Some(found) = by_name.get_mut(name.as_str()) {
            sort_groups(inputs, spec, found);
            if let Some(g) = found
                .first()
                .filter(|g| !group_needs_replace(inputs, spec, g))
            {
                out.insert(g.id.clone(), name.clone());
            }
        }
    }
    out
}

/// A live rule with the ids of kept stack groups turned into their names.
pub fn name_peer(rule: &Rule, kept: &BTreeMap<String, String>) -> Rule {
    match &rule.peer {
        Peer::GroupId(id) => match kept.get(id) {
            Some(name) => Rule {
                peer: Peer::Group(name.clone()),
                ..rule.clone()
            },
            None => rule.clone(),
        },
        _ => rule.clone(),
    }
}

/// The rules a group should have out (`None` in the YAML: EC2's default).
pub fn desired_egress(spec: &GroupSpec) -> Vec<Rule> {
    spec.egress.clone().unwrap_or_else(default_egress)
}

fn group_fields(
    inputs: &Inputs<'_>,
    spec: &GroupSpec,
    g: &LiveGroup,
    kept: &BTreeMap<String, String>,
) -> Vec<FieldChange> {
    let rules = |rs: &[Rule]| -> Vec<String> {
        super::order::natural_list(rs.iter().map(|r| name_peer(r, kept).to_string()))
    };
    [
        field(
            Field::Description,
            Value::Text(g.description.clone()),
            Value::Text(spec.description.clone()),
            Effect::Replace,
            "EC2 cannot change a security group's description",
        ),
        field(
            Field::Vpc,
            Value::Text(g.vpc_id.clone()),
            Value::opt(expected_vpc(inputs, spec)),
            Effect::Replace,
            "a security group cannot move to another VPC",
        ),
        field(
            Field::Ingress,
            Value::List(rules(&g.ingress)),
            Value::List(rules(&spec.ingress)),
            Effect::InPlace,
            "rules are authorized and revoked in place",
        ),
        field(
            Field::Egress,
            Value::List(rules(&g.egress)),
            Value::List(rules(&desired_egress(spec))),
            Effect::InPlace,
            "rules are authorized and revoked in place",
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}
