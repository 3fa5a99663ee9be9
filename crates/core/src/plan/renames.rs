//! Renames: a resource whose name changed in the YAML is the same resource.
//!
//! Identity is the `ec2-gitops:name` tag, so a new name is a tag update,
//! never a destroy and a create. A resource is renamed when the YAML names
//! it by a new name that EC2 does not hold, EC2 holds exactly one resource
//! of its old name, and the YAML no longer names that old one:
//! - `renamed_from: OLD` on a key pair, group, instance entry, volume or
//!   elastic IP;
//! - an instance entry going between no `count` and `count: N`: `web` and
//!   `web-1` are the same server, both ways (with `renamed_from`, `OLD` and
//!   `OLD-1` alike);
//! - a volume follows its instance (`web/data` becomes `web-1/data`).
//!
//! The planner and the step builder both see the live state through
//! [`apply`], so they agree on every name.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Desired, InstanceSpec, Kind, Live, ResourceId};

/// The live state with renamed resources under their new names, and the
/// old name of each renamed resource (by its new identity).
#[derive(Debug, Clone, Default)]
pub struct Renamed {
    /// `live`, names rewritten.
    pub live: Live,
    /// New identity → the name EC2 holds now.
    pub from: BTreeMap<ResourceId, String>,
}

/// Finds the renames of `desired` against `live`.
pub fn apply(desired: &Desired, live: &Live) -> Renamed {
    let mut out = Renamed {
        live: live.clone(),
        from: BTreeMap::new(),
    };
    let key_pairs = pick(
        desired
            .key_pairs
            .iter()
            .map(|(n, s)| (n.as_str(), s.renamed_from.iter().cloned().collect())),
        &names(live.key_pairs.iter().map(|k| k.name.as_str())),
    );
    for k in &mut out.live.key_pairs {
        rename(&mut k.name, Kind::KeyPair, &key_pairs, &mut out.from);
    }
    let groups = pick(
        desired
            .security_groups
            .iter()
            .map(|(n, s)| (n.as_str(), s.renamed_from.iter().cloned().collect())),
        &names(live.security_groups.iter().map(|g| g.name.as_str())),
    );
    for g in &mut out.live.security_groups {
        rename(&mut g.name, Kind::SecurityGroup, &groups, &mut out.from);
    }
    let instances = pick(
        desired
            .instances
            .iter()
            .map(|(n, s)| (n.as_str(), instance_sources(n, s))),
        &names(live.instances.iter().map(|i| i.name.as_str())),
    );
    for i in &mut out.live.instances {
        rename(&mut i.name, Kind::Instance, &instances, &mut out.from);
    }
    // Old instance name → new one, for the volumes that follow them.
    let moved: BTreeMap<&str, &str> = instances
        .iter()
        .map(|(old, new)| (old.as_str(), new.as_str()))
        .collect();
    let came_from: BTreeMap<&str, &str> = moved.iter().map(|(o, n)| (*n, *o)).collect();
    let volumes = pick(
        desired.volumes.iter().map(|(n, s)| {
            let (inst, vol) = n.split_once('/').unwrap_or((n, ""));
            let old_inst = came_from.get(inst).copied().unwrap_or(inst);
            let old_vol = s.renamed_from.as_deref().unwrap_or(vol);
            let old = format!("{old_inst}/{old_vol}");
            (n.as_str(), if old == *n { vec![] } else { vec![old] })
        }),
        &names(live.volumes.iter().map(|v| v.name.as_str())),
    );
    for v in &mut out.live.volumes {
        // Root volumes follow their instance, unseen by the plan.
        if let Some((inst, "root")) = v.name.split_once('/') {
            if let Some(new) = moved.get(inst) {
                v.name = format!("{new}/root");
            }
            continue;
        }
        rename(&mut v.name, Kind::Volume, &volumes, &mut out.from);
    }
    let addresses = pick(
        desired
            .elastic_ips
            .iter()
            .map(|(n, s)| (n.as_str(), s.renamed_from.iter().cloned().collect())),
        &names(live.addresses.iter().map(|a| a.name.as_str())),
    );
    for a in &mut out.live.addresses {
        rename(&mut a.name, Kind::ElasticIp, &addresses, &mut out.from);
    }
    out
}

/// Where an instance may come from: its `renamed_from`, and the other
/// form of its entry's first server (`web` ↔ `web-1`).
fn instance_sources(name: &str, spec: &InstanceSpec) -> Vec<String> {
    let entry = &spec.entry.name;
    let first = format!("{entry}-1");
    let other_form = |n: &str| -> Option<String> {
        if n == entry {
            Some(first.clone())
        } else if n == first {
            Some(entry.clone())
        } else {
            None
        }
    };
    match &spec.renamed_from {
        Some(old) => {
            // `OLD` ↔ `OLD-1` go with the entry's first server.
            let mut v = vec![old.clone()];
            if name == entry || name == first {
                match old.strip_suffix("-1") {
                    Some(base) => v.push(base.to_string()),
                    None => v.push(format!("{old}-1")),
                }
            }
            v
        }
        None => other_form(name).into_iter().collect(),
    }
}

/// How many live resources hold each name.
fn names<'a>(live: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut out = BTreeMap::new();
    for n in live {
        *out.entry(n).or_insert(0) += 1;
    }
    out
}

/// Old name → new name, for each desired name that EC2 does not hold and
/// whose first candidate EC2 holds exactly once, unclaimed by the YAML and
/// by another rename.
fn pick<'a>(
    desired: impl Iterator<Item = (&'a str, Vec<String>)> + Clone,
    live: &BTreeMap<&str, usize>,
) -> BTreeMap<String, String> {
    let wanted: BTreeSet<&str> = desired.clone().map(|(n, _)| n).collect();
    let mut out = BTreeMap::new();
    for (new, candidates) in desired {
        if live.contains_key(new) {
            continue;
        }
        let old = candidates.into_iter().find(|old| {
            live.get(old.as_str()) == Some(&1)
                && !wanted.contains(old.as_str())
                && !out.contains_key(old)
        });
        if let Some(old) = old {
            out.insert(old, new.to_string());
        }
    }
    out
}

fn rename(
    name: &mut String,
    kind: Kind,
    renames: &BTreeMap<String, String>,
    from: &mut BTreeMap<ResourceId, String>,
) {
    if let Some(new) = renames.get(name.as_str()) {
        from.insert(ResourceId::new(kind, new.clone()), name.clone());
        *name = new.clone();
    }
}
