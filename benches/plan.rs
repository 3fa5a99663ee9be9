//! The plan benchmark (SPEC §7): EC2 read calls, time and memory of
//! `ec2-gitops plan` against moto for stacks of N instances.
//!
//! ```text
//! cargo bench --bench plan               # N = 1000 and 5000
//! cargo bench --bench plan -- 10 100 1000 5000
//! ```
//!
//! For each N it starts moto and the recording proxy, seeds moto directly
//! (not through the proxy, so seeding is not counted) with a stack `bench`
//! as `ec2-gitops apply` would have made it, writes the matching YAML, and
//! runs the real binary's `plan --format json --detailed-exitcode` three
//! times through the proxy. The plan must be empty: anything else means the
//! seed or the planner is wrong, and the benchmark fails with the differing
//! fields. The results table goes to stdout and to `docs/benchmarks/plan.md`.
//!
//! Not a test: `harness = false`, and never part of `cargo test`.

#[path = "../tests/all/support/ec2_proxy.rs"]
mod ec2_proxy;
#[path = "../tests/all/support/moto.rs"]
#[allow(dead_code)] // the benchmark uses only part of the test helper
mod moto;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{
    DomainType, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification, VolumeType,
};
use ec2_gitops::model::{Kind, ResourceId, identity_tags};
use ec2_gitops::plan::steps::group_name;

use ec2_proxy::Ec2Proxy;
use moto::Moto;

const STACK: &str = "bench";
const REGION: &str = "us-east-1";
/// An AMI moto 5.2 knows in us-east-1 (as in the web-hosting example).
const IMAGE: &str = "ami-0e1e769742d1cfb49";
const INSTANCE_TYPE: &str = "t3.micro";
const KEY_PAIR: &str = "deploy";
const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHlth9viP3YlUZf/E7QM/+JJDrOV9IwGcBVJdVWOJsk bench@example.com";
const GROUP: &str = "web";
const GROUP_DESCRIPTION: &str = "Public HTTP and HTTPS";
/// One instance in this many has a data volume.
const VOLUME_EVERY: usize = 10;
const VOLUME_DEVICE: &str = "/dev/sdf";
const VOLUME_SIZE_GB: i32 = 10;
/// Elastic IPs of the stack (on the first web instances).
const ELASTIC_IPS: usize = 3;
/// The config's limit on `count`: larger stacks use several instance entries.
const MAX_COUNT: usize = 1000;
/// Plan runs per size; the table shows the median.
const RUNS: usize = 3;
/// A plan run slower than this (moto slows down with many resources) is not
/// repeated: the median is then of one run.
const SLOW_RUN: Duration = Duration::from_secs(60);
/// Concurrent seeding calls (moto is one Python process; more does not help).
const SEED_CONCURRENCY: usize = 4;
/// SPEC §7's constant term of the read-call budget: the calls that do not
/// grow with the stack — key pairs, the stack's addresses, the account's
/// addresses and attributes (elastic-IP quota), images, VPCs, instance-type
/// offerings, and subnets when the YAML names any.
const BUDGET_CONSTANT: usize = 8;
/// SPEC §7: plan of a 1,000-instance stack, tool CPU time and peak memory.
const BUDGET_CPU: Duration = Duration::from_secs(1);
const BUDGET_RSS_MB: f64 = 100.0;

fn main() {
    let sizes = sizes();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_ec2-gitops"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the benchmark's runtime");

    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/benchmarks/plan.md");
    std::fs::create_dir_all(out.parent().expect("docs/benchmarks"))
        .expect("create docs/benchmarks");
    let mut results = Vec::new();
    for &n in &sizes {
        eprintln!("== N = {n}");
        let result = runtime.block_on(bench_size(&binary, n));
        eprintln!("{}", result.budget_line());
        results.push(result);
        // Written after each size: the large ones take minutes in moto.
        std::fs::write(&out, report(&results))
            .unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    }
    println!("\n{}", report(&results));
    eprintln!("written to {}", out.display());
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.budget_ok())
        .map(|r| r.n.to_string())
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "\n!!!!!!!! BUDGET MISSED for N = {} (see the table) !!!!!!!!\n",
            failed.join(", ")
        );
    }
}

