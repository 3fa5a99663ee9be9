//! The apply benchmark: EC2 requests, time, memory and the longest chains of
//! sequential requests of `ec2-gitops apply` creating a stack of N instances
//! (100 by default) against moto, then destroying them. Two chains: the
//! causal one from the tool's trace of its calls (`EC2_GITOPS_CALL_TRACE`,
//! each call with the calls its code had awaited), and the one read off the
//! proxy's timestamps (a request sent after another was answered).
//!
//! ```text
//! cargo bench --bench apply          # N = 100
//! cargo bench --bench apply -- 300   # another N
//! ```
//!
//! Each of three runs starts from an empty moto (`/moto-api/reset`), warms
//! moto's AMI and instance-type catalogues directly (not through the proxy,
//! so that their one-off load is not counted), writes a stack shaped like
//! the web-hosting example (N instances, three security groups with a group
//! reference, a key pair, a data volume on one instance in ten, three
//! elastic IPs) and runs the real binary's `apply --auto-approve` through
//! the recording proxy. A `plan --detailed-exitcode` must then be empty
//! (the benchmark fails otherwise). The same is done for a destroy of the
//! instances, volumes and addresses. The results go to stdout and to
//! `docs/benchmarks/apply.md` (and the `README.md` beside it). With
//! `APPLY_BENCH_LOG_DIR=DIR`, the request log of each section's run (action,
//! why, when it arrived and was answered, in ms) is also written to
//! `DIR/<section>.csv`.
//!
//! Not a test: `harness = false`, and never part of `cargo test`.

#[path = "../tests/all/support/call_trace.rs"]
mod call_trace;
#[path = "../tests/all/support/ec2_proxy.rs"]
mod ec2_proxy;
#[path = "../tests/all/support/moto.rs"]
#[allow(dead_code)] // the benchmark uses only part of the test helper
mod moto;
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use ec2_gitops::ec2::lease::lease_name;
use ec2_gitops::model::{NAME_TAG, STACK_TAG};

use call_trace::Call;
use ec2_proxy::{Ec2Proxy, Request};
use moto::Moto;
use support::process::{self, Measured, median};
use support::{machine, pages};

const STACK: &str = "web";
const REGION: &str = "us-east-1";
/// An AMI moto 5.2 knows in us-east-1 (as in the web-hosting example).
const IMAGE: &str = "ami-0e1e769742d1cfb49";
const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHlth9viP3YlUZf/E7QM/+JJDrOV9IwGcBVJdVWOJsk bench@example.com";
/// Instances when none is given on the command line.
const DEFAULT_INSTANCES: usize = 100;
/// One instance in this many is a `db` with a data volume.
const DB_EVERY: usize = 10;
const ELASTIC_IPS: usize = 3;
/// The config's limit on `count`.
const MAX_COUNT: usize = 1000;
/// Runs on a fresh moto; the tables show the median.
const RUNS: usize = 3;
/// Instances of the rolling type change.
const ROLLED: usize = 10;
/// How many of the largest idle gaps the page lists.
const GAPS_SHOWN: usize = 5;

fn main() {
    let n = instances();
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let direct = moto.ec2_client(REGION);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the benchmark's runtime");
    let dir = tempfile::tempdir().expect("temp dir for the stack file");
    let yaml = dir.path().join("web.yaml");

    let mut creates = Vec::new();
    let mut destroys = Vec::new();
    for i in 0..RUNS {
        eprintln!("== run {} of {RUNS}: apply of {n} instances", i + 1);
        moto.reset();
        runtime.block_on(warm(&direct));
        std::fs::write(&yaml, stack_yaml(n, true)).expect("write the stack file");
        let create = apply_and_check(&yaml, &proxy, &moto, "create");
        eprintln!("{}", create.line());
        creates.push(create);

        std::fs::write(&yaml, stack_yaml(n, false)).expect("write the stack file");
        let destroy = apply_and_check(&yaml, &proxy, &moto, "destroy");
        eprintln!("{}", destroy.line());
        destroys.push(destroy);
    }
    let mut page = report(n, &creates, &destroys);
    eprintln!("== a rolling type change of {ROLLED} instances");
    moto.reset();
    runtime.block_on(warm(&direct));
    page.push_str(&rolling(&yaml, &proxy, &moto));
    println!("\n{page}");
    pages::write("apply", &page);
}

