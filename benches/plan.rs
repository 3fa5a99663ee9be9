//! The plan benchmark (the budgets of docs/design.md): EC2 read calls, time and memory of
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
//! fields. The results go to stdout, to `docs/benchmarks/plan.md` (and the
//! `README.md` beside it) and, as a chart, to `docs/benchmarks/plan.png`.
//! `scripts/bench.sh` runs this and the other benchmarks.
//!
//! Not a test: `harness = false`, and never part of `cargo test`.

#[path = "../tests/all/support/ec2_proxy.rs"]
mod ec2_proxy;
#[path = "../tests/all/support/moto.rs"]
#[allow(dead_code)] // the benchmark uses only part of the test helper
mod moto;
mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{
    DomainType, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification, VolumeType,
};
use ec2_gitops::model::{Kind, ResourceId, identity_tags};
use ec2_gitops::plan::steps::group_name;

use ec2_proxy::Ec2Proxy;
use moto::Moto;
use support::chart::{self, Figure, Panel, Series};
use support::stack::*;
use support::{machine, pages, plan_json, process};

/// Plan runs per size; the table shows the median.
const RUNS: usize = 3;
/// A plan run slower than this (moto slows down with many resources) is not
/// repeated: the median is then of one run.
const SLOW_RUN: Duration = Duration::from_secs(60);
/// Concurrent seeding calls (moto is one Python process; more does not help).
const SEED_CONCURRENCY: usize = 4;
/// The constant term of the read-call budget (docs/design.md): the calls that do not
/// grow with the stack — key pairs, the stack's addresses, the account's
/// addresses and attributes (elastic-IP quota), images, VPCs, instance-type
/// offerings, and subnets when the YAML names any (8); the load balancer's
/// (the tagging API's `GetResources`; ELB's target groups, load balancers,
/// listeners, the group's attributes and its targets' health: 6, however
/// many servers the group holds); and the subnets of its zones (1).
const BUDGET_CONSTANT: usize = 15;
/// The budget of a 1,000-instance stack's plan (docs/design.md):, tool CPU time and peak memory.
const BUDGET_CPU: Duration = Duration::from_secs(1);
const BUDGET_RSS_MB: f64 = 100.0;

fn main() {
    let sizes = sizes();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the benchmark's runtime");

    let mut results = Vec::new();
    for &n in &sizes {
        eprintln!("== N = {n}");
        let result = runtime.block_on(bench_size(n));
        eprintln!("{}", result.budget_line());
        results.push(result);
        // Written after each size: the large ones take minutes in moto.
        write_chart(&results);
        pages::write("plan", &report(&results));
    }
    println!("\n{}", report(&results));
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

    /// The read-call budget: ⌈instances/1000⌉ + ⌈volumes/500⌉ + ⌈groups/1000⌉ + constant.
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

async fn bench_size(n: usize) -> SizeResult {
    let mut shape = Shape::new(n);
    shape.balancer = true;
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let ec2 = moto.ec2_client(REGION);
    let elb = moto::elb_client_at(&moto.endpoint(), REGION);

    let started = Instant::now();
    seed(&ec2, &shape).await;
    support::balancer::seed(&ec2, &elb, &shape).await;
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
        let run = plan_once(&yaml, &proxy, &moto);
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
        runs,
    }
}

/// Runs `plan` once as a child process and measures it; panics unless the
/// plan is empty.
fn plan_once(yaml: &Path, proxy: &Ec2Proxy, moto: &Moto) -> Run {
    let mut command = process::ec2_command(&proxy.endpoint());
    command
        .arg("plan")
        .arg(yaml)
        .args(["--format", "json", "--detailed-exitcode"]);
    let out = process::run(&mut command);
    if out.code != Some(0) {
        let detail = plan_json::differences(&out.stdout, 20);
        panic!(
            "the plan of the seeded stack is not empty (exit {:?}): the seed or the \
             planner is wrong.\n{detail}\nstderr:\n{}\nmoto log (tail):\n{}",
            out.code,
            out.stderr,
            tail(&moto.log_text(), 30)
        );
    }
    Run {
        wall: out.wall,
        cpu: out.cpu,
        rss_mb: out.rss_mb,
        // The proxy records a call before it answers it: all are in.
        requests: proxy.counts(),
    }
}

