//! What a reviewer approved of a stack's plan, beside its fingerprint: each
//! change's resource, action and fields, kept in the plan comment's marker.
//! A fresh plan whose fingerprint differs is still the reviewed one when
//! every change in it is one of the reviewed changes, or what is left of one
//! that an interrupted apply did halfway — so a re-run finishes a partial
//! apply with no new review. Anything else (a resource the reviewed plan did
//! not change, a field it did not change, a more disruptive action) is not.
//!
//! The values a change sets are not compared: a re-run applies the same
//! commit's YAML as the reviewed plan (the merge checks that its base did
//! not move), so they are the reviewed ones; the values it changes from may
//! have moved, as the interrupted apply moved them.
//!
//! Written as short strings, `<kind>/<name>:<action>[:<field>,…]`, the
//! members of a `count` entry that change alike as one,
//! `instance/web-{1-100}:create`.

use std::collections::BTreeMap;

use super::{Action, Field, Plan};
use crate::model::{Kind, ResourceId};

/// The most characters the reviewed changes of a comment's stacks take in
/// its marker, together: GitHub keeps 65,536 characters a comment, and the
/// plan itself takes up to 60,000. A stack whose changes do not fit (about a
/// hundred changes that are not alike) keeps only its fingerprint: a re-run
/// after a partial apply of it asks for a new review.
pub const MAX_CHARS: usize = 4_000;

/// The size of `changes` in the marker.
pub fn size(changes: &[String]) -> usize {
    changes.iter().map(|e| e.len() + 3).sum()
}

/// Why a fresh plan is not (what is left of) the reviewed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreviewed {
    /// The reviewed plan did not change this resource.
    NewChange(ResourceId),
    /// The change is more than the reviewed one (a replace where an update
    /// was reviewed, say).
    OtherAction {
        /// The resource.
        resource: ResourceId,
        /// What was reviewed.
        reviewed: Action,
        /// What the fresh plan does.
        now: Action,
    },
    /// The change touches a field the reviewed one did not (or, left of a
    /// creation, one the creation set).
    NewField {
        /// The resource.
        resource: ResourceId,
        /// The field, as the YAML writes it.
        field: String,
    },
}

/// The reviewed changes of `plan`, as the marker keeps them; `None` when
/// they take more than [`MAX_CHARS`].
pub fn of(plan: &Plan) -> Option<Vec<String>> {
    // (kind, entry, suffix, action, fields) → member indexes; the rest one
    // by one.
    type Key = (Kind, String, String, Action, String);
    let mut groups: BTreeMap<Key, Vec<u32>> = BTreeMap::new();
    let mut single: Vec<String> = Vec::new();
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let fields = field_list(c);
        match member(&c.resource.name) {
            Some((entry, index, suffix)) => groups
                .entry((
                    c.resource.kind,
                    entry.to_string(),
                    suffix.to_string(),
                    c.action,
                    fields,
                ))
                .or_default()
                .push(index),
            None => single.push(entry_text(&c.resource.tag_value(), c.action, &fields)),
        }
    }
    let mut out = single;
    for ((kind, entry, suffix, action, fields), mut indexes) in groups {
        indexes.sort_unstable();
        let name = if indexes.len() == 1 {
            format!("{entry}-{}{suffix}", indexes[0])
        } else {
            format!("{entry}-{{{}}}{suffix}", ranges(&indexes))
        };
        out.push(entry_text(
            &format!("{}/{name}", kind.as_str()),
            action,
            &fields,
        ));
    }
    out.sort();
    (size(&out) <= MAX_CHARS).then_some(out)
}