/// The instance count on the command line (numbers only; cargo's own flags
/// such as `--bench` are ignored), 100 by default.
fn instances() -> usize {
    let given: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| {
            a.parse()
                .ok()
                .filter(|n| (DB_EVERY..=2 * MAX_COUNT).contains(n))
                .unwrap_or_else(|| {
                    panic!(
                        "not an instance count from {DB_EVERY} to {}: {a:?}",
                        2 * MAX_COUNT
                    )
                })
        })
        .collect();
    match given.as_slice() {
        [] => DEFAULT_INSTANCES,
        [n] => *n,
        _ => panic!("give one instance count, e.g. `-- 100`"),
    }
}

/// Loads moto's AMI and instance-type catalogues for the region (about a
/// second on the first call after a reset), so the apply does not pay it.
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

/// The web-hosting example at scale: `n` instances (one in ten a `db` with
/// a data volume), three groups (one referring to another), a key pair and
/// three elastic IPs; without `instances`, only the groups and the key pair.
fn stack_yaml(n: usize, instances: bool) -> String {
    let mut y = format!(
        "version: 1\nstack: {STACK}\nregion: {REGION}\n\n\
         defaults:\n  image: {IMAGE}\n  type: t3.micro\n  key_pair: deploy\n  security_groups: [web]\n\n\
         key_pairs:\n  deploy:\n    public_key: {PUBLIC_KEY}\n\n\
         security_groups:\n\
         \x20 web:\n    description: Public HTTP and HTTPS\n    ingress:\n\
         \x20     - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}\n\
         \x20     - {{ protocol: tcp, ports: 443, cidr: [0.0.0.0/0, \"::/0\"] }}\n\
         \x20     - {{ protocol: tcp, ports: 22, from: admin }}\n\
         \x20 admin:\n    description: Bastion\n    ingress:\n\
         \x20     - {{ protocol: tcp, ports: 22, cidr: 203.0.113.0/24 }}\n\
         \x20 db:\n    description: PostgreSQL, from the web servers only\n    ingress:\n\
         \x20     - {{ protocol: tcp, ports: 5432, from: web }}\n\
         \x20     - {{ protocol: tcp, ports: 22, from: admin }}\n"
    );
    if !instances {
        return y;
    }
    let db = n / DB_EVERY;
    let web = n - db;
    y.push_str("\ninstances:\n");
    for (i, count) in split(web).into_iter().enumerate() {
        let name = entry_name("web", i);
        let _ = writeln!(
            y,
            "  {name}:\n    count: {count}\n    user_data: |\n      #cloud-config\n      packages: [nginx]\n    \
             root_volume: {{ size_gb: 20, type: gp3 }}\n    tags: {{ role: web }}"
        );
    }
    for (i, count) in split(db).into_iter().enumerate() {
        let name = entry_name("db", i);
        let _ = writeln!(
            y,
            "  {name}:\n    count: {count}\n    type: t3.small\n    security_groups: [db]\n    \
             root_volume: {{ size_gb: 30, type: gp3 }}\n    \
             volumes:\n      - {{ name: data, device: /dev/sdf, size_gb: 100, type: gp3 }}\n    \
             tags: {{ role: db }}"
        );
    }
    y.push_str("\nelastic_ips:\n");
    for i in 1..=ELASTIC_IPS.min(web) {
        let _ = writeln!(y, "  ip-{i}: {{ instance: web-{i} }}");
    }
    y
}

/// `count` is at most 1,000: larger groups of instances are split.
fn split(total: usize) -> Vec<usize> {
    let mut parts = Vec::new();
    let mut left = total;
    while left > 0 {
        parts.push(left.min(MAX_COUNT));
        left -= left.min(MAX_COUNT);
    }
    parts
}

fn entry_name(base: &str, part: usize) -> String {
    if part == 0 {
        base.to_string()
    } else {
        format!("{base}{}", part + 1)
    }
}

/// One measured apply and the plan that checked it converged.
struct ApplyRun {
    out: Measured,
    requests: Vec<Request>,
    /// The proxy's own count of the longest chain (checks ours).
    chain_len: usize,
    /// The tool's causal trace of its calls (`EC2_GITOPS_CALL_TRACE`).
    calls: Vec<Call>,
    /// EC2 requests of the plan after the apply.
    check_requests: usize,
}

