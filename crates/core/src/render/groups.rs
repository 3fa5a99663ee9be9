//! A plan's changes as a reviewer reads them: the same change of every
//! member of a `count` group (`node-1` … `node-300`, or their volumes
//! `node-1/data` …) is one entry, its shared diff once and, per member, only
//! what differs (its id, a field of its own, a block). Pure.
//!
//! Members are found by name: `NAME-INDEX` with an optional `/volume`
//! after it, of one kind and one action. A destroyed group is no longer in
//! the YAML, so its names are all there is to go by.

use crate::model::Kind;
use crate::plan::{Action, Change, FieldChange};

/// One entry of a plan: a single change, or a group of at least two.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The changes, in the plan's order (one unless a group).
    pub members: Vec<&'a Change>,
    /// The field changes every member has, identically.
    pub shared: Vec<&'a FieldChange>,
    /// The reason every member gives, when they all give the same one.
    pub reason: Option<&'a str>,
}

/// What one member of a group has of its own.
#[derive(Debug)]
pub struct Own<'a> {
    /// The member.
    pub change: &'a Change,
    /// Its field changes that not every member shares.
    pub fields: Vec<&'a FieldChange>,
    /// Its reason, when the members' reasons differ.
    pub reason: Option<&'a str>,
}

impl Own<'_> {
    /// Whether the member differs in more than its id.
    pub fn differs(&self) -> bool {
        !self.fields.is_empty() || self.reason.is_some() || self.change.blocked.is_some()
    }
}

impl<'a> Entry<'a> {
    /// The first member: the change itself for a single change.
    pub fn first(&self) -> &'a Change {
        self.members[0]
    }

    /// The action every member has.
    pub fn action(&self) -> Action {
        self.first().action
    }

    /// Whether the entry stands for several changes.
    pub fn is_group(&self) -> bool {
        self.members.len() > 1
    }

    /// What each member has of its own, in order.
    pub fn own(&self) -> Vec<Own<'a>> {
        self.members
            .iter()
            .map(|c| Own {
                change: c,
                fields: c
                    .fields
                    .iter()
                    .filter(|f| !self.shared.contains(f))
                    .collect(),
                reason: if self.reason.is_none() {
                    c.reason.as_deref()
                } else {
                    None
                },
            })
            .collect()
    }

    /// The members' names as runs: `node-1 … node-5, node-7` (each name
    /// through `name`), the first with its kind (`instance.node-1`).
    pub fn label(&self, name: impl Fn(&str) -> String) -> String {
        if !self.is_group() {
            return name(&self.first().resource.to_string());
        }
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        let indices: Vec<u64> = self
            .members
            .iter()
            .map(|c| stem(&c.resource.name).map_or(0, |s| s.index))
            .collect();
        let shown = |at: usize| -> String {
            let c = self.members[at];
            if at == 0 {
                name(&c.resource.to_string())
            } else {
                name(&c.resource.name)
            }
        };
        while i < self.members.len() {
            let mut j = i;
            while j + 1 < self.members.len() && indices[j + 1] == indices[j] + 1 {
                j += 1;
            }
            if j >= i + 2 {
                parts.push(format!("{} … {}", shown(i), shown(j)));
            } else {
                parts.extend((i..=j).map(shown));
            }
            i = j + 1;
        }
        parts.join(", ")
    }

    /// `300 instances`, `2 volumes`.
    pub fn count(&self) -> String {
        let n = self.members.len();
        let kind = match self.first().resource.kind {
            Kind::KeyPair => "key pair",
            Kind::SecurityGroup => "security group",
            Kind::Instance => "instance",
            Kind::Volume => "volume",
            Kind::ElasticIp => "elastic IP",
            Kind::TargetGroup => "target group",
            Kind::LoadBalancer => "load balancer",
        };
        format!("{n} {kind}{}", if n == 1 { "" } else { "s" })
    }
}

/// A member's name split: `node-12/data` is `node`, 12, `/data`.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Stem<'a> {
    /// The entry's name (`node`).
    pub prefix: &'a str,
    /// The member's index (12).
    pub index: u64,
    /// What follows the index: empty, or a volume's `/name`.
    pub suffix: &'a str,
}

/// The stem of a name that looks like a `count` member's, `None` for any
/// other name.
pub fn stem(name: &str) -> Option<Stem<'_>> {
    let head_len = name.find('/').unwrap_or(name.len());
    let (head, suffix) = name.split_at(head_len);
    let (prefix, digits) = head.rsplit_once('-')?;
    if prefix.is_empty()
        || digits.is_empty()
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(Stem {
        prefix,
        index: digits.parse().ok()?,
        suffix,
    })
}

