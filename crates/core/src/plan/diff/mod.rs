//! Desired against live, resource by resource and field by field.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::ownership::{duplicate_warnings, launched_warnings, unclaimed_warnings};
use super::security::admin_port_warnings;
use super::{Action, Change, Effect, Field, FieldChange, Inputs, Plan, PlanError, Summary, Value};
use crate::model::{
    self, Desired, GroupSpec, InstanceSpec, Kind, Live, LiveGroup, LiveInstance, Peer, ResourceId,
    Rule,
};

mod addresses;
mod balancers;
mod disks;
mod groups;
mod instances;
mod key_pairs;
mod region;
mod server;
mod volumes;

pub use balancers::{
    balancer_name, balancer_subnets, elb_name, is_registered, kept_balancers, kept_target_groups,
    target_group_name, target_group_vpc,
};
pub use disks::{COOLDOWN_SECS, modified_volumes};
use groups::expected_vpc;
pub use groups::{default_egress, desired_egress, kept_groups, name_peer, named_descriptions};
pub use instances::user_data_digest;
pub use key_pairs::{ec2_key_name, key_name};
pub use region::placed_subnet;
pub use server::profile_name;
pub use volumes::{deletes_data, volume_end};

/// Computes the plan of one stack.
pub fn compute(inputs: &Inputs<'_>) -> Plan {
    // Images by reference carry the id they resolved to from here on.
    let desired = super::images::resolved(inputs.desired, inputs.region);
    let renamed = super::renames::apply(&desired, inputs.live);
    let seen = Inputs {
        desired: &desired,
        live: &renamed.live,
        region: inputs.region,
    };
    let mut p = Planner {
        inputs: &seen,
        volumes_by_id: renamed
            .live
            .volumes
            .iter()
            .map(|v| (v.id.as_str(), v))
            .collect(),
        changes: Vec::new(),
        errors: Vec::new(),
        unchanged: 0,
        renamed_from: &renamed.from,
    };
    p.check_region();
    p.key_pairs();
    p.security_groups();
    p.instances();
    p.volumes();
    p.addresses();
    p.target_groups();
    p.load_balancers();
    p.check_address_quota();

    let Planner {
        mut changes,
        errors,
        unchanged,
        ..
    } = p;
    crate::plan::order::sort(&mut changes);
    let mut warnings = admin_port_warnings(inputs.desired, &changes);
    warnings.extend(unclaimed_warnings(&inputs.desired.stack, inputs.live));
    warnings.extend(launched_warnings(&inputs.desired.stack, inputs.live));
    warnings.extend(duplicate_warnings(inputs.live));
    warnings.extend(server::lost_on_replace(&changes, inputs.live));
    warnings.extend(balancers::stranger_warnings(inputs.desired, inputs.live));
    warnings.extend(super::fronts::public_ip_changes(
        inputs.desired,
        inputs.live,
        &changes,
    ));
    let fronts = super::fronts::of(inputs.desired, inputs.live, &changes);
    let summary = summarize(&changes, unchanged);
    let rollouts = super::rollout::plan(&changes, inputs.desired);
    let spreads = super::spread::of(inputs.desired, &changes);
    let mut plan = Plan {
        format_version: super::FORMAT_VERSION,
        stack: inputs.desired.stack.clone(),
        region: inputs.desired.region.clone(),
        account: inputs.desired.account.as_ref().map(|(a, _)| a.clone()),
        file: inputs.desired.file.clone(),
        fingerprint: String::new(),
        summary,
        changes,
        warnings,
        errors,
        rollouts,
        spreads,
        fronts,
        images: super::images::resolutions(inputs.desired, inputs.region),
        graph: super::graph::Graph::default(),
    };
    plan.graph = super::graph::of(inputs.desired, &plan.changes);
    plan.fingerprint = super::fingerprint::of(&plan);
    plan
}

fn summarize(changes: &[Change], unchanged: usize) -> Summary {
    let mut s = Summary {
        unchanged,
        ..Summary::default()
    };
    for c in changes {
        if c.blocked.is_some() {
            s.blocked += 1;
        }
        match c.action {
            Action::NoOp => {}
            Action::Create => s.create += 1,
            Action::Update => s.update += 1,
            Action::UpdateWithRestart => {
                s.update += 1;
                s.restart += 1;
            }
            Action::Replace => s.replace += 1,
            Action::Destroy => s.destroy += 1,
        }
    }
    s
}

struct Planner<'a> {
    inputs: &'a Inputs<'a>,
    /// The live volumes by id.
    volumes_by_id: HashMap<&'a str, &'a crate::model::LiveVolume>,
    changes: Vec<Change>,
    errors: Vec<PlanError>,
    unchanged: usize,
    /// Old names of renamed resources, by their new identity.
    renamed_from: &'a BTreeMap<ResourceId, String>,
}

