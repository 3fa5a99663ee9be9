//! Instances that exist: their updates (a stop and start where a field
//! needs one), health gates, stops before volumes move, renames and
//! batched terminations.

use super::*;

/// The most instances one `TerminateInstances` call names.
pub(super) const TERMINATE_BATCH: usize = 1000;

impl<'a> Run<'a> {
    /// Terminates instances with one `TerminateInstances` and one batched
    /// wait. When the call fails, each is terminated alone, so the report
    /// says which instance failed and why.
    pub(super) fn terminate_batch(
        &'a self,
        steps: Vec<Step>,
        after: trace::Frontier,
    ) -> StepFuture<'a> {
        let purpose = format!("terminations of {} instance(s)", steps.len());
        Box::pin(trace::path(purpose, after, async move {
            let start = Instant::now();
            let ids: Vec<String> = steps
                .iter()
                .map(|s| match &s.op {
                    Op::TerminateInstance { instance_id } => instance_id.clone(),
                    _ => unreachable!("a termination batch holds terminations"),
                })
                .collect();
            for s in &steps {
                self.progress.started(s);
            }
            let ec2 = self.ec2;
            let c = &ec2.client;
            let batched = ec2
                .call("TerminateInstances", true, || {
                    c.terminate_instances()
                        .set_instance_ids(Some(ids.clone()))
                        .send()
                })
                .await;
            let outcomes: Vec<Result<(), Ec2Error>> = match batched {
                Ok(_) => vec![Ok(()); ids.len()],
                Err(e) if ids.len() == 1 => vec![Err(e)],
                Err(e) => {
                    tracing::warn!(error = %e, "TerminateInstances of {} instances failed; terminating each alone", ids.len());
                    let mut each = Vec::with_capacity(ids.len());
                    for id in &ids {
                        let r = ec2
                            .call("TerminateInstances", true, || {
                                c.terminate_instances().instance_ids(id).send()
                            })
                            .await;
                        each.push(r.map(|_| ()));
                    }
                    each
                }
            };
            let sent: Vec<String> = ids
                .iter()
                .zip(&outcomes)
                .filter(|(_, o)| o.is_ok())
                .map(|(id, _)| id.clone())
                .collect();
            let waited = if sent.is_empty() {
                Ok(())
            } else {
                ec2.wait_for(
                    &sent,
                    "terminated",
                    WAIT_TIMEOUT,
                    &self.wait_progress("terminated"),
                )
                .await
                .map(|_| ())
            };
            let elapsed = start.elapsed();
            steps
                .into_iter()
                .zip(ids)
                .zip(outcomes)
                .map(|((step, id), sent)| {
                    let outcome = match (sent, &waited) {
                        (Err(e), _) => Outcome::Failed(e),
                        (Ok(()), Err(e)) => Outcome::Failed(e.clone()),
                        (Ok(()), Ok(())) => Outcome::Done(format!("terminated {id}")),
                    };
                    StepResult {
                        step,
                        outcome,
                        elapsed,
                        kept: None,
                    }
                })
                .collect()
        }))
    }

    /// Waits until every instance of a batch is healthy: one
    /// `DescribeInstanceStatus` per poll for the whole batch. Past `timeout`,
    /// fails naming each unhealthy instance and its statuses.
    pub(super) async fn health_gate(
        &self,
        instances: &[(String, Ref)],
        health: model::Health,
        timeout: Duration,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let ids: Vec<(String, String)> = instances
            .iter()
            .map(|(name, r)| Ok((name.clone(), self.resolve(r)?)))
            .collect::<Result<_, Ec2Error>>()?;
        let start = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            let out = trace::polling(ec2.call("DescribeInstanceStatus", true, || {
                c.describe_instance_status()
                    .set_instance_ids(Some(ids.iter().map(|(_, i)| i.clone()).collect()))
                    .include_all_instances(true)
                    .send()
            }))
            .await?;
            let status: BTreeMap<&str, (String, String, String)> = out
                .instance_statuses()
                .iter()
                .filter_map(|s| {
                    let word = |d: Option<&aws_sdk_ec2::types::InstanceStatusSummary>| {
                        d.and_then(|d| d.status())
                            .map_or("unknown", |s| s.as_str())
                            .to_string()
                    };
                    Some((
                        s.instance_id()?,
                        (
                            s.instance_state()
                                .and_then(|x| x.name())
                                .map_or("unknown", |n| n.as_str())
                                .to_string(),
                            word(s.instance_status()),
                            word(s.system_status()),
                        ),
                    ))
                })
                .collect();
            let unhealthy: Vec<String> = ids
                .iter()
                .filter_map(|(name, id)| {
                    let (state, inst, sys) = status.get(id.as_str()).cloned().unwrap_or((
                        "unknown".into(),
                        "unknown".into(),
                        "unknown".into(),
                    ));
                    let ok = state == "running"
                        && (health == model::Health::Running || (inst == "ok" && sys == "ok"));
                    (!ok).then(|| {
                        format!(
                            "instance.{name} ({id}): state {state}, instance status {inst}, system status {sys}"
                        )
                    })
                })
                .collect();
            if unhealthy.is_empty() {
                let names: Vec<&str> = ids.iter().map(|(n, _)| n.as_str()).collect();
                return Ok(format!(
                    "healthy ({}): {}",
                    health.as_str(),
                    names.join(", ")
                ));
            }
            if start.elapsed() >= timeout {
                return Err(Ec2Error {
                    action: "DescribeInstanceStatus",
                    code: "HealthGate".into(),
                    message: format!(
                        "not healthy ({}) after {}s: {}. The rollout stopped: later batches were left as they are; fix the instance and run apply again",
                        health.as_str(),
                        timeout.as_secs(),
                        unhealthy.join("; ")
                    ),
                });
            }
            self.progress
                .waiting(unhealthy.len(), "healthy", start.elapsed());
            tokio::time::sleep(delay.min(timeout.saturating_sub(start.elapsed()))).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    /// Stops an instance being replaced (its replacement is healthy), so its
    /// volumes are detached from a stopped instance.
    pub(super) async fn stop_replaced(&self, instance_id: &str) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        ec2.call("StopInstances", true, || {
            c.stop_instances().instance_ids(instance_id).send()
        })
        .await?;
        ec2.wait_for(
            &[instance_id.to_string()],
            "stopped",
            WAIT_TIMEOUT,
            &self.wait_progress("stopped"),
        )
        .await?;
        self.running
            .lock()
            .expect("running lock")
            .remove(instance_id);
        Ok(format!("stopped {instance_id} so its volumes move cleanly"))
    }

    /// Renames a resource: its identity tags, then its root volume's.
    pub(super) async fn rename(
        &self,
        ec2_id: &str,
        tags: &BTreeMap<String, String>,
        root_volume: Option<&(String, BTreeMap<String, String>)>,
    ) -> Result<String, Ec2Error> {
        self.set_tags(ec2_id, tags).await?;
        if let Some((volume_id, tags)) = root_volume {
            self.set_tags(volume_id, tags).await?;
        }
        Ok(format!(
            "renamed {ec2_id} to {}",
            tags.get(model::NAME_TAG).map_or("", String::as_str)
        ))
    }

    /// Sets tags on one resource (one `CreateTags`; setting a tag twice is
    /// harmless, so a retried call is too).
    pub(super) async fn set_tags(
        &self,
        id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        ec2.call("CreateTags", true, || {
            c.create_tags()
                .resources(id)
                .set_tags(Some(tags.iter().map(|(k, v)| tag(k, v)).collect()))
                .send()
        })
        .await?;
        Ok(())
    }

    /// Changes an instance: stops it when a field needs that, changes
    /// groups, protection, tags and the root volume, and starts it again.
    pub(super) async fn update_instance(
        &self,
        id: &str,
        u: &InstanceUpdate,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut did = vec![];
        if u.needs_stop() {
            did.extend(self.change_while_stopped(id, u).await?);
        }
        if let Some(groups) = &u.groups {
            let ids: Vec<String> = groups
                .iter()
                .map(|g| self.resolve(g))
                .collect::<Result<_, _>>()?;
            ec2.call("ModifyInstanceAttribute", false, || {
                c.modify_instance_attribute()
                    .instance_id(id)
                    .set_groups(Some(ids.clone()))
                    .send()
            })
            .await?;
            did.push("security groups".to_string());
        }
        if let Some(protect) = u.protect {
            ec2.call("ModifyInstanceAttribute", false, || {
                c.modify_instance_attribute()
                    .instance_id(id)
                    .disable_api_termination(
                        AttributeBooleanValue::builder().value(protect).build(),
                    )
                    .send()
            })
            .await?;
            did.push(format!(
                "termination protection {}",
                if protect { "on" } else { "off" }
            ));
        }
        self.update_tags(id, u).await?;
        if !u.set_tags.is_empty() || !u.remove_tags.is_empty() {
            did.push("tags".to_string());
        }
        if let Some((vid, size, kind)) = &u.root_volume {
            ec2.call("ModifyVolume", false, || {
                c.modify_volume()
                    .volume_id(vid)
                    .size(*size)
                    .volume_type(VolumeType::from(kind.as_str()))
                    .send()
            })
            .await?;
            did.push(format!("root volume {size} GiB {kind}"));
        }
        if u.needs_stop() || u.start {
            ec2.call("StartInstances", true, || {
                c.start_instances().instance_ids(id).send()
            })
            .await?;
            ec2.wait_for(
                &[id.to_string()],
                "running",
                WAIT_TIMEOUT,
                &self.wait_progress("running"),
            )
            .await?;
            did.push("started".to_string());
        }
        Ok(format!("{id}: {}", did.join(", ")))
    }

    /// Stops an instance and changes what EC2 changes only while it is
    /// stopped (type, user data); says what it did.
    pub(super) async fn change_while_stopped(
        &self,
        id: &str,
        u: &InstanceUpdate,
    ) -> Result<Vec<String>, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut did = vec![];
        ec2.call("StopInstances", true, || {
            c.stop_instances().instance_ids(id).send()
        })
        .await?;
        ec2.wait_for(
            &[id.to_string()],
            "stopped",
            WAIT_TIMEOUT,
            &self.wait_progress("stopped"),
        )
        .await?;
        did.push("stopped".to_string());
        if let Some(t) = &u.instance_type {
            ec2.call("ModifyInstanceAttribute", false, || {
                c.modify_instance_attribute()
                    .instance_id(id)
                    .instance_type(AttributeValue::builder().value(t).build())
                    .send()
            })
            .await?;
            did.push(format!("type {t}"));
        }
        if let Some((text, digest)) = &u.user_data {
            ec2.call("ModifyInstanceAttribute", false, || {
                c.modify_instance_attribute()
                    .instance_id(id)
                    // The attribute's value is the base64 text of the user
                    // data (as RunInstances takes it); the SDK encodes the
                    // blob once more for the wire.
                    .user_data(
                        SecureBlobAttributeValue::builder()
                            .value(Blob::new(
                                base64::engine::general_purpose::STANDARD.encode(text),
                            ))
                            .build(),
                    )
                    .send()
            })
            .await?;
            ec2.call("CreateTags", false, || {
                c.create_tags()
                    .resources(id)
                    .tags(tag(model::USER_DATA_TAG, digest))
                    .send()
            })
            .await?;
            did.push("user data".to_string());
        }
        Ok(did)
    }

    /// Sets and removes an instance's tags (the protection tag follows
    /// `protect`).
    pub(super) async fn update_tags(&self, id: &str, u: &InstanceUpdate) -> Result<(), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut set = u.set_tags.clone();
        let mut remove = u.remove_tags.clone();
        match u.protect {
            Some(true) => {
                set.insert(model::PROTECT_TAG.into(), "true".into());
            }
            Some(false) => remove.push(model::PROTECT_TAG.into()),
            None => {}
        }
        if !set.is_empty() {
            ec2.call("CreateTags", false, || {
                c.create_tags()
                    .resources(id)
                    .set_tags(Some(set.iter().map(|(k, v)| tag(k, v)).collect()))
                    .send()
            })
            .await?;
        }
        if !remove.is_empty() {
            ec2.call("DeleteTags", false, || {
                c.delete_tags()
                    .resources(id)
                    .set_tags(Some(
                        remove
                            .iter()
                            .map(|k| Tag::builder().key(k).build())
                            .collect(),
                    ))
                    .send()
            })
            .await?;
        }
        Ok(())
    }
}
