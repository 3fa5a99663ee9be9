//! Scaling at EC2's real request limits: the real binary against moto behind
//! the recording proxy, which keeps EC2's documented token buckets
//! (`support/ec2_limits.rs`) and answers `RequestLimitExceeded` as EC2 does.
//! moto keeps none: without the proxy, a tool sending a request per server
//! would pass here and fail on a real account.

use std::collections::BTreeMap;

use crate::action::{HEAD, World};
use crate::crash::{apply_killed_at, run, text};
use crate::engine::{IMAGE, instances_by_name};
use crate::support::{Ec2Limits, Ec2Proxy, Moto, ProxyRequest, PullSpec};

/// One entry of `count` servers (`extra`: more of the entry's keys).
fn fleet(stack: &str, count: u32, extra: &str) -> String {
    format!(
        r#"version: 1
stack: {stack}
region: us-east-1
security_groups:
  web:
    description: Public HTTP
    ingress:
      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}
instances:
  web:
    count: {count}
    image: {IMAGE}
    type: t3.micro
    security_groups: [web]
{extra}"#
    )
}

/// moto behind the proxy, with EC2's client-token idempotency and its
/// request limits.
fn limited() -> (Moto, Ec2Proxy, std::sync::Arc<Ec2Limits>) {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    proxy.emulate_client_tokens();
    let limits = Ec2Limits::new();
    let l = limits.clone();
    proxy.set_hook(move |req| l.check(req));
    (moto, proxy, limits)
}

/// The requests EC2 ran (not those it throttled) for `action`.
fn ran(requests: &[ProxyRequest], action: &str) -> Vec<ProxyRequest> {
    requests
        .iter()
        .filter(|r| r.action == action && !r.answered_by_hook)
        .cloned()
        .collect()
}

/// Each instance name of `stack` with how many live instances carry it.
async fn names(c: &aws_sdk_ec2::Client, stack: &str) -> BTreeMap<String, usize> {
    instances_by_name(c, stack)
        .await
        .into_iter()
        .map(|(name, ids)| (name, ids.len()))
        .collect()
}