/// The sizes on the command line (numbers only; cargo's own flags such as
/// `--bench` are ignored), 1000 and 5000 by default.
fn sizes() -> Vec<usize> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| {
            a.parse().ok().filter(|&n| n > 0).unwrap_or_else(|| {
                panic!("not a stack size: {a:?} (give instance counts, e.g. `-- 10 100 1000`)")
            })
        })
        .collect();
    if sizes.is_empty() {
        vec![1000, 5000]
    } else {
        sizes
    }
}

/// The shape of a benchmark stack of `n` instances.
struct Shape {
    /// Instance entries of the YAML: (name, count, has a data volume).
    entries: Vec<(String, usize, bool)>,
    /// Instance names after `count` expansion, with their data-volume flag.
    instances: Vec<(String, bool)>,
    /// Elastic IP name → instance name.
    addresses: Vec<(String, String)>,
}

impl Shape {
    fn new(n: usize) -> Shape {
        let with_volume = n / VOLUME_EVERY;
        let without = n - with_volume;
        let mut entries = Vec::new();
        for (base, total, volume) in [("web", without, false), ("db", with_volume, true)] {
            let mut left = total;
            let mut part = 1;
            while left > 0 {
                let count = left.min(MAX_COUNT);
                let name = if part == 1 {
                    base.to_string()
                } else {
                    format!("{base}{part}")
                };
                entries.push((name, count, volume));
                left -= count;
                part += 1;
            }
        }
        let instances: Vec<(String, bool)> = entries
            .iter()
            .flat_map(|(name, count, volume)| {
                expanded_names(name, *count)
                    .into_iter()
                    .map(move |n| (n, *volume))
            })
            .collect();
        let addresses = instances
            .iter()
            .filter(|(_, volume)| !volume)
            .take(ELASTIC_IPS)
            .enumerate()
            .map(|(i, (name, _))| (format!("ip-{}", i + 1), name.clone()))
            .collect();
        Shape {
            entries,
            instances,
            addresses,
        }
    }

    fn data_volumes(&self) -> usize {
        self.instances.iter().filter(|(_, v)| *v).count()
    }

    /// The stack file that describes exactly what `seed` makes.
    fn yaml(&self) -> String {
        let mut y = format!(
            "version: 1\nstack: {STACK}\nregion: {REGION}\n\n\
             defaults:\n  image: {IMAGE}\n  type: {INSTANCE_TYPE}\n  key_pair: {KEY_PAIR}\n  \
             security_groups: [{GROUP}]\n\n\
             key_pairs:\n  {KEY_PAIR}:\n    public_key: {PUBLIC_KEY}\n\n\
             security_groups:\n  {GROUP}:\n    description: {GROUP_DESCRIPTION}\n    ingress:\n      \
             - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}\n      \
             - {{ protocol: tcp, ports: 443, cidr: [0.0.0.0/0, \"::/0\"] }}\n\n\
             instances:\n"
        );
        for (name, count, volume) in &self.entries {
            let _ = writeln!(y, "  {name}:\n    count: {count}");
            if *volume {
                let _ = writeln!(
                    y,
                    "    volumes:\n      - {{ name: data, device: {VOLUME_DEVICE}, size_gb: {VOLUME_SIZE_GB}, type: gp3 }}"
                );
            }
        }
        if !self.addresses.is_empty() {
            y.push_str("\nelastic_ips:\n");
            for (ip, instance) in &self.addresses {
                let _ = writeln!(y, "  {ip}: {{ instance: {instance} }}");
            }
        }
        y
    }
}

