//! Rules that open administrative ports to the whole internet.

use super::{Action, Change, Field, Warning};
use crate::model::{Desired, Kind, Peer, Protocol, ResourceId, Rule};

/// Ports that must not face the internet: SSH, RDP and common databases.
const ADMIN_PORTS: &[(u16, &str)] = &[
    (22, "SSH"),
    (3389, "RDP"),
    (3306, "MySQL"),
    (5432, "PostgreSQL"),
    (1433, "SQL Server"),
    (1521, "Oracle"),
    (27017, "MongoDB"),
    (6379, "Redis"),
    (9200, "Elasticsearch"),
    (11211, "memcached"),
];

fn is_internet(peer: &Peer) -> bool {
    matches!(peer, Peer::Cidr4(c) if c == "0.0.0.0/0")
        || matches!(peer, Peer::Cidr6(c) if c == "::/0")
}

/// The admin ports a rule opens, by name.
fn admin_ports(rule: &Rule) -> Vec<String> {
    let all = rule.protocol == Protocol::All || rule.from_port == -1;
    match rule.protocol {
        Protocol::Tcp | Protocol::Udp | Protocol::All => ADMIN_PORTS
            .iter()
            .filter(|(p, _)| all || (rule.from_port..=rule.to_port).contains(&i32::from(*p)))
            .map(|(p, n)| format!("{p} ({n})"))
            .collect(),
        Protocol::Icmp | Protocol::Icmpv6 => vec![],
    }
}

/// Warnings for ingress rules of groups this plan creates or changes that
/// open an administrative port to 0.0.0.0/0 or ::/0.
pub fn admin_port_warnings(desired: &Desired, changes: &[Change]) -> Vec<Warning> {
    let mut out = Vec::new();
    for c in changes {
        if c.resource.kind != Kind::SecurityGroup || c.action == Action::Destroy {
            continue;
        }
        let Some(g) = desired.security_groups.get(&c.resource.name) else {
            continue;
        };
        let ingress = c.fields.iter().find(|f| f.field == Field::Ingress);
        let created = c.action == Action::Create || c.action == Action::Replace;
        if !created && ingress.is_none() {
            // Its ingress rules stay as they are: none of them is new.
            continue;
        }
        let before: Vec<String> = ingress.map(|f| f.before.lines()).unwrap_or_default();
        for rule in g.ingress.iter().filter(|r| is_internet(&r.peer)) {
            let new = created || !before.contains(&rule.to_string());
            let ports = admin_ports(rule);
            if new && !ports.is_empty() {
                out.push(Warning {
                    resource: ResourceId::new(Kind::SecurityGroup, &c.resource.name),
                    message: format!(
                        "`{rule}` opens {} to the whole internet; restrict `cidr` to your admin network or use a bastion group with `from:`",
                        ports.join(", ")
                    ),
                    at: Some(g.at.clone()),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(protocol: Protocol, from: i32, to: i32, cidr: &str) -> Rule {
        Rule {
            protocol,
            from_port: from,
            to_port: to,
            peer: if cidr.contains(':') {
                Peer::Cidr6(cidr.into())
            } else {
                Peer::Cidr4(cidr.into())
            },
        }
    }

    #[test]
    fn admin_ports_in_ranges_and_all_traffic() {
        assert_eq!(
            admin_ports(&rule(Protocol::Tcp, 22, 22, "0.0.0.0/0")),
            vec!["22 (SSH)"]
        );
        assert_eq!(
            admin_ports(&rule(Protocol::Tcp, 3000, 3400, "0.0.0.0/0")),
            vec!["3389 (RDP)", "3306 (MySQL)"]
        );
        assert!(admin_ports(&rule(Protocol::Tcp, 80, 443, "0.0.0.0/0")).is_empty());
        assert_eq!(
            admin_ports(&rule(Protocol::All, -1, -1, "::/0")).len(),
            ADMIN_PORTS.len()
        );
        assert!(admin_ports(&rule(Protocol::Icmp, -1, -1, "0.0.0.0/0")).is_empty());
    }

    #[test]
    fn only_the_whole_internet_counts() {
        assert!(is_internet(&Peer::Cidr4("0.0.0.0/0".into())));
        assert!(is_internet(&Peer::Cidr6("::/0".into())));
        assert!(!is_internet(&Peer::Cidr4("203.0.113.0/24".into())));
        assert!(!is_internet(&Peer::Group("admin".into())));
    }
}