/// Tags the tool manages itself; user `tags:` never include them.
impl Planner<'_> {
    /// `fields` and, when a live resource that is not an instance (`live`
    /// its tags) does not carry the stack's `tags:` as they are now, the
    /// change of them (in place). Only the keys the stack sets, or set
    /// before (as `ec2-gitops:tags` records), are compared: a tag someone
    /// else put on the resource is never the stack's to remove.
    fn with_stack_tags(
        &self,
        mut fields: Vec<FieldChange>,
        live: &BTreeMap<String, String>,
    ) -> Vec<FieldChange> {
        let mut keys = model::stack_tag_keys(live);
        keys.extend(self.desired().tags.keys().cloned());
        let have: Vec<String> = live
            .iter()
            .filter(|(k, _)| !is_reserved_tag(k) && keys.contains(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let want: Vec<String> = (self.desired().tags.iter())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        fields.extend(field(
            Field::Tags,
            Value::List(have),
            Value::List(want),
            Effect::InPlace,
            "the stack's tags change in place",
        ));
        // The record of what the stack set follows its `tags:`.
        if !fields.iter().any(|f| f.field == Field::Tags)
            && model::stack_tag_keys(live)
                != self.desired().tags.keys().cloned().collect::<Vec<_>>()
        {
            fields.extend(field(
                Field::Tags,
                Value::List(model::stack_tag_keys(live)),
                Value::List(self.desired().tags.keys().cloned().collect()),
                Effect::InPlace,
                "the stack's tags change in place",
            ));
        }
        fields
    }
}

fn is_reserved_tag(key: &str) -> bool {
    key == "Name" || key.starts_with("ec2-gitops:") || key.starts_with("aws:")
}

fn field(
    field: Field,
    before: Value,
    after: Value,
    effect: Effect,
    reason: &str,
) -> Option<FieldChange> {
    (before != after).then(|| FieldChange {
        field,
        before,
        after,
        effect,
        reason: reason.to_string(),
    })
}

fn action_of(fields: &[FieldChange]) -> Action {
    match fields.iter().map(|f| f.effect).max() {
        None => Action::NoOp,
        Some(Effect::InPlace) => Action::Update,
        Some(Effect::Restart) => Action::UpdateWithRestart,
        Some(Effect::Replace) => Action::Replace,
    }
}

impl<'a> Planner<'a> {
    fn desired(&self) -> &'a Desired {
        self.inputs.desired
    }

    fn live(&self) -> &'a Live {
        self.inputs.live
    }

    fn push(&mut self, mut change: Change) {
        // A resource kept under a new name: its tags change in place.
        let kept = matches!(
            change.action,
            Action::NoOp | Action::Update | Action::UpdateWithRestart
        );
        if let (true, Some(old)) = (kept, self.renamed_from.get(&change.resource)) {
            let new = change.resource.name.clone();
            change.fields.insert(
                0,
                FieldChange {
                    field: Field::Name,
                    before: Value::Text(old.clone()),
                    after: Value::Text(new.clone()),
                    effect: Effect::InPlace,
                    reason: "identity is the `ec2-gitops:name` tag: a rename changes tags only"
                        .into(),
                },
            );
            if change.action == Action::NoOp {
                change.action = Action::Update;
            }
            change
                .reason
                .get_or_insert_with(|| format!("rename {old} → {new} (tags only)"));
        }
        if change.action == Action::NoOp {
            self.unchanged += 1;
        } else {
            self.changes.push(change);
        }
    }

    /// A creation, with the values it creates: they are what the reviewer
    /// approves, so they are shown and fingerprinted like any change.
    fn create(&mut self, id: ResourceId, values: Vec<(Field, Value)>) {
        let fields = values
            .into_iter()
            .filter(|(_, v)| *v != Value::None)
            .map(|(field, after)| FieldChange {
                field,
                before: Value::None,
                after,
                effect: Effect::InPlace,
                reason: "set at creation".to_string(),
            })
            .collect();
        self.push(Change {
            resource: id,
            action: Action::Create,
            live_id: None,
            fields,
            reason: None,
            blocked: None,
        });
    }

    fn destroy(&mut self, id: ResourceId, live_id: &str, reason: &str, protected: bool) {
        self.push(Change {
            resource: id,
            action: Action::Destroy,
            live_id: Some(live_id.to_string()),
            fields: vec![],
            reason: Some(reason.to_string()),
            blocked: protected.then(|| {
                "protected: set `protect: false` and apply that first, then remove it".to_string()
            }),
        });
    }

    fn update(&mut self, id: ResourceId, live_id: &str, fields: Vec<FieldChange>, protect: bool) {
        let action = action_of(&fields);
        let blocked = (protect && action == Action::Replace).then(|| {
            "protected: `protect: true` forbids replacing this resource; revert the change or set `protect: false` first".to_string()
        });
        self.push(Change {
            resource: id,
            action,
            live_id: Some(live_id.to_string()),
            fields,
            reason: None,
            blocked,
        });
    }

    fn error(&mut self, id: ResourceId, at: &model::Location, message: String, hint: &str) {
        self.errors.push(PlanError {
            resource: id,
            at: Some(at.clone()),
            message,
            hint: Some(hint.to_string()),
        });
    }
}

/// One instance per `count` entry: the entry's id, the prefix of its
/// messages, and its settings.
type CountEntry<'a> = (ResourceId, String, &'a InstanceSpec);

/// An error about the region, before it is reported: the resource, where it
/// is written, the message and the hint.
type RegionError = (ResourceId, model::Location, String, &'static str);
