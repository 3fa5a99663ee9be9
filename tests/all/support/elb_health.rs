//! Target health as ELB reports it, where moto does not: moto calls a
//! deregistered target `unused` at once and a registered one `healthy` at
//! once. ELB drains a deregistered target for the group's deregistration
//! delay (`draining`), checks a registered one before it sends it traffic
//! (`initial`), and calls one whose health check fails `unhealthy`.
//!
//! [`ElbHealth`] is a proxy hook: it watches `RegisterTargets` and
//! `DeregisterTargets` go by (and forwards them to moto), and answers the
//! `DescribeTargetHealth` calls that name their targets (the executor's
//! drain and gate polls) with those states. A plan's read, which names no
//! target, is moto's. [`ElbHealth::timeline`] replays the request log to
//! say how many servers were in rotation at each moment.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ec2_proxy::{Request, Response};

/// What the hook knows of each target (by instance id).
#[derive(Default)]
struct Targets {
    registered: BTreeMap<String, Instant>,
    deregistered: BTreeMap<String, Instant>,
    unhealthy: BTreeSet<String>,
}

/// The hook's state, shared with the test.
#[derive(Clone)]
pub struct ElbHealth {
    targets: Arc<Mutex<Targets>>,
    /// How long a deregistered target drains.
    drain: Duration,
    /// How long a registered target is `initial`.
    initial: Duration,
}

impl ElbHealth {
    /// Targets drain for `drain` and are `initial` for `initial`.
    pub fn new(drain: Duration, initial: Duration) -> ElbHealth {
        ElbHealth {
            targets: Arc::new(Mutex::new(Targets::default())),
            drain,
            initial,
        }
    }

    /// From now on, `instance` fails its health check (until cleared).
    pub fn fail(&self, instance: &str) {
        self.targets
            .lock()
            .unwrap()
            .unhealthy
            .insert(instance.to_string());
    }

    /// The hook to install on the proxy (`proxy.set_hook(move |r| h.hook(r))`).
    pub fn hook(&self, r: &Request) -> Option<Response> {
        let now = Instant::now();
        let ids = target_ids(r);
        let mut t = self.targets.lock().unwrap();
        match r.action.as_str() {
            "RegisterTargets" => {
                for id in ids {
                    t.deregistered.remove(&id);
                    t.registered.insert(id, now);
                }
                None
            }
            "DeregisterTargets" => {
                for id in ids {
                    t.registered.remove(&id);
                    t.deregistered.insert(id, now);
                }
                None
            }
            "DescribeTargetHealth" if !ids.is_empty() => {
                let members: String = ids
                    .iter()
                    .map(|id| {
                        let state = self.state(&t, id, now);
                        format!(
                            "<member><Target><Id>{id}</Id><Port>80</Port></Target><TargetHealth><State>{state}</State></TargetHealth></member>"
                        )
                    })
                    .collect();
                Some(Response::xml(
                    200,
                    format!(
                        r#"<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetHealthResult><TargetHealthDescriptions>{members}</TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>elb-health</RequestId></ResponseMetadata></DescribeTargetHealthResponse>"#
                    ),
                ))
            }
            _ => None,
        }
    }

    fn state(&self, t: &Targets, id: &str, now: Instant) -> &'static str {
        if let Some(at) = t.registered.get(id) {
            if t.unhealthy.contains(id) {
                "unhealthy"
            } else if now.duration_since(*at) < self.initial {
                "initial"
            } else {
                "healthy"
            }
        } else if let Some(at) = t.deregistered.get(id) {
            if now.duration_since(*at) < self.drain {
                "draining"
            } else {
                "unused"
            }
        } else {
            "unused"
        }
    }
}

/// The instance ids a call names (`Targets.member.N.Id`).
pub fn target_ids(r: &Request) -> Vec<String> {
    (1..)
        .map_while(|i| r.param(&format!("Targets.member.{i}.Id")))
        .map(str::to_string)
        .collect()
}

/// One moment of a rollout as the request log tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A server left the group (`DeregisterTargets` sent).
    Left(String),
    /// A server joined it.
    Joined(String),
    /// A server was stopped (`StopInstances` sent).
    Stopped(String),
    /// A server was terminated.
    Terminated(String),
}

/// The rollout's events in the order the proxy received them.
pub fn events(log: &[Request]) -> Vec<(Duration, Event)> {
    let mut out = Vec::new();
    for r in log {
        let ids = || match r.action.as_str() {
            "RegisterTargets" | "DeregisterTargets" => target_ids(r),
            _ => r
                .param_list("InstanceId")
                .into_iter()
                .map(String::from)
                .collect(),
        };
        let make: fn(String) -> Event = match r.action.as_str() {
            "RegisterTargets" => Event::Joined,
            "DeregisterTargets" => Event::Left,
            "StopInstances" => Event::Stopped,
            "TerminateInstances" => Event::Terminated,
            _ => continue,
        };
        out.extend(ids().into_iter().map(|id| (r.started, make(id))));
    }
    out
}
