//! `ec2-gitops import`: turns existing, untagged resources into a stack.
//!
//! Pure: from a [`Found`] snapshot (read by `ec2::import`) it names every
//! resource, writes the stack's YAML, and builds the [`Live`] state those
//! resources will be once tagged — so the caller can plan the YAML against it
//! and show that adopting changes nothing but tags.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

mod balancers;

pub use balancers::BalancerRef;

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
    /// Target groups named for import (with `--load-balancer`: those its
    /// listeners forward to), with their registered targets; a listener's
    /// forward names its group by ARN.
    pub target_groups: Vec<model::LiveTargetGroup>,
    /// Load balancers named for import.
    pub load_balancers: Vec<model::LiveLoadBalancer>,
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
    /// Per instance (its name in the stack), what it has that the format
    /// cannot say: kept while it runs, lost by a replacement.
    pub unexpressed: Vec<(String, Vec<String>)>,
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

/// `s` on one line with nothing but printable characters, for a comment.
fn comment_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).expect("string serializes")
}

/// Builds the stack `stack` in `region` from what was found.
pub fn build(stack: &str, region: &str, found: &Found) -> Result<Imported, ImportError> {
    let mut import = Import {
        stack,
        found,
        names: Names::of(found),
        yaml: String::new(),
        live: Live::default(),
        adoptions: Vec::new(),
        unexpressed: Vec::new(),
    };
    import.header(region);
    import.key_pairs()?;
    import.security_groups()?;
    import.instances()?;
    import.elastic_ips();
    import.target_groups()?;
    import.load_balancers()?;
    Ok(Imported {
        yaml: import.yaml,
        live: import.live,
        adoptions: import.adoptions,
        unexpressed: import.unexpressed,
    })
}

/// The logical names given to what was found, each kind named on its own.
struct Names {
    /// EC2 key name → logical name.
    key_pairs: BTreeMap<String, String>,
    /// Security group id → logical name.
    groups: BTreeMap<String, String>,
    /// Instance id → logical name.
    instances: BTreeMap<String, String>,
    /// Target group ARN → logical name.
    target_groups: BTreeMap<String, String>,
    /// Load balancer ARN → logical name.
    load_balancers: BTreeMap<String, String>,
}

impl Names {
    /// Names every key pair, group and instance found, uniquely within its kind.
    fn of(found: &Found) -> Names {
        let mut taken = BTreeSet::new();
        let mut key_pairs = BTreeMap::new();
        for k in &found.key_pairs {
            key_pairs.insert(k.key_name.clone(), unique(slug(&k.key_name), &mut taken));
        }
        let mut taken = BTreeSet::new();
        let mut groups = BTreeMap::new();
        for g in &found.groups {
            groups.insert(g.id.clone(), unique(slug(&g.group_name), &mut taken));
        }
        let mut taken = BTreeSet::new();
        let mut instances = BTreeMap::new();
        for i in &found.instances {
            let base = i
                .live
                .tags
                .get("Name")
                .map(|n| slug(n))
                .unwrap_or_else(|| slug(&i.live.id));
            // `web-1`-style names would collide with `count`; names are plain.
            instances.insert(i.live.id.clone(), unique(base, &mut taken));
        }
        let mut taken = BTreeSet::new();
        let mut target_groups = BTreeMap::new();
        for g in &found.target_groups {
            target_groups.insert(g.arn.clone(), unique(slug(&g.group_name), &mut taken));
        }
        let mut taken = BTreeSet::new();
        let mut load_balancers = BTreeMap::new();
        for b in &found.load_balancers {
            load_balancers.insert(b.arn.clone(), unique(slug(&b.balancer_name), &mut taken));
        }
        Names {
            key_pairs,
            groups,
            instances,
            target_groups,
            load_balancers,
        }
    }
}

/// An import in progress: the YAML written so far, and the live state and
/// adoptions of the resources written.
struct Import<'a> {
    stack: &'a str,
    found: &'a Found,
    names: Names,
    yaml: String,
    live: Live,
    adoptions: Vec<Adoption>,
    unexpressed: Vec<(String, Vec<String>)>,
}

