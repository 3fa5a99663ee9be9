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

/// The most instances one `RunInstances` launches, and one batched
/// `StopInstances` or `StartInstances` names (EC2's resource buckets hold
/// 1,000 instances).
pub const MAX_BATCH: usize = 1000;

/// The most characters the member list of a launch tag takes (EC2's tag
/// values hold 256): a batch whose members do not fit is cut in two.
const MAX_INDEXES_TEXT: usize = 180;

/// The `ec2-gitops:launch` tag of a batch launch, `<entry>:<indexes>:<hash>`
/// (`web:4-16,20:3f9a0c1d2e4b5a69`): the n-th index listed is the member at
/// launch index n (`web-4` is launch index 0 there), and the hash is of what
/// the members are launched with. A run that stops between the launch and
/// the naming leaves instances that say, by themselves, whose they are; the
/// next run of the same change adopts each for its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTag {
    /// The `instances:` entry.
    pub entry: String,
    /// The members' indexes (`web-4` is 4), in launch-index order.
    pub indexes: Vec<u32>,
    /// 16 hex digits of the hash of the members' launch parameters.
    pub hash: String,
}

impl LaunchTag {
    /// The tag value.
    pub fn render(&self) -> String {
        format!("{}:{}:{}", self.entry, ranges(&self.indexes), self.hash)
    }

    /// Reads a tag value; `None` for anything this tool did not write (the
    /// tag is anyone's to edit).
    pub fn parse(value: &str) -> Option<LaunchTag> {
        let mut parts = value.split(':');
        let (entry, list, hash) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || !crate::config::is_name(entry)
            || hash.len() != 16
            || !hash.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        let mut indexes = Vec::new();
        for range in list.split(',') {
            let (from, to) = match range.split_once('-') {
                Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
                None => {
                    let n = range.parse::<u32>().ok()?;
                    (n, n)
                }
            };
            if from == 0 || to < from || indexes.last().is_some_and(|&l| from <= l) {
                return None;
            }
            if indexes.len() + (to - from) as usize >= MAX_BATCH {
                return None;
            }
            indexes.extend(from..=to);
        }
        Some(LaunchTag {
            entry: entry.to_string(),
            indexes,
            hash: hash.to_string(),
        })
    }

    /// The name of the member at EC2's `launch_index`.
    pub fn name_at(&self, launch_index: u32) -> Option<String> {
        let index = self.indexes.get(usize::try_from(launch_index).ok()?)?;
        Some(format!("{}-{index}", self.entry))
    }
}

/// `1-3,7,9-12`.
fn ranges(indexes: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indexes.len() {
        let mut j = i;
        while j + 1 < indexes.len() && indexes[j + 1] == indexes[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            indexes[i].to_string()
        } else {
            format!("{}-{}", indexes[i], indexes[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// The index of a member of `entry` (`web-4` is 4).
fn index_in(entry: &str, name: &str) -> Option<u32> {
    name.strip_prefix(entry)?.strip_prefix('-')?.parse().ok()
}

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
                let mut spec = super::instances::unlocated_instance(spec);
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
