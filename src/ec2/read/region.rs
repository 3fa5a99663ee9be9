//! The region's facts a plan checks against: images, subnets, VPCs, offered
//! instance types and the Elastic IP quota, one call per kind and only for
//! what the stack names.

use super::*;
use crate::plan::RegionQuery;

impl Ec2 {
    /// Checks, in one call per kind, that the images, subnets and VPCs the
    /// stack names exist, and finds the default VPC.
    pub async fn read_region(&self, q: &RegionQuery) -> Result<Region, Ec2Error> {
        let (images, subnets, (vpcs, default_vpc), instance_types, address_quota) = tokio::try_join!(
            trace::branch(self.read_images(&q.images)),
            trace::branch(self.read_subnets(&q.subnets)),
            trace::branch(self.read_vpcs()),
            trace::branch(self.read_offered_types(&q.types)),
            trace::branch(self.read_address_quota(q.addresses)),
        )?;
        Ok(Region {
            images,
            subnets,
            vpcs,
            default_vpc,
            instance_types,
            address_quota,
        })
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
        Ok(out
            .subnets()
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
            .collect())
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
