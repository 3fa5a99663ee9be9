//! Security groups: rules, ports and CIDR blocks.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;

use super::decode::Ctx;
use super::fields::{self, PROTOCOLS};
use super::yaml::{Node, NodeKind, Pos, Value};
use crate::model::{GroupSpec, Peer, Protocol, Rule, RuleDescriptions};

/// Decodes `security_groups.<name>`; `groups` are the names the stack declares.
pub fn group(
    ctx: &mut Ctx,
    name: &str,
    key: &Node,
    node: &Node,
    groups: &[&str],
) -> Option<GroupSpec> {
    let what = format!("security group `{name}`");
    let e = ctx.object(node, &fields::SECURITY_GROUP, &what, key)?;
    let description = e.value("description").and_then(|n| {
        let s = ctx.str(n)?;
        if s.chars().count() > 255 {
            ctx.error(
                n,
                format!(
                    "the description is {} characters long; EC2 allows 255",
                    s.chars().count()
                ),
                Some("shorten it".into()),
            );
            None
        } else if let Some(c) = s.chars().find(|c| !c.is_ascii() || c.is_ascii_control()) {
            ctx.error(
                n,
                format!("the description contains {c:?}; EC2 allows only printable ASCII"),
                Some("use plain ASCII letters, digits, spaces and punctuation".into()),
            );
            None
        } else {
            Some(s.to_string())
        }
    });
    // Outer `None`: invalid (already reported); inner `None`: not set.
    let vpc = match e.value("vpc") {
        None => Some(None),
        Some(n) => ctx.pattern(n, &fields::VPC).map(Some),
    };
    let mut descriptions = RuleDescriptions::default();
    let ingress = match e.value("ingress") {
        Some(n) => rules(ctx, n, &format!("ingress rule of `{name}`"), groups).map(|(rs, d)| {
            descriptions.ingress = d;
            rs
        }),
        None => Some(Vec::new()),
    };
    let egress = match e.value("egress") {
        Some(n) => rules(ctx, n, &format!("egress rule of `{name}`"), groups).map(|(rs, d)| {
            descriptions.egress = d;
            Some(rs)
        }),
        None => Some(None),
    };
    Some(GroupSpec {
        renamed_from: ctx.renamed_from(&e, "security group"),
        description: description?,
        vpc: vpc?,
        ingress: ingress?,
        egress: egress?,
        descriptions,
        at: ctx.loc(key.start),
    })
}

/// The rules of a list, and the descriptions of those that have one.
type Rules = (Vec<Rule>, BTreeMap<Rule, String>);

/// Decodes a list of rules, one [`Rule`] per source; exact duplicates are errors.
fn rules(ctx: &mut Ctx, node: &Node, what: &str, groups: &[&str]) -> Option<Rules> {
    let items = ctx.list(node)?;
    let mut out = Vec::new();
    let mut descriptions = BTreeMap::new();
    let mut seen: HashMap<Rule, Pos> = HashMap::new();
    let mut ok = true;
    for item in items {
        let Some(expanded) = rule(ctx, item, what, groups) else {
            ok = false;
            continue;
        };
        for (r, at, description) in expanded {
            if let Some(first) = seen.get(&r) {
                ctx.error(
                    at,
                    format!(
                        "duplicate {what}: `{r}` is already allowed on line {}",
                        first.line
                    ),
                    Some("remove the repeated source".into()),
                );
                ok = false;
                continue;
            }
            seen.insert(r.clone(), at.start);
            if let Some(d) = description {
                descriptions.insert(r.clone(), d);
            }
            out.push(r);
        }
    }
    ok.then_some((out, descriptions))
}

/// Characters EC2 takes in a rule's description.
fn description_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c)
}

