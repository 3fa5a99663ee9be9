//! One EC2 call: paced by EC2's request-rate buckets (`limits`), then
//! retried as EC2's answers require. Every retry is made here; the SDK makes
//! none (its standard mode keeps one retry quota for throttling and real
//! errors alike, which a burst of throttling empties in a second).
//!
//! - `RequestLimitExceeded` (throttling) slows the account's buckets and is
//!   retried until the call's deadline (15 minutes by default): EC2 did not
//!   run a throttled request, so retrying it is always safe.
//! - A server error or a lost connection is retried a bounded number of
//!   times, with backoff (never for a call that must not be sent twice).
//! - `*.NotFound` right after a create is retried for a while where asked:
//!   EC2 is eventually consistent.

use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use super::Ec2;
use super::limits::Call;
use crate::outcome::Ec2Error;

/// Attempts of a call that fails with a server error or a lost connection.
const TRANSIENT_ATTEMPTS: u32 = 8;
/// Attempts of a call answered `*.NotFound` while a new resource propagates.
const NOT_FOUND_ATTEMPTS: u32 = 8;
/// How long a call may be throttled before it fails, unless set otherwise.
pub const THROTTLE_DEADLINE: Duration = Duration::from_secs(15 * 60);
/// How often a throttled run says so on stderr.
const NOTICE_EVERY: Duration = Duration::from_secs(10);

/// EC2's answer to a failed call, as the tool keeps it.
fn error_from_sdk<E, R>(action: &'static str, err: &SdkError<E, R>) -> Ec2Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let code = err.code().unwrap_or("Unknown").to_string();
    let message = match err.message() {
        Some(m) => m.to_string(),
        None => aws_sdk_ec2::error::DisplayErrorContext(err).to_string(),
    };
    Ec2Error {
        action,
        code,
        message,
    }
}

/// Which failures a call is sent again for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// Throttling, server errors and lost connections (and `*.NotFound`
    /// when `not_found`).
    Transient { not_found: bool },
    /// Throttling only: a call that may have taken effect must not be sent
    /// again (its caller looks before trying once more).
    ThrottlingOnly,
}

/// When the process last said it was throttled.
static LAST_NOTICE: Mutex<Option<Instant>> = Mutex::new(None);

/// Says on stderr (at most every 10 s) that EC2 is throttling the run.
fn notice_throttling(action: &str, requests_per_second: f64, waited: Duration) {
    let mut last = LAST_NOTICE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if last.is_some_and(|t| t.elapsed() < NOTICE_EVERY) {
        tracing::info!(action, requests_per_second, "throttled by EC2");
        return;
    }
    *last = Some(Instant::now());
    tracing::warn!(
        "throttled by EC2 ({action}: RequestLimitExceeded), waiting: {action} slowed to {requests_per_second:.2} requests a second; this call has waited {}s",
        waited.as_secs()
    );
}

/// Backoff before the `attempt`-th resend of a failed call: doubling from
/// 200 ms up to 20 s, with full jitter so that calls failed together do not
/// come back together.
fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_millis(200)
        .saturating_mul(1 << attempt.min(7))
        .min(Duration::from_secs(20));
    cap.mul_f64(jitter())
}

/// A number in [0.5, 1): enough randomness to spread retries apart.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    0.5 + (h.finish() >> 11) as f64 / (1u64 << 54) as f64
}

impl Ec2 {
    /// Calls `f` under the action's rate limit, resending it on throttling,
    /// server errors and lost connections. `retry_not_found` resends
    /// `*.NotFound` for a while: EC2 is eventually consistent, and a resource
    /// made a moment ago may not be visible to the next call yet.
    pub(crate) async fn call<T, E, R, F, Fut>(
        &self,
        call: impl Into<Call>,
        retry_not_found: bool,
        f: F,
    ) -> Result<T, Ec2Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let resend = Resend::Transient {
            not_found: retry_not_found,
        };
        self.send(call.into(), resend, f).await
    }

    /// Like [`Ec2::call`], for a call that must not be sent twice (it takes
    /// no client token): resent only when EC2 throttled it, which means EC2
    /// did not run it. Any other failure is returned at once.
    pub(crate) async fn call_once<T, E, R, F, Fut>(
        &self,
        call: impl Into<Call>,
        f: F,
    ) -> Result<T, Ec2Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        self.send(call.into(), Resend::ThrottlingOnly, f).await
    }

    async fn send<T, E, R, F, Fut>(&self, call: Call, resend: Resend, f: F) -> Result<T, Ec2Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let action = call.action;
        // The IAM policies are made from the table of operations: a call
        // missing from it would be refused by a role made from them.
        debug_assert!(
            crate::iam::operation(action).is_some(),
            "{action} is not in iam::operations()"
        );
        let start = Instant::now();
        let mut failures = 0;
        let mut not_found = 0;
        let mut not_found_delay = Duration::from_millis(250);
        loop {
            self.limits.acquire(&call).await;
            tracing::debug!(action, "ec2 call");
            let sent = super::trace::sent(action);
            let answer = f().await;
            if let Some(sent) = sent {
                sent.answered();
            }
            let err = match answer {
                Ok(v) => return Ok(v),
                Err(e) => error_from_sdk(action, &e),
            };
            if err.is_throttling() {
                let waited = start.elapsed();
                if waited >= self.throttle_deadline {
                    return Err(Ec2Error {
                        message: format!(
                            "EC2 kept throttling {action} for {} min (RequestLimitExceeded): the account's request rate for it is used up, by this run or others; nothing was done by this call. Run again later, or ask AWS to raise the limit",
                            waited.as_secs() / 60
                        ),
                        ..err
                    });
                }
                let slowed = self.limits.throttled(&call);
                notice_throttling(action, slowed.requests_per_second, waited);
                continue;
            }
            match resend {
                Resend::Transient { not_found: true }
                    if err.is_not_found() && not_found + 1 < NOT_FOUND_ATTEMPTS =>
                {
                    not_found += 1;
                    tracing::info!(action, code = %err.code, "not visible yet; retrying");
                    tokio::time::sleep(not_found_delay).await;
                    not_found_delay = (not_found_delay * 2).min(Duration::from_secs(8));
                }
                Resend::Transient { .. }
                    if err.is_transient() && failures + 1 < TRANSIENT_ATTEMPTS =>
                {
                    failures += 1;
                    tracing::info!(action, code = %err.code, attempt = failures, "failed; retrying");
                    tokio::time::sleep(backoff(failures)).await;
                }
                _ => return Err(err),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_twenty_seconds_with_jitter() {
        for attempt in 1..12 {
            let cap = Duration::from_millis(200 << attempt.min(7)).min(Duration::from_secs(20));
            let b = backoff(attempt);
            assert!(
                b >= cap / 2 && b < cap,
                "attempt {attempt}: {b:?} of {cap:?}"
            );
        }
    }

    #[test]
    fn throttling_is_told_apart_from_real_errors() {
        let e = |code: &str| Ec2Error {
            action: "RunInstances",
            code: code.into(),
            message: String::new(),
        };
        assert!(e("RequestLimitExceeded").is_throttling());
        assert!(e("RequestLimitExceeded").is_transient());
        assert!(!e("InternalError").is_throttling());
        assert!(e("InternalError").is_transient());
        assert!(!e("InsufficientInstanceCapacity").is_transient());
    }
}
