//! Elastic IPs: their changes.

use super::*;

impl<'a> Planner<'a> {
    pub(super) fn addresses(&mut self) {
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
            let fields = self.with_stack_tags(fields, &a.tags);
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
