//! Elastic IPs: one `DescribeAddresses` (not paginated) returns them all.

use super::*;

impl Ec2 {
    pub(in crate::ec2) async fn read_addresses(
        &self,
        filters: &[Filter],
        claim: Claim<'_>,
    ) -> Result<Vec<LiveAddress>, Ec2Error> {
        // DescribeAddresses is not paginated: one call returns them all.
        let page = self
            .call(describe("DescribeAddresses", filters), false, || {
                self.client
                    .describe_addresses()
                    .set_filters(Some(filters.to_vec()))
                    .send()
            })
            .await?;
        let mut out: Vec<LiveAddress> = page
            .addresses()
            .iter()
            .filter_map(|a| {
                let tags = tag_map(a.tags());
                Some(LiveAddress {
                    name: name_for(&tags, claim, a.allocation_id().unwrap_or_default())?,
                    allocation_id: a.allocation_id()?.to_string(),
                    public_ip: a.public_ip().unwrap_or_default().to_string(),
                    instance_id: a
                        .instance_id()
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                    association_id: a.association_id().map(str::to_string),
                    tags,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.name, &a.allocation_id).cmp(&(&b.name, &b.allocation_id)));
        Ok(out)
    }
}