fn tail(text: &str, lines: usize) -> String {
    process::tail(text, lines)
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
                // IMDSv2, as `apply` launches (the format's default).
                .metadata_options(
                    aws_sdk_ec2::types::InstanceMetadataOptionsRequest::builder()
                        .http_tokens(aws_sdk_ec2::types::HttpTokensState::Required)
                        .build(),
                )
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
            .instance_id(&ids[shape.instances[*instance].0.as_str()])
            .send()
            .await
            .expect("AssociateAddress");
    }
}

/// The results as Markdown (the machine is in `README.md`).
fn report(results: &[SizeResult]) -> String {
    let mut out = String::new();
    let sizes = results
        .iter()
        .map(|r| r.n.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let _ = writeln!(out, "# Plan\n");
    let _ = writeln!(
        out,
        "`ec2-gitops plan --format json --detailed-exitcode` of a stack of N instances \
         against moto, through the recording proxy (budgets: [design.md](../design.md#budgets)). Made by `benches/plan.rs`:\n\n\
         ```sh\ncargo bench --bench plan -- {sizes}\n```\n\n{}\n",
        machine::measured_line()
    );
    let _ = writeln!(
        out,
        "The stack (seeded as `apply` makes it, one RunInstances per instance): \
         N instances of {INSTANCE_TYPE} in the default VPC, one security group, one key pair, \
         a {VOLUME_SIZE_GB} GiB data volume on one instance in {VOLUME_EVERY} (plus every \
         instance's tagged root volume), {ELASTIC_IPS} elastic IPs, and every instance \
         without a data volume in target group `{TARGET_GROUP}` behind load balancer \
         `{BALANCER}` (an HTTP listener in two zones): its reads (`GetResources`, \
         `DescribeTargetGroups`, `DescribeLoadBalancers`, `DescribeListeners`, \
         `DescribeTargetGroupAttributes`, `DescribeTargetHealth`) are one each whatever the \
         number of servers the group holds. `count` is limited to \
         {MAX_COUNT} by the config, so larger stacks are written as several instance entries \
         (`web`, `web2`, …). The YAML matches what was seeded, so every plan is empty \
         (checked: the benchmark fails otherwise). Wall time includes moto's time; tool CPU \
         is the plan process's user+sys time and peak RSS its maximum resident set \
         (`wait4`). Median of {RUNS} runs (one run where a run takes over a minute).\n"
    );
    let _ = writeln!(
        out,
        "![EC2 requests, time and peak memory per plan against the number of instances, \
         with the budgets](plan.png)\n"
    );
    let _ = writeln!(
        out,
        "| N instances | volumes (data) | groups | EC2 requests | budget | runs | wall s | tool CPU s | tool CPU / wall | peak RSS MB | seed s |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
    );
    for r in results {
        let wall = r.median(|x| x.wall.as_secs_f64());
        let cpu = r.median(|x| x.cpu.as_secs_f64());
        let _ = writeln!(
            out,
            "| {} | {} ({}) | {} | {} | ≤ {} {} | {} | {:.2} | {:.2} | {:.0} % | {:.1} | {:.0} |",
            r.n,
            r.volumes,
            r.data_volumes,
            r.groups,
            r.total_requests(),
            r.call_budget(),
            pass(r.calls_ok()),
            r.runs.len(),
            wall,
            cpu,
            100.0 * cpu / wall,
            r.median(|x| x.rss_mb),
            r.seed.as_secs_f64(),
        );
    }

    let _ = writeln!(out, "\n## EC2 requests per plan, by action\n");
    let _ = writeln!(
        out,
        "| action | {} |",
        results
            .iter()
            .map(|r| format!("N = {}", r.n))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---:|".repeat(results.len()));
    let actions: std::collections::BTreeSet<&str> = results
        .iter()
        .flat_map(|r| r.requests().keys().map(String::as_str))
        .collect();
    for action in actions {
        let _ = writeln!(
            out,
            "| {action} | {} |",
            results
                .iter()
                .map(|r| r.requests().get(action).copied().unwrap_or(0).to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    let _ = writeln!(
        out,
        "| **total** | {} |",
        results
            .iter()
            .map(|r| format!("**{}**", r.total_requests()))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "| budget | {} |",
        results
            .iter()
            .map(|r| format!("≤ {}", r.call_budget()))
            .collect::<Vec<_>>()
            .join(" | ")
    );

    let _ = writeln!(out, "\n## Budgets (docs/design.md)\n");
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
         The constant is the calls that do not grow with the stack: key pairs, the stack's \
         addresses, the account's addresses and attributes (elastic-IP quota), images, VPCs, \
         instance-type offerings, and subnets when the YAML names any. Instances are paged \
         by reservation (moto's `MaxResults` counts reservations; apply makes one per \
         instance)."
    );
    if let Some(largest) = results.iter().max_by_key(|r| r.n) {
        let wall = largest.median(|x| x.wall.as_secs_f64());
        let cpu = largest.median(|x| x.cpu.as_secs_f64());
        let _ = writeln!(
            out,
            "\nWhere the time goes: at N = {} the plan took {:.1} s of wall time and {:.2} s \
             of the tool's CPU ({:.1} %); the rest is moto answering (its tag-filtered \
             DescribeInstances and DescribeVolumes get slower per resource as the account \
             grows: seeding took {:.0} s) and the tool waiting for it.",
            largest.n,
            wall,
            cpu,
            100.0 * cpu / wall,
            largest.seed.as_secs_f64()
        );
    }
    out
}

/// `docs/benchmarks/plan.png`: requests, time and memory per plan by size,
/// each with its budget (docs/design.md).
fn write_chart(results: &[SizeResult]) {
    let n = |r: &SizeResult| r.n as f64;
    let measured = |label: &str, color, f: &dyn Fn(&SizeResult) -> f64| Series {
        label: label.to_string(),
        points: results.iter().map(|r| (n(r), f(r))).collect(),
        color,
        budget: false,
    };
    let budget = |label: &str, points: Vec<(f64, f64)>| Series {
        label: label.to_string(),
        points,
        color: chart::RED,
        budget: true,
    };
    let largest = results.iter().map(|r| r.n).max().unwrap_or(1000).max(1000) as f64;
    let x = (5.0, largest * 2.0);
    // The call budget at every size on the axis, as the stack's shape grows
    // (a root volume per instance, plus the data volumes): a step where it
    // changes.
    let calls = |n: usize| {
        let volumes = n + n / VOLUME_EVERY;
        (n.div_ceil(1000) + volumes.div_ceil(500) + 1 + BUDGET_CONSTANT) as f64
    };
    let mut budget_points = vec![(x.0, calls(x.0 as usize))];
    for n in x.0 as usize..=x.1 as usize {
        let (before, now) = (calls(n - 1), calls(n));
        if before != now {
            budget_points.push((n as f64, before));
            budget_points.push((n as f64, now));
        }
    }
    budget_points.push((x.1, calls(x.1 as usize)));
    let figure = Figure {
        title: "ec2-gitops plan against moto, by stack size".into(),
        subtitle: format!(
            "median of up to {RUNS} runs; each instance with a root volume, 1 in {VOLUME_EVERY} \
             with a data volume, 1 group, {ELASTIC_IPS} elastic IPs; dashed: budget"
        ),
        x_label: "instances in the stack (log scale)".into(),
        x,
        panels: vec![
            Panel {
                title: "EC2 requests per plan".into(),
                y_label: "requests (counted by the proxy)".into(),
                log_y: false,
                series: vec![
                    measured("EC2 requests", chart::BLUE, &|r| r.total_requests() as f64),
                    budget("budget: pages + 8", budget_points),
                ],
            },
            Panel {
                title: "Time per plan".into(),
                y_label: "seconds (log scale)".into(),
                log_y: true,
                series: vec![
                    measured("tool CPU (user + sys)", chart::BLUE, &|r| {
                        r.median(|x| x.cpu.as_secs_f64())
                    }),
                    measured("wall, incl. moto", chart::ORANGE, &|r| {
                        r.median(|x| x.wall.as_secs_f64())
                    }),
                    budget(
                        "budget: tool < 1 s (≤ 1,000)",
                        vec![
                            (x.0, BUDGET_CPU.as_secs_f64()),
                            (1000.0, BUDGET_CPU.as_secs_f64()),
                        ],
                    ),
                ],
            },
            Panel {
                title: "Peak memory of the tool".into(),
                y_label: "peak RSS, MB".into(),
                log_y: false,
                series: vec![
                    measured("peak RSS", chart::GREEN, &|r| r.median(|x| x.rss_mb)),
                    budget(
                        "budget: < 100 MB (≤ 1,000)",
                        vec![(x.0, BUDGET_RSS_MB), (1000.0, BUDGET_RSS_MB)],
                    ),
                ],
            },
        ],
    };
    let path = pages::dir().join("plan.png");
    chart::draw(&figure, &path).unwrap_or_else(|e| panic!("draw {}: {e}", path.display()));
}
