//! EC2's request-rate limits for the recording proxy: moto keeps none, EC2
//! throttles every account and Region with token buckets ("Request
//! throttling for the Amazon EC2 API", AWS's EC2 developer guide). This
//! answers `RequestLimitExceeded` (503) the way EC2 does when a request finds
//! its bucket empty, and lets the rest through.
//!
//! Written apart from the product's own table (`src/ec2/limits.rs`) from the
//! same documentation, so that one mistake is not in both.
//!
//! ```ignore
//! let limits = Ec2Limits::new();
//! let l = limits.clone();
//! proxy.set_hook(move |req| l.check(req));
//! // … run the tool …
//! assert!(limits.throttled() * 20 <= proxy.total());
//! ```
//!
//! Self-contained beside `ec2_proxy.rs` (a benchmark includes both with
//! `#[path]`).

#![allow(dead_code)] // each test uses a different part

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::ec2_proxy::{Request, Response};

/// (burst, refill per second).
type Bucket = (f64, f64);

/// The request bucket of an action as EC2 documents it.
fn request_bucket(action: &str, unfiltered: bool) -> Bucket {
    match action {
        "RunInstances" | "StartInstances" => (5.0, 2.0),
        "TerminateInstances" => (100.0, 5.0),
        "CreateTags" | "DeleteTags" => (100.0, 10.0),
        "CreateVolume" | "DeleteVolume" | "CreateSnapshot" => (100.0, 5.0),
        a if a.starts_with("Describe") && unfiltered => (50.0, 10.0),
        a if a.starts_with("Describe") => (100.0, 20.0),
        // Every other mutating action (rule changes and CreateKeyPair
        // included): 50 then 5 a second.
        _ => (50.0, 5.0),
    }
}

/// The resource bucket of an instance lifecycle action: instances.
fn resource_bucket(action: &str) -> Option<Bucket> {
    match action {
        "RunInstances" | "StartInstances" => Some((1000.0, 2.0)),
        "StopInstances" | "TerminateInstances" => Some((1000.0, 20.0)),
        _ => None,
    }
}

/// How many instances a request names (or launches).
fn instances_of(req: &Request) -> f64 {
    if req.action == "RunInstances" {
        return req
            .param("MaxCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1.0);
    }
    req.param_list("InstanceId").len() as f64
}

/// Whether a `Describe*` request is "unfiltered and unpaginated".
fn unfiltered(req: &Request) -> bool {
    !req.params
        .iter()
        .any(|(k, _)| k.starts_with("Filter.") || k == "MaxResults")
}

/// The Region a request is signed for (its credential scope).
fn region_of(req: &Request) -> String {
    req.header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or("")
        .to_string()
}

#[derive(Debug)]
struct Tokens {
    tokens: f64,
    at: Instant,
    bucket: Bucket,
}

impl Tokens {
    fn now(&mut self, now: Instant) -> f64 {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.bucket.1).min(self.bucket.0);
        self.at = now;
        self.tokens
    }
}

#[derive(Default)]
struct State {
    buckets: HashMap<(String, String, bool), Tokens>,
    throttled: BTreeMap<String, usize>,
    passed: BTreeMap<String, usize>,
}

/// EC2's buckets of one account, per Region, kept for the proxy's hook.
#[derive(Default)]
pub struct Ec2Limits {
    state: Mutex<State>,
}

impl Ec2Limits {
    /// Full buckets, as an account that has been quiet.
    pub fn new() -> Arc<Ec2Limits> {
        Arc::new(Ec2Limits::default())
    }

