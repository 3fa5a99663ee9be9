//! The scale benchmark: `ec2-gitops apply` of N new servers (100 and 1,000
//! by default) against moto behind a proxy that keeps EC2's documented
//! request limits (`tests/all/support/ec2_limits.rs`, answering
//! `RequestLimitExceeded` as EC2 does): requests by action, throttled
//! answers, `RunInstances` requests, wall time, and how much of it moto was
//! busy (the rest is the tool: its pacing to EC2's buckets and its own work).
//! Beside it, the lower bound of launching one server per `RunInstances` at
//! EC2's limits, whoever sends them.
//!
//! ```text
//! cargo bench --bench scale              # 100 and 1000
//! cargo bench --bench scale -- 300       # other sizes
//! ```
//!
//! Each size starts from an empty moto (`/moto-api/reset`) and full buckets
//! (an account that has been quiet), runs the real binary's
//! `apply --auto-approve`, then a `plan --detailed-exitcode` that must be
//! empty. The results go to stdout and to `docs/benchmarks/scale.md`.
//!
//! Not a test: `harness = false`, and never part of `cargo test`.

#[path = "../tests/all/support/ec2_limits.rs"]
mod ec2_limits;
#[path = "../tests/all/support/ec2_proxy.rs"]
mod ec2_proxy;
#[path = "../tests/all/support/moto.rs"]
#[allow(dead_code)] // the benchmark uses only part of the test helper
mod moto;
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use ec2_limits::Ec2Limits;
use ec2_proxy::{Ec2Proxy, Request};
use moto::Moto;
use support::process::{self, Measured};
use support::{machine, pages};

const STACK: &str = "fleet";
const REGION: &str = "us-east-1";
/// An AMI moto 5.2 knows in us-east-1 (as in the web-hosting example).
const IMAGE: &str = "ami-0e1e769742d1cfb49";
/// Sizes when none is given on the command line.
const DEFAULT_SIZES: [usize; 2] = [100, 1000];
/// The config's limit on `count`.
const MAX_COUNT: usize = 1000;
/// EC2's `RunInstances` request bucket: 5, then 2 a second.
const RUN_BURST: f64 = 5.0;
const RUN_REFILL: f64 = 2.0;

fn main() {
    let sizes = sizes();
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    proxy.emulate_client_tokens();
    let direct = moto.ec2_client(REGION);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the benchmark's runtime");
    let dir = tempfile::tempdir().expect("temp dir for the stack file");
    let yaml = dir.path().join("fleet.yaml");
    let mut runs = Vec::new();
    for n in sizes {
        eprintln!("== apply of {n} new servers at EC2's request limits");
        moto.reset();
        runtime.block_on(warm(&direct));
        let limits = Ec2Limits::new();
        let l = limits.clone();
        proxy.set_hook(move |req| l.check(req));
        proxy.clear();
        std::fs::write(&yaml, stack_yaml(n)).expect("write the stack file");
        let out = process::run(
            process::ec2_command(&proxy.endpoint())
                .args(["apply", "--auto-approve"])
                .arg(&yaml),
        );
        if out.code != Some(0) {
            panic!(
                "apply of {n} failed (exit {:?}).\nstdout:\n{}\nstderr:\n{}",
                out.code,
                process::tail(&out.stdout, 40),
                process::tail(&out.stderr, 40)
            );
        }
        let requests = proxy.requests();
        let throttled = limits.throttled_by_action();
        proxy.clear();
        let check = process::run(
            process::ec2_command(&proxy.endpoint())
                .arg("plan")
                .arg(&yaml)
                .arg("--detailed-exitcode"),
        );
        if check.code != Some(0) {
            panic!(
                "the plan after the apply of {n} is not empty (exit {:?}).\n{}\n{}",
                check.code,
                process::tail(&check.stdout, 40),
                process::tail(&check.stderr, 20)
            );
        }
        let run = Run {
            n,
            out,
            requests,
            throttled,
        };
        eprintln!("{}", run.line());
        runs.push(run);
    }
    proxy.clear_hook();
    let page = report(&runs);
    println!("\n{page}");
    pages::write("scale", &page);
}

/// The sizes on the command line (numbers only; cargo's own flags such as
/// `--bench` are ignored), 100 and 1,000 by default.
fn sizes() -> Vec<usize> {
    let given: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| {
            a.parse()
                .ok()
                .filter(|n| (2..=MAX_COUNT).contains(n))
                .unwrap_or_else(|| panic!("not a server count from 2 to {MAX_COUNT}: {a:?}"))
        })
        .collect();
    if given.is_empty() {
        DEFAULT_SIZES.to_vec()
    } else {
        given
    }
}

/// Loads moto's AMI and instance-type catalogues for the region, so the
/// apply does not pay it.
async fn warm(ec2: &aws_sdk_ec2::Client) {
    ec2.describe_images()
        .image_ids(IMAGE)
        .send()
        .await
        .expect("DescribeImages (warm-up)");
    ec2.describe_instance_type_offerings()
        .send()
        .await
        .expect("DescribeInstanceTypeOfferings (warm-up)");
}

