//! The stack file as a whole: top-level keys, `count` expansion, elastic IPs,
//! and the assembled [`Desired`].

use std::collections::BTreeMap;

use super::decode::Ctx;
use super::fields;
use super::instance::{self, ReadUserData, Refs, Settings};
use super::yaml::{Node, NodeKind, Pos, Value};
use super::{balancers, keys, network};
use crate::model::{AddressSpec, Desired, Entry, InstanceSpec, SubnetRef, VolumeSpec};

/// The top of a stack file, when it is a map; why not, said at it, when not.
fn top_map<'n>(ctx: &mut Ctx, root: Option<&'n Node>) -> Option<&'n Node> {
    let start = "a stack file starts with `version: 1`, `stack: <name>` and `region: <region>`";
    let Some(root) = root else {
        let message = if ctx.is_blank() {
            "the file is empty"
        } else {
            "the file holds only comments"
        };
        ctx.error_at(
            Pos {
                line: 1,
                col: 1,
                file: 0,
            },
            message,
            Some(start.into()),
        );
        return None;
    };
    match &root.kind {
        NodeKind::Map(_) => {}
        _ if root.value() == Some(Value::Null) => {
            ctx.error(
                root,
                "the file holds an empty YAML document",
                Some(start.into()),
            );
            return None;
        }
        _ => {
            ctx.error(
                root,
                format!(
                    "a stack file is a YAML map of keys, but this file holds {}",
                    root.describe()
                ),
                Some(format!("{start}, each on its own line")),
            );
            return None;
        }
    }
    Some(root)
}

/// Decodes a parsed file; `None` when any error was recorded in `ctx`.
pub fn decode(
    ctx: &mut Ctx,
    root: Option<&Node>,
    file: &str,
    read: ReadUserData,
) -> Option<Desired> {
    let root = top_map(ctx, root)?;
    if !version_supported(ctx, root) {
        return None;
    }
    let e = ctx.object(root, &fields::STACK, "the stack file", root)?;
    let stack = e
        .value("stack")
        .and_then(|n| ctx.name(n, "stack"))
        .map(String::from);
    let region = e.value("region").and_then(|n| region(ctx, n));

    let key_pair_nodes = section(ctx, e.value("key_pairs"), "key pair");
    let group_nodes = section(ctx, e.value("security_groups"), "security group");
    let instance_nodes = section(ctx, e.value("instances"), "instance");
    let eip_nodes = section(ctx, e.value("elastic_ips"), "elastic IP");
    let target_group_nodes = section(ctx, e.value("target_groups"), "target group");
    let balancer_nodes = section(ctx, e.value("load_balancers"), "load balancer");
    let refs = Refs {
        groups: group_nodes.iter().map(|(n, _, _)| *n).collect(),
        key_pairs: key_pair_nodes.iter().map(|(n, _, _)| *n).collect(),
        target_groups: target_group_nodes.iter().map(|(n, _, _)| *n).collect(),
    };

    let mut out = Desired {
        stack: String::new(),
        region: String::new(),
        file: file.to_string(),
        sources: Vec::new(),
        key_pairs: BTreeMap::new(),
        security_groups: BTreeMap::new(),
        instances: BTreeMap::new(),
        volumes: BTreeMap::new(),
        elastic_ips: BTreeMap::new(),
        target_groups: BTreeMap::new(),
        load_balancers: BTreeMap::new(),
        tags: e
            .value("tags")
            .map(|n| instance::tags(ctx, n))
            .unwrap_or_default(),
        account: e
            .value("account")
            .and_then(|n| Some((ctx.name(n, "account")?.to_string(), ctx.loc(n.start)))),
        environment: e
            .value("environment")
            .and_then(|n| ctx.pattern(n, &fields::ENVIRONMENT)),
        after: after(ctx, e.value("after")),
        preview: e.value("preview").and_then(|n| instance::preview(ctx, n)),
        preview_of: None,
    };
    for (name, k, v) in &key_pair_nodes {
        if let Some(spec) = keys::key_pair(ctx, name, k, v) {
            out.key_pairs.insert(name.to_string(), spec);
        }
    }
    for (name, k, v) in &group_nodes {
        if let Some(spec) = network::group(ctx, name, k, v, &refs.groups) {
            out.security_groups.insert(name.to_string(), spec);
        }
    }
    for (name, k, v) in &target_group_nodes {
        if let Some(spec) = balancers::target_group(ctx, name, k, v) {
            out.target_groups.insert(name.to_string(), spec);
        }
    }
    for (name, k, v) in &balancer_nodes {
        if let Some(spec) =
            balancers::load_balancer(ctx, name, k, v, &refs.groups, &refs.target_groups)
        {
            out.load_balancers.insert(name.to_string(), spec);
        }
    }
    let defaults = match e.get("defaults") {
        Some((k, v)) => instance::settings(ctx, v, &fields::DEFAULTS, "`defaults`", k, &refs, read)
            .unwrap_or_default(),
        None => Settings::default(),
    };
    let mut declared = Vec::new();
    for (name, k, v) in &instance_nodes {
        let what = format!("instance `{name}`");
        if let Some(s) = instance::settings(ctx, v, &fields::INSTANCE, &what, k, &refs, read) {
            let merged = instance::merge(ctx, name, k, s, &defaults);
            declared.push((*name, *k, merged));
        }
    }
    expand(ctx, &declared, &mut out);
    for (name, k, v) in &eip_nodes {
        if let Some(spec) = elastic_ip(ctx, name, k, v, &declared, &out) {
            out.elastic_ips.insert(name.to_string(), spec);
        }
    }
    if !ctx.diags.is_empty() {
        return None;
    }
    out.stack = stack?;
    out.region = region?;
    Some(out)
}

