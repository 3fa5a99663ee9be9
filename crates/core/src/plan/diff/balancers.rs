//! Target groups and load balancers: their changes, the names ELB knows
//! them by, and the servers each group should hold.

use sha2::{Digest, Sha256};

use super::*;
use crate::model::{
    ListenerAction, ListenerSpec, LiveLoadBalancer, LiveTargetGroup, LoadBalancerSpec, SubnetRef,
    TargetGroupSpec,
};
use crate::plan::fronts::members;

/// ELB names: at most 32 letters, digits and hyphens.
const ELB_NAME_MAX: usize = 32;

/// The ELB name of a stack's target group or load balancer: readable (the
/// stack and the name, shortened), unique (a digest of the stack, the name
/// and what cannot change in place) and different when the resource is
/// replaced, so the new one is made before the old one goes.
pub fn elb_name(stack: &str, name: &str, fixed: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in [stack, name].iter().chain(fixed) {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let digest = &hex::encode(h.finalize())[..8];
    let room = ELB_NAME_MAX - digest.len() - 1;
    let readable: String = format!("{stack}-{name}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(room)
        .collect();
    let readable = readable.trim_matches('-');
    // ELB refuses a load balancer name that starts with `internal-`.
    let readable = readable.strip_prefix("internal").unwrap_or(readable);
    let readable = readable.trim_matches('-');
    if readable.is_empty() {
        format!("eg-{digest}")
    } else {
        format!("{readable}-{digest}")
    }
}

/// The ELB name of target group `name` as the YAML writes it.
pub fn target_group_name(stack: &str, name: &str, spec: &TargetGroupSpec, vpc: &str) -> String {
    let port = spec.port.to_string();
    elb_name(stack, name, &["tg", &port, spec.protocol.as_str(), vpc])
}

/// The ELB name of load balancer `name` as the YAML writes it.
pub fn balancer_name(stack: &str, name: &str, spec: &LoadBalancerSpec) -> String {
    elb_name(stack, name, &["alb", spec.scheme.as_str()])
}

/// The VPC a target group is in: its own, or the region's default.
pub fn target_group_vpc(spec: &TargetGroupSpec, region: &model::Region) -> String {
    spec.vpc
        .clone()
        .or_else(|| region.default_vpc.clone())
        .unwrap_or_default()
}

/// A load balancer's subnet ids (a zone's default subnet for `{ zone }`),
/// sorted; a zone without a known default subnet is left out (an error).
pub fn balancer_subnets(spec: &LoadBalancerSpec, region: &model::Region) -> Vec<String> {
    let mut v: Vec<String> = spec
        .subnets
        .iter()
        .filter_map(|s| match s {
            SubnetRef::Id(id) => Some(id.clone()),
            SubnetRef::Zone(z) => region.default_subnets.get(z).cloned(),
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether a live target's state means it is registered (a draining one
/// is on its way out).
pub fn is_registered(state: &str) -> bool {
    state != "draining"
}

/// The live target groups the plan keeps (neither replaced nor destroyed),
/// by logical name.
pub fn kept_target_groups<'a>(inputs: &Inputs<'a>) -> BTreeMap<String, &'a LiveTargetGroup> {
    let mut out = BTreeMap::new();
    for (name, spec) in &inputs.desired.target_groups {
        let vpc = target_group_vpc(spec, inputs.region);
        if let Some(g) = (inputs.live.target_groups.iter())
            .find(|g| &g.name == name && !tg_needs_replace(spec, &vpc, g))
        {
            out.insert(name.clone(), g);
        }
    }
    out
}

fn tg_needs_replace(spec: &TargetGroupSpec, vpc: &str, g: &LiveTargetGroup) -> bool {
    g.port != spec.port || g.protocol != Some(spec.protocol) || g.vpc_id != vpc
}

/// The live load balancers the plan keeps, by logical name.
pub fn kept_balancers<'a>(inputs: &Inputs<'a>) -> BTreeMap<String, &'a LiveLoadBalancer> {
    let mut out = BTreeMap::new();
    for (name, spec) in &inputs.desired.load_balancers {
        if let Some(b) = (inputs.live.load_balancers.iter())
            .find(|b| &b.name == name && !lb_needs_replace(spec, b))
        {
            out.insert(name.clone(), b);
        }
    }
    out
}

fn lb_needs_replace(spec: &LoadBalancerSpec, b: &LiveLoadBalancer) -> bool {
    b.scheme != Some(spec.scheme) || b.balancer_type != "application"
}

/// A listener as the plan lists it: `443 HTTPS → target group web
/// (certificate arn:…)`.
fn listener_line(port: u16, l: &ListenerSpec) -> String {
    format!("{port} {l}")
}

impl<'a> Planner<'a> {
    /// Target groups: created, changed in place (health check, draining
    /// time, members), replaced (port, protocol, VPC) or destroyed.
    pub(super) fn target_groups(&mut self) {
        let kept = kept_target_groups(self.inputs);
        let names = self.instance_names_by_id();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for (name, spec) in &self.desired().target_groups {
            let id = ResourceId::new(Kind::TargetGroup, name);
            let vpc = target_group_vpc(spec, self.inputs.region);
            let want_members = Value::List(members(self.desired(), name));
            let endpoint = format!("{} {}", spec.protocol.as_str(), spec.port);
            let live = kept
                .get(name)
                .copied()
                .or_else(|| (self.live().target_groups.iter()).find(|g| &g.name == name));
            let Some(g) = live else {
                self.create(
                    id,
                    vec![
                        (Field::Port, Value::Text(endpoint)),
                        (Field::Vpc, Value::Text(vpc)),
                        (Field::HealthCheck, Value::List(spec.health_check.lines())),
                        (
                            Field::DeregistrationDelay,
                            Value::Text(format!("{}s", spec.deregistration_delay)),
                        ),
                        (Field::Targets, want_members),
                    ],
                );
                continue;
            };
            seen.insert(g.arn.as_str());
            let live_endpoint = format!("{} {}", g.protocol.map_or("?", |p| p.as_str()), g.port);
            let mut fields: Vec<FieldChange> = [
                field(
                    Field::Port,
                    Value::Text(live_endpoint),
                    Value::Text(endpoint),
                    Effect::Replace,
                    "ELB cannot change a target group's port or protocol: a new group is filled, the listeners move to it, the old one is deleted",
                ),
                field(
                    Field::Vpc,
                    Value::Text(g.vpc_id.clone()),
                    Value::Text(vpc.clone()),
                    Effect::Replace,
                    "a target group's VPC is fixed at creation",
                ),
                field(
                    Field::HealthCheck,
                    Value::List(g.health_check.lines()),
                    Value::List(spec.health_check.lines()),
                    Effect::InPlace,
                    "the health check changes in place",
                ),
                field(
                    Field::DeregistrationDelay,
                    Value::Text(format!("{}s", g.deregistration_delay)),
                    Value::Text(format!("{}s", spec.deregistration_delay)),
                    Effect::InPlace,
                    "the draining time changes in place",
                ),
            ]
            .into_iter()
            .flatten()
            .collect();
            let replaced = fields.iter().any(|f| f.effect == Effect::Replace);
            // Servers are the stack's: a target someone else registered is
            // left in the group, and said (`stranger_warnings`).
            let registered: Vec<String> = g
                .targets
                .iter()
                .filter(|(_, state)| is_registered(state))
                .filter_map(|(target, _)| names.get(target.as_str()).cloned())
                .collect();
            let registered = Value::List(crate::plan::order::natural_list(registered));
            // A new group is filled from nothing: its members are created.
            let members_before = if replaced {
                Value::List(vec![])
            } else {
                registered
            };
            fields.extend(field(
                Field::Targets,
                members_before,
                want_members,
                Effect::InPlace,
                "servers join and leave the group in place (a leaving one is drained first)",
            ));
            let fields = self.with_stack_tags(fields, &g.tags);
            self.update(id, &g.arn, fields, false);
        }
        for g in &self.live().target_groups {
            if !seen.contains(g.arn.as_str()) {
                let reason = if self.desired().target_groups.contains_key(&g.name) {
                    "duplicate: another target group has this name"
                } else {
                    "no longer in the YAML"
                };
                self.destroy(
                    ResourceId::new(Kind::TargetGroup, &g.name),
                    &g.arn,
                    reason,
                    false,
                );
            }
        }
    }

    /// Load balancers: created, changed in place (subnets, groups,
    /// listeners), replaced (scheme) or destroyed.
    pub(super) fn load_balancers(&mut self) {
        let kept_groups = kept_groups(self.inputs);
        let replaced_groups: BTreeSet<String> = (self.changes.iter())
            .filter(|c| c.resource.kind == Kind::TargetGroup && is_new(c.action))
            .map(|c| c.resource.name.clone())
            .collect();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for (name, spec) in &self.desired().load_balancers {
            let id = ResourceId::new(Kind::LoadBalancer, name);
            let subnets = Value::List(balancer_subnets(spec, self.inputs.region));
            let groups = Value::List(spec.security_groups.clone());
            let live = (self.live().load_balancers.iter()).find(|b| &b.name == name);
            // A listener of a live load balancer that moves to a new group.
            let listeners = Value::List(
                spec.listeners
                    .iter()
                    .map(|(port, l)| {
                        let line = listener_line(*port, l);
                        match &l.action {
                            ListenerAction::Forward(tg)
                                if live.is_some() && replaced_groups.contains(tg) =>
                            {
                                format!("{line} (moves to the new group)")
                            }
                            _ => line,
                        }
                    })
                    .collect(),
            );
            let Some(b) = live else {
                self.create(
                    id,
                    vec![
                        (Field::Scheme, Value::Text(spec.scheme.as_str().into())),
                        (Field::Subnets, subnets),
                        (Field::SecurityGroups, groups),
                        (Field::Listeners, listeners),
                    ],
                );
                continue;
            };
            seen.insert(b.arn.as_str());
            let live_groups: Vec<String> = b
                .security_group_ids
                .iter()
                .map(|g| kept_groups.get(g).cloned().unwrap_or(g.clone()))
                .collect();
            let mut live_groups = live_groups;
            live_groups.sort();
            let mut want_groups = spec.security_groups.clone();
            want_groups.sort();
            let live_listeners: Vec<String> = (b.listeners.iter())
                .map(|(port, l)| match &l.spec {
                    Some(s) => listener_line(*port, s),
                    None => format!("{port} (a listener ec2-gitops does not write)"),
                })
                .collect();
            let fields: Vec<FieldChange> = [
                field(
                    Field::Scheme,
                    Value::opt(b.scheme.map(|s| s.as_str().to_string())),
                    Value::Text(spec.scheme.as_str().into()),
                    Effect::Replace,
                    "ELB cannot change a load balancer's scheme: a new one is made, with a new DNS name",
                ),
                field(
                    Field::Subnets,
                    Value::List(b.subnets.clone()),
                    subnets,
                    Effect::InPlace,
                    "the load balancer's subnets change in place",
                ),
                field(
                    Field::SecurityGroups,
                    Value::List(live_groups),
                    Value::List(want_groups),
                    Effect::InPlace,
                    "the load balancer's security groups change in place",
                ),
                field(
                    Field::Listeners,
                    Value::List(live_listeners),
                    listeners,
                    Effect::InPlace,
                    "listeners are created, changed and deleted in place",
                ),
            ]
            .into_iter()
            .flatten()
            .collect();
            let fields = self.with_stack_tags(fields, &b.tags);
            self.update(id, &b.arn, fields, false);
        }
        for b in &self.live().load_balancers {
            if !seen.contains(b.arn.as_str()) {
                let reason = if self.desired().load_balancers.contains_key(&b.name) {
                    "duplicate: another load balancer has this name".to_string()
                } else {
                    format!("no longer in the YAML: {} stops answering", b.dns_name)
                };
                self.destroy(
                    ResourceId::new(Kind::LoadBalancer, &b.name),
                    &b.arn,
                    &reason,
                    false,
                );
            }
        }
    }

    /// Region errors of load balancers and target groups: subnets that do
    /// not exist or do not span two zones, VPCs that do not exist.
    pub(super) fn balancer_errors(&self) -> Vec<RegionError> {
        let region = self.inputs.region;
        let mut out = Vec::new();
        for (name, spec) in &self.desired().load_balancers {
            let id = ResourceId::new(Kind::LoadBalancer, name);
            let mut zones = BTreeSet::new();
            for s in &spec.subnets {
                match s {
                    SubnetRef::Id(sid) => match region.subnets.get(sid) {
                        Some((_, zone)) => {
                            zones.insert(zone.clone());
                        }
                        None => out.push((
                            id.clone(),
                            spec.at.clone(),
                            format!(
                                "load balancer `{name}`: subnet {sid} does not exist in {}",
                                self.desired().region
                            ),
                            "name a subnet of this region (aws ec2 describe-subnets)",
                        )),
                    },
                    SubnetRef::Zone(z) => match region.default_subnets.get(z) {
                        Some(_) => {
                            zones.insert(z.clone());
                        }
                        None => out.push((
                            id.clone(),
                            spec.at.clone(),
                            format!("load balancer `{name}`: zone {z} has no default subnet"),
                            "name a subnet of that zone by id, or a zone with a default subnet",
                        )),
                    },
                }
            }
            if zones.len() == 1 {
                out.push((
                    id.clone(),
                    spec.at.clone(),
                    format!(
                        "load balancer `{name}`: its subnets are all in {}; ELB needs two availability zones or more",
                        zones.first().map_or("", String::as_str)
                    ),
                    "add a subnet in another zone",
                ));
            }
        }
        for (name, spec) in &self.desired().target_groups {
            if let Some(vpc) = &spec.vpc
                && !region.vpcs.contains(vpc)
            {
                out.push((
                    ResourceId::new(Kind::TargetGroup, name),
                    spec.at.clone(),
                    format!(
                        "target group `{name}`: VPC {vpc} does not exist in {}",
                        self.desired().region
                    ),
                    "name a VPC of this region, or leave `vpc` out for the default VPC",
                ));
            }
        }
        out
    }

    /// Live instance names by id.
    fn instance_names_by_id(&self) -> HashMap<&'a str, String> {
        (self.live().instances.iter())
            .map(|i| (i.id.as_str(), i.name.clone()))
            .collect()
    }
}

