//! Key pairs: one `DescribeKeyPairs` (not paginated) with their public keys.

use super::*;

impl Ec2 {
    pub(in crate::ec2) async fn read_key_pairs(
        &self,
        filters: &[Filter],
        claim: Claim<'_>,
    ) -> Result<Vec<LiveKeyPair>, Ec2Error> {
        // DescribeKeyPairs is not paginated either.
        let page = self
            .call(describe("DescribeKeyPairs", filters), false, || {
                self.client
                    .describe_key_pairs()
                    .set_filters(Some(filters.to_vec()))
                    .include_public_key(true)
                    .send()
            })
            .await?;
        let mut out: Vec<LiveKeyPair> = page
            .key_pairs()
            .iter()
            .filter_map(|k| {
                let tags = tag_map(k.tags());
                Some(LiveKeyPair {
                    name: name_for(&tags, claim, k.key_pair_id().unwrap_or_default())?,
                    id: k.key_pair_id()?.to_string(),
                    key_name: k.key_name().unwrap_or_default().to_string(),
                    public_key: k.public_key().map(|p| p.trim().to_string()),
                    tags,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }
}
