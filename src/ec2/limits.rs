//! EC2's request-rate limits, kept on this side: the tool paces itself with
//! the token buckets EC2 throttles with, so a large apply waits for tokens
//! instead of being answered `RequestLimitExceeded`.
//!
//! EC2 keeps its buckets per account and Region, whoever calls. So does the
//! tool: one [`Limits`] per account and Region for the whole process
//! ([`Limits::shared`]), whichever stacks share it. A call takes one token of
//! its action's request bucket and, for the instance lifecycle actions, one
//! token of the action's resource bucket per instance it names.
//!
//! Buckets are reserved, not polled: a call that finds too few tokens takes
//! them on credit and sleeps until they would have refilled, so callers go in
//! the order they asked, and each waits once (no wake-ups that grow with the
//! queue). A throttled answer means EC2's bucket is empty whatever ours says
//! (other clients of the account spend it too): the bucket is emptied and its
//! rate halved, and the rate climbs back to the documented one over a minute
//! without throttling. The observed rate wins.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket: how many tokens it holds when full and how many it gains
/// a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens when full (the burst).
    pub capacity: f64,
    /// Tokens added a second.
    pub refill: f64,
}

const fn rate(capacity: f64, refill: f64) -> Rate {
    Rate { capacity, refill }
}

/// One row of EC2's documented limits: the actions it covers, their request
/// bucket and, where EC2 keeps one, their resource bucket.
struct Row {
    actions: &'static [&'static str],
    request: Rate,
    resource: Option<Rate>,
}

/// "Request throttling for the Amazon EC2 API" in AWS's EC2 developer guide:
/// the request token bucket of each action (capacity, refill per second) and
/// the resource token buckets of the instance lifecycle actions. Each action
/// has buckets of its own; the rows only share figures. Actions not named
/// here are in the default rows below.
const TABLE: &[Row] = &[
    // "RunInstances": request 5 then 2/s; resource (instances) 1,000 then 2/s.
    Row {
        actions: &["RunInstances"],
        request: rate(5.0, 2.0),
        resource: Some(rate(1000.0, 2.0)),
    },
    // "StartInstances": request 5 then 2/s; resource 1,000 then 2/s.
    Row {
        actions: &["StartInstances"],
        request: rate(5.0, 2.0),
        resource: Some(rate(1000.0, 2.0)),
    },
    // "StopInstances": a mutating action (50 then 5/s); resource 1,000 then 20/s.
    Row {
        actions: &["StopInstances"],
        request: rate(50.0, 5.0),
        resource: Some(rate(1000.0, 20.0)),
    },
    // "TerminateInstances": request 100 then 5/s; resource 1,000 then 20/s.
    Row {
        actions: &["TerminateInstances"],
        request: rate(100.0, 5.0),
        resource: Some(rate(1000.0, 20.0)),
    },
    // "CreateTags", "DeleteTags": 100 then 10/s.
    Row {
        actions: &["CreateTags", "DeleteTags"],
        request: rate(100.0, 10.0),
        resource: None,
    },
    // "CreateVolume", "DeleteVolume", "CreateSnapshot": 100 then 5/s.
    Row {
        actions: &["CreateVolume", "DeleteVolume", "CreateSnapshot"],
        request: rate(100.0, 5.0),
        resource: None,
    },
    // Security-group rule changes and "CreateKeyPair": 50 then 5/s.
    Row {
        actions: &[
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateKeyPair",
        ],
        request: rate(50.0, 5.0),
        resource: None,
    },
];

/// Non-mutating actions (`Describe*`) with filters or pagination: 100 then 20/s.
const DESCRIBE: Rate = rate(100.0, 20.0);
/// Non-mutating actions without filters and without pagination: 50 then 10/s.
const DESCRIBE_UNFILTERED: Rate = rate(50.0, 10.0);
/// Every other mutating action: 50 then 5/s.
const MUTATING: Rate = rate(50.0, 5.0);