impl Import<'_> {
    /// Records the adoption of one resource and returns the tags it gets:
    /// the stack's identity tags (but not `Name`: a resource keeps the one it
    /// has) and `extra`.
    fn adopt(
        &mut self,
        kind: Kind,
        name: &str,
        ec2_id: &str,
        extra: &[(&str, String)],
    ) -> BTreeMap<String, String> {
        let resource = ResourceId::new(kind, name);
        let mut tags = model::identity_tags(self.stack, &resource);
        // Keep a Name the resource already has.
        tags.remove("Name");
        for (k, v) in extra {
            tags.insert(k.to_string(), v.clone());
        }
        self.adoptions.push(Adoption {
            resource,
            ec2_id: ec2_id.to_string(),
            tags: tags.clone(),
        });
        tags
    }

    /// Writes the file's comment, version, stack and region.
    fn header(&mut self, region: &str) {
        let y = &mut self.yaml;
        let _ = writeln!(y, "# Imported by `ec2-gitops import`: review, then commit.");
        let _ = writeln!(y, "version: 1\nstack: {}\nregion: {region}", self.stack);
    }

    /// Writes and adopts the key pairs; one without a public key is an error.
    fn key_pairs(&mut self) -> Result<(), ImportError> {
        let found = self.found;
        if found.key_pairs.is_empty() {
            return Ok(());
        }
        let _ = writeln!(self.yaml, "\nkey_pairs:");
        for k in &found.key_pairs {
            let name = self.names.key_pairs[&k.key_name].clone();
            let Some(public) = &k.public_key else {
                return Err(ImportError(format!(
                    "key pair {} has no public key EC2 can return; import it again with its public key",
                    k.key_name
                )));
            };
            let _ = writeln!(
                self.yaml,
                "  {name}:\n    public_key: {}",
                yaml_str(public.trim())
            );
            let tags = self.adopt(Kind::KeyPair, &name, &k.id, &[]);
            let mut l = k.clone();
            l.name = name;
            l.tags.extend(tags);
            self.live.key_pairs.push(l);
        }
        Ok(())
    }

    /// Writes and adopts the security groups.
    fn security_groups(&mut self) -> Result<(), ImportError> {
        let found = self.found;
        if found.groups.is_empty() {
            return Ok(());
        }
        let _ = writeln!(self.yaml, "\nsecurity_groups:");
        for g in &found.groups {
            self.security_group(g)?;
        }
        Ok(())
    }

    /// Writes and adopts one security group: its egress only when it is not
    /// EC2's default.
    fn security_group(&mut self, g: &LiveGroup) -> Result<(), ImportError> {
        let name = self.names.groups[&g.id].clone();
        let _ = writeln!(
            self.yaml,
            "  {name}:\n    description: {}",
            yaml_str(&g.description)
        );
        if Some(&g.vpc_id) != self.found.default_vpc.as_ref() {
            let _ = writeln!(self.yaml, "    vpc: {}", g.vpc_id);
        }
        let ingress = self.rules(g, &g.ingress, "ingress")?;
        self.write_rules("ingress", ingress);
        let mut egress_sorted = g.egress.clone();
        egress_sorted.sort();
        if egress_sorted != default_egress() {
            let egress = self.rules(g, &g.egress, "egress")?;
            self.write_rules("egress", egress);
        }
        let tags = self.adopt(Kind::SecurityGroup, &name, &g.id, &[]);
        let mut l = g.clone();
        l.name = name;
        l.tags.extend(tags);
        self.live.security_groups.push(l);
        Ok(())
    }

    /// The `what` (ingress or egress) rules of group `g` as YAML.
    fn rules(&self, g: &LiveGroup, rs: &[Rule], what: &str) -> Result<Vec<String>, ImportError> {
        let described = match what {
            "egress" => &g.descriptions.egress,
            _ => &g.descriptions.ingress,
        };
        rs.iter()
            .map(|r| {
                let yaml = rule_yaml(r, &self.names.groups, &g.id, what)?;
                Ok(match described.get(r) {
                    // `{ … }` with the description before the closing brace.
                    Some(d) => format!(
                        "{}, description: {} }}",
                        yaml.trim_end_matches(" }"),
                        yaml_str(d)
                    ),
                    None => yaml,
                })
            })
            .collect()
    }

    /// Writes a group's `key:` (ingress or egress) and its rules, `[]` for none.
    fn write_rules(&mut self, key: &str, rules: Vec<String>) {
        let y = &mut self.yaml;
        let _ = writeln!(y, "    {key}:{}", if rules.is_empty() { " []" } else { "" });
        for r in rules {
            let _ = writeln!(y, "      - {r}");
        }
    }

    /// Writes and adopts the instances, with their volumes.
    fn instances(&mut self) -> Result<(), ImportError> {
        let found = self.found;
        if !found.instances.is_empty() {
            let _ = writeln!(self.yaml, "\ninstances:");
        }
        for fi in &found.instances {
            self.instance(fi)?;
        }
        Ok(())
    }

    /// Writes and adopts one instance and its volumes.
    fn instance(&mut self, fi: &FoundInstance) -> Result<(), ImportError> {
        let i = &fi.live;
        let name = self.names.instances[&i.id].clone();
        let _ = writeln!(self.yaml, "  {name}:");
        if !i.unexpressed.is_empty() {
            // EC2's words, one line each, as a comment.
            let said: Vec<String> = i.unexpressed.iter().map(|u| comment_safe(u)).collect();
            let _ = writeln!(
                self.yaml,
                "    # Not in the format, kept while it runs, lost if it is replaced: {}",
                said.join("; ")
            );
            self.unexpressed.push((name.clone(), said));
        }
        let _ = writeln!(
            self.yaml,
            "    image: {}\n    type: {}",
            i.image, i.instance_type
        );
        if let Some(s) = &i.subnet {
            let _ = writeln!(self.yaml, "    subnet: {s}");
        }
        if let Some(k) = &i.key_name {
            let Some(logical) = self.names.key_pairs.get(k) else {
                return Err(ImportError(format!(
                    "instance {} uses key pair {k}, which EC2 no longer has",
                    i.id
                )));
            };
            let _ = writeln!(self.yaml, "    key_pair: {logical}");
        }
        let groups = self.instance_groups(i)?;
        let _ = writeln!(self.yaml, "    security_groups: [{}]", groups.join(", "));
        if let Some(ud) = &fi.user_data {
            let _ = writeln!(self.yaml, "    user_data: {}", yaml_str(ud));
        }
        if let Some(p) = &i.instance_profile {
            let _ = writeln!(self.yaml, "    instance_profile: {}", yaml_str(p));
        }
        if let Some(m) = &i.metadata {
            let hop = m
                .hop_limit
                .map(|h| format!(", hop_limit: {h}"))
                .unwrap_or_default();
            let _ = writeln!(
                self.yaml,
                "    metadata: {{ tokens: {}{hop} }}",
                yaml_str(&m.tokens)
            );
        }
        self.instance_volumes(fi, &name);
        self.instance_target_groups(i);
        self.instance_tags(i);
        if fi.protected {
            let _ = writeln!(self.yaml, "    protect: true");
        }
        let mut extra = vec![];
        if let Some(ud) = &fi.user_data {
            extra.push((model::USER_DATA_TAG, user_data_digest(ud)));
        }
        extra.extend(protect_tag(fi.protected));
        let tags = self.adopt(Kind::Instance, &name, &i.id, &extra);
        let mut l = i.clone();
        l.name = name;
        l.tags.extend(tags);
        self.live.instances.push(l);
        Ok(())
    }

    /// The logical names of an instance's groups; a group not found is an error.
    fn instance_groups(&self, i: &LiveInstance) -> Result<Vec<String>, ImportError> {
        i.security_group_ids
            .iter()
            .map(|g| {
                self.names.groups.get(g).cloned().ok_or_else(|| {
                    ImportError(format!(
                        "instance {} is in group {g}, which was not found",
                        i.id
                    ))
                })
            })
            .collect()
    }

    /// Writes and adopts the volumes attached to instance `name`: its root
    /// volume, then its data volumes.
    fn instance_volumes(&mut self, fi: &FoundInstance, name: &str) {
        let root_id = root_volume_id(&fi.live);
        let mut data = Vec::new();
        for v in attached_to(self.found, &fi.live.id) {
            if Some(&v.id) == root_id {
                self.root_volume(v, name, fi.protected);
            } else {
                data.push(v);
            }
        }
        if !data.is_empty() {
            self.data_volumes(&data, name, fi.protected);
        }
    }

    /// Writes and adopts the root volume `v` of instance `name`.
    fn root_volume(&mut self, v: &LiveVolume, name: &str, protected: bool) {
        let _ = writeln!(
            self.yaml,
            "    root_volume: {{ size_gb: {}, type: {}{} }}",
            v.size_gb,
            v.volume_type,
            disk_yaml(v)
        );
        let logical = format!("{name}/root");
        let tags = self.adopt(Kind::Volume, &logical, &v.id, &protect_tag(protected));
        let mut l = v.clone();
        l.name = logical;
        l.tags.extend(tags);
        self.live.volumes.push(l);
    }

    /// Writes and adopts the data volumes of instance `name`, named after
    /// their `Name` tag (or `data`).
    fn data_volumes(&mut self, data: &[&LiveVolume], name: &str, protected: bool) {
        let _ = writeln!(self.yaml, "    volumes:");
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
                self.yaml,
                "      - {{ name: {vname}, device: {device}, size_gb: {}, type: {}{} }}",
                v.size_gb,
                v.volume_type,
                disk_yaml(v)
            );
            let logical = format!("{name}/{vname}");
            let tags = self.adopt(Kind::Volume, &logical, &v.id, &protect_tag(protected));
            let mut l = (*v).clone();
            l.name = logical;
            l.tags.extend(tags);
            self.live.volumes.push(l);
        }
    }

    /// Writes an instance's own tags (not `Name`, nor AWS's or ours).
    fn instance_tags(&mut self, i: &LiveInstance) {
        let user_tags: Vec<(&String, &String)> = i
            .tags
            .iter()
            .filter(|(k, _)| {
                *k != "Name" && !k.starts_with("aws:") && !k.starts_with("ec2-gitops:")
            })
            .collect();
        if !user_tags.is_empty() {
            let _ = writeln!(self.yaml, "    tags:");
            for (k, v) in user_tags {
                let _ = writeln!(self.yaml, "      {}: {}", yaml_str(k), yaml_str(v));
            }
        }
    }

    /// Writes and adopts the elastic IPs of the instances; an address
    /// associated with nothing is left out.
    fn elastic_ips(&mut self) {
        let found = self.found;
        if found.addresses.is_empty() {
            return;
        }
        let _ = writeln!(self.yaml, "\nelastic_ips:");
        let mut taken = BTreeSet::new();
        for a in &found.addresses {
            let Some(iid) = &a.instance_id else { continue };
            let inst = self.names.instances[iid].clone();
            let name = unique(format!("{inst}-ip"), &mut taken);
            let _ = writeln!(self.yaml, "  {name}: {{ instance: {inst} }}");
            let tags = self.adopt(Kind::ElasticIp, &name, &a.allocation_id, &[]);
            let mut l = a.clone();
            l.name = name;
            l.tags.extend(tags);
            self.live.addresses.push(l);
        }
    }
}