/// Runs `apply --auto-approve` on `yaml`, then a plan that must be empty.
fn apply_and_check(yaml: &Path, proxy: &Ec2Proxy, moto: &Moto, what: &str) -> ApplyRun {
    proxy.clear();
    let trace = tempfile::NamedTempFile::new().expect("a file for the call trace");
    let out = process::run(
        process::ec2_command(&proxy.endpoint())
            .env("EC2_GITOPS_CALL_TRACE", trace.path())
            .args(["apply", "--auto-approve"])
            .arg(yaml),
    );
    if out.code != Some(0) {
        panic!(
            "apply ({what}) failed (exit {:?}).\nstdout:\n{}\nstderr:\n{}\nmoto log (tail):\n{}",
            out.code,
            process::tail(&out.stdout, 60),
            process::tail(&out.stderr, 40),
            process::tail(&moto.log_text(), 30)
        );
    }
    let requests = proxy.requests();
    let chain_len = proxy.longest_sequential_chain();
    let calls = call_trace::read(trace.path());
    if calls.len() != requests.len() {
        eprintln!(
            "note: {} calls traced, {} requests seen (the SDK retried some)",
            calls.len(),
            requests.len()
        );
    }

    proxy.clear();
    let check = process::run(
        process::ec2_command(&proxy.endpoint())
            .arg("plan")
            .arg(yaml)
            .arg("--detailed-exitcode"),
    );
    if check.code != Some(0) {
        panic!(
            "the plan after the apply ({what}) is not empty (exit {:?}): apply did not converge.\n\
             plan:\n{}\nstderr:\n{}",
            check.code,
            process::tail(&check.stdout, 80),
            process::tail(&check.stderr, 20)
        );
    }
    ApplyRun {
        out,
        requests,
        chain_len,
        calls,
        check_requests: proxy.total(),
    }
}

impl ApplyRun {
    /// Requests that change something (not `Describe…`).
    fn writes(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| !r.action.starts_with("Describe"))
            .count()
    }

    fn chain(&self) -> Vec<&Request> {
        longest_chain(&self.requests)
    }

    /// The longest chain of the requests that are not polls of a wait.
    fn chain_without_waits(&self) -> usize {
        self.chain_without_waits_in_order().len()
    }

    /// That chain, in order: (action, why).
    fn chain_without_waits_in_order(&self) -> Vec<(String, &'static str)> {
        let not_waits: Vec<Request> = self
            .requests
            .iter()
            .filter(|r| purpose(r) != WAIT)
            .cloned()
            .collect();
        longest_chain(&not_waits)
            .into_iter()
            .map(|r| (r.action.clone(), purpose(r)))
            .collect()
    }

    /// The longest chain of calls each of which waited for the one before
    /// (from the tool's trace; polls are links only with `count_polls`).
    fn causal_chain(&self, count_polls: bool) -> Vec<&Call> {
        call_trace::longest_chain(&self.calls, count_polls)
    }

    /// From the first request's start to the last one's end.
    fn span(&self) -> Duration {
        let first = self.requests.iter().map(|r| r.started).min();
        let last = self.requests.iter().map(|r| r.finished).max();
        match (first, last) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => Duration::ZERO,
        }
    }

    /// The most requests in flight at once.
    fn max_in_flight(&self) -> usize {
        let mut events: Vec<(Duration, i32)> = self
            .requests
            .iter()
            .flat_map(|r| [(r.started, 1), (r.finished, -1)])
            .collect();
        // An end before a start at the same instant: back to back is not overlap.
        events.sort();
        let mut now = 0;
        let mut most = 0;
        for (_, d) in events {
            now += d;
            most = most.max(now);
        }
        most as usize
    }

    /// Stretches of the span with no request in flight, largest first, each
    /// with the request that ended before it and the one that started after.
    fn idle_gaps(&self) -> Vec<(Duration, Duration, &Request, &Request)> {
        let mut by_start: Vec<&Request> = self.requests.iter().collect();
        by_start.sort_by_key(|r| r.started);
        let mut gaps = Vec::new();
        let mut busy_until: Option<(Duration, &Request)> = None;
        for r in by_start {
            if let Some((end, before)) = busy_until
                && r.started > end
            {
                gaps.push((r.started - end, end, before, r));
            }
            if busy_until.is_none_or(|(end, _)| r.finished > end) {
                busy_until = Some((r.finished, r));
            }
        }
        gaps.sort_by_key(|g| std::cmp::Reverse(g.0));
        gaps
    }

    fn idle(&self) -> Duration {
        self.idle_gaps().iter().map(|g| g.0).sum()
    }

    fn line(&self) -> String {
        format!(
            "{} EC2 requests ({} writes), {:.2} s wall, {:.2} s CPU, {:.1} MB, longest chain {}, \
             at most {} in flight; plan after it: empty, {} requests",
            self.requests.len(),
            self.writes(),
            self.out.wall.as_secs_f64(),
            self.out.cpu.as_secs_f64(),
            self.out.rss_mb,
            self.chain_len,
            self.max_in_flight(),
            self.check_requests
        )
    }
}

