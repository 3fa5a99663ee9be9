//! `ec2-gitops import`: turns existing, untagged resources into a stack.
//!
//! Pure: from a [`Found`] snapshot (read by `ec2::import`) it names every
//! resource, writes the stack's YAML, and builds the [`Live`] state those
//! resources will be once tagged — so the caller can plan the YAML against it
//! and show that adopting changes nothing but tags.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::model::{
    self, Kind, Live, LiveAddress, LiveGroup, LiveInstance, LiveKeyPair, LiveVolume, Peer,
    Protocol, ResourceId, Rule,
};
use crate::plan::diff::{default_egress, user_data_digest};

/// An instance found for import, with what `DescribeInstances` does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundInstance {
    /// As read (its `name` is ignored).
    pub live: LiveInstance,
    /// User data text, if any.
    pub user_data: Option<String>,
    /// Termination protection.
    pub protected: bool,
}

/// Everything read for an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The instances matched by the filter.
    pub instances: Vec<FoundInstance>,
    /// Their security groups.
    pub groups: Vec<LiveGroup>,
    /// Their volumes (root and data).
    pub volumes: Vec<LiveVolume>,
    /// Their key pairs.
    pub key_pairs: Vec<LiveKeyPair>,
    /// Addresses associated with them.
    pub addresses: Vec<LiveAddress>,
    /// The region's default VPC.
    pub default_vpc: Option<String>,
}

/// One resource to adopt: the tags it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// Its identity in the stack.
    pub resource: ResourceId,
    /// Its EC2 id.
    pub ec2_id: String,
    /// The tags added.
    pub tags: BTreeMap<String, String>,
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The stack file.
    pub yaml: String,
    /// What EC2 will hold once the tags are added.
    pub live: Live,
    /// The tags to add, resource by resource.
    pub adoptions: Vec<Adoption>,
}

/// An EC2 filter from `--filter NAME=VALUE[,VALUE…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The filter's name (`tag:team`, `instance-id`).
    pub name: String,
    /// The values, any of which matches.
    pub values: Vec<String>,
}

impl Filter {
    /// Parses one `--filter` argument.
    pub fn parse(arg: &str) -> Result<Filter, ImportError> {
        match arg.split_once('=') {
            Some((name, values)) if !name.is_empty() && !values.is_empty() => Ok(Filter {
                name: name.to_string(),
                values: values.split(',').map(str::to_string).collect(),
            }),
            _ => Err(ImportError(format!(
                "--filter {arg:?} must be NAME=VALUE, e.g. tag:team=web or instance-id=i-0abc"
            ))),
        }
    }
}

/// Why an import cannot describe what it found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// A stack-safe name: lower-case letters, digits and dashes.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    let out: String = out.chars().take(50).collect();
    if out.is_empty() { "x".into() } else { out }
}

/// Picks unique names: `base`, then `base-2`, `base-3`…
fn unique(base: String, taken: &mut BTreeSet<String>) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).expect("string serializes")
}

