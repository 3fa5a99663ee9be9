//! Security groups and their rules: their changes.

use super::*;

impl<'a> Planner<'a> {
    pub(super) fn security_groups(&mut self) {
        let mut live: BTreeMap<&str, Vec<&LiveGroup>> = BTreeMap::new();
        for g in &self.live().security_groups {
            live.entry(g.name.as_str()).or_default().push(g);
        }
        let kept = kept_groups(self.inputs);
        for (name, spec) in &self.desired().security_groups {
            let id = ResourceId::new(Kind::SecurityGroup, name);
            let Some(mut found) = live.remove(name.as_str()) else {
                let rules = |rs: &[Rule]| {
                    Value::List(crate::plan::order::natural_list(
                        rs.iter().map(ToString::to_string),
                    ))
                };
                self.create(
                    id,
                    vec![
                        (Field::Description, Value::Text(spec.description.clone())),
                        (Field::Vpc, Value::opt(expected_vpc(self.inputs, spec))),
                        (Field::Ingress, rules(&spec.ingress)),
                        (Field::Egress, rules(&desired_egress(spec))),
                        (Field::RuleDescriptions, {
                            let d = described(&spec.descriptions);
                            if d.is_empty() {
                                Value::None
                            } else {
                                Value::List(d)
                            }
                        }),
                    ],
                );
                continue;
            };
            sort_groups(self.inputs, spec, &mut found);
            let (g, dups) = found.split_first().expect("non-empty");
            let fields = group_fields(self.inputs, spec, g, &kept);
            let fields = self.with_stack_tags(fields, &g.tags);
            self.update(id.clone(), &g.id, fields, false);
            for d in dups {
                self.destroy(
                    id.clone(),
                    &d.id,
                    "duplicate: left by an interrupted replace",
                    false,
                );
            }
        }
        for (name, gs) in live {
            for g in gs {
                self.destroy(
                    ResourceId::new(Kind::SecurityGroup, name),
                    &g.id,
                    "no longer in the YAML",
                    false,
                );
            }
        }
    }
}

/// What EC2 gives a new security group: all traffic out to anywhere (IPv4).
pub fn default_egress() -> Vec<Rule> {
    vec![Rule {
        protocol: model::Protocol::All,
        from_port: -1,
        to_port: -1,
        peer: Peer::Cidr4("0.0.0.0/0".into()),
    }]
}

/// The expected VPC of a group: its own, or the region's default.
pub(super) fn expected_vpc(inputs: &Inputs<'_>, spec: &GroupSpec) -> Option<String> {
    spec.vpc
        .clone()
        .or_else(|| inputs.region.default_vpc.clone())
}

/// Whether a live group can serve a desired one without replacement.
pub(super) fn group_needs_replace(inputs: &Inputs<'_>, spec: &GroupSpec, g: &LiveGroup) -> bool {
    g.description != spec.description || Some(&g.vpc_id) != expected_vpc(inputs, spec).as_ref()
}

/// Orders the live groups of one name so the one to keep comes first (an
/// interrupted replace leaves two).
pub(super) fn sort_groups(inputs: &Inputs<'_>, spec: &GroupSpec, found: &mut [&LiveGroup]) {
    found.sort_by_key(|g| (group_needs_replace(inputs, spec, g), g.id.clone()));
}

/// Live group id → logical name, for the groups that stay (neither replaced
/// nor destroyed). Instances and rules that point at any other group id point
/// at something that is going away.
pub fn kept_groups(inputs: &Inputs<'_>) -> BTreeMap<String, String> {
    let mut by_name: BTreeMap<&str, Vec<&LiveGroup>> = BTreeMap::new();
    for g in &inputs.live.security_groups {
        by_name.entry(g.name.as_str()).or_default().push(g);
    }
    let mut out = BTreeMap::new();
    for (name, spec) in &inputs.desired.security_groups {
        if let Some(found) = by_name.get_mut(name.as_str()) {
            sort_groups(inputs, spec, found);
            if let Some(g) = found
                .first()
                .filter(|g| !group_needs_replace(inputs, spec, g))
            {
                out.insert(g.id.clone(), name.clone());
            }
        }
    }
    out
}

/// A group's rule descriptions as the plan lists them
/// (`ingress tcp 443 0.0.0.0/0: HTTPS from anywhere`).
pub(super) fn described(d: &model::RuleDescriptions) -> Vec<String> {
    let one = |dir: &str, m: &BTreeMap<Rule, String>| -> Vec<String> {
        m.iter()
            .map(|(r, text)| format!("{dir} {r}: {text}"))
            .collect()
    };
    let mut v = one("ingress", &d.ingress);
    v.extend(one("egress", &d.egress));
    crate::plan::order::natural_list(v)
}

/// Live rule descriptions keyed by rules whose kept stack groups are named.
pub fn named_descriptions(
    d: &model::RuleDescriptions,
    kept: &BTreeMap<String, String>,
) -> model::RuleDescriptions {
    let named = |m: &BTreeMap<Rule, String>| -> BTreeMap<Rule, String> {
        m.iter()
            .map(|(r, t)| (name_peer(r, kept), t.clone()))
            .collect()
    };
    model::RuleDescriptions {
        ingress: named(&d.ingress),
        egress: named(&d.egress),
    }
}

/// A live rule with the ids of kept stack groups turned into their names.
pub fn name_peer(rule: &Rule, kept: &BTreeMap<String, String>) -> Rule {
    match &rule.peer {
        Peer::GroupId(id) => match kept.get(id) {
            Some(name) => Rule {
                peer: Peer::Group(name.clone()),
                ..rule.clone()
            },
            None => rule.clone(),
        },
        _ => rule.clone(),
    }
}

/// The rules a group should have out (`None` in the YAML: EC2's default).
pub fn desired_egress(spec: &GroupSpec) -> Vec<Rule> {
    spec.egress.clone().unwrap_or_else(default_egress)
}

pub(super) fn group_fields(
    inputs: &Inputs<'_>,
    spec: &GroupSpec,
    g: &LiveGroup,
    kept: &BTreeMap<String, String>,
) -> Vec<FieldChange> {
    let rules = |rs: &[Rule]| -> Vec<String> {
        crate::plan::order::natural_list(rs.iter().map(|r| name_peer(r, kept).to_string()))
    };
    [
        field(
            Field::Description,
            Value::Text(g.description.clone()),
            Value::Text(spec.description.clone()),
            Effect::Replace,
            "EC2 cannot change a security group's description",
        ),
        field(
            Field::Vpc,
            Value::Text(g.vpc_id.clone()),
            Value::opt(expected_vpc(inputs, spec)),
            Effect::Replace,
            "a security group cannot move to another VPC",
        ),
        field(
            Field::Ingress,
            Value::List(rules(&g.ingress)),
            Value::List(rules(&spec.ingress)),
            Effect::InPlace,
            "rules are authorized and revoked in place",
        ),
        field(
            Field::Egress,
            Value::List(rules(&g.egress)),
            Value::List(rules(&desired_egress(spec))),
            Effect::InPlace,
            "rules are authorized and revoked in place",
        ),
        field(
            Field::RuleDescriptions,
            Value::List(described(&named_descriptions(&g.descriptions, kept))),
            Value::List(described(&spec.descriptions)),
            Effect::InPlace,
            "EC2 changes a rule's description in place",
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}
