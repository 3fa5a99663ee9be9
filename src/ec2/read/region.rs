//! The region's facts a plan checks against: images, subnets, VPCs, offered
//! instance types and the Elastic IP quota, one call per kind and only for
//! what the stack names.

use super::*;
use crate::plan::RegionQuery;

impl Ec2 {
    /// Checks, in one call per kind, that the images, subnets and VPCs the
    /// stack names exist, and finds the default VPC.
    pub async fn read_region(&self, q: &RegionQuery) -> Result<Region, Ec2Error> {
        // Images by reference first: the ids they resolve to are checked
        // with the ones the YAML names.
        let resolved = if q.image_refs.is_empty() {
            Default::default()
        } else {
            self.resolve_images(&q.image_refs).await?
        };
        let mut image_ids = q.images.clone();
        image_ids.extend(
            resolved
                .values()
                .flatten()
                .filter(|(_, root)| root.is_none())
                .map(|(id, _)| id.clone()),
        );
        image_ids.sort();
        image_ids.dedup();
        let (
            images,
            mut subnets,
            zone_subnets,
            (vpcs, default_vpc),
            instance_types,
            address_quota,
            (outside_groups, prefix_lists),
        ) = tokio::try_join!(
            trace::branch(self.read_images(&image_ids)),
            trace::branch(self.read_subnets(&q.subnets)),
            trace::branch(self.read_default_subnets(&q.zones)),
            trace::branch(self.read_vpcs()),
            trace::branch(self.read_offered_types(&q.types)),
            trace::branch(self.read_address_quota(q.addresses)),
            trace::branch(self.read_rule_sources(&q.outside_groups, &q.prefix_lists)),
        )?;
        let mut images = images;
        let mut image_refs = BTreeMap::new();
        for (r, found) in resolved {
            if let Some((id, Some(root))) = &found {
                images.insert(id.clone(), root.clone());
            }
            image_refs.insert(r, found.map(|(id, _)| id));
        }
        let mut default_subnets = BTreeMap::new();
        for (id, (vpc, zone)) in zone_subnets {
            default_subnets.insert(zone.clone(), id.clone());
            subnets.insert(id, (vpc, zone));
        }
        Ok(Region {
            images,
            subnets,
            vpcs,
            default_vpc,
            instance_types,
            address_quota,
            default_subnets,
            outside_groups,
            prefix_lists,
            image_refs,
            volume_modifications: None,
        })
    }

    /// Which of the groups outside the stack and the prefix lists its rules
    /// name exist: one call each, none for none.
    async fn read_rule_sources(
        &self,
        groups: &[String],
        lists: &[String],
    ) -> Result<(BTreeSet<String>, BTreeSet<String>), Ec2Error> {
        let groups = async {
            if groups.is_empty() {
                return Ok(BTreeSet::new());
            }
            let out = self
                .call("DescribeSecurityGroups", false, || {
                    self.client
                        .describe_security_groups()
                        .filters(filter("group-id", groups.to_vec()))
                        .send()
                })
                .await?;
            Ok(out
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect())
        };
        let lists = async {
            if lists.is_empty() {
                return Ok(BTreeSet::new());
            }
            let out = self
                .call("DescribeManagedPrefixLists", false, || {
                    self.client
                        .describe_managed_prefix_lists()
                        .filters(filter("prefix-list-id", lists.to_vec()))
                        .send()
                })
                .await?;
            Ok(out
                .prefix_lists()
                .iter()
                .filter_map(|l| l.prefix_list_id().map(str::to_string))
                .collect())
        };
        tokio::try_join!(groups, lists)
    }

    /// The last modification of each of `volumes` (one call), and when it
    /// was read (Unix seconds): what EBS's six hours between two
    /// modifications of a volume are counted from.
    pub async fn read_volume_modifications(
        &self,
        volumes: &[String],
    ) -> Result<(u64, BTreeMap<String, model::VolumeModification>), Ec2Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if volumes.is_empty() {
            return Ok((now, BTreeMap::new()));
        }
        let pages = self
            .pages(
                "DescribeVolumesModifications",
                |token| {
                    self.client
                        .describe_volumes_modifications()
                        .filters(filter("volume-id", volumes.to_vec()))
                        .max_results(500)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )
            .await?;
        let mut last: BTreeMap<String, model::VolumeModification> = BTreeMap::new();
        for m in pages.iter().flat_map(|p| p.volumes_modifications()) {
            let (Some(id), Some(start)) = (m.volume_id(), m.start_time()) else {
                continue;
            };
            let found = model::VolumeModification {
                state: m
                    .modification_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                started: u64::try_from(start.secs()).unwrap_or(0),
            };
            match last.get(id) {
                Some(known) if known.started >= found.started => {}
                _ => {
                    last.insert(id.to_string(), found);
                }
            }
        }
        Ok((now, last))
    }