/// Builds the stack `stack` in `region` from what was found.
pub fn build(stack: &str, region: &str, found: &Found) -> Result<Imported, ImportError> {
    let mut taken = BTreeSet::new();
    // Names.
    let mut key_names: BTreeMap<String, String> = BTreeMap::new(); // EC2 key name → logical
    for k in &found.key_pairs {
        key_names.insert(k.key_name.clone(), unique(slug(&k.key_name), &mut taken));
    }
    let mut taken = BTreeSet::new();
    let mut group_names: BTreeMap<String, String> = BTreeMap::new(); // sg id → logical
    for g in &found.groups {
        group_names.insert(g.id.clone(), unique(slug(&g.group_name), &mut taken));
    }
    let mut taken = BTreeSet::new();
    let mut instance_names: BTreeMap<String, String> = BTreeMap::new(); // i- → logical
    for i in &found.instances {
        let base = i
            .live
            .tags
            .get("Name")
            .map(|n| slug(n))
            .unwrap_or_else(|| slug(&i.live.id));
        // `web-1`-style names would collide with `count`; names are plain.
        instance_names.insert(i.live.id.clone(), unique(base, &mut taken));
    }

    let mut live = Live::default();
    let mut adoptions = Vec::new();
    let mut adopt = |kind: Kind, name: &str, ec2_id: &str, extra: &[(&str, String)]| {
        let resource = ResourceId::new(kind, name);
        let mut tags = model::identity_tags(stack, &resource);
        // Keep a Name the resource already has.
        tags.remove("Name");
        for (k, v) in extra {
            tags.insert(k.to_string(), v.clone());
        }
        adoptions.push(Adoption {
            resource,
            ec2_id: ec2_id.to_string(),
            tags: tags.clone(),
        });
        tags
    };

    let mut y = String::new();
    let _ = writeln!(y, "# Imported by `ec2-gitops import`: review, then commit.");
    let _ = writeln!(y, "version: 1\nstack: {stack}\nregion: {region}");

    if !found.key_pairs.is_empty() {
        let _ = writeln!(y, "\nkey_pairs:");
        for k in &found.key_pairs {
            let name = &key_names[&k.key_name];
            let Some(public) = &k.public_key else {
                return Err(ImportError(format!(
                    "key pair {} has no public key EC2 can return; import it again with its public key",
                    k.key_name
                )));
            };
            let _ = writeln!(y, "  {name}:\n    public_key: {}", yaml_str(public.trim()));
            let tags = adopt(Kind::KeyPair, name, &k.id, &[]);
            let mut l = k.clone();
            l.name = name.clone();
            l.tags.extend(tags);
            live.key_pairs.push(l);
        }
    }

    if !found.groups.is_empty() {
        let _ = writeln!(y, "\nsecurity_groups:");
        for g in &found.groups {
            let name = &group_names[&g.id];
            let _ = writeln!(
                y,
                "  {name}:\n    description: {}",
                yaml_str(&g.description)
            );
            if Some(&g.vpc_id) != found.default_vpc.as_ref() {
                let _ = writeln!(y, "    vpc: {}", g.vpc_id);
            }
            let rules = |rs: &[Rule], what: &str| -> Result<Vec<String>, ImportError> {
                rs.iter()
                    .map(|r| rule_yaml(r, &group_names, &g.id, what))
                    .collect()
            };
            let ingress = rules(&g.ingress, "ingress")?;
            let _ = writeln!(
                y,
                "    ingress:{}",
                if ingress.is_empty() { " []" } else { "" }
            );
            for r in ingress {
                let _ = writeln!(y, "      - {r}");
            }
            let mut egress_sorted = g.egress.clone();
            egress_sorted.sort();
            if egress_sorted != default_egress() {
                let egress = rules(&g.egress, "egress")?;
                let _ = writeln!(
                    y,
                    "    egress:{}",
                    if egress.is_empty() { " []" } else { "" }
                );
                for r in egress {
                    let _ = writeln!(y, "      - {r}");
                }
            }
            let tags = adopt(Kind::SecurityGroup, name, &g.id, &[]);
            let mut l = g.clone();
            l.name = name.clone();
            l.tags.extend(tags);
            live.security_groups.push(l);
        }
    }

    if !found.instances.is_empty() {
        let _ = writeln!(y, "\ninstances:");
    }
    let volumes_of = |iid: &str| -> Vec<&LiveVolume> {
        found
            .volumes
            .iter()
            .filter(|v| v.attachment.as_ref().is_some_and(|(i, _)| i == iid))
            .collect()
    };
    for fi in &found.instances {
        let i = &fi.live;
        let name = instance_names[&i.id].clone();
        let _ = writeln!(
            y,
            "  {name}:\n    image: {}\n    type: {}",
            i.image, i.instance_type
        );
        if let Some(s) = &i.subnet {
            let _ = writeln!(y, "    subnet: {s}");
        }
        if let Some(k) = &i.key_name {
            let Some(logical) = key_names.get(k) else {
                return Err(ImportError(format!(
                    "instance {} uses key pair {k}, which EC2 no longer has",
                    i.id
                )));
            };
            let _ = writeln!(y, "    key_pair: {logical}");
        }
        let groups: Vec<String> = i
            .security_group_ids
            .iter()
            .map(|g| {
                group_names.get(g).cloned().ok_or_else(|| {
                    ImportError(format!(
                        "instance {} is in group {g}, which was not found",
                        i.id
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let _ = writeln!(y, "    security_groups: [{}]", groups.join(", "));
        if let Some(ud) = &fi.user_data {
            let _ = writeln!(y, "    user_data: {}", yaml_str(ud));
        }
        // The root volume is the one at the root device; some EC2 answers
        // (moto's among them) name a root device the volume is not at, so the
        // usual root device names are tried too.
        let root_id = i
            .root_device
            .iter()
            .map(String::as_str)
            .chain(["/dev/xvda", "/dev/sda1"])
            .find_map(|d| i.block_devices.get(d));
        let mut data = Vec::new();
        for v in volumes_of(&i.id) {
            if Some(&v.id) == root_id {
                let _ = writeln!(
                    y,
                    "    root_volume: {{ size_gb: {}, type: {} }}",
                    v.size_gb, v.volume_type
                );
                let mut extra = vec![];
                if fi.protected {
                    extra.push((model::PROTECT_TAG, "true".to_string()));
                }
                let tags = adopt(Kind::Volume, &format!("{name}/root"), &v.id, &extra);
                let mut l = v.clone();
                l.name = format!("{name}/root");
                l.tags.extend(tags);
                live.volumes.push(l);
            } else {
                data.push(v);
            }
        }
        if !data.is_empty() {
            let _ = writeln!(y, "    volumes:");
            let mut taken = BTreeSet::from(["root".to_string()]);
            for v in data {
                let base = v
                    .tags
                    .get("Name")
                    .map(|n| slug(n))
                    .unwrap_or_else(|| "data".into());
                let vname = unique(base, &mut taken);
                let device = &v.attachment.as_ref().expect("attached").1;
                let _ = writeln!(
                    y,
                    "      - {{ name: {vname}, device: {device}, size_gb: {}, type: {} }}",
                    v.size_gb, v.volume_type
                );
                let mut extra = vec![];
                if fi.protected {
                    extra.push((model::PROTECT_TAG, "true".to_string()));
                }
                let logical = format!("{name}/{vname}");
                let tags = adopt(Kind::Volume, &logical, &v.id, &extra);
                let mut l = v.clone();
                l.name = logical;
                l.tags.extend(tags);
                live.volumes.push(l);
            }
        }
        let user_tags: Vec<(&String, &String)> = i
            .tags
            .iter()
            .filter(|(k, _)| {
                *k != "Name" && !k.starts_with("aws:") && !k.starts_with("ec2-gitops:")
            })
            .collect();
        if !user_tags.is_empty() {
            let _ = writeln!(y, "    tags:");
            for (k, v) in user_tags {
                let _ = writeln!(y, "      {}: {}", yaml_str(k), yaml_str(v));
            }
        }
        if fi.protected {
            let _ = writeln!(y, "    protect: true");
        }
        let mut extra = vec![];
        if let Some(ud) = &fi.user_data {
            extra.push((model::USER_DATA_TAG, user_data_digest(ud)));
        }
        if fi.protected {
            extra.push((model::PROTECT_TAG, "true".to_string()));
        }
        let tags = adopt(Kind::Instance, &name, &i.id, &extra);
        let mut l = i.clone();
        l.name = name.clone();
        l.tags.extend(tags);
        live.instances.push(l);
    }

    if !found.addresses.is_empty() {
        let _ = writeln!(y, "\nelastic_ips:");
        let mut taken = BTreeSet::new();
        for a in &found.addresses {
            let Some(iid) = &a.instance_id else { continue };
            let inst = &instance_names[iid];
            let name = unique(format!("{inst}-ip"), &mut taken);
            let _ = writeln!(y, "  {name}: {{ instance: {inst} }}");
            let tags = adopt(Kind::ElasticIp, &name, &a.allocation_id, &[]);
            let mut l = a.clone();
            l.name = name;
            l.tags.extend(tags);
            live.addresses.push(l);
        }
    }
    Ok(Imported {
        yaml: y,
        live,
        adoptions,
    })
}

/// One rule as YAML, group references by logical name.
fn rule_yaml(
    r: &Rule,
    groups: &BTreeMap<String, String>,
    owner: &str,
    what: &str,
) -> Result<String, ImportError> {
    let protocol = match r.protocol {
        Protocol::All => "all",
        p => p.ec2_name(),
    };
    let ports = match r.protocol {
        Protocol::All => String::new(),
        Protocol::Icmp | Protocol::Icmpv6 => match (r.from_port, r.to_port) {
            (-1, _) => String::new(),
            (t, -1) => format!(", ports: {t}"),
            (t, c) => {
                return Err(ImportError(format!(
                    "group {owner}: the {what} rule for ICMP type {t} code {c} cannot be written in format v1 (only whole types)"
                )));
            }
        },
        _ if r.from_port == r.to_port => format!(", ports: {}", r.from_port),
        _ => format!(", ports: \"{}-{}\"", r.from_port, r.to_port),
    };
    let peer = match &r.peer {
        Peer::Cidr4(c) | Peer::Cidr6(c) => format!("cidr: {}", yaml_str(c)),
        Peer::Group(g) => format!("from: {g}"),
        Peer::GroupId(id) => match groups.get(id) {
            Some(g) => format!("from: {g}"),
            None => {
                return Err(ImportError(format!(
                    "group {owner}: an {what} rule references {id}, which is not part of this import; import the instances that use {id} too, or remove the rule first"
                )));
            }
        },
    };
    Ok(format!("{{ protocol: {protocol}{ports}, {peer} }}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_unique_names() {
        assert_eq!(slug("Web Server #1"), "web-server-1");
        assert_eq!(slug("--"), "x");
        let mut taken = BTreeSet::new();
        assert_eq!(unique("web".into(), &mut taken), "web");
        assert_eq!(unique("web".into(), &mut taken), "web-2");
    }

    #[test]
    fn rules_as_yaml() {
        let groups = BTreeMap::from([("sg-1".to_string(), "admin".to_string())]);
        let r = |protocol, from_port, to_port, peer| Rule {
            protocol,
            from_port,
            to_port,
            peer,
        };
        assert_eq!(
            rule_yaml(
                &r(Protocol::Tcp, 80, 80, Peer::Cidr4("0.0.0.0/0".into())),
                &groups,
                "sg-x",
                "ingress"
            )
            .unwrap(),
            "{ protocol: tcp, ports: 80, cidr: \"0.0.0.0/0\" }"
        );
        assert_eq!(
            rule_yaml(
                &r(Protocol::Tcp, 8000, 8080, Peer::GroupId("sg-1".into())),
                &groups,
                "sg-x",
                "ingress"
            )
            .unwrap(),
            "{ protocol: tcp, ports: \"8000-8080\", from: admin }"
        );
        assert!(
            rule_yaml(
                &r(Protocol::Tcp, 22, 22, Peer::GroupId("sg-9".into())),
                &groups,
                "sg-x",
                "ingress"
            )
            .unwrap_err()
            .0
            .contains("not part of this import")
        );
    }
}