/// Whether every change of `fresh` is one of `reviewed` (as [`of`] wrote
/// them), or what is left of one; the first that is not, otherwise.
pub fn remainder(reviewed: &[String], fresh: &Plan) -> Result<(), Unreviewed> {
    let mut by_resource: BTreeMap<ResourceId, (Action, Vec<String>)> = BTreeMap::new();
    for e in reviewed {
        for (resource, action, fields) in parse(e) {
            by_resource.insert(resource, (action, fields));
        }
    }
    for c in fresh.changes.iter().filter(|c| c.action != Action::NoOp) {
        let Some((action, fields)) = by_resource.get(&c.resource) else {
            return Err(Unreviewed::NewChange(c.resource.clone()));
        };
        if !continues(*action, c.action) {
            return Err(Unreviewed::OtherAction {
                resource: c.resource.clone(),
                reviewed: *action,
                now: c.action,
            });
        }
        // What is left of a creation or a replacement: only what completes
        // it (an attachment, an association, a new group's rules).
        let left_of_creation =
            matches!(action, Action::Create | Action::Replace) && c.action != *action;
        for f in &c.fields {
            let name = f.field.name();
            let reviewed = if left_of_creation {
                COMPLETES.contains(&f.field)
            } else {
                fields.iter().any(|r| r == name)
            };
            if !reviewed {
                return Err(Unreviewed::NewField {
                    resource: c.resource.clone(),
                    field: name.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// The fields that what is left of a creation may change: the steps after
/// the create itself (a volume attached, an address associated, a new
/// group's rules set).
const COMPLETES: [Field; 4] = [
    Field::Attachment,
    Field::Instance,
    Field::Ingress,
    Field::Egress,
];

/// Whether `now` is the reviewed action or what is left of it after an
/// interrupted apply: a created resource whose attachment or association
/// did not happen is an update; a replacement whose new server runs leaves
/// the old one to destroy and its volumes and address to move; a restart
/// done leaves its in-place fields.
fn continues(reviewed: Action, now: Action) -> bool {
    reviewed == now
        || matches!(
            (reviewed, now),
            (Action::Create, Action::Update)
                | (Action::Replace, Action::Update | Action::Destroy)
                | (Action::UpdateWithRestart, Action::Update)
        )
}

fn field_list(c: &super::Change) -> String {
    let mut names: Vec<&str> = c.fields.iter().map(|f| f.field.name()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

fn entry_text(resource: &str, action: Action, fields: &str) -> String {
    if fields.is_empty() {
        format!("{resource}:{}", action.as_str())
    } else {
        format!("{resource}:{}:{fields}", action.as_str())
    }
}

/// `web-7` → (`web`, 7, ``), `web-7/data` → (`web`, 7, `/data`): a
/// member of a `count` entry, or what belongs to one.
fn member(name: &str) -> Option<(&str, u32, &str)> {
    let (head, suffix) = match name.find('/') {
        Some(i) => name.split_at(i),
        None => (name, ""),
    };
    let (entry, index) = head.rsplit_once('-')?;
    if entry.is_empty() || index.starts_with('0') || entry.contains(['{', '}']) {
        return None;
    }
    Some((entry, index.parse().ok()?, suffix))
}

/// `1-3,7`.
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

/// The changes one entry stands for; none for text this module did not
/// write.
fn parse(entry: &str) -> Vec<(ResourceId, Action, Vec<String>)> {
    let mut parts = entry.splitn(3, ':');
    let (Some(resource), Some(action)) = (parts.next(), parts.next()) else {
        return vec![];
    };
    let Ok(action) = serde_json::from_value::<Action>(serde_json::Value::String(action.into()))
    else {
        return vec![];
    };
    let fields: Vec<String> = parts
        .next()
        .map(|f| f.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let Some((kind, name)) = resource.split_once('/') else {
        return vec![];
    };
    let Some(kind) = Kind::parse(kind) else {
        return vec![];
    };
    let names: Vec<String> = match name.split_once("-{") {
        Some((entry, rest)) => {
            let Some((list, suffix)) = rest.split_once('}') else {
                return vec![];
            };
            if !(suffix.is_empty() || suffix.starts_with('/')) {
                return vec![];
            }
            let mut names = Vec::new();
            for r in list.split(',') {
                let (a, b) = match r.split_once('-') {
                    Some((a, b)) => (a.parse::<u32>(), b.parse::<u32>()),
                    None => (r.parse::<u32>(), r.parse::<u32>()),
                };
                let (Ok(a), Ok(b)) = (a, b) else {
                    return vec![];
                };
                // A marker is the bot's own; still, never expand without end.
                if b < a || b - a > 100_000 {
                    return vec![];
                }
                names.extend((a..=b).map(|i| format!("{entry}-{i}{suffix}")));
            }
            names
        }
        None => vec![name.to_string()],
    };
    names
        .into_iter()
        .map(|n| (ResourceId::new(kind, n), action, fields.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Change, Effect, Field, FieldChange, Value};

    fn change(kind: Kind, name: &str, action: Action, fields: &[Field]) -> Change {
        Change {
            resource: ResourceId::new(kind, name),
            action,
            live_id: None,
            fields: fields
                .iter()
                .map(|f| FieldChange {
                    field: *f,
                    before: Value::Text("old".into()),
                    after: Value::Text("new".into()),
                    effect: Effect::InPlace,
                    reason: String::new(),
                })
                .collect(),
            reason: None,
            blocked: None,
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: 1,
            stack: "web".into(),
            region: "us-east-1".into(),
            account: None,
            file: "infra/web.yaml".into(),
            fingerprint: String::new(),
            summary: Default::default(),
            changes,
            warnings: vec![],
            errors: vec![],
            rollouts: vec![],
            spreads: vec![],
            fronts: vec![],
            images: vec![],
            graph: Default::default(),
        }
    }

    #[test]
    fn an_entrys_members_that_change_alike_are_one_line() {
        let mut changes: Vec<Change> = (1..=100)
            .map(|i| change(Kind::Instance, &format!("web-{i}"), Action::Create, &[]))
            .collect();
        changes.push(change(
            Kind::Instance,
            "db",
            Action::UpdateWithRestart,
            &[Field::Type],
        ));
        changes.push(change(
            Kind::Instance,
            "web-200",
            Action::Update,
            &[Field::Tags],
        ));
        let reviewed = of(&plan(changes)).unwrap();
        assert_eq!(
            reviewed,
            [
                "instance/db:update-with-restart:type",
                "instance/web-200:update:tags",
                "instance/web-{1-100}:create",
            ]
        );
    }

    #[test]
    fn what_is_left_of_the_reviewed_plan_is_the_reviewed_plan() {
        let reviewed = of(&plan(vec![
            change(Kind::Instance, "web-1", Action::Create, &[]),
            change(Kind::Instance, "web-2", Action::Create, &[]),
            change(Kind::Volume, "web-1/data", Action::Create, &[]),
            change(Kind::Instance, "db", Action::Replace, &[Field::Image]),
            change(
                Kind::Instance,
                "app-1",
                Action::UpdateWithRestart,
                &[Field::Type, Field::Tags],
            ),
        ]))
        .unwrap();
        // web-1 made; its volume made, not attached; db's new server runs,
        // the old one is left; app-1 restarted, its tags not set.
        let left = plan(vec![
            change(Kind::Instance, "web-2", Action::Create, &[]),
            change(
                Kind::Volume,
                "web-1/data",
                Action::Update,
                &[Field::Attachment],
            ),
            change(Kind::Instance, "db", Action::Destroy, &[]),
            change(Kind::Instance, "app-1", Action::Update, &[Field::Tags]),
        ]);
        assert_eq!(remainder(&reviewed, &left), Ok(()));
    }

    #[test]
    fn anything_the_review_did_not_see_is_refused() {
        let reviewed = of(&plan(vec![
            change(Kind::Instance, "web-1", Action::Update, &[Field::Tags]),
            change(Kind::Instance, "web-{x}", Action::Create, &[]),
        ]))
        .unwrap();
        let new = plan(vec![change(Kind::Instance, "web-9", Action::Create, &[])]);
        assert_eq!(
            remainder(&reviewed, &new),
            Err(Unreviewed::NewChange(ResourceId::new(
                Kind::Instance,
                "web-9"
            )))
        );
        let field = plan(vec![change(
            Kind::Instance,
            "web-1",
            Action::Update,
            &[Field::Tags, Field::Type],
        )]);
        assert_eq!(
            remainder(&reviewed, &field),
            Err(Unreviewed::NewField {
                resource: ResourceId::new(Kind::Instance, "web-1"),
                field: "type".into()
            })
        );
        let worse = plan(vec![change(
            Kind::Instance,
            "web-1",
            Action::Replace,
            &[Field::Image],
        )]);
        assert!(matches!(
            remainder(&reviewed, &worse),
            Err(Unreviewed::OtherAction { .. })
        ));
    }

    #[test]
    fn a_hostile_or_broken_entry_stands_for_nothing() {
        for e in [
            "",
            "instance",
            "instance/web:explode",
            "bucket/x:create",
            "instance/web-{1-}:create",
            "instance/web-{5-1}:create",
            "instance/web-{1-4000000000}:create",
        ] {
            assert!(parse(e).is_empty(), "{e}");
        }
        assert_eq!(parse("instance/web-{2,4-5}:create").len(), 3);
        let volumes = parse("volume/web-{1-2}/data:create");
        assert_eq!(volumes[1].0, ResourceId::new(Kind::Volume, "web-2/data"));
    }
}