/// The protection tag a resource of a protected instance gets, if any.
fn protect_tag(protected: bool) -> Vec<(&'static str, String)> {
    let mut extra = vec![];
    if protected {
        extra.push((model::PROTECT_TAG, "true".to_string()));
    }
    extra
}

/// The id of an instance's root volume. It is the one at the root device;
/// some EC2 answers (moto's among them) name a root device the volume is not
/// at, so the usual root device names are tried too.
/// A volume's encryption and performance as YAML keys (`, encrypted: true,
/// kms_key: "arn:…", iops: 3000, throughput: 125`): what its type takes,
/// as EC2 reports it, so that the imported stack plans no change.
fn disk_yaml(v: &LiveVolume) -> String {
    let mut out = String::new();
    if v.encrypted {
        out.push_str(", encrypted: true");
        if let Some(k) = &v.kms_key {
            out.push_str(&format!(", kms_key: {}", yaml_str(k)));
        }
    }
    if matches!(v.volume_type.as_str(), "gp3" | "io1" | "io2")
        && let Some(i) = v.iops
    {
        out.push_str(&format!(", iops: {i}"));
    }
    if v.volume_type == "gp3"
        && let Some(t) = v.throughput
    {
        out.push_str(&format!(", throughput: {t}"));
    }
    out
}