/// `count` expansion as the config does it: `web` for one, `web-1` … for more.
fn expanded_names(name: &str, count: usize) -> Vec<String> {
    if count <= 1 {
        vec![name.to_string()]
    } else {
        (1..=count).map(|i| format!("{name}-{i}")).collect()
    }
}

/// What one size measured.
struct SizeResult {
    n: usize,
    seed: Duration,
    /// Stack-tagged volumes in EC2 (one root per instance, plus data volumes).
    volumes: usize,
    data_volumes: usize,
    groups: usize,
    /// One reservation per instance (apply launches one at a time).
    reservations: usize,
    addresses: usize,
    runs: Vec<Run>,
}

/// One plan run.
#[derive(Clone)]
struct Run {
    wall: Duration,
    cpu: Duration,
    rss_mb: f64,
    requests: BTreeMap<String, usize>,
}

impl SizeResult {
    fn median(&self, key: impl Fn(&Run) -> f64) -> f64 {
        let mut values: Vec<f64> = self.runs.iter().map(key).collect();
        values.sort_by(|a, b| a.total_cmp(b));
        values[values.len() / 2]
    }

    /// Requests of the median-wall run (every run is checked to agree).
    fn requests(&self) -> &BTreeMap<String, usize> {
        let wall = self.median(|r| r.wall.as_secs_f64());
        &self
            .runs
            .iter()
            .find(|r| r.wall.as_secs_f64() == wall)
            .expect("the median is one of the runs")
            .requests
    }

    fn total_requests(&self) -> usize {
        self.requests().values().sum()
    }

    /// SPEC §7: ⌈instances/1000⌉ + ⌈volumes/500⌉ + ⌈groups/1000⌉ + constant.
    fn call_budget(&self) -> usize {
        self.n.div_ceil(1000)
            + self.volumes.div_ceil(500)
            + self.groups.div_ceil(1000)
            + BUDGET_CONSTANT
    }

    fn calls_ok(&self) -> bool {
        self.total_requests() <= self.call_budget()
    }

    /// The time and memory budget is stated for 1,000 instances; it applies
    /// to smaller stacks too, and is not checked above that.
    fn time_memory_checked(&self) -> bool {
        self.n <= 1000
    }

    fn time_memory_ok(&self) -> bool {
        !self.time_memory_checked()
            || (self.median(|r| r.cpu.as_secs_f64()) < BUDGET_CPU.as_secs_f64()
                && self.median(|r| r.rss_mb) < BUDGET_RSS_MB)
    }

    fn budget_ok(&self) -> bool {
        self.calls_ok() && self.time_memory_ok()
    }

    fn budget_line(&self) -> String {
        let calls = format!(
            "EC2 calls {} ≤ {} ({})",
            self.total_requests(),
            self.call_budget(),
            pass(self.calls_ok())
        );
        let time = if self.time_memory_checked() {
            format!(
                "tool CPU {:.2} s < 1 s, peak RSS {:.1} MB < 100 MB ({})",
                self.median(|r| r.cpu.as_secs_f64()),
                self.median(|r| r.rss_mb),
                pass(self.time_memory_ok())
            )
        } else {
            "time/memory budget not checked above 1,000 instances".to_string()
        };
        let line = format!("N = {}: {calls}; {time}", self.n);
        if self.budget_ok() {
            line
        } else {
            format!("!!! BUDGET MISSED !!! {line}")
        }
    }

    /// The pages a paginated read of this size needs, for the actions whose
    /// calls may grow with the stack; `None` for every other action.
    fn pages(&self, action: &str) -> Option<usize> {
        match action {
            // moto's MaxResults counts reservations; apply makes one each.
            "DescribeInstances" => Some(self.reservations.div_ceil(1000).max(1)),
            "DescribeVolumes" => Some(self.volumes.div_ceil(500).max(1)),
            "DescribeSecurityGroups" => Some(self.groups.div_ceil(1000).max(1)),
            _ => None,
        }
    }

