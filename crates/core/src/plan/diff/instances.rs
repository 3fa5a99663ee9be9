//! Instances: their changes, and what each field needs.

use super::*;

impl<'a> Planner<'a> {
    pub(super) fn instances(&mut self) {
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
            self.root_volume_errors(&id, spec, i, &fields);
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
    pub(super) fn instance_values(&self, spec: &InstanceSpec) -> Vec<(Field, Value)> {
        let mut groups = spec.security_groups.clone();
        groups.sort();
        let mut v = vec![
            (
                Field::Image,
                Value::Text(crate::plan::images::shown(
                    &spec.image,
                    spec.image_ref.as_ref(),
                )),
            ),
            (Field::Type, Value::Text(spec.instance_type.clone())),
            (
                Field::Subnet,
                Value::opt(
                    super::region::placed_subnet(spec, self.inputs.region)
                        .map(|s| self.subnet_shown(&s, spec.zone.as_deref())),
                ),
            ),
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
        v.extend(super::server::server_values(spec));
        if let Some(rv) = &spec.root_volume {
            v.push((Field::RootVolumeType, Value::Text(rv.volume_type.clone())));
            v.push((Field::RootVolumeSizeGb, Value::Text(rv.size_gb.to_string())));
            v.extend(super::disks::disk_values(&rv.disk, true));
        }
        v
    }

    /// How live instance `i` differs from `spec`, field by field.
    pub(super) fn instance_fields(
        &self,
        spec: &InstanceSpec,
        i: &LiveInstance,
    ) -> Vec<FieldChange> {
        let mut fields = self.launch_fields(spec, i);
        fields.extend(in_place_instance_fields(spec, i, self.live_group_names(i)));
        fields.extend(super::server::server_fields(spec, i));
        fields.extend(self.root_volume_fields(spec, i));
        fields.into_iter().flatten().collect()
    }

    /// Changes to what an instance is launched with: image, type, subnet,
    /// key pair and user data.
    pub(super) fn launch_fields(
        &self,
        spec: &InstanceSpec,
        i: &LiveInstance,
    ) -> Vec<Option<FieldChange>> {
        let live_ud = i.tags.get(model::USER_DATA_TAG).cloned();
        let want_ud = spec.user_data.as_deref().map(user_data_digest);
        vec![
            (i.image != spec.image).then(|| FieldChange {
                field: Field::Image,
                before: Value::Text(i.image.clone()),
                after: Value::Text(crate::plan::images::shown(
                    &spec.image,
                    spec.image_ref.as_ref(),
                )),
                effect: Effect::Replace,
                reason: match &spec.image_ref {
                    Some(r) => format!(
                        "{r} now names another image; an instance boots from its image once: a new image needs a new instance"
                    ),
                    None => {
                        "an instance boots from its image once: a new image needs a new instance"
                            .into()
                    }
                },
            }),
            field(
                Field::Type,
                Value::Text(i.instance_type.clone()),
                Value::Text(spec.instance_type.clone()),
                Effect::Restart,
                "EC2 changes the instance type only while the instance is stopped",
            ),
            super::region::placed_subnet(spec, self.inputs.region)
                .filter(|s| i.subnet.as_ref() != Some(s))
                .map(|s| FieldChange {
                    field: Field::Subnet,
                    before: Value::opt(
                        i.subnet
                            .as_ref()
                            .map(|l| self.subnet_shown(l, i.availability_zone.as_deref())),
                    ),
                    after: Value::Text(self.subnet_shown(&s, spec.zone.as_deref())),
                    effect: Effect::Replace,
                    reason: "an instance cannot move to another subnet".into(),
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

    /// A subnet as the plan shows it: its id and zone (`subnet-… (us-east-1a)`),
    /// the zone from the region's facts, else `zone`.
    pub(super) fn subnet_shown(&self, subnet: &str, zone: Option<&str>) -> String {
        let known = self
            .inputs
            .region
            .subnets
            .get(subnet)
            .map(|(_, z)| z.as_str());
        match known.or(zone) {
            Some(z) => format!("{subnet} ({z})"),
            None => subnet.to_string(),
        }
    }

    /// The sorted names of a live instance's groups: a kept stack group by
    /// its logical name, any other by its id.
    pub(super) fn live_group_names(&self, i: &LiveInstance) -> Vec<String> {
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

    /// The live root volume of instance `i`, when it is known.
    fn root_of(&self, i: &LiveInstance) -> Option<&'a model::LiveVolume> {
        i.root_device
            .as_ref()
            .and_then(|d| i.block_devices.get(d))
            .and_then(|vid| self.volumes_by_id.get(vid.as_str()).copied())
    }

    /// Refuses what the root volume of `i` cannot become in place (its
    /// encryption), and a modification within EBS's six hours.
    fn root_volume_errors(
        &mut self,
        id: &ResourceId,
        spec: &InstanceSpec,
        i: &LiveInstance,
        fields: &[FieldChange],
    ) {
        let (Some(rv), Some(root)) = (&spec.root_volume, self.root_of(i)) else {
            return;
        };
        // A replacement gets a new root volume, made as the YAML says.
        if action_of(fields) == Action::Replace {
            return;
        }
        let (_, refused) = super::disks::disk_fields(&rv.disk, root, true);
        let mut errors: Vec<(String, String)> = refused
            .into_iter()
            .map(|m| (m, super::disks::ENCRYPTION_HINT.to_string()))
            .collect();
        errors.extend(self.cooldown_error(root, fields));
        for (message, hint) in errors {
            self.error(id.clone(), &spec.at, message, &hint);
        }
    }

    /// Changes to the root volume's type, size, IOPS and throughput, when
    /// the YAML sets them and the root volume is known.
    pub(super) fn root_volume_fields(
        &self,
        spec: &InstanceSpec,
        i: &LiveInstance,
    ) -> Vec<Option<FieldChange>> {
        let mut fields = Vec::new();
        if let Some(rv) = &spec.root_volume
            && let Some(root) = self.root_of(i)
        {
            let (disk, _) = super::disks::disk_fields(&rv.disk, root, true);
            fields.extend(disk.into_iter().map(Some));
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
        fields
    }

    /// Live ids of instances that stay (not replaced, not created).
    pub(super) fn instance_ids(&self) -> BTreeMap<String, String> {
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
}

/// Changes an instance takes in place: groups, tags, protection and state.
/// `live_groups` are the instance's groups as [`Planner::live_group_names`]
/// names them.
pub(super) fn in_place_instance_fields(
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
pub(super) fn user_data_value(digest: Option<String>, bytes: Option<usize>) -> Value {
    match digest {
        None => Value::None,
        Some(sha256) => Value::Digest {
            sha256,
            bytes: bytes.unwrap_or(0),
        },
    }
}

/// Hex SHA-256 of user data, as kept in the [`model::USER_DATA_TAG`] tag.
pub fn user_data_digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}