/// The key that members of one group share.
fn key(c: &Change) -> Option<(Action, Kind, &str, &str)> {
    let s = stem(&c.resource.name)?;
    Some((c.action, c.resource.kind, s.prefix, s.suffix))
}

/// Every change as an entry of its own (the job summary's and the JSON's
/// complete list).
pub fn each(changes: &[Change]) -> Vec<Entry<'_>> {
    changes.iter().map(|c| entry(vec![c])).collect()
}

/// The plan's changes as entries, each where its first member is.
pub fn entries(changes: &[Change]) -> Vec<Entry<'_>> {
    let mut groups: Vec<Vec<&Change>> = Vec::new();
    let mut at: std::collections::HashMap<(Action, Kind, &str, &str), usize> =
        std::collections::HashMap::new();
    for c in changes {
        match key(c) {
            Some(k) => match at.get(&k) {
                Some(&i) => groups[i].push(c),
                None => {
                    at.insert(k, groups.len());
                    groups.push(vec![c]);
                }
            },
            None => groups.push(vec![c]),
        }
    }
    groups.into_iter().map(entry).collect()
}

fn entry(members: Vec<&Change>) -> Entry<'_> {
    let first = members[0];
    let shared: Vec<&FieldChange> = first
        .fields
        .iter()
        .filter(|f| members[1..].iter().all(|m| m.fields.contains(f)))
        .collect();
    let reason = first
        .reason
        .as_deref()
        .filter(|r| members[1..].iter().all(|m| m.reason.as_deref() == Some(*r)));
    // A group without a reason at all shares "no reason".
    Entry {
        members,
        shared,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceId;
    use crate::plan::{Effect, Field, Value};

    fn change(kind: Kind, name: &str, action: Action, live: Option<&str>) -> Change {
        Change {
            resource: ResourceId::new(kind, name),
            action,
            live_id: live.map(String::from),
            fields: vec![FieldChange {
                field: Field::Type,
                before: Value::None,
                after: Value::Text("t3.micro".into()),
                effect: Effect::InPlace,
                reason: "set at creation".into(),
            }],
            reason: None,
            blocked: None,
        }
    }

    #[test]
    fn members_of_one_count_group_are_one_entry_with_runs_in_the_label() {
        let mut changes: Vec<Change> = [1, 2, 3, 5, 7, 8]
            .iter()
            .map(|i| change(Kind::Instance, &format!("node-{i}"), Action::Create, None))
            .collect();
        changes.push(change(Kind::Instance, "db", Action::Create, None));
        changes.push(change(Kind::Volume, "node-1/data", Action::Create, None));
        changes.push(change(Kind::Volume, "node-2/data", Action::Create, None));
        changes.push(change(
            Kind::Instance,
            "node-9",
            Action::Destroy,
            Some("i-9"),
        ));
        let e = entries(&changes);
        let labels: Vec<String> = e.iter().map(|e| e.label(|n| n.to_string())).collect();
        assert_eq!(
            labels,
            [
                "instance.node-1 … node-3, node-5, node-7, node-8",
                "instance.db",
                "volume.node-1/data, node-2/data",
                "instance.node-9",
            ]
        );
        assert_eq!(e[0].count(), "6 instances");
        assert_eq!(e[0].shared.len(), 1);
        assert!(e[0].own().iter().all(|o| !o.differs()));
    }

    #[test]
    fn what_differs_per_member_is_kept_apart_from_what_they_share() {
        let mut a = change(Kind::Instance, "web-1", Action::Update, Some("i-1"));
        let mut b = change(Kind::Instance, "web-2", Action::Update, Some("i-2"));
        b.fields.push(FieldChange {
            field: Field::Tags,
            before: Value::Text("a".into()),
            after: Value::Text("b".into()),
            effect: Effect::InPlace,
            reason: "tags are updated in place".into(),
        });
        b.blocked = Some("protected".into());
        a.reason = Some("x".into());
        b.reason = Some("y".into());
        let changes = [a, b];
        let e = entries(&changes);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].shared.len(), 1);
        assert_eq!(e[0].reason, None);
        let own = e[0].own();
        assert_eq!(own[0].fields.len(), 0);
        assert_eq!(own[0].reason, Some("x"));
        assert_eq!(own[1].fields.len(), 1);
        assert!(own[1].differs());
    }

    #[test]
    fn names_that_are_not_members_stay_alone() {
        for name in ["web", "web-", "web-01", "-1", "web-1x", "web-0"] {
            assert_eq!(stem(name), None, "{name}");
        }
        assert_eq!(
            stem("web-12/data"),
            Some(Stem {
                prefix: "web",
                index: 12,
                suffix: "/data"
            })
        );
    }
}
