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
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let sent = self.each_or_all("TerminateInstances", &refs).await;
            let sent_ids: Vec<String> = sent
                .iter()
                .filter(|(_, o)| o.is_ok())
                .map(|(id, _)| id.clone())
                .collect();
            let waited = if sent_ids.is_empty() {
                Ok(())
            } else {
                self.ec2
                    .wait_for(
                        &sent_ids,
                        "terminated",
                        WAIT_TIMEOUT,
                        &self.wait_progress("terminated"),
                    )
                    .await
                    .map(|_| ())
            };
            let mut sent = sent;
            let outcomes: Vec<Result<(), Ec2Error>> = ids
                .iter()
                .map(|id| sent.remove(id).unwrap_or(Ok(())))
                .collect();
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
            let out =
                trace::polling(
                    ec2.call(Call::unfiltered("DescribeInstanceStatus"), true, || {
                        c.describe_instance_status()
                            .set_instance_ids(Some(ids.iter().map(|(_, i)| i.clone()).collect()))
                            .include_all_instances(true)
                            .send()
                    }),
                )
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
        ec2.call(Call::instances("StopInstances", 1), true, || {
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

    /// Sets and removes user tags of one resource (the stack's `tags:`).
    pub(super) async fn retag(
        &self,
        ec2_id: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<String, Ec2Error> {
        if ec2_id.starts_with("arn:") {
            return self.retag_elb(ec2_id, set, remove).await;
        }
        if !set.is_empty() {
            self.set_tags(ec2_id, set).await?;
        }
        if !remove.is_empty() {
            let c = &self.ec2.client;
            self.ec2
                .call("DeleteTags", false, || {
                    c.delete_tags()
                        .resources(ec2_id)
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
        Ok(format!(
            "tags of {ec2_id}: {} set, {} removed",
            set.len(),
            remove.len()
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
}