    /// Calls of the actions that do not page, by action: the budget's
    /// constant term.
    fn fixed_calls(&self) -> BTreeMap<&str, usize> {
        self.requests()
            .iter()
            .filter(|(action, _)| self.pages(action).is_none())
            .map(|(action, &count)| (action.as_str(), count))
            .collect()
    }

    /// What a reader should look at: paginated reads that took more calls
    /// than pages (a call per resource would show here) and a constant
    /// term above the budget's.
    fn findings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .requests()
            .iter()
            .filter_map(|(action, &count)| {
                let pages = self.pages(action)?;
                if count > pages {
                    Some(format!("{action}: {count} calls for {pages} page(s)"))
                } else if count < pages {
                    Some(format!(
                        "{action}: {count} call(s) where real EC2 needs {pages} page(s): moto \
                         answered with fewer, larger pages (moto 5.2 ignores MaxResults on \
                         DescribeVolumes)"
                    ))
                } else {
                    None
                }
            })
            .collect();
        let fixed = self.fixed_calls();
        let total: usize = fixed.values().sum();
        if total > BUDGET_CONSTANT {
            out.push(format!(
                "{total} calls that do not grow with the stack, the budget allows {BUDGET_CONSTANT}: {}",
                fixed
                    .iter()
                    .map(|(a, c)| format!("{a} {c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out
    }
}

/// Actions whose count changes between sizes without being a paginated read:
/// the signature of a call per resource.
fn growing(results: &[SizeResult]) -> Vec<String> {
    let mut counts: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for r in results {
        for (action, &count) in r.requests() {
            if r.pages(action).is_none() {
                counts.entry(action).or_default().push((r.n, count));
            }
        }
    }
    counts
        .into_iter()
        .filter(|(_, by_size)| {
            by_size.len() != results.len() || by_size.iter().any(|(_, c)| *c != by_size[0].1)
        })
        .map(|(action, by_size)| {
            let sizes = by_size
                .iter()
                .map(|(n, c)| format!("{c} at N = {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("{action}: {sizes}")
        })
        .collect()
}

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

async fn bench_size(binary: &Path, n: usize) -> SizeResult {
    let shape = Shape::new(n);
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let ec2 = moto.ec2_client(REGION);

    let started = Instant::now();
    seed(&ec2, &shape).await;
    let seed_time = started.elapsed();
    eprintln!(
        "seeded {} instances, {} data volumes, {} addresses in {:.1} s",
        shape.instances.len(),
        shape.data_volumes(),
        shape.addresses.len(),
        seed_time.as_secs_f64()
    );

    let dir = tempfile::tempdir().expect("temp dir for the stack file");
    let yaml = dir.path().join("bench.yaml");
    std::fs::write(&yaml, shape.yaml()).expect("write the stack file");

    // apply tags every root volume: one per instance, plus the data volumes.
    let volumes = shape.instances.len() + shape.data_volumes();
    let mut runs = Vec::new();
    for i in 0..RUNS {
        proxy.clear();
        let run = plan_once(binary, &yaml, &proxy, &moto);
        eprintln!(
            "run {}: {:.2} s wall, {:.2} s CPU, {:.1} MB, {} EC2 calls {:?}",
            i + 1,
            run.wall.as_secs_f64(),
            run.cpu.as_secs_f64(),
            run.rss_mb,
            run.requests.values().sum::<usize>(),
            run.requests
        );
        let slow = run.wall > SLOW_RUN;
        runs.push(run);
        if slow && i + 1 < RUNS {
            eprintln!(
                "a run took over {} s (moto's time): one run only at this size",
                SLOW_RUN.as_secs()
            );
            break;
        }
    }
    if runs.iter().any(|r| r.requests != runs[0].requests) {
        eprintln!("note: the runs made different calls; the table shows the median run's");
    }
    SizeResult {
        n,
        seed: seed_time,
        volumes,
        data_volumes: shape.data_volumes(),
        groups: 1,
        reservations: shape.instances.len(),
        addresses: shape.addresses.len(),
        runs,
    }
}

/// Runs `plan` once as a child process and measures it; panics unless the
/// plan is empty.
// The child is reaped with wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn plan_once(binary: &Path, yaml: &Path, proxy: &Ec2Proxy, moto: &Moto) -> Run {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .arg("plan")
        .arg(yaml)
        .args(["--format", "json", "--detailed-exitcode"])
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("EC2_GITOPS_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let pid = child.id() as libc::pid_t;
    let mut stdout_pipe = child.stdout.take().expect("child stdout");
    let mut stderr_pipe = child.stderr.take().expect("child stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    let mut stdout = String::new();
    stdout_pipe
        .read_to_string(&mut stdout)
        .expect("read the plan's stdout");
    let stderr = stderr_reader.join().expect("stderr reader");

    // wait4, not Child::wait: it also gives the child's CPU time and peak RSS.
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unreaped child, the pointers are valid for writes.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(
        reaped,
        pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));

    if code != Some(0) {
        let detail = plan_differences(&stdout);
        panic!(
            "the plan of the seeded stack is not empty (exit {code:?}): the seed or the \
             planner is wrong.\n{detail}\nstderr:\n{stderr}\nmoto log (tail):\n{}",
            tail(&moto.log_text(), 30)
        );
    }
    let timeval = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Run {
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        // Linux reports ru_maxrss in KiB.
        rss_mb: usage.ru_maxrss as f64 / 1024.0,
        // The proxy records a call before it answers it: all are in.
        requests: proxy.counts(),
    }
}

/// The non-empty plan's changes, field by field, from its JSON.
fn plan_differences(stdout: &str) -> String {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(stdout) else {
        return format!("stdout (not JSON):\n{}", tail(stdout, 40));
    };
    let mut out = String::new();
    for plan in json["plans"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "summary: {}", plan["summary"]);
        for e in plan["errors"].as_array().into_iter().flatten() {
            let _ = writeln!(out, "error: {} {}", e["resource"], e["message"]);
        }
        let changes = plan["changes"].as_array().cloned().unwrap_or_default();
        for c in changes.iter().take(20) {
            let _ = writeln!(
                out,
                "{} {}/{} ({})",
                c["action"].as_str().unwrap_or("?"),
                c["resource"]["kind"].as_str().unwrap_or("?"),
                c["resource"]["name"].as_str().unwrap_or("?"),
                c["live_id"]
            );
            for f in c["fields"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "    {}: {} -> {}",
                    f["field"].as_str().unwrap_or("?"),
                    f["before"],
                    f["after"]
                );
            }
        }
        if changes.len() > 20 {
            let _ = writeln!(out, "… and {} more changes", changes.len() - 20);
        }
    }
    out
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn tags(map: &BTreeMap<String, String>) -> Vec<Tag> {
    map.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn tag_spec(kind: ResourceType, id: &ResourceId) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags(&identity_tags(STACK, id))))
        .build()
}

/// Makes in moto what `ec2-gitops apply` makes for `shape`: the key pair, the
/// group with its rules, one RunInstances per instance with its identity tags
/// and its root volume's, the data volumes attached, the addresses
/// associated.
async fn seed(ec2: &aws_sdk_ec2::Client, shape: &Shape) {
    let vpcs = ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    let vpc = vpcs
        .vpcs()
        .iter()
        .find(|v| v.is_default() == Some(true))
        .and_then(|v| v.vpc_id())
        .expect("moto has a default VPC")
        .to_string();

    ec2.import_key_pair()
        .key_name(format!("{STACK}-{KEY_PAIR}"))
        .public_key_material(aws_sdk_ec2::primitives::Blob::new(PUBLIC_KEY))
        .tag_specifications(tag_spec(
            ResourceType::KeyPair,
            &ResourceId::new(Kind::KeyPair, KEY_PAIR),
        ))
        .send()
        .await
        .expect("ImportKeyPair");

    let group = ec2
        .create_security_group()
        .group_name(group_name(STACK, GROUP, GROUP_DESCRIPTION, &vpc))
        .description(GROUP_DESCRIPTION)
        .vpc_id(&vpc)
        .tag_specifications(tag_spec(
            ResourceType::SecurityGroup,
            &ResourceId::new(Kind::SecurityGroup, GROUP),
        ))
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .expect("group id")
        .to_string();
    let tcp = |port: i32| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
    };
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            tcp(80)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .ip_permissions(
            tcp(443)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build(),
        )
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");

    // Instances, then their data volumes, a few calls at a time.
    let limit = Arc::new(tokio::sync::Semaphore::new(SEED_CONCURRENCY));
    let mut launches = tokio::task::JoinSet::new();
    for (name, volume) in shape.instances.iter().cloned() {
        let ec2 = ec2.clone();
        let group = group.clone();
        let limit = limit.clone();
        launches.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore");
            let out = ec2
                .run_instances()
                .image_id(IMAGE)
                .instance_type(INSTANCE_TYPE.into())
                .min_count(1)
                .max_count(1)
                .key_name(format!("{STACK}-{KEY_PAIR}"))
                .security_group_ids(&group)
                .tag_specifications(tag_spec(
                    ResourceType::Instance,
                    &ResourceId::new(Kind::Instance, &name),
                ))
                .tag_specifications(tag_spec(
                    ResourceType::Volume,
                    &ResourceId::new(Kind::Volume, format!("{name}/root")),
                ))
                .send()
                .await
                .unwrap_or_else(|e| panic!("RunInstances {name}: {e:?}"));
            let instance = out.instances().first().expect("one instance");
            let id = instance.instance_id().expect("instance id").to_string();
            let zone = instance
                .placement()
                .and_then(|p| p.availability_zone())
                .expect("availability zone")
                .to_string();
            if volume {
                let volume_id = ec2
                    .create_volume()
                    .availability_zone(&zone)
                    .size(VOLUME_SIZE_GB)
                    .volume_type(VolumeType::Gp3)
                    .tag_specifications(tag_spec(
                        ResourceType::Volume,
                        &ResourceId::new(Kind::Volume, format!("{name}/data")),
                    ))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("CreateVolume {name}/data: {e:?}"))
                    .volume_id()
                    .expect("volume id")
                    .to_string();
                ec2.attach_volume()
                    .volume_id(&volume_id)
                    .instance_id(&id)
                    .device(VOLUME_DEVICE)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("AttachVolume {name}/data: {e:?}"));
            }
            (name, id)
        });
    }
    let mut ids = BTreeMap::new();
    while let Some(joined) = launches.join_next().await {
        let (name, id) = joined.expect("seeding task");
        ids.insert(name, id);
    }

    for (ip, instance) in &shape.addresses {
        let allocation = ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(
                ResourceType::ElasticIp,
                &ResourceId::new(Kind::ElasticIp, ip),
            ))
            .send()
            .await
            .expect("AllocateAddress")
            .allocation_id()
            .expect("allocation id")
            .to_string();
        ec2.associate_address()
            .allocation_id(allocation)
            .instance_id(&ids[instance])
            .send()
            .await
            .expect("AssociateAddress");
    }
}

