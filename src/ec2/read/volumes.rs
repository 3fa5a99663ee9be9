//! Volumes (one paged `DescribeVolumes`, 500 a page) and the stack's
//! snapshots by the volume they are of.

use super::*;

impl Ec2 {
    /// The volumes, and (when reading a stack) those of a batch launch that
    /// carry no name yet: root volumes, named after their instance once the
    /// instances are read.
    pub(in crate::ec2) async fn read_volumes(
        &self,
        filters: &[Filter],
        claim: Claim<'_>,
    ) -> Result<(Vec<LiveVolume>, Vec<LiveVolume>), Ec2Error> {
        let mut out = Vec::new();
        let mut roots = Vec::new();
        let pages = self
            .pages(
                "DescribeVolumes",
                |token| {
                    self.client
                        .describe_volumes()
                        .set_filters(Some(filters.to_vec()))
                        .max_results(500)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )
            .await?;
        for page in &pages {
            for v in page.volumes() {
                let state = v.state().map(|s| s.as_str()).unwrap_or_default();
                if state == "deleting" || state == "deleted" {
                    continue;
                }
                let tags = tag_map(v.tags());
                let unnamed_root = claim.is_some()
                    && !tags.contains_key(model::NAME_TAG)
                    && tags.contains_key(model::LAUNCH_TAG);
                let name = if unnamed_root {
                    String::new()
                } else {
                    let Some(name) = name_for(&tags, claim, v.volume_id().unwrap_or_default())
                    else {
                        continue;
                    };
                    name
                };
                let attached = v.attachments().iter().find(|a| {
                    a.state()
                        .is_none_or(|s| matches!(s.as_str(), "attached" | "attaching"))
                });
                let attachment = attached
                    .and_then(|a| Some((a.instance_id()?.to_string(), a.device()?.to_string())));
                let kept_on_termination =
                    attached.is_some_and(|a| a.delete_on_termination() == Some(false));
                let found = if unnamed_root { &mut roots } else { &mut out };
                found.push(LiveVolume {
                    name,
                    id: v.volume_id().unwrap_or_default().to_string(),
                    size_gb: v.size().unwrap_or_default(),
                    volume_type: v
                        .volume_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    availability_zone: v.availability_zone().unwrap_or_default().to_string(),
                    attachment,
                    kept_on_termination,
                    encrypted: v.encrypted().unwrap_or(false),
                    kms_key: v.kms_key_id().map(str::to_string),
                    iops: v.iops(),
                    throughput: v.throughput(),
                    tags,
                });
            }
        }
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok((out, roots))
    }

    /// The stack's snapshots that did not fail, by the volume they are of:
    /// (name tag, snapshot id). One paged `DescribeSnapshots` for every
    /// volume an apply deletes (a snapshot an interrupted run took is found,
    /// not taken twice).
    pub(in crate::ec2) async fn snapshots_by_volume(
        &self,
        stack: &str,
    ) -> Result<SnapshotsByVolume, Ec2Error> {
        let pages = self
            .pages(
                "DescribeSnapshots",
                |token| {
                    self.client
                        .describe_snapshots()
                        .owner_ids("self")
                        .filters(stack_filter(stack))
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )
            .await?;
        let mut out = SnapshotsByVolume::new();
        for s in pages.iter().flat_map(|p| p.snapshots()) {
            if matches!(s.state(), Some(aws_sdk_ec2::types::SnapshotState::Error)) {
                continue;
            }
            let (Some(volume), Some(id)) = (s.volume_id(), s.snapshot_id()) else {
                continue;
            };
            let name = tag_map(s.tags())
                .remove(model::NAME_TAG)
                .unwrap_or_default();
            out.entry(volume.to_string())
                .or_default()
                .push((name, id.to_string()));
        }
        Ok(out)
    }
}
