//! Steps that go to EC2 as one call.
//!
//! - **Launches.** The new members of one `instances:` entry that are
//!   launched alike (image, type, subnet, groups, key, user data, volumes,
//!   tags but their name) and after the same steps are launched by ONE
//!   `RunInstances` with `MinCount = MaxCount = k` (at most 1,000: EC2's
//!   burst of instances). EC2's request bucket for `RunInstances` is 5 then 2
//!   a second: one request per server would make 100 servers take 48 s
//!   whoever sends them. The batch's client token comes from its members'
//!   (stack, name, configuration, history), and its launch tag from the
//!   token: a rerun of the same plan makes the same batch, and finds the
//!   instances a stopped run launched by their launch tag.
//! - **Restarts.** The members of one rollout batch that stop and start are
//!   stopped by one `StopInstances` and started by one `StartInstances`.
//!
//! The executor starts a batch's steps together once all of them are ready
//! and reports each step on its own.

use std::collections::HashMap;

use super::*;
pub use crate::plan::launch_tag::MAX_BATCH;
use crate::plan::launch_tag::{LaunchTag, MAX_INDEXES_TEXT, index_in, ranges};

/// Groups the launches of `count` members in `steps` into batches that share
/// one `RunInstances`. A member launched alone is a batch of one: it is
/// tagged with its name at creation, and adopts what an earlier batch
/// launched for it. An instance without `count` is launched alone, as
/// always.
pub(super) fn launches(steps: &mut [Step], desired: &model::Desired) {
    // (entry, needs, the launch without the member's own name and token)
    type Key = (String, Vec<usize>, Launch);
    let mut groups: HashMap<Key, Vec<(u32, usize)>> = HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    for (position, step) in steps.iter().enumerate() {
        let Op::RunInstance(launch) = &step.op else {
            continue;
        };
        let name = step.resource.name.as_str();
        let Some((entry, index)) = desired
            .instances
            .get(name)
            .map(|i| i.entry.name.as_str())
            .and_then(|e| Some((e.to_string(), index_in(e, name)?)))
        else {
            continue;
        };
        let mut needs = step.needs.clone();
        needs.sort_unstable();
        let key = (entry, needs, shared(launch));
        let members = groups.entry(key.clone()).or_default();
        if members.is_empty() {
            order.push(key);
        }
        members.push((index, position));
    }
    for key in order {
        let mut members = groups.remove(&key).unwrap_or_default();
        members.sort_unstable();
        let entry = key.0;
        // What is launched, as written (not how this run refers to its
        // groups: a rerun finds them made): the same on every plan of the
        // same change, whatever the entry's count.
        let spec = desired
            .instances
            .get(&steps[members[0].1].resource.name)
            .map(|spec| {
                let mut spec = unlocated_instance(spec);
                spec.entry.count = 0;
                spec
            });
        let hash = client_token(&[&desired.stack, &entry, &format!("{spec:?}")]);
        let hash = &hash["ec2-gitops-".len()..][..16];
        for chunk in chunks(&members) {
            let tokens: Vec<&str> = chunk
                .iter()
                .map(|&(_, p)| match &steps[p].op {
                    Op::RunInstance(l) => l.client_token.as_str(),
                    _ => unreachable!("members are launches"),
                })
                .collect();
            let mut parts = vec!["launch batch"];
            parts.extend(tokens);
            let token = client_token(&parts);
            let tag = LaunchTag {
                entry: entry.clone(),
                indexes: chunk.iter().map(|(i, _)| *i).collect(),
                hash: hash.to_string(),
            }
            .render();
            for (index, &(_, p)) in chunk.iter().enumerate() {
                steps[p].batch = Some(Batch {
                    key: tag.clone(),
                    index,
                    size: chunk.len(),
                    client_token: Some(token.clone()),
                });
            }
        }
    }
}

/// Members (index, position) cut into batches of at most 1,000 whose
/// indexes fit in a launch tag.
fn chunks(members: &[(u32, usize)]) -> Vec<&[(u32, usize)]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < members.len() {
        let mut end = start + 1;
        while end < members.len()
            && end - start < MAX_BATCH
            && ranges(&members[start..=end].iter().map(|m| m.0).collect::<Vec<_>>()).len()
                <= MAX_INDEXES_TEXT
        {
            end += 1;
        }
        out.push(&members[start..end]);
        start = end;
    }
    out
}

/// What the members of a batch launch share: the launch without the
/// member's name tags and client token.
fn shared(launch: &Launch) -> Launch {
    let mut l = launch.clone();
    l.tags.remove(model::NAME_TAG);
    l.tags.remove("Name");
    l.client_token.clear();
    l
}

/// The restarts of one rollout batch (`members`, step indexes), stopped and
/// started together: each gets the batch `key`.
pub(super) fn restarts(steps: &mut [Step], key: &str, members: &[usize]) {
    let restarted: Vec<usize> = members
        .iter()
        .copied()
        .filter(
            |&s| matches!(&steps[s].op, Op::UpdateInstance { update, .. } if update.needs_stop()),
        )
        .collect();
    if restarted.len() < 2 {
        return;
    }
    for (part, chunk) in restarted.chunks(MAX_BATCH).enumerate() {
        for (index, &s) in chunk.iter().enumerate() {
            steps[s].batch = Some(Batch {
                key: format!("restart {key} part {}", part + 1),
                index,
                size: chunk.len(),
                client_token: None,
            });
        }
    }
}