/// `after`: the stacks named, each with where it is written.
fn after(ctx: &mut Ctx, n: Option<&Node>) -> Vec<(String, crate::model::Location)> {
    let Some(items) = n.and_then(|n| ctx.list(n)) else {
        return vec![];
    };
    let mut out: Vec<(String, crate::model::Location)> = Vec::new();
    for item in items {
        let Some(name) = ctx.name(item, "stack") else {
            continue;
        };
        if out.iter().any(|(n, _)| n == name) {
            ctx.error(
                item,
                format!("stack `{name}` is named twice in `after`"),
                None,
            );
            continue;
        }
        out.push((name.to_string(), ctx.loc(item.start)));
    }
    out
}

/// The region; an availability zone (`us-east-1a`) names its region in
/// the hint.
fn region(ctx: &mut Ctx, n: &Node) -> Option<String> {
    if let Some(Value::Str(s)) = n.value()
        && let Some(region) = s.strip_suffix(|c: char| c.is_ascii_lowercase())
        && (fields::REGION.check)(region)
    {
        ctx.error(
            n,
            format!("`{s}` is an availability zone, not a region"),
            Some(format!("write `region: {region}`")),
        );
        return None;
    }
    ctx.pattern(n, &fields::REGION)
}

/// Refuses other format versions before anything else, so a newer file gets
/// one clear message instead of a flood of unknown keys.
fn version_supported(ctx: &mut Ctx, root: &Node) -> bool {
    let NodeKind::Map(map) = &root.kind else {
        return true;
    };
    let version = map
        .iter()
        .find(|(k, _)| k.value() == Some(Value::Str("version")))
        .map(|(_, v)| v);
    match version.and_then(Node::value) {
        Some(Value::Int(1)) | None => true,
        Some(Value::Int(n)) => {
            ctx.error(
                version.expect("matched a value"),
                format!("unsupported format version {n}; this ec2-gitops reads version 1"),
                Some("upgrade ec2-gitops, or write the file in format version 1".into()),
            );
            false
        }
        Some(_) => {
            let v = version.expect("matched a value");
            ctx.error(
                v,
                format!(
                    "expected the format version (an integer), found {}",
                    v.describe()
                ),
                Some("write `version: 1`".into()),
            );
            false
        }
    }
}

fn section<'n>(
    ctx: &mut Ctx,
    node: Option<&'n Node>,
    kind: &str,
) -> Vec<(&'n str, &'n Node, &'n Node)> {
    node.map(|n| ctx.named(n, kind)).unwrap_or_default()
}

/// The names an instance declaration expands to.
fn expanded_names(name: &str, count: u32) -> Vec<String> {
    if count <= 1 {
        vec![name.to_string()]
    } else {
        (1..=count).map(|i| format!("{name}-{i}")).collect()
    }
}