/// The documented buckets of one call: (request, resource).
pub fn documented(call: &Call) -> (Rate, Option<Rate>) {
    if let Some(row) = TABLE.iter().find(|r| r.actions.contains(&call.action)) {
        return (row.request, row.resource);
    }
    let request = if !is_mutating(call.action) {
        if call.unfiltered {
            DESCRIBE_UNFILTERED
        } else {
            DESCRIBE
        }
    } else {
        MUTATING
    };
    (request, None)
}

/// Whether EC2 counts an action as mutating (anything but `Describe*`,
/// `Get*`, `List*`, `Search*`).
fn is_mutating(action: &str) -> bool {
    !["Describe", "Get", "List", "Search"]
        .iter()
        .any(|p| action.starts_with(p))
}

/// One EC2 request as the buckets see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The API action (`RunInstances`).
    pub action: &'static str,
    /// A `Describe*` sent without filters and without `MaxResults`: EC2's
    /// smaller "unfiltered and unpaginated" bucket.
    pub unfiltered: bool,
    /// Instances the call names (resource buckets); 0 for other actions.
    pub instances: u32,
}

impl Call {
    /// A call of `action` that names no instance and, if a `Describe*`, has
    /// filters or pagination.
    pub const fn new(action: &'static str) -> Self {
        Call {
            action,
            unfiltered: false,
            instances: 0,
        }
    }

    /// A `Describe*` without filters and without `MaxResults`.
    pub const fn unfiltered(action: &'static str) -> Self {
        Call {
            unfiltered: true,
            ..Call::new(action)
        }
    }

    /// A call naming (or launching) `n` instances.
    pub fn instances(action: &'static str, n: usize) -> Self {
        Call {
            instances: u32::try_from(n).unwrap_or(u32::MAX),
            ..Call::new(action)
        }
    }
}

impl From<&'static str> for Call {
    fn from(action: &'static str) -> Self {
        Call::new(action)
    }
}

/// How long a throttled rate takes to climb back to the documented one.
const RECOVERY: Duration = Duration::from_secs(60);
/// A throttled rate never falls below this share of the documented one: a
/// throttled request costs EC2 nothing and is sent again, so a floor only
/// bounds how slow a run gets when others spend the account's tokens.
const FLOOR: f64 = 1.0 / 4.0;
/// The rate is halved at most this often: the requests of one burst that EC2
/// throttles together are one sign that the bucket is shared, not many.
const CUT_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Bucket {
    documented: Rate,
    /// The refill rate now: the documented one, less after throttling.
    refill: f64,
    /// Tokens now; below zero when callers hold tokens on credit.
    tokens: f64,
    at: Instant,
    /// When the rate was last halved.
    cut_at: Option<Instant>,
}

impl Bucket {
    fn new(documented: Rate, now: Instant) -> Self {
        Bucket {
            documented,
            refill: documented.refill,
            tokens: documented.capacity,
            at: now,
            cut_at: None,
        }
    }

    fn advance(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.refill).min(self.documented.capacity);
        let regained = self.documented.refill * dt / RECOVERY.as_secs_f64();
        self.refill = (self.refill + regained).min(self.documented.refill);
        self.at = now;
    }

    /// Takes `cost` tokens (on credit if needed); how long until they are
    /// there.
    fn reserve(&mut self, now: Instant, cost: f64) -> Duration {
        self.advance(now);
        // A call never needs more than a full bucket.
        self.tokens -= cost.min(self.documented.capacity);
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.refill)
        }
    }

    /// EC2 said the bucket is empty: so is ours, and it refills slower
    /// (halved at most once a second).
    fn throttled(&mut self, now: Instant) {
        self.advance(now);
        self.tokens = self.tokens.min(0.0);
        if self
            .cut_at
            .is_none_or(|t| now.saturating_duration_since(t) >= CUT_EVERY)
        {
            self.refill = (self.refill / 2.0).max(self.documented.refill * FLOOR);
            self.cut_at = Some(now);
        }
    }
}