fn assert_one_each(names: &BTreeMap<String, usize>, count: usize, why: &str) {
    let expected: Vec<String> = (1..=count).map(|i| format!("instance/web-{i}")).collect();
    let got: Vec<&String> = names.keys().collect();
    assert_eq!(got.len(), count, "{why}: {names:?}");
    for name in &expected {
        assert_eq!(names.get(name), Some(&1), "{why}: {name} in {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_then_three_hundred_servers_launch_in_a_few_requests_within_ec2s_limits() {
    let (moto, proxy, limits) = limited();
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.yaml");
    let file = file.to_str().unwrap();

    for (count, new) in [(100, 100), (300, 200)] {
        let throttled_before = limits.throttled();
        std::fs::write(file, fleet("fleet", count, "")).unwrap();
        let mark = proxy.total();
        let out = run(&proxy.endpoint(), &["apply", file, "--auto-approve"]);
        assert!(out.status.success(), "{count}: {}", text(&out));
        let requests = proxy.requests()[mark..].to_vec();
        let launches = ran(&requests, "RunInstances");
        assert!(
            launches.len() <= 5,
            "{count}: {} RunInstances",
            launches.len()
        );
        let launched: u32 = launches
            .iter()
            .map(|r| r.param("MaxCount").unwrap().parse::<u32>().unwrap())
            .sum();
        assert_eq!(launched, new, "{count}: one launch per new server");
        assert!(
            launches
                .iter()
                .all(|r| r.param("MinCount") == r.param("MaxCount")),
            "all or nothing"
        );
        assert_one_each(&names(&direct, "fleet").await, count as usize, "applied");
        // Paced, not throttled. The first apply starts with EC2's buckets
        // full, as the tool assumes; the second starts moments after the
        // first, whose tokens EC2 has not refilled yet: throttled, slowed
        // down, still applied.
        if count == 100 {
            let throttled = limits.throttled() - throttled_before;
            assert!(
                throttled * 20 <= requests.len(),
                "{throttled} of {} requests throttled: {:?}",
                requests.len(),
                limits.throttled_by_action()
            );
        }
        let plan = run(&proxy.endpoint(), &["plan", file, "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "{count}: {}", text(&plan));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolling_type_change_of_a_hundred_stops_and_starts_each_batch_in_one_call() {
    let (moto, proxy, limits) = limited();
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roll.yaml");
    let file = file.to_str().unwrap();
    let rollout = "    rollout: { max_unavailable: \"10%\" }\n";
    std::fs::write(file, fleet("roll", 100, rollout)).unwrap();
    let out = run(&proxy.endpoint(), &["apply", file, "--auto-approve"]);
    assert!(out.status.success(), "{}", text(&out));

    std::fs::write(
        file,
        fleet("roll", 100, rollout).replace("type: t3.micro", "type: t3.small"),
    )
    .unwrap();
    let mark = proxy.total();
    let out = run(&proxy.endpoint(), &["apply", file, "--auto-approve"]);
    assert!(out.status.success(), "{}", text(&out));
    let requests = proxy.requests()[mark..].to_vec();
    let ids = |r: &ProxyRequest| r.param_list("InstanceId").len();
    let stops = ran(&requests, "StopInstances");
    let starts = ran(&requests, "StartInstances");
    assert_eq!(stops.len(), 10, "one StopInstances per batch");
    assert_eq!(starts.len(), 10, "one StartInstances per batch");
    assert!(stops.iter().chain(&starts).all(|r| ids(r) == 10));
    // A batch is started before the next is stopped: never more than ten
    // servers down.
    for (start, next_stop) in starts.iter().zip(stops.iter().skip(1)) {
        assert!(start.finished <= next_stop.started);
    }
    let types = direct
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:ec2-gitops:stack")
                .values("roll")
                .build(),
        )
        .max_results(1000)
        .send()
        .await
        .unwrap();
    let small = types
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.instance_type().map(|t| t.as_str()) == Some("t3.small"))
        .count();
    assert_eq!(small, 100);
    let plan = run(&proxy.endpoint(), &["plan", file, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(
        limits.throttled() * 20 <= proxy.total(),
        "{:?} of {}",
        limits.throttled_by_action(),
        proxy.total()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_between_the_bulk_launch_and_the_naming_then_rerun_adopts_every_server() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    proxy.emulate_client_tokens();
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kill.yaml");
    let file = file.to_str().unwrap();
    std::fs::write(file, fleet("kill", 100, "")).unwrap();

    // Killed when the first name is sent: the batch is launched, (almost)
    // nobody named.
    let (ok, during) = apply_killed_at(&proxy, file, 1, |r| r.action == "CreateTags");
    assert!(!ok && during == "CreateTags", "killed during {during:?}");
    assert_eq!(proxy.count("RunInstances"), 1, "one launch before the kill");
    let named = names(&direct, "kill").await;
    let unnamed = named.get("<untagged>").copied().unwrap_or(0);
    assert!(unnamed >= 90, "the kill left servers unnamed: {named:?}");

    // The plan says what it found and that applying again adopts it.
    let plan = run(&proxy.endpoint(), &["plan", file]);
    let said = String::from_utf8_lossy(&plan.stdout);
    assert!(said.contains("stopped before naming it"), "{}", text(&plan));

    let mark = proxy.total();
    let rerun = run(&proxy.endpoint(), &["apply", file, "--auto-approve"]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_eq!(
        proxy.requests()[mark..]
            .iter()
            .filter(|r| r.action == "RunInstances")
            .count(),
        0,
        "the rerun adopts the batch instead of launching again"
    );
    assert_one_each(&names(&direct, "kill").await, 100, "after the rerun");
    let plan = run(&proxy.endpoint(), &["plan", file, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_stacks_applied_in_one_action_run_share_the_accounts_buckets() {
    let w = World::new("unused");
    let limits = Ec2Limits::new();
    let l = limits.clone();
    w.proxy.emulate_client_tokens();
    w.proxy.set_hook(move |req| l.check(req));
    let infra = w.dir.path().join("infra");
    std::fs::write(infra.join("web.yaml"), fleet("fleet-a", 60, "")).unwrap();
    std::fs::write(infra.join("other.yaml"), fleet("fleet-b", 60, "")).unwrap();
    let files = ["infra/web.yaml", "infra/other.yaml"];

    w.pull(61, HEAD, &files);
    let r = w.run("pull_request", w.pr_event("opened", 61, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let merge = "6161616161616161616161616161616161616161";
    w.gh.add_pull(
        crate::action::REPO,
        PullSpec {
            number: 61,
            head_sha: HEAD.into(),
            merged: true,
            merge_commit_sha: Some(merge.into()),
            state: "closed".into(),
            files: files
                .iter()
                .map(|f| (f.to_string(), "modified".to_string()))
                .collect(),
            ..PullSpec::default()
        },
    );
    w.gh.add_commit_pulls(merge, &[61]);
    let changed: Vec<(&str, &str)> = files.iter().map(|f| (*f, "modified")).collect();
    let r = w.run("push", w.push_event(merge, &changed), merge);
    assert_eq!(r.code(), Some(0), "{}", r.text());

    for stack in ["fleet-a", "fleet-b"] {
        assert_one_each(&names(&w.direct, stack).await, 60, stack);
    }
    let throttled = limits.throttled();
    assert!(
        throttled * 20 <= w.proxy.total(),
        "{throttled} of {} requests throttled: {:?}",
        w.proxy.total(),
        limits.throttled_by_action()
    );
    let launches = ran(&w.proxy.requests(), "RunInstances");
    assert_eq!(launches.len(), 2, "one launch per stack");
}
