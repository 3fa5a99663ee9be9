//! Data volumes: their changes.

use super::*;

impl<'a> Planner<'a> {
    pub(super) fn volumes(&mut self) {
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
                let mut values = vec![
                    (Field::SizeGb, Value::Text(spec.size_gb.to_string())),
                    (Field::Type, Value::Text(spec.volume_type.clone())),
                ];
                values.extend(super::disks::disk_values(&spec.disk, false));
                values.push((Field::Attachment, Value::Text(attach)));
                values.push((
                    Field::OnDestroy,
                    match spec.on_destroy {
                        model::OnDestroy::Delete => Value::Text("delete".into()),
                        model::OnDestroy::Snapshot => Value::None,
                    },
                ));
                self.create(id, values);
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
                    "EBS volumes can only grow; restore the size in the YAML".to_string(),
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
            .flatten();
            let (disk, refused) = super::disks::disk_fields(&spec.disk, v, false);
            let fields: Vec<FieldChange> = fields.chain(disk).collect();
            for message in refused {
                let hint = super::disks::ENCRYPTION_HINT.to_string();
                errors.push((id.clone(), spec.at.clone(), message, hint));
            }
            errors.extend(
                self.cooldown_error(v, &fields)
                    .map(|(m, h)| (id.clone(), spec.at.clone(), m, h)),
            );
            let fields = self.with_stack_tags(fields, &v.tags);
            self.update(id.clone(), &v.id, fields, spec.protect);
            for d in dups {
                let reason = format!("duplicate: another volume has this name; {}", volume_end(d));
                self.destroy(id.clone(), &d.id, &reason, spec.protect);
            }
        }
        for (id, at, message, hint) in errors {
            self.error(id, &at, message, &hint);
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
}

/// What deleting a live data volume does to its data.
pub fn volume_end(v: &model::LiveVolume) -> &'static str {
    if deletes_data(v) {
        "its data is deleted (`on_destroy: delete`)"
    } else {
        "snapshot, then delete"
    }
}

pub(super) fn on_destroy_word(deletes: bool) -> &'static str {
    if deletes { "delete" } else { "snapshot" }
}

/// Whether a live data volume was written with `on_destroy: delete`.
pub fn deletes_data(v: &model::LiveVolume) -> bool {
    v.tags
        .get(model::ON_DESTROY_TAG)
        .is_some_and(|t| t == "delete")
}
