//! Elastic IPs: allocated and associated.

use super::*;

impl Builder<'_> {
    /// Elastic IPs: allocated or moved, after their instance is complete:
    /// running, healthy in its rollout batch, its groups' rules set and its
    /// data volumes attached (traffic comes with the address). In a
    /// replacement: launch, health, stop the old one, detach, attach to the
    /// new one, then the address, then the old one's termination.
    pub(super) fn addresses(&mut self, plan: &Plan, live_instance_ids: &BTreeMap<String, String>) {
        let inputs = self.inputs;
        let desired = inputs.desired;
        for c in by_kind(plan, Kind::ElasticIp)
            .filter(|c| c.action != Action::Destroy && !only_renamed_or_retagged(c))
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
            needs.extend(self.attachments.get(&spec.instance).into_iter().flatten());
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
}
