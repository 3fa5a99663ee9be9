//! Destructions, after every creation and change.

use super::key_pairs::live_key_name;
use super::*;

impl Builder<'_> {
    /// Destructions, after every creation and change: volumes of kept
    /// instances first, then instances (with addresses alongside), then
    /// the volumes they kept and the groups and key pairs. Each stage
    /// waits for the one before through one barrier step. Over 120 lines:
    /// the stages share the steps made so far and what each must wait
    /// for, kept in one function so the order reads as it runs.
    pub(super) fn destroys(&mut self, plan: &Plan, replaced_instances: &BTreeMap<String, usize>) {
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
        // Servers still in a target group leave it, drained, first.
        let serving: Vec<(String, String)> = old_instances
            .iter()
            .filter(|(_, i)| !self.before_termination.contains_key(i))
            .map(|(id, i)| (id.name.clone(), i.clone()))
            .collect();
        self.leave(&serving, after_creations.clone());
        let balancers = self.balancer_destroys(plan, &after_creations);
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
            let snapshot = (!crate::plan::diff::deletes_data(v)).then(|| {
                let mut tags = self.inputs.desired.tags.clone();
                tags.extend(model::snapshot_tags(&self.inputs.desired.stack, &v.name));
                if let Some(pr) = self.inputs.desired.preview_of {
                    tags.insert(model::PREVIEW_TAG.into(), pr.to_string());
                }
                tags
            });
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
            needs.extend(
                self.before_termination
                    .get(&instance_id)
                    .into_iter()
                    .flatten(),
            );
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
        // A load balancer holds its security groups until it is deleted.
        terminations.extend(balancers);
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