/// One entry of `n` web servers in one security group.
fn stack_yaml(n: usize) -> String {
    format!(
        "version: 1\nstack: {STACK}\nregion: {REGION}\n\
         security_groups:\n  web:\n    description: Public HTTP\n    ingress:\n      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}\n\
         instances:\n  web:\n    count: {n}\n    image: {IMAGE}\n    type: t3.micro\n    security_groups: [web]\n    tags: {{ role: web }}\n"
    )
}

struct Run {
    n: usize,
    out: Measured,
    requests: Vec<Request>,
    throttled: BTreeMap<String, usize>,
}

impl Run {
    fn throttled(&self) -> usize {
        self.throttled.values().sum()
    }

    /// `RunInstances` requests EC2 ran.
    fn launches(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| r.action == "RunInstances" && !r.answered_by_hook)
            .count()
    }

    /// The time at least one request was at moto (the union of the
    /// forwarded requests' intervals).
    fn moto_busy(&self) -> Duration {
        let mut spans: Vec<(Duration, Duration)> = self
            .requests
            .iter()
            .filter(|r| !r.answered_by_hook)
            .map(|r| (r.started, r.finished))
            .collect();
        spans.sort();
        let mut busy = Duration::ZERO;
        let mut current: Option<(Duration, Duration)> = None;
        for (a, b) in spans {
            current = match current {
                Some((s, e)) if a <= e => Some((s, e.max(b))),
                Some((s, e)) => {
                    busy += e - s;
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
        if let Some((s, e)) = current {
            busy += e - s;
        }
        busy
    }

    /// What moto's time leaves of the wall time: the tool's pacing and work.
    fn beyond_moto(&self) -> Duration {
        self.out.wall.saturating_sub(self.moto_busy())
    }

    /// The least time one `RunInstances` per server takes at EC2's limits.
    fn one_per_server_floor(&self) -> Duration {
        Duration::from_secs_f64(((self.n as f64 - RUN_BURST) / RUN_REFILL).max(0.0))
    }

    fn line(&self) -> String {
        format!(
            "{} servers: {} requests ({} throttled), {} RunInstances, wall {:.1} s, moto busy {:.1} s, beyond moto {:.1} s",
            self.n,
            self.requests.len(),
            self.throttled(),
            self.launches(),
            self.out.wall.as_secs_f64(),
            self.moto_busy().as_secs_f64(),
            self.beyond_moto().as_secs_f64()
        )
    }
}

fn report(runs: &[Run]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Scale at EC2's request limits\n\n\
         `ec2-gitops apply --auto-approve` of N new servers (one `count` entry, t3.micro, one \
         security group) against moto behind a proxy that keeps EC2's documented request-rate \
         buckets and answers `RequestLimitExceeded` like EC2 (`tests/all/support/ec2_limits.rs`: \
         `RunInstances` 5 then 2 a second and 1,000 instances then 2 a second, `CreateTags` 100 \
         then 10, `Describe*` 100 then 20, …). Made by `benches/scale.rs`:\n\n\
         ```sh\ncargo bench --bench scale\n```\n\n{}\n\n\
         Each size starts from an empty moto and full buckets; after the apply a \
         `plan --detailed-exitcode` must be empty (checked). *Moto busy* is the time at least one \
         request was at moto; *beyond moto* is the rest of the wall time: the tool's pacing to \
         EC2's buckets and its own work. *One per server* is the least time launching one server \
         per `RunInstances` takes at EC2's request bucket, (N − 5) / 2 s, whoever sends them.\n",
        machine::measured_line()
    );
    let _ = writeln!(
        out,
        "| servers | EC2 requests | throttled | RunInstances | CreateTags | wall s | moto busy s | beyond moto s | tool CPU s | peak RSS MB | one per server ≥ s |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in runs {
        let tags = r
            .requests
            .iter()
            .filter(|q| q.action == "CreateTags" && !q.answered_by_hook)
            .count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} |",
            r.n,
            r.requests.len(),
            r.throttled(),
            r.launches(),
            tags,
            r.out.wall.as_secs_f64(),
            r.moto_busy().as_secs_f64(),
            r.beyond_moto().as_secs_f64(),
            r.out.cpu.as_secs_f64(),
            r.out.rss_mb,
            r.one_per_server_floor().as_secs_f64()
        );
    }
    for r in runs {
        let mut by_action: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for q in &r.requests {
            let e = by_action.entry(q.action.as_str()).or_default();
            if q.answered_by_hook {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
        }
        let _ = writeln!(
            out,
            "\n## {} servers: requests by action\n\n| action | ran | throttled |\n|---|---:|---:|",
            r.n
        );
        for (action, (ran, throttled)) in by_action {
            let _ = writeln!(out, "| {action} | {ran} | {throttled} |");
        }
    }
    out
}
