//! Data volumes: created and attached, modified, moved, snapshotted and
//! deleted; a volume is never detached from a running instance.

use super::*;

impl<'a> Run<'a> {
    /// Takes the snapshot (when one is wanted), detaches the volume (when
    /// attached) and deletes it; one already gone is fine. A volume EC2
    /// deletes with its instance (`deleted_with`) only gets the snapshot.
    pub(super) async fn delete_volume(
        &self,
        volume_id: &str,
        detach: &Option<(String, String)>,
        snapshot: &Option<BTreeMap<String, String>>,
        deleted_with: Option<&str>,
    ) -> Result<(String, Option<String>), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let kept = match snapshot {
            Some(tags) => Some(self.snapshot(volume_id, tags).await?),
            None => None,
        };
        if let Some(instance) = deleted_with {
            let text = match &kept {
                Some(snap) => {
                    format!("snapshot {snap} completed; EC2 deletes {volume_id} with {instance}")
                }
                None => format!("deleted {volume_id} with {instance}"),
            };
            return Ok((text, kept));
        }
        if let Some((instance_id, device)) = detach {
            self.detach(volume_id, instance_id, device).await?;
        }
        match ec2
            .call("DeleteVolume", false, || {
                c.delete_volume().volume_id(volume_id).send()
            })
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let text = match &kept {
            Some(snap) => format!("snapshot {snap} completed, then deleted {volume_id}"),
            None => format!("deleted {volume_id}"),
        };
        Ok((text, kept))
    }

    /// Takes a snapshot of a volume about to be deleted — or finds the one
    /// an interrupted run took (CreateSnapshot has no client token) — and
    /// waits until it is completed. Its id.
    pub(super) async fn snapshot(
        &self,
        volume_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let existing = match self.read_snapshots().await {
            Some(Ok(by_volume)) => by_volume.get(volume_id).and_then(|found| {
                found
                    .iter()
                    .find(|(name, _)| Some(name) == tags.get(model::NAME_TAG))
                    .map(|(_, id)| id.clone())
            }),
            Some(Err(e)) => return Err(e.clone()),
            None => unreachable!("snapshots are read when a volume is deleted with one"),
        };
        let snapshot_id = match existing {
            Some(id) => id,
            None => {
                let mut tags = tags.clone();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                tags.insert(model::DATE_TAG.into(), model::utc_date(now));
                let out = ec2
                    .call("CreateSnapshot", false, || {
                        c.create_snapshot()
                            .volume_id(volume_id)
                            // One word (`ec2-gitops:snapshot/web-1/data:of:vol-…`):
                            // what it is and what of, readable anywhere.
                            .description(format!(
                                "ec2-gitops:{}:of:{volume_id}",
                                tags.get(model::NAME_TAG).map_or("", String::as_str)
                            ))
                            .tag_specifications(tag_spec(ResourceType::Snapshot, &tags))
                            .send()
                    })
                    .await?;
                out.snapshot_id().unwrap_or_default().to_string()
            }
        };
        self.wait_snapshot(&snapshot_id, volume_id).await?;
        Ok(snapshot_id)
    }

    /// Polls a snapshot until it is completed, with a progress line.
    pub(super) async fn wait_snapshot(
        &self,
        snapshot_id: &str,
        volume_id: &str,
    ) -> Result<(), Ec2Error> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            let out = trace::polling(self.ec2.call(
                Call::unfiltered("DescribeSnapshots"),
                true,
                || {
                    self.ec2
                        .client
                        .describe_snapshots()
                        .snapshot_ids(snapshot_id)
                        .send()
                },
            ))
            .await?;
            let snap = out.snapshots().first();
            let state = snap.and_then(|s| s.state()).cloned();
            let progress = snap.and_then(|s| s.progress()).unwrap_or("0%");
            match state {
                Some(SnapshotState::Completed) => return Ok(()),
                Some(SnapshotState::Error) => {
                    return Err(Ec2Error {
                        action: "CreateSnapshot",
                        code: "SnapshotFailed".into(),
                        message: format!(
                            "snapshot {snapshot_id} of {volume_id} failed ({}); the volume was not deleted",
                            snap.and_then(|s| s.state_message()).unwrap_or("no message")
                        ),
                    });
                }
                _ => {}
            }
            self.progress.note(&format!(
                "snapshot {snapshot_id} of {volume_id}: {progress}"
            ));
            if start.elapsed() > SNAPSHOT_TIMEOUT {
                return Err(Ec2Error {
                    action: "DescribeSnapshots",
                    code: "WaitTimeout".into(),
                    message: format!(
                        "snapshot {snapshot_id} of {volume_id} is at {progress} after {} min; the volume was not deleted. Run the apply again to keep waiting",
                        SNAPSHOT_TIMEOUT.as_secs() / 60
                    ),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(15));
        }
    }

    /// Creates a data volume in its instance's zone and attaches it.
    pub(super) async fn create_volume(&self, step: &Step) -> Result<String, Ec2Error> {
        let Op::CreateVolume {
            instance,
            device,
            size_gb,
            volume_type,
            disk,
            tags,
            client_token,
        } = &step.op
        else {
            unreachable!("create_volume runs CreateVolume steps")
        };
        let size_gb = *size_gb;
        let ec2 = self.ec2;
        let c = &ec2.client;
        let instance_id = self.resolve(instance)?;
        // Made while the instance starts; attached once it runs.
        let zone = self.zone_of(&instance_id).await?;
        let out = ec2
            .call("CreateVolume", false, || {
                c.create_volume()
                    .availability_zone(&zone)
                    .size(size_gb)
                    .volume_type(VolumeType::from(volume_type.as_str()))
                    .set_encrypted(disk.wants_encryption())
                    .set_kms_key_id(disk.kms_key.clone())
                    .set_iops(disk.iops)
                    .set_throughput(disk.throughput)
                    .client_token(client_token)
                    .tag_specifications(tag_spec(ResourceType::Volume, tags))
                    .send()
            })
            .await?;
        let volume_id = out.volume_id().unwrap_or_default().to_string();
        self.record(&step.resource, &volume_id);
        // Both waited for at once: attached as soon as both are ready.
        let (available, running) = tokio::join!(
            trace::branch(self.wait_volume(&volume_id, "available")),
            trace::branch(self.ensure_running(&instance_id))
        );
        available?;
        running?;
        self.attach(&volume_id, &instance_id, device).await?;
        Ok(format!(
            "created {volume_id} ({size_gb} GiB {volume_type}) attached to {instance_id} at {device}"
        ))
    }

    /// Modifies a volume, then moves it (detach, attach) when its attachment changes.
    pub(super) async fn update_volume(
        &self,
        volume_id: &str,
        modify: &Option<crate::plan::steps::Modify>,
        detach: &Option<(String, String)>,
        attach: &Option<(Ref, String)>,
    ) -> Result<Vec<String>, Ec2Error> {
        let mut did = vec![];
        if let Some(m) = modify {
            let text = self.modify_volume(volume_id, m).await?;
            did.push(format!("modified to {text}"));
        }
        if let Some((instance_id, device)) = detach {
            self.detach(volume_id, instance_id, device).await?;
            did.push(format!("detached from {instance_id}"));
        }
        if let Some((instance, device)) = attach {
            let instance_id = self.resolve(instance)?;
            self.attach(volume_id, &instance_id, device).await?;
            did.push(format!("attached to {instance_id} at {device}"));
        }
        Ok(did)
    }

    /// Sets or removes a volume's `on_destroy: delete` tag.
    pub(super) async fn set_on_destroy(
        &self,
        volume_id: &str,
        delete: bool,
    ) -> Result<(), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        if delete {
            let tags = BTreeMap::from([(model::ON_DESTROY_TAG.to_string(), "delete".to_string())]);
            return self.set_tags(volume_id, &tags).await;
        }
        ec2.call("DeleteTags", true, || {
            c.delete_tags()
                .resources(volume_id)
                .tags(Tag::builder().key(model::ON_DESTROY_TAG).build())
                .send()
        })
        .await?;
        Ok(())
    }

    /// Attaches a volume. An attachment that is already there (a retried
    /// call whose first answer was lost gets `VolumeInUse`) is success.
    pub(super) async fn attach(
        &self,
        volume_id: &str,
        instance_id: &str,
        device: &str,
    ) -> Result<(), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        self.ensure_running(instance_id).await?;
        let sent = ec2
            .call("AttachVolume", true, || {
                c.attach_volume()
                    .volume_id(volume_id)
                    .instance_id(instance_id)
                    .device(device)
                    .send()
            })
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.code == "VolumeInUse" || e.code == "IncorrectState" => {
                let out = ec2
                    .call(Call::unfiltered("DescribeVolumes"), false, || {
                        c.describe_volumes().volume_ids(volume_id).send()
                    })
                    .await?;
                let attached_here =
                    out.volumes().iter().flat_map(|v| v.attachments()).any(|a| {
                        a.instance_id() == Some(instance_id) && a.device() == Some(device)
                    });
                if attached_here { Ok(()) } else { Err(e) }
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn detach(
        &self,
        volume_id: &str,
        instance_id: &str,
        device: &str,
    ) -> Result<(), Ec2Error> {
        // Instance and device are passed: EC2 needs only the volume, but
        // naming the attachment makes a stale plan fail instead of detaching
        // something else.
        match self
            .ec2
            .call("DetachVolume", false, || {
                self.ec2
                    .client
                    .detach_volume()
                    .volume_id(volume_id)
                    .instance_id(instance_id)
                    .device(device)
                    .send()
            })
            .await
        {
            Ok(_) => {}
            Err(e) if e.code == "IncorrectState" || e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        self.wait_volume(volume_id, "available").await
    }

    pub(super) async fn wait_volume(&self, volume_id: &str, state: &str) -> Result<(), Ec2Error> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            let out = trace::polling(self.ec2.call(
                Call::unfiltered("DescribeVolumes"),
                true,
                || {
                    self.ec2
                        .client
                        .describe_volumes()
                        .volume_ids(volume_id)
                        .send()
                },
            ))
            .await?;
            let now = out
                .volumes()
                .first()
                .and_then(|v| v.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            if now == state {
                return Ok(());
            }
            if start.elapsed() > WAIT_TIMEOUT {
                return Err(Ec2Error {
                    action: "DescribeVolumes",
                    code: "WaitTimeout".into(),
                    message: format!("volume {volume_id} is {now}, not {state}"),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// An `UpdateVolume` step: modified, moved, and what happens to its
    /// data when it goes recorded.
    pub(super) async fn update_volume_step(&self, step: &Step) -> Result<String, Ec2Error> {
        let Op::UpdateVolume {
            volume_id,
            modify,
            detach,
            attach,
            deletes_data,
        } = &step.op
        else {
            unreachable!("an UpdateVolume step")
        };
        let mut did = self
            .update_volume(volume_id, modify, detach, attach)
            .await?;
        if let Some(delete) = deletes_data {
            self.set_on_destroy(volume_id, *delete).await?;
            did.push(format!(
                "on_destroy {}",
                if *delete { "delete" } else { "snapshot" }
            ));
        }
        Ok(format!("{volume_id}: {}", did.join(", ")))
    }

    /// A `DeleteVolume` step: the snapshot it keeps is remembered for the
    /// report.
    pub(super) async fn delete_volume_step(&self, step: &Step) -> Result<String, Ec2Error> {
        let Op::DeleteVolume {
            volume_id,
            detach,
            snapshot,
            deleted_with,
        } = &step.op
        else {
            unreachable!("a DeleteVolume step")
        };
        let (text, kept) = self
            .delete_volume(volume_id, detach, snapshot, deleted_with.as_deref())
            .await?;
        if let Some(snap) = kept {
            self.kept
                .lock()
                .expect("kept lock")
                .insert(step.index, snap);
        }
        Ok(text)
    }
}
