//! Waiting for instances to run: every step that waits is served by one
//! poll, whoever polls (see [`Watch`]).

use super::*;

/// The instances that steps wait for until they run. Whichever step waits
/// while nobody polls becomes the poller: one `DescribeInstances` per poll
/// (per 1,000 ids) for every instance waited for, never one per instance.
#[derive(Default)]
pub(super) struct Watch {
    state: Mutex<WatchState>,
    changed: tokio::sync::Notify,
}

/// Ends a step's turn as the poller of a [`Watch`] when dropped.
struct Handover<'w>(&'w Watch);

impl Drop for Handover<'_> {
    fn drop(&mut self) {
        if let Ok(mut st) = self.0.state.lock() {
            st.polling = false;
        }
        self.0.changed.notify_waiters();
    }
}

#[derive(Default)]
struct WatchState {
    /// Instances waited for, with when the first wait for each began.
    wanted: BTreeMap<String, Instant>,
    /// Instances that will not run, with why.
    failed: BTreeMap<String, Ec2Error>,
    polling: bool,
    /// When tracing: what the poll that settled each instance awaited (a
    /// waiter waited for that poll).
    settled_after: BTreeMap<String, trace::Frontier>,
}

impl<'a> Run<'a> {
    /// One batched wait for every instance launched in this run; a launch
    /// that never runs turns its step into a failure.
    pub(super) async fn wait_for_launches(&self, results: &mut BTreeMap<usize, StepResult>) {
        let launched: Vec<(usize, String)> = results
            .values()
            .filter(|r| {
                matches!(r.step.op, Op::RunInstance(_)) && matches!(r.outcome, Outcome::Done(_))
            })
            .filter_map(|r| {
                let id = self
                    .created
                    .lock()
                    .expect("created lock")
                    .get(&r.step.resource)
                    .cloned()?;
                (!self.running.lock().expect("running lock").contains(&id))
                    .then_some((r.step.index, id))
            })
            .collect();
        if launched.is_empty() {
            return;
        }
        let ids: Vec<String> = launched.iter().map(|(_, id)| id.clone()).collect();
        match self
            .ec2
            .wait_for(
                &ids,
                "running",
                WAIT_TIMEOUT,
                &self.wait_progress("running"),
            )
            .await
        {
            Ok(facts) => {
                for (index, id) in launched {
                    if let (Some(r), Some(ip)) = (
                        results.get_mut(&index),
                        facts.get(&id).and_then(|f| f.public_ip.clone()),
                    ) && let Outcome::Done(text) = &mut r.outcome
                    {
                        text.push_str(&format!(", running, public IP {ip}"));
                    }
                }
            }
            Err(e) => {
                for (index, _) in launched {
                    if let Some(r) = results.get_mut(&index) {
                        r.outcome = Outcome::Failed(e.clone());
                    }
                }
            }
        }
    }

    /// Waits until an instance runs (attachments and associations need it):
    /// polled with every other instance a step waits for (see [`Watch`]).
    pub(super) async fn ensure_running(&self, instance_id: &str) -> Result<(), Ec2Error> {
        let is_running = || {
            self.running
                .lock()
                .expect("running lock")
                .contains(instance_id)
        };
        loop {
            let changed = self.watch.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so no news is missed in between.
            changed.as_mut().enable();
            if is_running() {
                if let Some(f) = self
                    .watch
                    .state
                    .lock()
                    .expect("watch lock")
                    .settled_after
                    .get(instance_id)
                {
                    trace::merge(f);
                }
                return Ok(());
            }
            let poller = {
                let mut st = self.watch.state.lock().expect("watch lock");
                if let Some(e) = st.failed.get(instance_id) {
                    return Err(e.clone());
                }
                st.wanted
                    .entry(instance_id.to_string())
                    .or_insert_with(Instant::now);
                !std::mem::replace(&mut st.polling, true)
            };
            if !poller {
                changed.await;
                continue;
            }
            // Given back however the polling ends (even if this wait were
            // dropped): someone else waiting takes it over.
            let _handover = Handover(&self.watch);
            return self.poll_until(instance_id).await;
        }
    }

    /// Polls every instance waited for until `mine` runs or fails: one
    /// `DescribeInstances` per poll (per 1,000 ids), telling the waiters
    /// after each.
    pub(super) async fn poll_until(&self, mine: &str) -> Result<(), Ec2Error> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            let ids: Vec<String> = {
                let st = self.watch.state.lock().expect("watch lock");
                st.wanted.keys().cloned().collect()
            };
            self.progress.waiting(ids.len(), "running", start.elapsed());
            let seen = match self.ec2.instance_states(&ids).await {
                Ok(seen) => seen,
                Err(e) => {
                    // Only this wait fails: another waiter polls again.
                    self.watch
                        .state
                        .lock()
                        .expect("watch lock")
                        .wanted
                        .remove(mine);
                    return Err(e);
                }
            };
            {
                let mut st = self.watch.state.lock().expect("watch lock");
                for id in &ids {
                    let Some(since) = st.wanted.get(id).copied() else {
                        continue;
                    };
                    let verdict = match seen.get(id) {
                        Some(s) if s.state == "running" => Some(Ok(s)),
                        Some(s) if matches!(s.state.as_str(), "terminated" | "shutting-down") => {
                            Some(Err(Ec2Error {
                                action: "RunInstances",
                                code: "InstanceTerminated".into(),
                                message: format!(
                                    "instance {id} went to {} while starting: {}",
                                    s.state,
                                    s.reason.as_deref().unwrap_or("no reason given")
                                ),
                            }))
                        }
                        other if since.elapsed() > WAIT_TIMEOUT => Some(Err(Ec2Error {
                            action: "DescribeInstances",
                            code: "WaitTimeout".into(),
                            message: format!(
                                "instance {id} is {}, not running, after {}s",
                                other.map_or("not visible", |s| s.state.as_str()),
                                WAIT_TIMEOUT.as_secs()
                            ),
                        })),
                        _ => None,
                    };
                    if verdict.is_some() && trace::enabled() {
                        st.settled_after.insert(id.clone(), trace::current());
                    }
                    match verdict {
                        Some(Ok(s)) => {
                            st.wanted.remove(id);
                            if let Some(z) = &s.facts.availability_zone {
                                self.zones
                                    .lock()
                                    .expect("zones lock")
                                    .insert(id.clone(), z.clone());
                            }
                            self.running
                                .lock()
                                .expect("running lock")
                                .insert(id.clone());
                        }
                        Some(Err(e)) => {
                            st.wanted.remove(id);
                            st.failed.insert(id.clone(), e);
                        }
                        None => {}
                    }
                }
            }
            self.watch.changed.notify_waiters();
            let done = {
                let st = self.watch.state.lock().expect("watch lock");
                (!st.wanted.contains_key(mine)).then(|| match st.failed.get(mine) {
                    Some(e) => Err(e.clone()),
                    None => Ok(()),
                })
            };
            if let Some(done) = done {
                return done;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// The zone of an instance: known from its launch or the plan's read,
    /// else read when it runs.
    pub(super) async fn zone_of(&self, instance_id: &str) -> Result<String, Ec2Error> {
        let known = || {
            self.zones
                .lock()
                .expect("zones lock")
                .get(instance_id)
                .cloned()
        };
        if let Some(z) = known() {
            return Ok(z);
        }
        self.ensure_running(instance_id).await?;
        Ok(known().unwrap_or_default())
    }
}
