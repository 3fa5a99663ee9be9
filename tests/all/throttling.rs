//! Throttling is not an error: a call EC2 answers `RequestLimitExceeded` is
//! sent again for as long as its deadline allows, however many times (the
//! retries of real errors stop at 8), then fails saying so.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ec2_gitops::ec2::Ec2;

use crate::support::{Ec2Proxy, Moto, ProxyResponse, ec2_client_at};

/// Answers the first `n` requests for `action` `RequestLimitExceeded`.
fn throttle_first(proxy: &Ec2Proxy, action: &'static str, n: usize) -> Arc<AtomicUsize> {
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    proxy.set_hook(move |req| {
        (req.action == action && s.fetch_add(1, Ordering::SeqCst) < n)
            .then(ProxyResponse::throttled)
    });
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_throttled_thirty_times_in_a_row_still_succeeds() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    // Far more than any retry budget of real errors (8 attempts).
    let seen = throttle_first(&proxy, "DescribeKeyPairs", 30);
    let ec2 = Ec2::from_client(ec2_client_at(&proxy.endpoint(), "us-east-1"))
        .with_elb(crate::support::elb_at(&proxy.endpoint(), "us-east-1"));
    let live = ec2.read_live("throttled", None).await;
    assert!(live.is_ok(), "{live:?}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        31,
        "30 throttled, then answered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_throttled_past_its_deadline_fails_saying_nothing_was_done() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    throttle_first(&proxy, "DescribeKeyPairs", usize::MAX);
    let ec2 = Ec2::from_client(ec2_client_at(&proxy.endpoint(), "us-east-1"))
        .with_elb(crate::support::elb_at(&proxy.endpoint(), "us-east-1"))
        .with_throttle_deadline(Duration::from_secs(2));
    let err = ec2
        .read_live("throttled", None)
        .await
        .expect_err("throttled for good");
    assert_eq!(err.code, "RequestLimitExceeded");
    assert_eq!(err.action, "DescribeKeyPairs");
    assert!(
        err.message.contains("kept throttling DescribeKeyPairs")
            && err.message.contains("nothing was done by this call"),
        "{}",
        err.message
    );
}