    /// The default subnets of `zones` (one call): subnet id → (VPC id,
    /// zone). No call for no zones.
    async fn read_default_subnets(
        &self,
        zones: &[String],
    ) -> Result<BTreeMap<String, (String, String)>, Ec2Error> {
        if zones.is_empty() {
            return Ok(BTreeMap::new());
        }
        let out = self
            .call("DescribeSubnets", false, || {
                self.client
                    .describe_subnets()
                    .filters(filter("availability-zone", zones.to_vec()))
                    .filters(filter("default-for-az", ["true"]))
                    .send()
            })
            .await?;
        Ok(subnet_facts(out.subnets()))
    }

    /// Which of `images` exist: image id → root device name. No call for
    /// no images.
    async fn read_images(&self, images: &[String]) -> Result<BTreeMap<String, String>, Ec2Error> {
        if images.is_empty() {
            return Ok(BTreeMap::new());
        }
        // A filter, not ImageIds: an unknown id must not fail the call.
        let out = self
            .call("DescribeImages", false, || {
                self.client
                    .describe_images()
                    .filters(filter("image-id", images.to_vec()))
                    .send()
            })
            .await?;
        Ok(out
            .images()
            .iter()
            .filter_map(|i| {
                Some((
                    i.image_id()?.to_string(),
                    i.root_device_name().unwrap_or("/dev/xvda").to_string(),
                ))
            })
            .collect())
    }

    /// Which of `subnets` exist: subnet id → (VPC id, availability zone).
    /// No call for no subnets.
    async fn read_subnets(
        &self,
        subnets: &[String],
    ) -> Result<BTreeMap<String, (String, String)>, Ec2Error> {
        if subnets.is_empty() {
            return Ok(BTreeMap::new());
        }
        let out = self
            .call("DescribeSubnets", false, || {
                self.client
                    .describe_subnets()
                    .filters(filter("subnet-id", subnets.to_vec()))
                    .send()
            })
            .await?;
        Ok(subnet_facts(out.subnets()))
    }

    /// The ids of the region's VPCs, and of its default VPC if it has one.
    async fn read_vpcs(&self) -> Result<(Vec<String>, Option<String>), Ec2Error> {
        let out = self
            .call(Call::unfiltered("DescribeVpcs"), false, || {
                self.client.describe_vpcs().send()
            })
            .await?;
        let default = out
            .vpcs()
            .iter()
            .find(|v| v.is_default() == Some(true))
            .and_then(|v| v.vpc_id())
            .map(str::to_string);
        let all = out
            .vpcs()
            .iter()
            .filter_map(|v| v.vpc_id())
            .map(str::to_string)
            .collect();
        Ok((all, default))
    }

    /// Which of the instance `types` the region offers; `None` (and no call)
    /// for no types.
    async fn read_offered_types(
        &self,
        types: &[String],
    ) -> Result<Option<BTreeSet<String>>, Ec2Error> {
        if types.is_empty() {
            return Ok(None);
        }
        let out = self
            .call("DescribeInstanceTypeOfferings", false, || {
                self.client
                    .describe_instance_type_offerings()
                    .location_type(aws_sdk_ec2::types::LocationType::Region)
                    .filters(filter("instance-type", types.to_vec()))
                    .send()
            })
            .await?;
        Ok(Some(
            out.instance_type_offerings()
                .iter()
                .filter_map(|o| o.instance_type().map(|t| t.as_str().to_string()))
                .collect(),
        ))
    }

    /// The account's elastic IP quota in the region and how many addresses
    /// it has allocated; `None` (and no call) unless `wanted`. The quota
    /// matters only to stacks with elastic IPs: two calls, not one per
    /// address.
    async fn read_address_quota(&self, wanted: bool) -> Result<Option<(usize, usize)>, Ec2Error> {
        if !wanted {
            return Ok(None);
        }
        let (attrs, all) = tokio::try_join!(
            trace::branch(
                self.call(Call::unfiltered("DescribeAccountAttributes"), false, || {
                    self.client
                        .describe_account_attributes()
                        .attribute_names(aws_sdk_ec2::types::AccountAttributeName::from(
                            "vpc-max-elastic-ips",
                        ))
                        .send()
                })
            ),
            trace::branch(self.call(Call::unfiltered("DescribeAddresses"), false, || {
                self.client.describe_addresses().send()
            })),
        )?;
        let max = attrs
            .account_attributes()
            .iter()
            .flat_map(|a| a.attribute_values())
            .find_map(|v| v.attribute_value()?.parse::<usize>().ok());
        Ok(max.map(|m| (m, all.addresses().len())))
    }
}

/// Subnet id → (VPC id, availability zone).
fn subnet_facts(subnets: &[aws_sdk_ec2::types::Subnet]) -> BTreeMap<String, (String, String)> {
    subnets
        .iter()
        .filter_map(|s| {
            Some((
                s.subnet_id()?.to_string(),
                (
                    s.vpc_id().unwrap_or_default().to_string(),
                    s.availability_zone().unwrap_or_default().to_string(),
                ),
            ))
        })
        .collect()
}