/// What a throttled answer changed: the action's request rate now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slowed {
    /// Requests a second the action is paced at now.
    pub requests_per_second: f64,
}

/// The buckets of one account and Region, created as actions are first
/// called.
#[derive(Debug, Default)]
pub struct Limits {
    /// Request buckets by (action, unfiltered).
    requests: Mutex<HashMap<(&'static str, bool), Bucket>>,
    /// Resource buckets by action.
    resources: Mutex<HashMap<&'static str, Bucket>>,
}

/// Limits by (account, Region).
type ByAccountAndRegion = HashMap<(String, String), Arc<Limits>>;

/// The limits of every account and Region this process has called.
static SHARED: LazyLock<Mutex<ByAccountAndRegion>> = LazyLock::new(Mutex::default);

impl Limits {
    /// The one set of buckets of `account` in `region` for this process.
    /// `account` is whatever tells accounts apart where the caller is (the
    /// endpoint and the account's name).
    pub fn shared(account: &str, region: &str) -> Arc<Limits> {
        let mut all = SHARED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.entry((account.to_string(), region.to_string()))
            .or_default()
            .clone()
    }

    /// Takes the tokens `call` needs: at once when they are there, else after
    /// the wait until they would be.
    pub async fn acquire(&self, call: &Call) {
        let wait = self.reserve(call, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Reserves the tokens of `call` at `now`; how long to wait for them.
    fn reserve(&self, call: &Call, now: Instant) -> Duration {
        let (request, resource) = documented(call);
        let mut wait = {
            let mut requests = lock(&self.requests);
            requests
                .entry((call.action, call.unfiltered))
                .or_insert_with(|| Bucket::new(request, now))
                .reserve(now, 1.0)
        };
        if let (Some(resource), n) = (resource, call.instances)
            && n > 0
        {
            let mut resources = lock(&self.resources);
            let w = resources
                .entry(call.action)
                .or_insert_with(|| Bucket::new(resource, now))
                .reserve(now, f64::from(n));
            wait = wait.max(w);
        }
        wait
    }

    /// EC2 answered `call` with `RequestLimitExceeded`: its buckets are
    /// empty and refill at half the rate they did.
    pub fn throttled(&self, call: &Call) -> Slowed {
        let now = Instant::now();
        let (request, resource) = documented(call);
        let requests_per_second = {
            let mut requests = lock(&self.requests);
            let b = requests
                .entry((call.action, call.unfiltered))
                .or_insert_with(|| Bucket::new(request, now));
            b.throttled(now);
            b.refill
        };
        if let Some(resource) = resource
            && call.instances > 0
        {
            lock(&self.resources)
                .entry(call.action)
                .or_insert_with(|| Bucket::new(resource, now))
                .throttled(now);
        }
        Slowed {
            requests_per_second,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits for `n` calls in a row; the virtual time they took.
    async fn time_of(limits: &Limits, call: Call, n: usize) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            limits.acquire(&call).await;
        }
        start.elapsed()
    }

    #[test]
    fn every_action_the_tool_calls_has_its_documented_bucket() {
        let req = |c: Call| documented(&c).0;
        assert_eq!(req(Call::new("RunInstances")), rate(5.0, 2.0));
        assert_eq!(req(Call::new("StartInstances")), rate(5.0, 2.0));
        assert_eq!(req(Call::new("TerminateInstances")), rate(100.0, 5.0));
        assert_eq!(req(Call::new("CreateTags")), rate(100.0, 10.0));
        assert_eq!(req(Call::new("DeleteTags")), rate(100.0, 10.0));
        assert_eq!(req(Call::new("CreateSnapshot")), rate(100.0, 5.0));
        assert_eq!(
            req(Call::new("AuthorizeSecurityGroupIngress")),
            rate(50.0, 5.0)
        );
        assert_eq!(req(Call::new("ModifyInstanceAttribute")), rate(50.0, 5.0));
        assert_eq!(req(Call::new("DescribeInstances")), rate(100.0, 20.0));
        assert_eq!(req(Call::unfiltered("DescribeVpcs")), rate(50.0, 10.0));
        let res = |a| documented(&Call::new(a)).1;
        assert_eq!(res("RunInstances"), Some(rate(1000.0, 2.0)));
        assert_eq!(res("StartInstances"), Some(rate(1000.0, 2.0)));
        assert_eq!(res("StopInstances"), Some(rate(1000.0, 20.0)));
        assert_eq!(res("TerminateInstances"), Some(rate(1000.0, 20.0)));
        assert_eq!(res("CreateTags"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_free_and_then_the_refill_paces() {
        let limits = Limits::default();
        // RunInstances: 5 at once, then one every half second.
        assert_eq!(
            time_of(&limits, Call::new("RunInstances"), 5).await,
            Duration::ZERO
        );
        assert_eq!(
            time_of(&limits, Call::new("RunInstances"), 4).await,
            Duration::from_secs(2)
        );
        // Another action has its own bucket.
        assert_eq!(
            time_of(&limits, Call::new("CreateTags"), 100).await,
            Duration::ZERO
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_launch_spends_a_resource_token_per_instance() {
        let limits = Limits::default();
        assert_eq!(
            time_of(&limits, Call::instances("RunInstances", 1000), 1).await,
            Duration::ZERO,
            "a burst of 1,000 instances"
        );
        // The next 10 instances wait for 10 resource tokens at 2 a second.
        assert_eq!(
            time_of(&limits, Call::instances("RunInstances", 10), 1).await,
            Duration::from_secs(5)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn callers_on_credit_go_in_order_each_waiting_once() {
        let limits = Arc::new(Limits::default());
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let limits = limits.clone();
            tasks.push(tokio::spawn(async move {
                limits.acquire(&Call::new("RunInstances")).await;
                start.elapsed()
            }));
        }
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.unwrap());
        }
        done.sort();
        // 5 at once, then 2 a second.
        let want: Vec<Duration> = [0, 0, 0, 0, 0, 500, 1000, 1500, 2000, 2500]
            .into_iter()
            .map(Duration::from_millis)
            .collect();
        assert_eq!(done, want);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_answer_empties_the_bucket_halves_its_rate_and_it_recovers() {
        let limits = Limits::default();
        let call = Call::new("CreateTags");
        let slowed = limits.throttled(&call);
        assert_eq!(slowed.requests_per_second, 5.0);
        // Empty, refilling at 5 a second (a little more as it recovers).
        let took = time_of(&limits, call, 5).await;
        assert!(
            took > Duration::from_millis(900) && took <= Duration::from_secs(1),
            "{took:?}"
        );
        // A burst throttled together halves it once.
        assert!(limits.throttled(&call).requests_per_second >= 5.0);
        tokio::time::advance(CUT_EVERY).await;
        let again = limits.throttled(&call);
        assert!(again.requests_per_second < 5.0);
        // Never below a quarter of the documented rate.
        for _ in 0..20 {
            tokio::time::advance(CUT_EVERY).await;
            limits.throttled(&call);
        }
        tokio::time::advance(CUT_EVERY).await;
        assert_eq!(limits.throttled(&call).requests_per_second, 10.0 / 4.0);
        // A minute without throttling brings the documented rate back.
        tokio::time::advance(RECOVERY).await;
        let start = Instant::now();
        limits.acquire(&call).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "refilled meanwhile");
        let b = &limits.requests.lock().unwrap()[&("CreateTags", false)];
        assert_eq!(b.refill, 10.0);
    }

    #[test]
    fn one_account_and_region_share_one_set_of_buckets() {
        let a = Limits::shared("http://127.0.0.1:1", "eu-west-1");
        let b = Limits::shared("http://127.0.0.1:1", "eu-west-1");
        let other = Limits::shared("http://127.0.0.1:1", "eu-west-2");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
    }
}
