//! The test harness itself works: moto starts with validation on, the real
//! SDK client reaches it through the recording proxy, and the example stack
//! only names images that moto knows.

use aws_sdk_ec2::types::Filter;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_ec2::config::retry::RetryConfig;

use crate::support::{EXAMPLE_STACK, Ec2Proxy, Moto, ProxyResponse, ec2_client_at, ec2_config_at};

/// Every `ami-…` id the example stack mentions, and every SSM parameter
/// it names an image by (`ssm: /…`).
fn example_images() -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(EXAMPLE_STACK).expect("read the example stack");
    let mut amis: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| {
            word.strip_prefix("ami-")
                .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .map(str::to_owned)
        .collect();
    amis.sort();
    amis.dedup();
    let parameters: Vec<String> = text
        .split("ssm:")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|p| p.trim_end_matches(['}', ',']).to_string())
        .collect();
    (amis, parameters)
}

#[tokio::test]
async fn example_stack_images_exist_in_moto() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let ec2 = ec2_client_at(&proxy.endpoint(), "us-east-1");
    let (mut amis, parameters) = example_images();
    assert!(
        !amis.is_empty() || !parameters.is_empty(),
        "the example stack names no image"
    );
    // An image by SSM parameter: moto holds AWS's public ones.
    let ssm = crate::support::ssm_client_at(&moto.endpoint(), "us-east-1");
    for p in &parameters {
        let got = ssm
            .get_parameter()
            .name(p)
            .send()
            .await
            .expect("the parameter");
        amis.push(got.parameter().and_then(|p| p.value()).unwrap().to_string());
    }
    amis.sort();
    amis.dedup();

    let images = ec2
        .describe_images()
        .set_image_ids(Some(amis.clone()))
        .send()
        .await
        .expect("DescribeImages through the proxy");

    let mut found: Vec<String> = images
        .images()
        .iter()
        .filter_map(|image| image.image_id().map(str::to_owned))
        .collect();
    found.sort();
    assert_eq!(
        found, amis,
        "moto does not know every AMI of the example stack"
    );
    assert_eq!(proxy.count("DescribeImages"), 1, "{:?}", proxy.counts());
    assert_eq!(proxy.total(), 1, "{:?}", proxy.actions());
    let request = &proxy.requests()[0];
    assert_eq!(request.param_list("ImageId"), amis);
    assert!(!request.answered_by_hook);
}

#[tokio::test]
async fn unknown_ami_is_rejected_because_validation_is_on() {
    let moto = Moto::start();
    let ec2 = moto.ec2_client("us-east-1");

    let error = ec2
        .run_instances()
        .image_id("ami-00000000000000000")
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .expect_err("moto must refuse an unknown AMI");
    let code = error.as_service_error().and_then(|e| e.meta().code());
    assert_eq!(code, Some("InvalidAMIID.NotFound"), "{error:?}");
}

#[tokio::test]
async fn tag_filter_on_empty_account_finds_nothing() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let ec2 = ec2_client_at(&proxy.endpoint(), "us-east-1");

    let output = ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:ec2-gitops:stack")
                .values("web")
                .build(),
        )
        .send()
        .await
        .expect("DescribeInstances through the proxy");

    assert!(output.reservations().is_empty(), "{output:?}");
    assert_eq!(proxy.counts().get("DescribeInstances"), Some(&1));
    let request = &proxy.requests_for("DescribeInstances")[0];
    assert_eq!(request.param("Filter.1.Name"), Some("tag:ec2-gitops:stack"));
    assert_eq!(request.param("Filter.1.Value.1"), Some("web"));
}

#[tokio::test]
async fn hook_answers_with_ec2_errors_instead_of_moto() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let config = ec2_config_at(&proxy.endpoint(), "us-east-1")
        .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)));
    let ec2 = aws_sdk_ec2::Client::from_conf(config.build());
    proxy.set_hook(|request| {
        (request.action == "DeleteSecurityGroup").then(|| {
            ProxyResponse::ec2_error(
                400,
                "DependencyViolation",
                "resource sg-0123 has a dependent object",
            )
        })
    });

    let error = ec2
        .delete_security_group()
        .group_id("sg-0123")
        .send()
        .await
        .expect_err("the hook refuses the delete");
    let service_error = error.as_service_error().expect("a service error");
    assert_eq!(service_error.meta().code(), Some("DependencyViolation"));
    assert_eq!(
        service_error.meta().message(),
        Some("resource sg-0123 has a dependent object")
    );
    let requests = proxy.requests_for("DeleteSecurityGroup");
    assert_eq!(requests.len(), 1);
    assert!(requests[0].answered_by_hook);
    assert_eq!(requests[0].param("GroupId"), Some("sg-0123"));

    // Throttling: the SDK's standard retry sees 503 RequestLimitExceeded as
    // retryable, so two throttled answers and then moto's gives success.
    let throttled = Arc::new(AtomicUsize::new(0));
    let counter = throttled.clone();
    proxy.set_hook(move |request| {
        (request.action == "DescribeRegions" && counter.fetch_add(1, Ordering::SeqCst) < 2)
            .then(ProxyResponse::throttled)
    });
    proxy.clear();
    ec2.describe_regions()
        .send()
        .await
        .expect("retried past the throttling");
    assert_eq!(proxy.count("DescribeRegions"), 3, "{:?}", proxy.actions());
    assert_eq!(
        proxy
            .requests()
            .iter()
            .filter(|r| r.answered_by_hook)
            .count(),
        2
    );
}

/// Not a check: prints what a test pays for its own emulator
/// (`cargo test --test all moto_startup_cost -- --ignored --nocapture`).
#[tokio::test]
#[ignore = "measurement, run by hand"]
async fn moto_startup_cost() {
    let started = Instant::now();
    let moto = Moto::start();
    let ready = started.elapsed();
    let ec2 = moto.ec2_client("us-east-1");
    let call = Instant::now();
    ec2.describe_instances().send().await.expect("first call");
    let first_call = call.elapsed();
    let call = Instant::now();
    ec2.describe_instances().send().await.expect("second call");
    let second_call = call.elapsed();
    drop(moto);
    println!(
        "moto ready in {ready:?}; first EC2 call {first_call:?}; second {second_call:?}; \
         total {:?}",
        started.elapsed()
    );
}