fn rule<'n>(
    ctx: &mut Ctx,
    node: &'n Node,
    what: &str,
    groups: &[&str],
) -> Option<Vec<(Rule, &'n Node, Option<String>)>> {
    let e = ctx.object(node, &fields::RULE, what, node)?;
    let protocol = e.value("protocol").and_then(|n| {
        ctx.one_of(n, PROTOCOLS, "protocol")
            .and_then(|p| Protocol::from_ec2(&p))
    });
    let ports = match protocol {
        Some(p) => ports(ctx, p, e.get("ports"), node),
        None => None,
    };
    let mut sources: Vec<(Peer, &Node)> = Vec::new();
    let mut ok = true;
    if let Some(n) = e.value("cidr") {
        match ctx.one_or_many(n, CIDR_HINT) {
            Some(list) => {
                for (s, at) in list {
                    match cidr(ctx, s, at) {
                        Some(peer) => sources.push((peer, at)),
                        None => ok = false,
                    }
                }
            }
            None => ok = false,
        }
    }
    if let Some(n) = e.value("from") {
        match ctx.one_or_many(n, "name a security group of this stack") {
            Some(list) => {
                for (s, at) in list {
                    if ctx.name(at, "security group").is_some()
                        && ctx.reference(at, s, "security group", "security_groups", groups)
                    {
                        sources.push((Peer::Group(s.to_string()), at));
                    } else {
                        ok = false;
                    }
                }
            }
            None => ok = false,
        }
    }
    for (key, pattern, peer) in [
        (
            "group",
            &fields::GROUP_ID,
            Peer::GroupId as fn(String) -> Peer,
        ),
        ("prefix_list", &fields::PREFIX_LIST, Peer::PrefixList),
    ] {
        let Some(n) = e.value(key) else {
            continue;
        };
        let hint = format!("name {} like `{}`", pattern.what, pattern.example);
        match ctx.one_or_many(n, &hint) {
            Some(list) => {
                for (_, at) in list {
                    match ctx.pattern(at, pattern) {
                        Some(id) => sources.push((peer(id), at)),
                        None => ok = false,
                    }
                }
            }
            None => ok = false,
        }
    }
    if ["cidr", "from", "group", "prefix_list"]
        .iter()
        .all(|k| e.value(k).is_none())
    {
        ctx.error(
            node,
            format!("this {what} has no source"),
            Some(
                "add `cidr: <block>` (e.g. 0.0.0.0/0), `from: <group of this stack>`, `group: sg-…` (outside the stack) or `prefix_list: pl-…`"
                    .into(),
            ),
        );
        ok = false;
    }
    let description = rule_description(ctx, e.value("description"));
    let (protocol, (from_port, to_port), description) = (protocol?, ports?, description?);
    ok.then(|| {
        sources
            .into_iter()
            .map(|(peer, at)| {
                (
                    Rule {
                        protocol,
                        from_port,
                        to_port,
                        peer,
                    },
                    at,
                    description.clone(),
                )
            })
            .collect()
    })
}

/// A rule's `description`: outer `None` when invalid (reported), inner
/// `None` when not written.
fn rule_description(ctx: &mut Ctx, node: Option<&Node>) -> Option<Option<String>> {
    match node {
        None => Some(None),
        Some(n) => ctx.str(n).and_then(|d| match d.chars().find(|c| !description_char(*c)) {
            Some(c) => {
                ctx.error(
                    n,
                    format!("a rule's description cannot hold {c:?}"),
                    Some(
                        "EC2 takes letters, digits, spaces and . _ - : / ( ) # , @ [ ] + = & ; { } ! $ * in rule descriptions"
                            .into(),
                    ),
                );
                None
            }
            None if d.len() > 255 => {
                ctx.error(
                    n,
                    format!("the description is {} characters long; EC2 allows 255", d.len()),
                    Some("shorten it".into()),
                );
                None
            }
            None => Some(Some(d.to_string())),
        }),
    }
}

/// The (from, to) pair EC2 wants for a protocol and the `ports` value.
fn ports(
    ctx: &mut Ctx,
    protocol: Protocol,
    ports: Option<(&Node, &Node)>,
    rule: &Node,
) -> Option<(i32, i32)> {
    match (protocol, ports) {
        (Protocol::All, None) => Some((-1, -1)),
        (Protocol::All, Some((k, _))) => {
            ctx.error(
                k,
                "`ports` cannot be set with protocol `all` (it allows every port)",
                Some("remove `ports`, or use protocol tcp or udp".into()),
            );
            None
        }
        (Protocol::Icmp | Protocol::Icmpv6, None) => Some((-1, -1)),
        (Protocol::Icmp | Protocol::Icmpv6, Some((_, v))) => match v.value() {
            Some(Value::Int(t)) if (0..=255).contains(&t) => Some((t as i32, -1)),
            _ => {
                ctx.error(
                    v,
                    format!(
                        "for ICMP, `ports` is an ICMP type number (0-255), found {}",
                        v.describe()
                    ),
                    Some("e.g. `ports: 8` for echo request; omit `ports` to allow all ICMP".into()),
                );
                None
            }
        },
        (Protocol::Tcp | Protocol::Udp, None) => {
            ctx.error(
                rule,
                format!("a {} rule needs `ports`", protocol.ec2_name()),
                Some("e.g. `ports: 443` or `ports: \"8000-8080\"`".into()),
            );
            None
        }
        (Protocol::Tcp | Protocol::Udp, Some((_, v))) => port_range(ctx, v),
    }
}