/// A warning per target group of the stack that holds servers that are not
/// the stack's: ec2-gitops never removes them, and the reviewer should know
/// they take traffic.
pub(super) fn stranger_warnings(desired: &Desired, live: &Live) -> Vec<crate::plan::Warning> {
    let ours: BTreeSet<&str> = live.instances.iter().map(|i| i.id.as_str()).collect();
    live.target_groups
        .iter()
        .filter_map(|g| {
            let strangers: Vec<&str> = (g.targets.iter())
                .filter(|(t, s)| is_registered(s) && !ours.contains(t.as_str()))
                .map(|(t, _)| t.as_str())
                .collect();
            (!strangers.is_empty()).then(|| crate::plan::Warning {
                resource: ResourceId::new(Kind::TargetGroup, &g.name),
                message: format!(
                    "{} also serve{} in it and {} not this stack's: ec2-gitops leaves {} there",
                    strangers.join(", "),
                    if strangers.len() == 1 { "s" } else { "" },
                    if strangers.len() == 1 { "is" } else { "are" },
                    if strangers.len() == 1 { "it" } else { "them" },
                ),
                at: desired.target_groups.get(&g.name).map(|s| s.at.clone()),
            })
        })
        .collect()
}

fn is_new(action: Action) -> bool {
    matches!(action, Action::Create | Action::Replace)
}
