//! What the region must offer: images, subnets, VPCs, instance types,
//! the elastic IP quota.

use super::*;

impl<'a> Planner<'a> {
    /// Images, subnets and VPCs the YAML names must exist in the region.
    /// The instances of one `count` entry share their settings: an error in
    /// them is the entry's, reported once at it.
    pub(super) fn check_region(&mut self) {
        let instances = self.count_entries();
        let placements = self.placements();
        let mut errors = self.image_errors(&instances);
        errors.extend(self.subnet_errors(&placements));
        errors.extend(self.type_errors(&instances));
        errors.extend(self.group_vpc_errors(&placements));
        errors.extend(self.group_region_errors());
        errors.extend(self.balancer_errors());
        for (id, at, message, hint) in errors {
            self.error(id, &at, message, hint);
        }
    }

    /// One instance per `count` entry (and every instance outside one), with
    /// the entry's id and the prefix its messages start with.
    pub(super) fn count_entries(&self) -> Vec<CountEntry<'a>> {
        let mut entries: BTreeSet<(&str, &model::Location)> = BTreeSet::new();
        self.desired()
            .instances
            .iter()
            .filter_map(|(n, i)| {
                let (entry, prefix) = entry_and_prefix(n, i);
                entries
                    .insert((entry, &i.at))
                    .then(|| (ResourceId::new(Kind::Instance, entry), prefix, i))
            })
            .collect()
    }

    /// One instance per place of a `count` entry (its members spread over
    /// `subnets:` are in several), and every instance outside one.
    pub(super) fn placements(&self) -> Vec<CountEntry<'a>> {
        let mut seen: BTreeSet<(&str, Option<&str>, Option<&str>)> = BTreeSet::new();
        self.desired()
            .instances
            .iter()
            .filter_map(|(n, i)| {
                let (entry, prefix) = entry_and_prefix(n, i);
                seen.insert((entry, i.subnet.as_deref(), i.zone.as_deref()))
                    .then(|| (ResourceId::new(Kind::Instance, entry), prefix, i))
            })
            .collect()
    }

    /// Images the instances name that the region does not have.
    pub(super) fn image_errors(&self, instances: &[CountEntry<'_>]) -> Vec<RegionError> {
        let region = self.inputs.region;
        let name = &self.desired().region;
        let mut errors = Vec::new();
        for (id, prefix, i) in instances {
            if let Some(r) = &i.image_ref
                && i.image.is_empty()
            {
                let (message, hint) = match r {
                    model::ImageRef::Ssm(p) => (
                        format!(
                            "{prefix}the SSM parameter {p} does not exist in {name}, is not readable, or does not hold an AMI id"
                        ),
                        "name a parameter of this region that holds an AMI id (aws ssm get-parameters --names …)",
                    ),
                    model::ImageRef::Name { pattern, owner } => (
                        format!(
                            "{prefix}no image named {pattern:?} owned by {owner} exists in {name}"
                        ),
                        "check the pattern and the owner (aws ec2 describe-images --owners … --filters Name=name,Values=…)",
                    ),
                };
                errors.push((id.clone(), i.at.clone(), message, hint));
                continue;
            }
            if !region.images.contains_key(&i.image) {
                errors.push((
                    id.clone(),
                    i.at.clone(),
                    format!(
                        "{prefix}image {} does not exist in {name} (or is not visible to this account)",
                        i.image
                    ),
                    "AMI ids differ per region: look the image up in this region",
                ));
            }
        }
        errors
    }

    /// Subnets the instances name, and zones whose default subnet they
    /// name, that the region does not have.
    pub(super) fn subnet_errors(&self, placements: &[CountEntry<'_>]) -> Vec<RegionError> {
        let region = self.inputs.region;
        let name = &self.desired().region;
        let mut errors = Vec::new();
        for (id, prefix, i) in placements {
            if let Some(s) = &i.subnet
                && !region.subnets.contains_key(s)
            {
                errors.push((
                    id.clone(),
                    i.at.clone(),
                    format!("{prefix}subnet {s} does not exist in {name}"),
                    "omit `subnet` to use a default subnet",
                ));
            }
            if let Some(z) = &i.zone
                && !region.default_subnets.contains_key(z)
            {
                errors.push((
                    id.clone(),
                    i.at.clone(),
                    format!("{prefix}zone {z} has no default subnet in {name}"),
                    "name a zone of this region that has a default subnet (aws ec2 describe-subnets --filters Name=default-for-az,Values=true), or the subnet by id",
                ));
            }
        }
        errors
    }

    /// Instance types the region does not offer.
    pub(super) fn type_errors(&self, instances: &[CountEntry<'_>]) -> Vec<RegionError> {
        let region = self.inputs.region;
        let name = &self.desired().region;
        let mut errors = Vec::new();
        for (id, prefix, i) in instances {
            if let Some(offered) = &region.instance_types
                && !offered.contains(&i.instance_type)
            {
                errors.push((
                    id.clone(),
                    i.at.clone(),
                    format!(
                        "{prefix}instance type {} is not offered in {name}",
                        i.instance_type
                    ),
                    "pick a type this region offers (aws ec2 describe-instance-type-offerings)",
                ));
            }
        }
        errors
    }

    /// Groups in another VPC than their instance's.
    pub(super) fn group_vpc_errors(&self, placements: &[CountEntry<'_>]) -> Vec<RegionError> {
        let region = self.inputs.region;
        let mut errors = Vec::new();
        for (id, prefix, i) in placements {
            // The instance lands in its subnet's VPC (or the default VPC):
            // its groups must live there too.
            let instance_vpc = match placed_subnet(i, region) {
                Some(s) => region.subnets.get(&s).map(|(v, _)| v.clone()),
                None => region.default_vpc.clone(),
            };
            for g in &i.security_groups {
                let group_vpc = self
                    .desired()
                    .security_groups
                    .get(g)
                    .and_then(|spec| expected_vpc(self.inputs, spec));
                if let (Some(iv), Some(gv)) = (&instance_vpc, &group_vpc)
                    && iv != gv
                {
                    errors.push((
                        id.clone(),
                        i.at.clone(),
                        format!(
                            "{prefix}security group {g} is in {gv}, but the instance's {} is in {iv}",
                            placed_subnet(i, region).map_or("default subnet".to_string(), |s| format!("subnet {s}"))
                        ),
                        "an instance's groups must be in its subnet's VPC: set `subnet:` or the group's `vpc:` to match",
                    ));
                }
            }
        }
        errors
    }

    /// Group rules that reference a group in another VPC, and group VPCs the
    /// region does not have.
    pub(super) fn group_region_errors(&self) -> Vec<RegionError> {
        let region = self.inputs.region;
        let name = &self.desired().region;
        let mut errors = Vec::new();
        for (n, g) in &self.desired().security_groups {
            let id = ResourceId::new(Kind::SecurityGroup, n);
            let vpc = expected_vpc(self.inputs, g);
            for r in g.ingress.iter().chain(g.egress.iter().flatten()) {
                if let Peer::Group(other) = &r.peer {
                    let other_vpc = self
                        .desired()
                        .security_groups
                        .get(other)
                        .and_then(|o| expected_vpc(self.inputs, o));
                    if other_vpc.is_some() && vpc.is_some() && other_vpc != vpc {
                        errors.push((
                            id.clone(),
                            g.at.clone(),
                            format!(
                                "rule `{r}` references group {other} in {}, but {n} is in {}",
                                other_vpc.unwrap_or_default(),
                                vpc.clone().unwrap_or_default()
                            ),
                            "security groups can reference groups of their own VPC only",
                        ));
                    }
                }
            }
            for r in g.ingress.iter().chain(g.egress.iter().flatten()) {
                let missing = match &r.peer {
                    Peer::GroupId(other) if !region.outside_groups.contains(other) => {
                        Some(format!("security group {other}"))
                    }
                    Peer::PrefixList(l) if !region.prefix_lists.contains(l) => {
                        Some(format!("prefix list {l}"))
                    }
                    _ => None,
                };
                if let Some(what) = missing {
                    errors.push((
                        id.clone(),
                        g.at.clone(),
                        format!("rule `{r}` names {what}, which does not exist in {name}"),
                        "name a group or prefix list of this account and region by id (aws ec2 describe-security-groups, describe-managed-prefix-lists)",
                    ));
                }
            }
            match &g.vpc {
                Some(v) if !region.vpcs.contains(v) => errors.push((
                    id,
                    g.at.clone(),
                    format!("VPC {v} does not exist in {name}"),
                    "omit `vpc` to use the region's default VPC",
                )),
                None if region.default_vpc.is_none() => errors.push((
                    id,
                    g.at.clone(),
                    format!("{name} has no default VPC"),
                    "set `vpc:` on the security group",
                )),
                _ => {}
            }
        }
        errors
    }

    /// New elastic IPs must fit in the account's quota for the region.
    pub(super) fn check_address_quota(&mut self) {
        let Some((max, used)) = self.inputs.region.address_quota else {
            return;
        };
        let new: Vec<String> = self
            .changes
            .iter()
            .filter(|c| c.resource.kind == Kind::ElasticIp && c.action == Action::Create)
            .map(|c| c.resource.name.clone())
            .collect();
        if used + new.len() > max {
            let first = &new[0];
            let at = self.desired().elastic_ips[first].at.clone();
            let region = self.desired().region.clone();
            self.error(
                ResourceId::new(Kind::ElasticIp, first),
                &at,
                format!(
                    "{} new elastic IP(s) do not fit: the account has {used} of its {max} allowed in {region}",
                    new.len()
                ),
                "release unused addresses or ask AWS for a higher elastic IP quota",
            );
        }
    }
}

/// The entry instance `name` belongs to, and how messages about the entry
/// start (`instances.web (4 instances): `).
fn entry_and_prefix<'s>(name: &'s str, i: &'s InstanceSpec) -> (&'s str, String) {
    match (i.entry.name.as_str(), i.entry.count) {
        ("", _) => (name, String::new()),
        (e, c) if c > 1 => (e, format!("`instances.{e}` ({c} instances): ")),
        (e, _) => (e, String::new()),
    }
}

/// The subnet instance `i` is launched in: its own, or its zone's default
/// one; `None` for a default subnet EC2 picks (or a zone without one).
pub fn placed_subnet(i: &InstanceSpec, region: &model::Region) -> Option<String> {
    i.subnet.clone().or_else(|| {
        i.zone
            .as_ref()
            .and_then(|z| region.default_subnets.get(z))
            .cloned()
    })
}