/// Applies `count`, checks expanded names, and fills instances and volumes.
fn expand(ctx: &mut Ctx, declared: &[(&str, &Node, Settings)], out: &mut Desired) {
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    let mut reported = Vec::new();
    for (i, (name, key, s)) in declared.iter().enumerate() {
        let count = s.count.unwrap_or(1);
        let names = expanded_names(name, count);
        if let Some(long) = names.iter().find(|n| !(fields::NAME.check)(n)) {
            ctx.error(
                key,
                format!(
                    "with `count: {count}`, the instance name `{long}` is longer than 63 characters"
                ),
                Some("use a shorter name".into()),
            );
            continue;
        }
        for (position, expanded) in names.into_iter().enumerate() {
            // `subnets:` spreads the members round-robin by index.
            let spread = s.subnets.clone().unwrap_or_default();
            let (subnet, zone) = match SubnetRef::of_member(&spread, position as u32 + 1) {
                Some(SubnetRef::Id(id)) => (Some(id.clone()), None),
                Some(SubnetRef::Zone(z)) => (None, Some(z.clone())),
                None => (s.subnet.clone(), None),
            };
            if let Some(&j) = owner.get(&expanded) {
                if !reported.contains(&(j, i)) {
                    reported.push((j, i));
                    collision(ctx, &expanded, &declared[j], &declared[i]);
                }
                continue;
            }
            owner.insert(expanded.clone(), i);
            // An image by reference has its id once the plan resolves it.
            let image = s
                .image
                .clone()
                .or_else(|| s.image_ref.as_ref().map(|_| String::new()));
            let (Some(image), Some(instance_type)) = (image, s.instance_type.clone()) else {
                continue;
            };
            let protect = s.protect.unwrap_or(false);
            for v in &s.volumes {
                out.volumes.insert(
                    format!("{expanded}/{}", v.name),
                    VolumeSpec {
                        instance: expanded.clone(),
                        device: v.device.clone(),
                        size_gb: v.size_gb,
                        volume_type: v.volume_type.clone(),
                        disk: v.disk.clone(),
                        protect,
                        on_destroy: v.on_destroy,
                        renamed_from: v.renamed_from.clone(),
                        at: ctx.loc(v.at),
                    },
                );
            }
            // `renamed_from: OLD` on an entry of `count: N` renames OLD-i.
            let renamed_from = s.renamed_from.as_ref().map(|old| {
                match expanded
                    .strip_prefix(name)
                    .and_then(|r| r.strip_prefix('-'))
                {
                    Some(index) if count > 1 => format!("{old}-{index}"),
                    _ => old.clone(),
                }
            });
            out.instances.insert(
                expanded,
                InstanceSpec {
                    image,
                    image_ref: s.image_ref.clone(),
                    instance_type,
                    subnet,
                    zone,
                    security_groups: s.security_groups.clone().unwrap_or_default(),
                    key_pair: s.key_pair.clone(),
                    user_data: s.user_data.clone(),
                    root_volume: s.root_volume.clone(),
                    instance_profile: s.instance_profile.clone(),
                    metadata: s.metadata.unwrap_or_default(),
                    // The stack's tags, under the instance's own.
                    tags: {
                        let mut t = out.tags.clone();
                        t.extend(s.tags.clone());
                        t
                    },
                    protect,
                    renamed_from,
                    entry: Entry {
                        name: name.to_string(),
                        count,
                        rollout: s.rollout.clone().unwrap_or_default(),
                        subnets: spread,
                        target_groups: s.target_groups.clone(),
                    },
                    at: ctx.loc(key.start),
                },
            );
        }
    }
}

/// Reports two declarations that produce the same instance name, at both.
fn collision(ctx: &mut Ctx, name: &str, a: &(&str, &Node, Settings), b: &(&str, &Node, Settings)) {
    let describe = |(n, k, s): &(&str, &Node, Settings)| match s.count {
        Some(c) if c > 1 => format!("`{n}` (count {c}, line {})", k.start.line),
        _ => format!("`{n}` (line {})", k.start.line),
    };
    let message = format!(
        "two instances are named `{name}`: {} and {}",
        describe(a),
        describe(b)
    );
    let hint =
        Some("instances with `count: N` are named `<name>-1` … `<name>-N`: rename one".to_string());
    ctx.error(a.1, message.clone(), hint.clone());
    ctx.error(b.1, message, hint);
}

fn elastic_ip(
    ctx: &mut Ctx,
    name: &str,
    key: &Node,
    node: &Node,
    declared: &[(&str, &Node, Settings)],
    out: &Desired,
) -> Option<AddressSpec> {
    let e = ctx.object(
        node,
        &fields::ELASTIC_IP,
        &format!("elastic IP `{name}`"),
        key,
    )?;
    let v = e.value("instance")?;
    let instance = ctx.name(v, "instance")?;
    let known = declared.iter().any(|(n, _, s)| {
        expanded_names(n, s.count.unwrap_or(1))
            .iter()
            .any(|x| x == instance)
    });
    if !known {
        let hint = match declared.iter().find(|(n, _, _)| *n == instance) {
            Some((n, _, s)) => {
                let names = expanded_names(n, s.count.unwrap_or(1));
                format!(
                    "`{n}` has count {}: name one of its instances, {}",
                    names.len(),
                    names.join(", ")
                )
            }
            None => {
                let all: Vec<String> = declared
                    .iter()
                    .flat_map(|(n, _, s)| expanded_names(n, s.count.unwrap_or(1)))
                    .collect();
                let list: Vec<&str> = all.iter().map(String::as_str).collect();
                if list.is_empty() {
                    "this stack declares no instances".to_string()
                } else if list.len() > 12 {
                    format!(
                        "instances of this stack: {}, … ({} in all)",
                        list[..12].join(", "),
                        list.len()
                    )
                } else {
                    match super::decode::did_you_mean(instance, &list) {
                        Some(m) => format!(
                            "did you mean `{m}`? instances of this stack: {}",
                            list.join(", ")
                        ),
                        None => format!("instances of this stack: {}", list.join(", ")),
                    }
                }
            }
        };
        ctx.error(
            v,
            format!("elastic IP `{name}` names instance `{instance}`, which is not in this stack (removed, or a `count` that no longer makes it)"),
            Some(hint),
        );
        return None;
    }
    if let Some((other, first)) = out.elastic_ips.iter().find(|(_, a)| a.instance == instance) {
        ctx.error(
            v,
            format!(
                "instance `{instance}` already has the elastic IP `{other}` (line {})",
                first.at.line
            ),
            Some("an instance's primary address takes one elastic IP".into()),
        );
        return None;
    }
    Some(AddressSpec {
        renamed_from: ctx.renamed_from(&e, "elastic IP"),
        instance: instance.to_string(),
        at: ctx.loc(key.start),
    })
}
