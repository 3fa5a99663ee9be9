//! How the members of an entry with `subnets:` are spread over them, for
//! the plan: round-robin by index, so the highest indexes a scale-in
//! removes leave the spread balanced.

use serde::{Deserialize, Serialize};

use super::{Action, Change};
use crate::model::{Desired, Kind, SubnetRef};

/// One entry's spread after the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spread {
    /// The `instances:` entry.
    pub entry: String,
    /// Each place as written (`subnet-…`, `zone us-east-1a`) and how many
    /// members it holds, in the order of `subnets:`.
    pub places: Vec<(String, usize)>,
    /// Members a scale-in removes (the highest indexes).
    pub removed: Vec<String>,
}

impl Spread {
    /// True when no place holds more than one member more than another.
    pub fn balanced(&self) -> bool {
        let counts = self.places.iter().map(|(_, n)| *n);
        counts.clone().max().unwrap_or(0) - counts.min().unwrap_or(0) <= 1
    }
}

/// The spread of every entry of `desired` that has `subnets:`.
pub fn of(desired: &Desired, changes: &[Change]) -> Vec<Spread> {
    let mut entries: Vec<(&str, &[SubnetRef], u32)> = desired
        .instances
        .values()
        .filter(|i| !i.entry.subnets.is_empty())
        .map(|i| (i.entry.name.as_str(), &i.entry.subnets[..], i.entry.count))
        .collect();
    entries.sort();
    entries.dedup();
    entries
        .into_iter()
        .map(|(entry, subnets, count)| {
            let places = subnets
                .iter()
                .map(|place| {
                    let n = (1..=count.max(1))
                        .filter(|&k| SubnetRef::of_member(subnets, k) == Some(place))
                        .count();
                    (place.label(), n)
                })
                .collect();
            let removed = changes
                .iter()
                .filter(|c| c.resource.kind == Kind::Instance && c.action == Action::Destroy)
                .map(|c| c.resource.name.clone())
                .filter(|n| {
                    n.strip_prefix(entry)
                        .and_then(|r| r.strip_prefix('-'))
                        .and_then(|i| i.parse::<u32>().ok())
                        .is_some_and(|i| i > count)
                })
                .collect();
            Spread {
                entry: entry.to_string(),
                places,
                removed,
            }
        })
        .collect()
}