/// The longest chain of requests each starting after the previous one
/// finished (as `Ec2Proxy::longest_sequential_chain` counts it), in order.
fn longest_chain(requests: &[Request]) -> Vec<&Request> {
    let mut by_end: Vec<&Request> = requests.iter().collect();
    by_end.sort_by_key(|r| r.finished);
    // (length of the longest chain ending here, the request before it)
    let mut best: Vec<(usize, Option<usize>)> = Vec::with_capacity(by_end.len());
    for (i, r) in by_end.iter().enumerate() {
        let before = (0..i)
            .filter(|&j| by_end[j].finished <= r.started)
            .max_by_key(|&j| best[j].0);
        best.push((before.map_or(0, |j| best[j].0) + 1, before));
    }
    let Some(mut at) = (0..best.len()).max_by_key(|&i| best[i].0) else {
        return Vec::new();
    };
    let mut chain = vec![by_end[at]];
    while let Some(before) = best[at].1 {
        chain.push(by_end[before]);
        at = before;
    }
    chain.reverse();
    chain
}

/// The purpose of a poll while waiting for a state.
const WAIT: &str = "wait for a state (poll)";

/// Why a request was made, from its action and filters.
fn purpose(r: &Request) -> &'static str {
    let filters: Vec<&str> = r
        .params_with_prefix("Filter.")
        .filter(|(k, _)| k.ends_with(".Name"))
        .map(|(_, v)| v)
        .collect();
    let name_tag = format!("tag:{NAME_TAG}");
    let lease = lease_name(STACK, None);
    if r.params.iter().any(|(_, v)| *v == lease) {
        "apply lease (one apply of a stack at a time)"
    } else if !r.action.starts_with("Describe") {
        "change"
    } else if filters.iter().any(|f| *f == name_tag) {
        "look-up by name tag before a create"
    } else if filters.contains(&"instance-state-name") {
        "look-up of what an interrupted run made (one for all launches)"
    } else if filters.contains(&"instance-id")
        || r.param("VolumeId.1").is_some()
        || r.param("InstanceId.1").is_some()
        || r.param("SnapshotId.1").is_some()
    {
        WAIT
    } else if r.action == "DescribeKeyPairs" && r.param("KeyName.1").is_some() {
        "look-up of a key pair that exists already"
    } else if filters.iter().any(|f| *f == format!("tag:{STACK_TAG}")) || filters.is_empty() {
        "plan: read of the stack or the account"
    } else {
        "plan: check of what the YAML names"
    }
}

/// How many instance ids a `DescribeInstances` names in its `instance-id`
/// filter.
fn instance_ids_named(r: &Request) -> usize {
    let filters: Vec<String> = r
        .params_with_prefix("Filter.")
        .filter(|(k, v)| k.ends_with(".Name") && *v == "instance-id")
        .map(|(k, _)| k.trim_end_matches("Name").to_string())
        .collect();
    r.params_with_prefix("Filter.")
        .filter(|(k, _)| {
            filters
                .iter()
                .any(|f| k.starts_with(f.as_str()) && k[f.len()..].starts_with("Value."))
        })
        .count()
}

