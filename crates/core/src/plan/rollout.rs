//! Rollouts: the restarts and replacements of one `instances:` entry run in
//! batches of `max_unavailable`, lowest index first, each batch healthy
//! before the next starts. Entries are independent of each other.

use std::collections::BTreeMap;

use super::{Action, Change, RolloutPlan};
use crate::model::{Desired, Kind};

/// Whether a change takes an instance out of service (a restart) or puts a
/// new one in its place (a replace): what a rollout paces.
pub fn is_rolled(c: &Change) -> bool {
    c.resource.kind == Kind::Instance
        && matches!(c.action, Action::UpdateWithRestart | Action::Replace)
        && c.blocked.is_none()
}

/// The batches of every entry with a restart or a replace, entries in name
/// order, members by index.
pub fn plan(changes: &[Change], desired: &Desired) -> Vec<RolloutPlan> {
    let mut by_entry: BTreeMap<&str, Vec<(u32, &str)>> = BTreeMap::new();
    for c in changes.iter().filter(|c| is_rolled(c)) {
        let Some(spec) = desired.instances.get(&c.resource.name) else {
            continue;
        };
        let index = c
            .resource
            .name
            .strip_prefix(spec.entry.name.as_str())
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        // An instance made outside `count` expansion is its own entry.
        let entry = if spec.entry.name.is_empty() {
            c.resource.name.as_str()
        } else {
            spec.entry.name.as_str()
        };
        by_entry
            .entry(entry)
            .or_default()
            .push((index, c.resource.name.as_str()));
    }
    by_entry
        .into_iter()
        .filter_map(|(entry, mut members)| {
            members.sort_unstable();
            let first = desired.instances.get(members[0].1)?;
            let rollout = &first.entry.rollout;
            let size = rollout.batch_size(first.entry.count);
            Some(RolloutPlan {
                entry: entry.to_string(),
                health: rollout.health,
                timeout_secs: rollout.timeout_secs,
                target_groups: first.entry.target_groups.clone(),
                servers: if first.entry.target_groups.is_empty() {
                    0
                } else {
                    first.entry.count.max(1)
                },
                batches: members
                    .chunks(size)
                    .map(|b| b.iter().map(|(_, n)| (*n).to_string()).collect())
                    .collect(),
            })
        })
        .collect()
}
