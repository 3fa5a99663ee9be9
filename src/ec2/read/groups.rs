//! Security groups and their ingress rules: one paged
//! `DescribeSecurityGroups`.

use super::*;

impl Ec2 {
    pub(in crate::ec2) async fn read_groups(
        &self,
        filters: &[Filter],
        claim: Claim<'_>,
    ) -> Result<Vec<LiveGroup>, Ec2Error> {
        let mut out = Vec::new();
        let pages = self
            .pages(
                "DescribeSecurityGroups",
                |token| {
                    self.client
                        .describe_security_groups()
                        .set_filters(Some(filters.to_vec()))
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )
            .await?;
        for page in &pages {
            for g in page.security_groups() {
                let tags = tag_map(g.tags());
                let Some(name) = name_for(&tags, claim, g.group_id().unwrap_or_default()) else {
                    continue;
                };
                out.push(LiveGroup {
                    name,
                    id: g.group_id().unwrap_or_default().to_string(),
                    group_name: g.group_name().unwrap_or_default().to_string(),
                    description: g.description().unwrap_or_default().to_string(),
                    vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                    ingress: rules(g.ip_permissions()),
                    egress: rules(g.ip_permissions_egress()),
                    descriptions: model::RuleDescriptions {
                        ingress: descriptions(g.ip_permissions()),
                        egress: descriptions(g.ip_permissions_egress()),
                    },
                    tags,
                });
            }
        }
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }
}

/// Every source of `perms` as one rule, with the description EC2 holds on
/// it (if any).
fn sources(perms: &[IpPermission]) -> Vec<(Rule, Option<String>)> {
    let mut out = Vec::new();
    for p in perms {
        let Some(protocol) = p.ip_protocol().and_then(Protocol::from_ec2) else {
            continue;
        };
        let (from_port, to_port) = match protocol {
            Protocol::All => (-1, -1),
            _ => (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1)),
        };
        let mut add = |peer, d: Option<&str>| {
            let rule = Rule {
                protocol,
                from_port,
                to_port,
                peer,
            };
            out.push((rule, d.filter(|d| !d.is_empty()).map(str::to_string)));
        };
        for r in p.ip_ranges() {
            if let Some(c) = r.cidr_ip() {
                add(Peer::Cidr4(c.to_string()), r.description());
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(c) = r.cidr_ipv6() {
                add(Peer::Cidr6(c.to_string()), r.description());
            }
        }
        for g in p.user_id_group_pairs() {
            if let Some(id) = g.group_id() {
                add(Peer::GroupId(id.to_string()), g.description());
            }
        }
        for l in p.prefix_list_ids() {
            if let Some(id) = l.prefix_list_id() {
                add(Peer::PrefixList(id.to_string()), l.description());
            }
        }
    }
    out
}

/// The rules of `perms`, one per source, sorted.
pub(super) fn rules(perms: &[IpPermission]) -> Vec<Rule> {
    let mut out: Vec<Rule> = sources(perms).into_iter().map(|(r, _)| r).collect();
    out.sort();
    out
}

/// The descriptions of the rules of `perms` that have one, by rule.
pub(super) fn descriptions(perms: &[IpPermission]) -> BTreeMap<Rule, String> {
    sources(perms)
        .into_iter()
        .filter_map(|(r, d)| Some((r, d?)))
        .collect()
}
