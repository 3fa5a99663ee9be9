//! Waiting for instances: one `DescribeInstances` per poll for every
//! instance being waited on, never one per instance.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Ec2, Ec2Error, trace};
use crate::ec2::read_filter;

/// The most ids one describe call names (EC2's advice).
const MAX_IDS_PER_CALL: usize = 1000;

/// What a waited-for instance looked like when it reached its state.
#[derive(Debug, Clone, Default)]
pub struct InstanceFacts {
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// Public IPv4.
    pub public_ip: Option<String>,
}

/// An instance as one poll saw it.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Its state name (`pending`, `running`, …).
    pub state: String,
    /// Why it is in that state, when EC2 says.
    pub reason: Option<String>,
    /// Its zone and address.
    pub facts: InstanceFacts,
}

impl Ec2 {
    /// One look at `ids`: one `DescribeInstances` per 1,000 of them. An
    /// instance not visible yet is absent from the answer.
    pub async fn instance_states(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, Seen>, Ec2Error> {
        let mut seen = BTreeMap::new();
        // A filter, not InstanceIds: an instance not visible yet must not
        // fail the whole poll. At most 1,000 ids a call, as EC2 advises.
        for chunk in ids.chunks(MAX_IDS_PER_CALL) {
            let out = trace::polling(self.call("DescribeInstances", false, || {
                self.client
                    .describe_instances()
                    .filters(read_filter("instance-id", chunk.to_vec()))
                    .max_results(1000)
                    .send()
            }))
            .await?;
            for i in out.reservations().iter().flat_map(|r| r.instances()) {
                seen.insert(
                    i.instance_id().unwrap_or_default().to_string(),
                    Seen {
                        state: i
                            .state()
                            .and_then(|s| s.name())
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        reason: i
                            .state_reason()
                            .and_then(|r| r.message())
                            .map(str::to_string),
                        facts: InstanceFacts {
                            availability_zone: i
                                .placement()
                                .and_then(|p| p.availability_zone())
                                .map(str::to_string),
                            public_ip: i.public_ip_address().map(str::to_string),
                        },
                    },
                );
            }
        }
        Ok(seen)
    }

    /// Waits until every instance in `ids` is in `state` (`running`,
    /// `stopped`, `terminated`), polling all of them with one call per
    /// 1,000 ids.
    /// `on_poll(pending, elapsed)` reports progress.
    pub async fn wait_for(
        &self,
        ids: &[String],
        state: &str,
        timeout: Duration,
        on_poll: &(dyn Fn(usize, Duration) + Sync),
    ) -> Result<BTreeMap<String, InstanceFacts>, Ec2Error> {
        let start = Instant::now();
        let mut done = BTreeMap::new();
        let mut delay = Duration::from_millis(200);
        loop {
            let pending: Vec<String> = ids
                .iter()
                .filter(|i| !done.contains_key(*i))
                .cloned()
                .collect();
            if pending.is_empty() {
                return Ok(done);
            }
            on_poll(pending.len(), start.elapsed());
            for (id, i) in self.instance_states(&pending).await? {
                let now = i.state.as_str();
                if now == state || (state == "terminated" && now.is_empty()) {
                    done.insert(id, i.facts);
                } else if state == "running" && matches!(now, "terminated" | "shutting-down") {
                    return Err(Ec2Error {
                        action: "RunInstances",
                        code: "InstanceTerminated".into(),
                        message: format!(
                            "instance {id} went to {now} while starting: {}",
                            i.reason.as_deref().unwrap_or("no reason given")
                        ),
                    });
                }
            }
            // Done as soon as the poll shows it: no sleep, no timeout after.
            if ids.iter().all(|i| done.contains_key(i)) {
                return Ok(done);
            }
            if start.elapsed() > timeout {
                return Err(Ec2Error {
                    action: "DescribeInstances",
                    code: "WaitTimeout".into(),
                    message: format!(
                        "{} instance(s) not {state} after {}s",
                        ids.len() - done.len(),
                        timeout.as_secs()
                    ),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}
