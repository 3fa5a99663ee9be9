//! Key pairs: imported, and a replaced key deleted first (EC2 key names
//! are unique).

use super::*;

impl Builder<'_> {
    /// Key pairs: a replace deletes first (EC2 key names are unique).
    pub(super) fn key_pairs(&mut self, plan: &Plan) {
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
}

pub(super) fn live_key_name(live: &model::Live, id: &str) -> String {
    live.key_pairs
        .iter()
        .find(|k| k.id == id)
        .map(|k| k.key_name.clone())
        .expect("planned key pair is live")
}
