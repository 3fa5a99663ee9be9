//! Changing instances that exist. The members of a rollout batch that
//! restart are stopped by ONE `StopInstances` and started by ONE
//! `StartInstances` (EC2's `StartInstances` takes 5 requests then 2 a
//! second: one call per server would pace a large rollout by the request
//! count, not by the servers); each member's changes are made on its own
//! while it is stopped, and each is reported on its own. A member whose
//! change failed is started again, so a failure leaves it serving;
//! its step fails and the rollout stops at the batch's health gate.

use super::*;

/// One instance to change: its id and what changes.
type Member<'u> = (&'u str, &'u InstanceUpdate);

impl<'a> Run<'a> {
    /// Changes one instance (stopping and starting it when a field needs
    /// it).
    pub(super) async fn update_instance(
        &self,
        id: &str,
        u: &InstanceUpdate,
    ) -> Result<String, Ec2Error> {
        let mut outcomes = self.update_members(&[(id, u)]).await;
        outcomes.pop().expect("one outcome per member")
    }

    /// Restarts a rollout batch: one stop, each member's changes, one start;
    /// a result per step.
    pub(super) fn restart_batch(
        &'a self,
        steps: Vec<Step>,
        after: trace::Frontier,
    ) -> StepFuture<'a> {
        let purpose = format!("restart of a batch of {} instance(s)", steps.len());
        Box::pin(trace::path(purpose, after, async move {
            let start = Instant::now();
            for s in &steps {
                self.progress.started(s);
            }
            let members: Vec<Member<'_>> = steps
                .iter()
                .map(|s| match &s.op {
                    Op::UpdateInstance {
                        instance_id,
                        update,
                    } => (instance_id.as_str(), update.as_ref()),
                    _ => unreachable!("a restart batch holds instance updates"),
                })
                .collect();
            let outcomes = Box::pin(self.update_members(&members)).await;
            let elapsed = start.elapsed();
            steps
                .into_iter()
                .zip(outcomes)
                .map(|(step, outcome)| StepResult {
                    step,
                    outcome: match outcome {
                        Ok(text) => Outcome::Done(text),
                        Err(e) => Outcome::Failed(e),
                    },
                    elapsed,
                    kept: None,
                })
                .collect()
        }))
    }

    /// Stops the members that need it (one call), changes each, and starts
    /// every member that was stopped or is to be started (one call): each
    /// member's outcome, in order.
    async fn update_members(&self, members: &[Member<'_>]) -> Vec<Result<String, Ec2Error>> {
        let to_stop: Vec<&str> = members
            .iter()
            .filter(|(_, u)| u.needs_stop())
            .map(|(id, _)| *id)
            .collect();
        let stopped = self.stop_together(&to_stop).await;
        // Each member's changes, made side by side while it is stopped.
        let changes = members.iter().map(|&(id, u)| {
            let stopped = &stopped;
            async move {
                if u.needs_stop() {
                    stopped
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| Err(internal(format!("{id} was not asked to stop"))))?;
                }
                self.change(id, u).await
            }
        });
        let changed: Vec<Result<Vec<String>, Ec2Error>> =
            futures_util::future::join_all(changes.map(trace::branch)).await;
        // Started again: what was stopped (changed or not: a failed change
        // leaves the instance as it was, serving) and what is to be started.
        let to_start: Vec<&str> = members
            .iter()
            .filter(|(id, u)| u.start || stopped.get(*id).is_some_and(Result::is_ok))
            .map(|(id, _)| *id)
            .collect();
        let started = self.start_together(&to_start).await;
        members
            .iter()
            .zip(changed)
            .map(|(&(id, u), changed)| {
                let restarted = match started.get(id) {
                    Some(Err(e)) => Some(Err(e.clone())),
                    Some(Ok(())) => Some(Ok(())),
                    None => None,
                };
                match (changed, restarted) {
                    (Ok(mut did), Some(Ok(()))) => {
                        if u.needs_stop() {
                            did.insert(0, "stopped".to_string());
                        }
                        did.push("started".to_string());
                        Ok(format!("{id}: {}", did.join(", ")))
                    }
                    (Ok(did), None) => Ok(format!("{id}: {}", did.join(", "))),
                    (Ok(_), Some(Err(e))) => Err(e),
                    (Err(e), Some(Ok(()))) if u.needs_stop() => Err(Ec2Error {
                        message: format!(
                            "{}; {id} was started again without the rest of its changes",
                            e.message
                        ),
                        ..e
                    }),
                    (Err(e), _) => Err(e),
                }
            })
            .collect()
    }

    /// Stops `ids` with one `StopInstances` and one batched wait: each one's
    /// outcome by id.
    async fn stop_together(&self, ids: &[&str]) -> BTreeMap<String, Result<(), Ec2Error>> {
        let outcome = self.each_or_all("StopInstances", ids).await;
        self.wait_together(outcome, "stopped").await
    }

    /// Starts `ids` with one `StartInstances` and one batched wait: each
    /// one's outcome by id.
    async fn start_together(&self, ids: &[&str]) -> BTreeMap<String, Result<(), Ec2Error>> {
        let outcome = self.each_or_all("StartInstances", ids).await;
        let waited = self.wait_together(outcome, "running").await;
        let mut running = self.running.lock().expect("running lock");
        for (id, r) in &waited {
            if r.is_ok() {
                running.insert(id.clone());
            }
        }
        waited
    }

    /// Waits until every instance whose call went is in `state` (one poll
    /// for all of them); the outcome of each.
    async fn wait_together(
        &self,
        mut outcome: BTreeMap<String, Result<(), Ec2Error>>,
        state: &'static str,
    ) -> BTreeMap<String, Result<(), Ec2Error>> {
        let sent: Vec<String> = outcome
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(id, _)| id.clone())
            .collect();
        if sent.is_empty() {
            return outcome;
        }
        if let Err(e) = self
            .ec2
            .wait_for(&sent, state, WAIT_TIMEOUT, &self.wait_progress(state))
            .await
        {
            for id in sent {
                outcome.insert(id, Err(e.clone()));
            }
        }
        outcome
    }

    /// One call of `action` (`StopInstances`, `StartInstances`) naming every
    /// id; when it fails for several, one call each, so that each outcome
    /// says which instance failed and why.
    pub(super) async fn each_or_all(
        &self,
        action: &'static str,
        ids: &[&str],
    ) -> BTreeMap<String, Result<(), Ec2Error>> {
        if ids.is_empty() {
            return BTreeMap::new();
        }
        let together = self.instances_call(action, ids).await;
        match together {
            Ok(()) => ids.iter().map(|id| (id.to_string(), Ok(()))).collect(),
            Err(e) if ids.len() == 1 => BTreeMap::from([(ids[0].to_string(), Err(e))]),
            Err(e) => {
                tracing::warn!(error = %e, "{action} of {} instances failed; calling it for each alone", ids.len());
                let mut each = BTreeMap::new();
                for id in ids {
                    each.insert(id.to_string(), self.instances_call(action, &[id]).await);
                }
                each
            }
        }
    }

    /// One `StopInstances`, `StartInstances` or `TerminateInstances` naming
    /// `ids` (each spends a token of the action's resource bucket).
    async fn instances_call(&self, action: &'static str, ids: &[&str]) -> Result<(), Ec2Error> {
        let c = &self.ec2.client;
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let call = Call::instances(action, ids.len());
        match action {
            "StopInstances" => self
                .ec2
                .call(call, true, || {
                    c.stop_instances()
                        .set_instance_ids(Some(ids.clone()))
                        .send()
                })
                .await
                .map(|_| ()),
            "StartInstances" => self
                .ec2
                .call(call, true, || {
                    c.start_instances()
                        .set_instance_ids(Some(ids.clone()))
                        .send()
                })
                .await
                .map(|_| ()),
            "TerminateInstances" => self
                .ec2
                .call(call, true, || {
                    c.terminate_instances()
                        .set_instance_ids(Some(ids.clone()))
                        .send()
                })
                .await
                .map(|_| ()),
            other => unreachable!("{other} is not an instance state call"),
        }
    }

    /// Makes an instance's changes (the instance is stopped when a field
    /// needs it); says what it did.
    async fn change(&self, id: &str, u: &InstanceUpdate) -> Result<Vec<String>, Ec2Error> {
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
        if let Some(profile) = &u.instance_profile {
            did.push(self.set_instance_profile(id, profile.as_deref()).await?);
        }
        if let Some(m) = &u.metadata {
            did.push(self.set_metadata(id, m).await?);
        }
        self.update_tags(id, u).await?;
        if !u.set_tags.is_empty() || !u.remove_tags.is_empty() {
            did.push("tags".to_string());
        }
        if let Some((vid, m)) = &u.root_volume {
            let text = self.modify_volume(vid, m).await?;
            did.push(format!("root volume {text}"));
        }
        Ok(did)
    }

    /// Changes what EC2 changes only while an instance is stopped (type,
    /// user data); says what it did.
    async fn change_while_stopped(
        &self,
        id: &str,
        u: &InstanceUpdate,
    ) -> Result<Vec<String>, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut did = vec![];
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
    async fn update_tags(&self, id: &str, u: &InstanceUpdate) -> Result<(), Ec2Error> {
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
        // The root volume takes the user tags' changes too (not the
        // instance's own tags: protection is set on it at launch).
        let root = u
            .root_volume_tags
            .as_ref()
            .filter(|_| !u.set_tags.is_empty() || !u.remove_tags.is_empty());
        if let Some(volume) = root {
            self.retag(volume, &u.set_tags, &u.remove_tags).await?;
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

/// An error of the executor itself (a bug, not EC2's answer).
pub(super) fn internal(message: String) -> Ec2Error {
    Ec2Error {
        action: "apply",
        code: "Internal".into(),
        message,
    }
}
