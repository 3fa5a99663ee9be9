//! The stack as a graph, for the plan's picture: every resource of the
//! stack (those in the YAML, and the live ones the plan destroys) and what
//! references what. Pure.

use std::collections::HashMap;

use super::{Action, Change};
use crate::model::{Desired, Kind, Peer, ResourceId};

/// The resources of a stack and their references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// Every resource, in the plan's order (kinds, then names in natural
    /// order).
    pub nodes: Vec<ResourceId>,
    /// `(from, to)`, indexes into `nodes`: `from` references `to`. An
    /// instance references its groups, key pair, volumes and elastic IPs; a
    /// group the groups its rules name.
    pub edges: Vec<(usize, usize)>,
}

/// The graph of `desired`, with the resources `changes` destroys.
pub fn of(desired: &Desired, changes: &[Change]) -> Graph {
    let mut nodes: Vec<ResourceId> = Vec::new();
    let id = |kind, name: &str| ResourceId::new(kind, name);
    nodes.extend(desired.key_pairs.keys().map(|n| id(Kind::KeyPair, n)));
    nodes.extend(
        desired
            .security_groups
            .keys()
            .map(|n| id(Kind::SecurityGroup, n)),
    );
    nodes.extend(desired.instances.keys().map(|n| id(Kind::Instance, n)));
    nodes.extend(desired.volumes.keys().map(|n| id(Kind::Volume, n)));
    nodes.extend(desired.elastic_ips.keys().map(|n| id(Kind::ElasticIp, n)));
    nodes.extend(
        desired
            .target_groups
            .keys()
            .map(|n| id(Kind::TargetGroup, n)),
    );
    nodes.extend(
        desired
            .load_balancers
            .keys()
            .map(|n| id(Kind::LoadBalancer, n)),
    );
    let declared: std::collections::HashSet<ResourceId> = nodes.iter().cloned().collect();
    for c in changes {
        if c.action == Action::Destroy && !declared.contains(&c.resource) {
            nodes.push(c.resource.clone());
        }
    }
    nodes.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| super::order::natural_cmp(&a.name, &b.name))
    });
    nodes.dedup();
    let at: HashMap<&ResourceId, usize> = nodes.iter().enumerate().map(|(i, n)| (n, i)).collect();
    let mut edges = Vec::new();
    let mut edge = |from: ResourceId, to: ResourceId| {
        if let (Some(&a), Some(&b)) = (at.get(&from), at.get(&to)) {
            edges.push((a, b));
        }
    };
    for (name, spec) in &desired.instances {
        for g in &spec.security_groups {
            edge(id(Kind::Instance, name), id(Kind::SecurityGroup, g));
        }
        if let Some(k) = &spec.key_pair {
            edge(id(Kind::Instance, name), id(Kind::KeyPair, k));
        }
        for g in &spec.entry.target_groups {
            edge(id(Kind::TargetGroup, g), id(Kind::Instance, name));
        }
    }
    for (name, b) in &desired.load_balancers {
        for g in &b.security_groups {
            edge(id(Kind::LoadBalancer, name), id(Kind::SecurityGroup, g));
        }
        for l in b.listeners.values() {
            if let crate::model::ListenerAction::Forward(tg) = &l.action {
                edge(id(Kind::LoadBalancer, name), id(Kind::TargetGroup, tg));
            }
        }
    }
    for (name, v) in &desired.volumes {
        edge(id(Kind::Instance, &v.instance), id(Kind::Volume, name));
    }
    for (name, a) in &desired.elastic_ips {
        edge(id(Kind::Instance, &a.instance), id(Kind::ElasticIp, name));
    }
    for (name, g) in &desired.security_groups {
        let rules = g.ingress.iter().chain(g.egress.iter().flatten());
        for r in rules {
            if let Peer::Group(other) = &r.peer
                && other != name
            {
                edge(
                    id(Kind::SecurityGroup, name),
                    id(Kind::SecurityGroup, other),
                );
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    Graph { nodes, edges }
}
