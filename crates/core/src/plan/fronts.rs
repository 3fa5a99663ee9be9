//! What a reviewer needs to know of the site's front door: each load
//! balancer's DNS name and where its listeners send requests, which servers
//! each target group holds after the plan, and which restarts change a
//! server's public IP.

use serde::{Deserialize, Serialize};

use super::{Action, Change, Warning};
use crate::model::{Desired, Kind, ListenerAction, Live};

/// One load balancer after the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Front {
    /// Its logical name.
    pub name: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// Its DNS name (`None`: made by this apply, known after it).
    pub dns_name: Option<String>,
    /// The DNS name it replaces, when the plan replaces it.
    pub replaces_dns: Option<String>,
    /// Its listeners: port, and where they send requests.
    pub listeners: Vec<(u16, String)>,
    /// The target groups it forwards to, each with its servers after the
    /// plan (natural order).
    pub groups: Vec<(String, Vec<String>)>,
}

/// The servers of target group `group`: every instance of an entry that
/// names it, in natural order.
pub fn members(desired: &Desired, group: &str) -> Vec<String> {
    let names: Vec<String> = desired
        .instances
        .iter()
        .filter(|(_, i)| i.entry.target_groups.iter().any(|g| g == group))
        .map(|(n, _)| n.clone())
        .collect();
    super::order::natural_list(names)
}

/// The front of every load balancer `desired` has.
pub fn of(desired: &Desired, live: &Live, changes: &[Change]) -> Vec<Front> {
    desired
        .load_balancers
        .iter()
        .map(|(name, spec)| {
            let change = changes
                .iter()
                .find(|c| c.resource.kind == Kind::LoadBalancer && &c.resource.name == name);
            let live_lb = live.load_balancers.iter().find(|b| &b.name == name);
            let replaced = matches!(
                change.map(|c| c.action),
                Some(Action::Replace | Action::Create)
            );
            let dns_name = live_lb.filter(|_| !replaced).map(|b| b.dns_name.clone());
            let replaces_dns = live_lb.filter(|_| replaced).map(|b| b.dns_name.clone());
            let mut groups: Vec<(String, Vec<String>)> = Vec::new();
            let listeners = spec
                .listeners
                .iter()
                .map(|(port, l)| {
                    let to = match &l.action {
                        ListenerAction::Forward(tg) => {
                            if !groups.iter().any(|(g, _)| g == tg) {
                                groups.push((tg.clone(), members(desired, tg)));
                            }
                            format!("target group {tg}")
                        }
                        ListenerAction::RedirectHttps(p) => format!("redirect to https:{p}"),
                    };
                    (*port, format!("{} → {to}", l.protocol.as_str()))
                })
                .collect();
            Front {
                name: name.clone(),
                scheme: spec.scheme.as_str().to_string(),
                dns_name,
                replaces_dns,
                listeners,
                groups,
            }
        })
        .collect()
}

/// A warning for each restart of a server whose public IP EC2 gives back
/// on a stop (it has one, and no elastic IP of the stack holds it).
pub fn public_ip_changes(desired: &Desired, live: &Live, changes: &[Change]) -> Vec<Warning> {
    changes
        .iter()
        .filter(|c| c.resource.kind == Kind::Instance && c.action == Action::UpdateWithRestart)
        .filter_map(|c| {
            let i = live.instances.iter().find(|i| Some(&i.id) == c.live_id.as_ref())?;
            let ip = i.public_ip.as_ref()?;
            let elastic = live
                .addresses
                .iter()
                .any(|a| a.instance_id.as_ref() == Some(&i.id) && &a.public_ip == ip)
                || desired
                    .elastic_ips
                    .values()
                    .any(|a| a.instance == c.resource.name);
            let spec = desired.instances.get(&c.resource.name);
            let behind = spec.is_some_and(|s| !s.entry.target_groups.is_empty());
            let advice = if behind {
                "its load balancer keeps the site reachable; whatever reaches it by this address directly loses it"
            } else {
                "give it an elastic IP, or put it behind a load balancer, to keep an address"
            };
            (!elastic).then(|| Warning {
                resource: c.resource.clone(),
                message: format!(
                    "public IP changes: {} gives back {ip} when it stops for this restart and gets a new one ({advice})",
                    c.resource.name
                ),
                at: spec.map(|s| s.at.clone()),
            })
        })
        .collect()
}