/// The run with the median wall time (its request log is the one shown).
fn median_run(runs: &[ApplyRun]) -> &ApplyRun {
    let wall = median(runs.iter().map(|r| r.out.wall.as_secs_f64()));
    runs.iter()
        .find(|r| r.out.wall.as_secs_f64() == wall)
        .expect("the median is one of the runs")
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

fn report(n: usize, creates: &[ApplyRun], destroys: &[ApplyRun]) -> String {
    let mut out = String::new();
    let db = n / DB_EVERY;
    let _ = writeln!(out, "# Apply\n");
    let _ = writeln!(
        out,
        "`ec2-gitops apply --auto-approve` of a stack of {n} instances against moto, \
         through the recording proxy, then of the same stack without its instances \
         (a destroy). Made by `benches/apply.rs`:\n\n\
         ```sh\ncargo bench --bench apply{}\n```\n\n{}\n",
        if n == DEFAULT_INSTANCES {
            String::new()
        } else {
            format!(" -- {n}")
        },
        machine::measured_line()
    );
    let _ = writeln!(
        out,
        "The stack is the web-hosting example at scale: {} `web` instances (t3.micro, user \
         data, 20 GiB gp3 root) and {db} `db` instances (t3.small, 30 GiB root, a 100 GiB \
         data volume each), 3 security groups (`web`, `admin`, `db`; two rules refer to \
         another group), one key pair and {ELASTIC_IPS} elastic IPs on web-1…{ELASTIC_IPS}. \
         Each of {RUNS} runs starts from an empty moto (`/moto-api/reset`) with its AMI and \
         instance-type catalogues loaded directly, not through the proxy. After each apply \
         a `plan --detailed-exitcode` must be empty (checked: the benchmark fails \
         otherwise). Figures are the median of the runs; the request log shown is the \
         median-wall run's. The executor runs at most 128 steps at once under per-API token \
         buckets (`src/ec2/limits.rs`).\n",
        n - db
    );
    let _ = writeln!(
        out,
        "| apply | EC2 requests | writes | wall s | tool CPU s | peak RSS MB | longest causal chain | without wait polls | longest sequential chain (timestamps) | without wait polls | most in flight | idle s (no request in flight) | plan after it |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for (what, runs) in [
        (format!("create {n} instances"), creates),
        ("destroy them".to_string(), destroys),
    ] {
        let m = |f: &dyn Fn(&ApplyRun) -> f64| median(runs.iter().map(f));
        let _ = writeln!(
            out,
            "| {what} | {:.0} | {:.0} | {:.2} | {:.2} | {:.1} | {:.0} | **{:.0}** | {:.0} | {:.0} | {:.0} | {:.2} | empty ({:.0} requests) |",
            m(&|r| r.requests.len() as f64),
            m(&|r| r.writes() as f64),
            m(&|r| r.out.wall.as_secs_f64()),
            m(&|r| r.out.cpu.as_secs_f64()),
            m(&|r| r.out.rss_mb),
            m(&|r| r.causal_chain(true).len() as f64),
            m(&|r| r.causal_chain(false).len() as f64),
            m(&|r| r.chain_len as f64),
            m(&|r| r.chain_without_waits() as f64),
            m(&|r| r.max_in_flight() as f64),
            m(&|r| r.idle().as_secs_f64()),
            m(&|r| r.check_requests as f64),
        );
    }
    let _ = writeln!(
        out,
        "\nEach run (create, then destroy; chains without wait polls, causal / timestamps):\n\n| run | requests | wall s | tool CPU s | peak RSS MB | chains | requests | wall s | tool CPU s | peak RSS MB | chains |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (i, (c, d)) in creates.iter().zip(destroys).enumerate() {
        let cells = |r: &ApplyRun| {
            format!(
                "{} | {} | {} | {:.1} | {} / {}",
                r.requests.len(),
                secs(r.out.wall),
                secs(r.out.cpu),
                r.out.rss_mb,
                r.causal_chain(false).len(),
                r.chain_without_waits()
            )
        };
        let _ = writeln!(out, "| {} | {} | {} |", i + 1, cells(c), cells(d));
    }

    section(
        &mut out,
        &format!("Create of {n} instances"),
        median_run(creates),
    );
    section(&mut out, "Destroy", median_run(destroys));
    out
}

/// The request log of one apply: by action and purpose, the longest chain,
/// and the idle gaps.
fn section(out: &mut String, title: &str, run: &ApplyRun) {
    if let Ok(dir) = std::env::var("APPLY_BENCH_LOG_DIR") {
        let mut csv = String::from("seq,action,why,started_ms,finished_ms\n");
        for r in &run.requests {
            let _ = writeln!(
                csv,
                "{},{},{},{:.3},{:.3}",
                r.seq,
                r.action,
                purpose(r),
                r.started.as_secs_f64() * 1000.0,
                r.finished.as_secs_f64() * 1000.0
            );
        }
        let _ = std::fs::write(format!("{dir}/{}.csv", title.replace(' ', "-")), csv);
    }
    let _ = writeln!(out, "\n## {title}: requests (median-wall run)\n");
    let chain = run.chain();
    assert_eq!(
        chain.len(),
        run.chain_len,
        "the chain found here and the proxy's longest_sequential_chain differ"
    );
    let first = run
        .requests
        .iter()
        .map(|r| r.started)
        .min()
        .unwrap_or_default();
    let mut rows: BTreeMap<(&str, &str), (usize, usize, Duration, Duration)> = BTreeMap::new();
    for r in &run.requests {
        let row = rows.entry((r.action.as_str(), purpose(r))).or_insert((
            0,
            0,
            Duration::MAX,
            Duration::ZERO,
        ));
        row.0 += 1;
        row.2 = row.2.min(r.started - first);
        row.3 = row.3.max(r.finished - first);
    }
    for r in &chain {
        if let Some(row) = rows.get_mut(&(r.action.as_str(), purpose(r))) {
            row.1 += 1;
        }
    }
    let _ = writeln!(
        out,
        "Why, from each request's parameters: the plan's reads appear twice because \
         `apply` plans once before taking the stack's lease (a plan with nothing to do \
         then writes nothing) and again under it (`src/app.rs`); the lease is a key \
         pair created before the changes and deleted after them, with one \
         `DeleteKeyPair` while it is surely still this run's (`src/ec2/lease.rs`). \
         Times are from the first request.\n"
    );
    let _ = writeln!(
        out,
        "| action | why | requests | in the timestamp chain | first sent at s | last answered at s |\n|---|---|---:|---:|---:|---:|"
    );
    for ((action, why), (count, in_chain, from, to)) in &rows {
        let _ = writeln!(
            out,
            "| {action} | {why} | {count} | {in_chain} | {} | {} |",
            secs(*from),
            secs(*to)
        );
    }
    let _ = writeln!(
        out,
        "| **total** | | **{}** | **{}** | | {} |",
        run.requests.len(),
        chain.len(),
        secs(run.span())
    );

    let in_requests: Duration = chain.iter().map(|r| r.finished - r.started).sum();
    let between: Duration = chain
        .windows(2)
        .map(|w| w[1].started.saturating_sub(w[0].finished))
        .sum();
    let mut by_action: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &chain {
        *by_action.entry(r.action.as_str()).or_default() += 1;
    }
    let mut by_action: Vec<(&str, usize)> = by_action.into_iter().collect();
    by_action.sort_by_key(|a| std::cmp::Reverse(a.1));
    let _ = writeln!(
        out,
        "\nLongest sequential chain: **{}** requests, each sent after the previous one was \
         answered ({}). They spent {} s waiting for moto's answers and {} s between one \
         answer and the next request (the tool's work, its backoff sleeps and token-bucket \
         waits, and other requests it waited for), of {} s wall.",
        chain.len(),
        by_action
            .iter()
            .map(|(a, c)| format!("{a} {c}"))
            .collect::<Vec<_>>()
            .join(", "),
        secs(in_requests),
        secs(between),
        secs(run.out.wall),
    );
    let causal = run.causal_chain(false);
    let _ = writeln!(
        out,
        "\nLongest causal chain without the polls of waits: **{}** calls, each sent by code \
         that had awaited the one before (the tool's own trace, `EC2_GITOPS_CALL_TRACE`: a \
         step's calls come after its needs' calls, not after whatever ended before them), \
         in order: {}. With the polls: {} calls.",
        causal.len(),
        causal
            .iter()
            .map(|c| format!("{} ({})", c.action, c.purpose))
            .collect::<Vec<_>>()
            .join(" → "),
        run.causal_chain(true).len()
    );
    let _ = writeln!(
        out,
        "\nThe timestamp chain also links two calls sent together when moto answers the \
         first before the second leaves. Without the polls of waits ({} requests), in order: {}.",
        run.chain_without_waits(),
        run.chain_without_waits_in_order()
            .iter()
            .map(|(a, why)| format!("{a} ({why})"))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    let polls: Vec<usize> = run
        .requests
        .iter()
        .filter(|r| r.action == "DescribeInstances" && purpose(r) == "wait for a state (poll)")
        .map(instance_ids_named)
        .collect();
    if !polls.is_empty() {
        let _ = writeln!(
            out,
            "\nInstance waits: {} DescribeInstances polls naming {} instance(s) in all \
             (at most {} in one poll) for {} instances launched or terminated.",
            polls.len(),
            polls.iter().sum::<usize>(),
            polls.iter().max().unwrap_or(&0),
            run.requests
                .iter()
                .filter(|r| r.action == "RunInstances" || r.action == "TerminateInstances")
                .count()
        );
    }
    let gaps = run.idle_gaps();
    if !gaps.is_empty() {
        let _ = writeln!(
            out,
            "\nNo request was in flight for {} s of the {} s between the first request and \
             the last answer. The largest such gaps:\n\n\
             | idle s | from s | after (answered) | before (sent) |\n|---:|---:|---|---|",
            secs(run.idle()),
            secs(run.span())
        );
        for (gap, at, before, after) in gaps.iter().take(GAPS_SHOWN) {
            let _ = writeln!(
                out,
                "| {} | {} | {} ({}) | {} ({}) |",
                secs(*gap),
                secs(*at - first),
                before.action,
                purpose(before),
                after.action,
                purpose(after)
            );
        }
    }
}

/// A stack of one entry of `ROLLED` instances of `instance_type`.
fn rolled_yaml(instance_type: &str) -> String {
    format!(
        "version: 1\nstack: {STACK}\nregion: {REGION}\n\ninstances:\n  web:\n    count: {ROLLED}\n    \
         image: {IMAGE}\n    type: {instance_type}\n    tags: {{ role: web }}\n"
    )
}

/// Most instances stopped at once: each is down from its `StopInstances`
/// being sent to its `StartInstances` being answered.
fn most_down_at_once(requests: &[Request]) -> usize {
    let mut events: Vec<(Duration, i32)> = Vec::new();
    for r in requests {
        let ids = r.param_list("InstanceId").len() as i32;
        match r.action.as_str() {
            "StopInstances" => events.push((r.started, ids)),
            "StartInstances" => events.push((r.finished, -ids)),
            _ => {}
        }
    }
    events.sort();
    let (mut now, mut most) = (0, 0);
    for (_, d) in events {
        now += d;
        most = most.max(now);
    }
    most as usize
}

/// A type change of `ROLLED` instances with the default rollout (one at a
/// time, each gated on EC2's status checks): the plan's batches, the
/// requests, how many were down at once, the wall time.
fn rolling(yaml: &Path, proxy: &Ec2Proxy, moto: &Moto) -> String {
    std::fs::write(yaml, rolled_yaml("t3.micro")).expect("write the stack file");
    apply_and_check(yaml, proxy, moto, "rolling: create");
    std::fs::write(yaml, rolled_yaml("t3.small")).expect("write the stack file");
    let planned = process::run(
        process::ec2_command(&proxy.endpoint())
            .args(["plan", "--format", "json"])
            .arg(yaml),
    );
    let json: serde_json::Value =
        serde_json::from_str(&planned.stdout).expect("plan --format json prints JSON");
    let batches = json["plans"][0]["rollouts"][0]["batches"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(
        batches, ROLLED,
        "the plan of the type change should roll one instance at a time:\n{}",
        planned.stdout
    );
    let run = apply_and_check(yaml, proxy, moto, "rolling: type change");
    let count = |action: &str| run.requests.iter().filter(|r| r.action == action).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## A rolling type change of {ROLLED} instances\n\n\
         One entry `web` with `count: {ROLLED}` changes from t3.micro to t3.small, with the \
         default rollout (`max_unavailable: 1`, health `status-checks`, which moto always \
         reports `ok`). {}\n",
        run.line()
    );
    let _ = writeln!(
        out,
        "| batches in the plan | EC2 requests | StopInstances | ModifyInstanceAttribute | StartInstances | DescribeInstanceStatus | most stopped at once | wall s |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {batches} | {} | {} | {} | {} | {} | {} | {} |",
        run.requests.len(),
        count("StopInstances"),
        count("ModifyInstanceAttribute"),
        count("StartInstances"),
        count("DescribeInstanceStatus"),
        most_down_at_once(&run.requests),
        secs(run.out.wall),
    );
    out
}