fn root_volume_id(i: &LiveInstance) -> Option<&String> {
    i.root_device
        .iter()
        .map(String::as_str)
        .chain(["/dev/xvda", "/dev/sda1"])
        .find_map(|d| i.block_devices.get(d))
}

/// The volumes found attached to instance `iid`.
fn attached_to<'a>(found: &'a Found, iid: &str) -> Vec<&'a LiveVolume> {
    found
        .volumes
        .iter()
        .filter(|v| v.attachment.as_ref().is_some_and(|(i, _)| i == iid))
        .collect()
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
            // A group the import does not take stays outside the stack,
            // named by id (read-only).
            None => format!("group: {}", yaml_str(id)),
        },
        Peer::PrefixList(pl) => format!("prefix_list: {}", yaml_str(pl)),
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
        // A group the import does not take stays outside, by id.
        assert_eq!(
            rule_yaml(
                &r(Protocol::Tcp, 22, 22, Peer::GroupId("sg-9".into())),
                &groups,
                "sg-x",
                "ingress"
            )
            .unwrap(),
            "{ protocol: tcp, ports: 22, group: \"sg-9\" }"
        );
        assert_eq!(
            rule_yaml(
                &r(Protocol::Tcp, 443, 443, Peer::PrefixList("pl-1".into())),
                &groups,
                "sg-x",
                "ingress"
            )
            .unwrap(),
            "{ protocol: tcp, ports: 443, prefix_list: \"pl-1\" }"
        );
    }
}
