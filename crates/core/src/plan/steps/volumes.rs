//! Data volumes: created, resized or moved.

use super::*;

impl Builder<'_> {
    /// Volumes: created, resized or moved, after their instance.
    pub(super) fn volumes(&mut self, plan: &Plan, live_instance_ids: &BTreeMap<String, String>) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        let stack = desired.stack.as_str();
        for c in by_kind(plan, Kind::Volume)
            .filter(|c| c.action != Action::Destroy && !only_renamed_or_retagged(c))
        {
            let spec = &desired.volumes[&c.resource.name];
            let (instance, s) = self.instance_ref(&spec.instance, live_instance_ids);
            let mut needs: Vec<usize> = s.into_iter().collect();
            needs.extend(self.gates.get(&spec.instance).copied());
            let op = if c.action == Action::Create {
                // The same whether the instance is launched in this run or
                // was by a run that stopped: a CreateVolume that run sent
                // and EC2 had not listed yet is answered, not made twice.
                // The instance's terminated predecessors tell a volume for
                // a new server of the name apart.
                let predecessors = (inputs.live.terminated.get(&spec.instance))
                    .map(|ids| ids.join(","))
                    .unwrap_or_default();
                Op::CreateVolume {
                    client_token: client_token(&[
                        stack,
                        &c.resource.tag_value(),
                        &format!("{:?}", unlocated_volume(spec)),
                        &spec.instance,
                        &predecessors,
                    ]),
                    instance,
                    device: spec.device.clone(),
                    size_gb: spec.size_gb,
                    volume_type: spec.volume_type.clone(),
                    disk: spec.disk.clone(),
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
                    modify: [Field::SizeGb, Field::Type, Field::Iops, Field::Throughput]
                        .into_iter()
                        .any(changed)
                        .then(|| Modify {
                            size_gb: spec.size_gb.max(v.size_gb),
                            volume_type: spec.volume_type.clone(),
                            iops: spec.disk.iops,
                            throughput: spec.disk.throughput,
                        }),
                    detach: v.attachment.clone().filter(|_| reattach),
                    attach: reattach.then(|| (instance, spec.device.clone())),
                    deletes_data: changed(Field::OnDestroy)
                        .then_some(spec.on_destroy == model::OnDestroy::Delete),
                }
            };
            let attaches = matches!(
                op,
                Op::CreateVolume { .. }
                    | Op::UpdateVolume {
                        attach: Some(_),
                        ..
                    }
            );
            let s = self.add(c.resource.clone(), op, needs, false);
            if attaches {
                self.attachments
                    .entry(spec.instance.clone())
                    .or_default()
                    .push(s);
            }
        }
    }
}

/// [`unlocated_instance`] for a volume.
pub(super) fn unlocated_volume(spec: &model::VolumeSpec) -> model::VolumeSpec {
    model::VolumeSpec {
        at: model::Location::default(),
        renamed_from: None,
        on_destroy: model::OnDestroy::default(),
        ..spec.clone()
    }
}
