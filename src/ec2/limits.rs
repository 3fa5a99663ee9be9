//! Client-side token buckets that mirror EC2's per-API request-rate limits,
//! so a large apply slows itself down instead of being throttled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// EC2's documented request-rate buckets: (capacity, refill per second).
fn bucket_for(action: &str) -> (f64, f64) {
    if action.starts_with("Describe") {
        (100.0, 20.0)
    } else {
        (200.0, 5.0)
    }
}

struct Bucket {
    tokens: f64,
    capacity: f64,
    refill: f64,
    at: Instant,
}

/// One bucket per API action.
#[derive(Default)]
pub struct Limits {
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

impl Limits {
    /// Waits until `action` may be called.
    pub async fn acquire(&self, action: &'static str) {
        loop {
            let wait = {
                let mut map = self.buckets.lock().expect("limits lock");
                let b = map.entry(action).or_insert_with(|| {
                    let (capacity, refill) = bucket_for(action);
                    Bucket {
                        tokens: capacity,
                        capacity,
                        refill,
                        at: Instant::now(),
                    }
                });
                let now = Instant::now();
                b.tokens =
                    (b.tokens + now.duration_since(b.at).as_secs_f64() * b.refill).min(b.capacity);
                b.at = now;
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - b.tokens) / b.refill)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_drained_bucket_waits_for_its_refill() {
        let limits = Limits::default();
        let start = tokio::time::Instant::now();
        for _ in 0..200 {
            limits.acquire("RunInstances").await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        limits.acquire("RunInstances").await;
        // Paused clock: sleeping advances virtual time only.
        assert!(start.elapsed() >= Duration::from_millis(150));
    }
}