fn port_range(ctx: &mut Ctx, v: &Node) -> Option<(i32, i32)> {
    let bad_syntax = |ctx: &mut Ctx| {
        let hint = match (&v.kind, v.value()) {
            (NodeKind::Seq(_), _) => {
                "write one rule per port, or a range: `ports: \"80-443\"`".to_string()
            }
            (_, Some(Value::Str(s))) if s.contains(',') => {
                "write one rule per port, or a range: `ports: \"80-443\"`".to_string()
            }
            (_, Some(Value::Str(s))) if service_port(s).is_some() => format!(
                "write the port number: `ports: {}`",
                service_port(s).unwrap_or_default()
            ),
            _ => "a port is a number from 0 to 65535; a range is quoted: `ports: \"8000-8080\"`"
                .to_string(),
        };
        ctx.error(
            v,
            format!(
                "expected a port (`80`) or a range (`\"8000-8080\"`), found {}",
                v.describe()
            ),
            Some(hint),
        );
        None
    };
    let (a, b) = match v.value() {
        Some(Value::Int(p)) => (p, p),
        Some(Value::Str(s)) => {
            if !ctx.single_line(v, s, "`ports`") {
                return None;
            }
            let parse = |t: &str| -> Option<i64> {
                let t = t.trim();
                (!t.is_empty() && t.len() <= 6 && t.bytes().all(|c| c.is_ascii_digit()))
                    .then(|| t.parse().ok())
                    .flatten()
            };
            let parsed = match s.split_once('-') {
                Some((a, b)) => parse(a).zip(parse(b)),
                None => parse(s).map(|p| (p, p)),
            };
            match parsed {
                Some(p) => p,
                None => return bad_syntax(ctx),
            }
        }
        _ => return bad_syntax(ctx),
    };
    if let Some(p) = [a, b].into_iter().find(|p| !(0..=65535).contains(p)) {
        ctx.error(
            v,
            format!("port {p} is out of range: ports are 0-65535"),
            Some("`ports: \"0-65535\"` allows every port".into()),
        );
        return None;
    }
    if a > b {
        ctx.error(
            v,
            format!("the port range {a}-{b} is reversed"),
            Some(format!("write \"{b}-{a}\"")),
        );
        return None;
    }
    Some((a as i32, b as i32))
}

/// What to write where a CIDR block belongs.
const CIDR_HINT: &str =
    "write an IPv4 or IPv6 CIDR block such as 203.0.113.0/24 or \"::/0\" (quoted: it holds `:`)";

/// The port of a service name people write instead of a number.
fn service_port(name: &str) -> Option<u16> {
    Some(match name.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        "ssh" => 22,
        "rdp" => 3389,
        "dns" => 53,
        "smtp" => 25,
        "mysql" => 3306,
        "postgres" | "postgresql" => 5432,
        "redis" => 6379,
        _ => return None,
    })
}

/// Parses a CIDR block into a normalised peer.
fn cidr(ctx: &mut Ctx, s: &str, at: &Node) -> Option<Peer> {
    if s.trim().is_empty() {
        ctx.error(
            at,
            "an empty string is not a CIDR block",
            Some(CIDR_HINT.into()),
        );
        return None;
    }
    match s.trim().parse::<IpNet>() {
        Ok(net) if net.trunc() != net => {
            ctx.error(
                at,
                format!(
                    "`{s}` has host bits set: it is not the start of a /{} block",
                    net.prefix_len()
                ),
                Some(format!("did you mean {}?", net.trunc())),
            );
            None
        }
        Ok(IpNet::V4(net)) => Some(Peer::Cidr4(net.to_string())),
        Ok(IpNet::V6(net)) => Some(Peer::Cidr6(net.to_string())),
        Err(_) => {
            let hint = match s.trim().parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => format!("did you mean {a}/32?"),
                Ok(IpAddr::V6(a)) => format!("did you mean {a}/128?"),
                Err(_) => CIDR_HINT.into(),
            };
            ctx.error(at, format!("`{s}` is not a valid CIDR block"), Some(hint));
            None
        }
    }
}