    /// `Some(RequestLimitExceeded)` when `req` finds a bucket of its action
    /// short of what it needs (nothing is taken then); `None` (its tokens
    /// taken) to let it through.
    pub fn check(&self, req: &Request) -> Option<Response> {
        if req.action.is_empty() {
            return None;
        }
        let now = Instant::now();
        let region = region_of(req);
        let action = req.action.clone();
        let is_describe = action.starts_with("Describe");
        let unfiltered = is_describe && unfiltered(req);
        let mut st = self.state.lock().unwrap();
        let request = request_bucket(&action, unfiltered);
        let request_key = (region.clone(), action.clone(), unfiltered);
        let have = st
            .buckets
            .entry(request_key.clone())
            .or_insert(Tokens {
                tokens: request.0,
                at: now,
                bucket: request,
            })
            .now(now);
        let mut ok = have >= 1.0;
        let resource = resource_bucket(&action).map(|b| (b, instances_of(req)));
        let resource_key = (region, format!("{action} (instances)"), false);
        if let Some((bucket, n)) = resource
            && n > 0.0
        {
            let have = st
                .buckets
                .entry(resource_key.clone())
                .or_insert(Tokens {
                    tokens: bucket.0,
                    at: now,
                    bucket,
                })
                .now(now);
            ok &= have >= n;
        }
        if !ok {
            *st.throttled.entry(action).or_default() += 1;
            return Some(Response::throttled());
        }
        st.buckets.get_mut(&request_key).unwrap().tokens -= 1.0;
        if let Some((_, n)) = resource
            && n > 0.0
        {
            st.buckets.get_mut(&resource_key).unwrap().tokens -= n;
        }
        *st.passed.entry(action).or_default() += 1;
        None
    }

    /// Requests answered `RequestLimitExceeded`.
    pub fn throttled(&self) -> usize {
        self.state.lock().unwrap().throttled.values().sum()
    }

    /// Requests answered `RequestLimitExceeded`, by action.
    pub fn throttled_by_action(&self) -> BTreeMap<String, usize> {
        self.state.lock().unwrap().throttled.clone()
    }

    /// Requests let through, by action.
    pub fn passed_by_action(&self) -> BTreeMap<String, usize> {
        self.state.lock().unwrap().passed.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(action: &str, params: &[(&str, &str)]) -> Request {
        let mut all = vec![("Action".to_string(), action.to_string())];
        all.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Request {
            seq: 0,
            method: "POST".into(),
            path: "/".into(),
            headers: vec![(
                "authorization".into(),
                "AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/ec2/aws4_request".into(),
            )],
            action: action.into(),
            params: all,
            body: Default::default(),
            answered_by_hook: false,
            outcome: super::super::ec2_proxy::Outcome::Answered,
            started: Default::default(),
            finished: Default::default(),
        }
    }

    #[test]
    fn run_instances_takes_five_then_throttles() {
        let limits = Ec2Limits::new();
        let run = req("RunInstances", &[("MaxCount", "1")]);
        for _ in 0..5 {
            assert!(limits.check(&run).is_none());
        }
        assert!(
            limits.check(&run).is_some(),
            "the sixth at once is throttled"
        );
        assert_eq!(limits.throttled(), 1);
        // Other actions are not affected.
        assert!(limits.check(&req("CreateTags", &[])).is_none());
    }

    #[test]
    fn a_launch_spends_its_instances_from_the_resource_bucket() {
        let limits = Ec2Limits::new();
        assert!(
            limits
                .check(&req("RunInstances", &[("MaxCount", "1000")]))
                .is_none()
        );
        assert!(
            limits
                .check(&req("RunInstances", &[("MaxCount", "5")]))
                .is_some(),
            "no instance tokens left"
        );
        let stop = req(
            "StopInstances",
            &[("InstanceId.1", "i-1"), ("InstanceId.2", "i-2")],
        );
        assert!(limits.check(&stop).is_none(), "Stop has its own");
    }

    #[test]
    fn an_unfiltered_describe_has_the_smaller_bucket() {
        let limits = Ec2Limits::new();
        let bare = req("DescribeVpcs", &[]);
        for _ in 0..50 {
            assert!(limits.check(&bare).is_none());
        }
        assert!(limits.check(&bare).is_some());
        let filtered = req("DescribeVpcs", &[("Filter.1.Name", "is-default")]);
        assert!(limits.check(&filtered).is_none(), "a bucket of its own");
    }
}