/// The results as Markdown, with the machine they were measured on.
fn report(results: &[SizeResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Plan benchmark\n");
    let _ = writeln!(
        out,
        "`ec2-gitops plan --format json --detailed-exitcode` of a stack of N instances \
         against moto, through a recording proxy (SPEC §7). Made by `benches/plan.rs`:\n\n\
         ```sh\ncargo bench --bench plan -- {}\n```\n",
        results
            .iter()
            .map(|r| r.n.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(
        out,
        "The stack (seeded as `apply` makes it, one RunInstances per instance): \
         N instances of {INSTANCE_TYPE} in the default VPC, one security group, one key pair, \
         a {VOLUME_SIZE_GB} GiB data volume on one instance in {VOLUME_EVERY} (plus every \
         instance's tagged root volume), {ELASTIC_IPS} elastic IPs. The YAML matches it, so \
         every plan is empty (checked). Wall time includes moto's time; tool CPU is the \
         plan process's user+sys time and peak RSS its maximum resident set (`wait4`). \
         Median of {RUNS} runs (one run where a run takes over a minute).\n"
    );
    let _ = writeln!(
        out,
        "| N | instances | volumes (data) | groups | EC2 requests | by action | budget | runs | wall s | tool CPU s | peak RSS MB | seed s |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|"
    );
    for r in results {
        let by_action = r
            .requests()
            .iter()
            .map(|(a, c)| format!("{a} {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "| {} | {} | {} ({}) | {} | {} | {} | ≤ {} {} | {} | {:.2} | {:.2} | {:.1} | {:.0} |",
            r.n,
            r.n,
            r.volumes,
            r.data_volumes,
            r.groups,
            r.total_requests(),
            by_action,
            r.call_budget(),
            pass(r.calls_ok()),
            r.runs.len(),
            r.median(|x| x.wall.as_secs_f64()),
            r.median(|x| x.cpu.as_secs_f64()),
            r.median(|x| x.rss_mb),
            r.seed.as_secs_f64(),
        );
    }
    let _ = writeln!(out, "\nBudgets (SPEC §7):\n");
    for r in results {
        let _ = writeln!(out, "- {}", r.budget_line());
        for finding in r.findings() {
            let _ = writeln!(out, "  - {finding}");
        }
    }
    let growing = growing(results);
    if growing.is_empty() {
        let _ = writeln!(
            out,
            "\nNo call per resource: apart from the paginated reads of instances, volumes \
             and groups, every action made the same number of calls at every size."
        );
    } else {
        let _ = writeln!(
            out,
            "\nActions whose calls change with N (not paginated reads):\n"
        );
        for g in growing {
            let _ = writeln!(out, "- {g}");
        }
    }
    let _ = writeln!(
        out,
        "\nRead-call budget: ⌈instances/1000⌉ + ⌈volumes/500⌉ + ⌈groups/1000⌉ + {BUDGET_CONSTANT}, \
         counting every stack-tagged volume (roots included) and every request the proxy saw. \
         Instances are paged by reservation (moto's `MaxResults` counts reservations; apply \
         makes one per instance). Everything else (key pairs, the {} elastic IPs, region \
         checks) does not page and is the constant term.\n",
        results.first().map_or(0, |r| r.addresses)
    );
    let _ = writeln!(out, "## Machine\n");
    for (k, v) in machine() {
        let _ = writeln!(out, "- {k}: {v}");
    }
    out
}

fn machine() -> Vec<(&'static str, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .map_or_else(
            || "unknown".into(),
            |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
        );
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let moto_python = moto::moto_server_path().with_file_name("python");
    vec![
        (
            "date (UTC)",
            command_output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M"])),
        ),
        (
            "commit",
            command_output(Command::new("git").args([
                "-C",
                env!("CARGO_MANIFEST_DIR"),
                "describe",
                "--always",
                "--dirty",
            ])),
        ),
        ("CPUs (nproc)", nproc.to_string()),
        ("CPU", cpu),
        ("memory", memory),
        (
            "rustc",
            command_output(
                Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
                    .arg("--version"),
            ),
        ),
        (
            "moto",
            command_output(
                Command::new(moto_python).args(["-c", "import moto; print(moto.__version__)"]),
            ),
        ),
    ]
}

fn command_output(command: &mut Command) -> String {
    match command.output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(out) => format!("unknown ({})", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("unknown ({e})"),
    }
}
