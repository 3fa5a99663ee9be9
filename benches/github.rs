//! The GitHub benchmark: the REST calls `ec2-gitops action` makes per event,
//! by method and route, and how many of them write.
//!
//! ```text
//! cargo bench --bench github
//! ```
//!
//! The real binary runs as the action's container would (the environment of
//! `tests/all/action/mod.rs`), fed with real webhook payloads from npm
//! `@octokit/webhooks-examples`, against the stateful GitHub fake of the test
//! suite (which records every request and fails on one it does not expect)
//! and moto behind the recording proxy. One pull request changing one stack
//! is opened, gets a `/plan` comment from a user with write access, and is
//! merged (the push applies it). Each request is named by the route of
//! GitHub's OpenAPI description (npm `@octokit/openapi`) it matches. The
//! results go to stdout and to `docs/benchmarks/github.md` (and the
//! `README.md` beside it).
//!
//! Not a test: `harness = false`, and never part of `cargo test`.

#[path = "../tests/all/support/ec2_proxy.rs"]
mod ec2_proxy;
#[path = "../tests/all/support/github.rs"]
// The benchmark uses only part of the fake; its unit tests (cfg(test)) are
// not compiled without the test harness, which leaves their import unused.
#[allow(dead_code, unused_imports)]
mod github;
#[path = "../tests/all/support/moto.rs"]
#[allow(dead_code)] // the benchmark uses only part of the test helper
mod moto;
mod support;
#[path = "../tests/all/support/webhooks.rs"]
#[allow(dead_code)] // the benchmark uses only part of the payloads
mod webhooks;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use ec2_proxy::Ec2Proxy;
use github::{FakeGitHub, PullSpec, Recorded};
use moto::Moto;
use support::process::{self, Measured};
use support::{machine, pages};

const OWNER: &str = "octo";
const NAME: &str = "infra";
const REPO: &str = "octo/infra";
const HEAD: &str = "1111111111111111111111111111111111111111";
const MERGE: &str = "3333333333333333333333333333333333333333";
const PR: u64 = 7;
const STACK_FILE: &str = "infra/web.yaml";
/// The budget of `/plan`: at most 8 GitHub REST calls, 4 of them writes
/// (👀, the one comment's edit, the plan status, 🚀).
const PLAN_BUDGET_CALLS: usize = 8;
const PLAN_BUDGET_WRITES: usize = 4;
/// The stack the pull request changes: the web-hosting example's shape.
const STACK: &str = r#"version: 1
stack: web
region: us-east-1
defaults:
  image: ami-0e1e769742d1cfb49
  type: t3.micro
  key_pair: deploy
  security_groups: [web]
key_pairs:
  deploy:
    public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHlth9viP3YlUZf/E7QM/+JJDrOV9IwGcBVJdVWOJsk ops@example.com
security_groups:
  web:
    description: Public HTTP
    ingress:
      - { protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }
      - { protocol: tcp, ports: 22, from: admin }
  admin:
    description: Bastion
    ingress:
      - { protocol: tcp, ports: 22, cidr: 203.0.113.0/24 }
instances:
  web:
    count: 2
    root_volume: { size_gb: 10, type: gp3 }
  db:
    type: t3.small
    volumes:
      - { name: data, device: /dev/sdf, size_gb: 20, type: gp3 }
elastic_ips:
  web-ip: { instance: web-1 }
"#;

/// What one event cost.
struct EventCost {
    event: &'static str,
    requests: Vec<Recorded>,
    ec2: BTreeMap<String, usize>,
    out: Measured,
}

impl EventCost {
    fn writes(&self) -> usize {
        self.requests.iter().filter(|r| is_write(r)).count()
    }
}

fn is_write(r: &Recorded) -> bool {
    r.method != "GET" && r.method != "HEAD"
}

fn main() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let gh = FakeGitHub::start();
    gh.add_repo(REPO);
    gh.set_permission("writer", "write");
    let dir = tempfile::tempdir().expect("temp dir for the checkout");
    std::fs::create_dir_all(dir.path().join("infra")).expect("create infra/");
    std::fs::write(dir.path().join(STACK_FILE), STACK).expect("write the stack file");
    std::fs::write(dir.path().join("README.md"), "docs\n").expect("write README.md");

    // moto loads its AMI and instance-type catalogues on a region's first
    // call (about a second): done here, not in the first event's wall time.
    let direct = moto.ec2_client("us-east-1");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build the warm-up runtime")
        .block_on(async {
            direct
                .describe_images()
                .image_ids("ami-0e1e769742d1cfb49")
                .send()
                .await
                .expect("DescribeImages (warm-up)");
            direct
                .describe_instance_type_offerings()
                .send()
                .await
                .expect("DescribeInstanceTypeOfferings (warm-up)");
        });

    let mut costs = Vec::new();

    // The pull request is opened: its first plan, of its test merge, which
    // the workspace holds (as the example workflow checks it out).
    let spec = PullSpec {
        number: PR,
        head_sha: HEAD.into(),
        files: vec![(STACK_FILE.into(), "modified".into())],
        ..PullSpec::default()
    };
    let test_merge = github::merge_sha_of(&spec).expect("an open PR has a test merge");
    gh.add_pull(REPO, spec);
    checkout(dir.path(), &test_merge);
    let mut payload = webhooks::pull_request("opened");
    webhooks::set_pr(&mut payload, PR, HEAD, "main");
    costs.push(event(
        "pull request opened (first plan)",
        "pull_request",
        payload,
        &test_merge,
        (&gh, &proxy, dir.path()),
    ));

    // A writer comments `/plan` (the comment exists before the event).
    let mut payload = webhooks::issue_comment_on_pr("/plan", "writer");
    webhooks::set_repo(&mut payload, OWNER, NAME);
    webhooks::set_pr(&mut payload, PR, HEAD, "main");
    let id = gh.add_comment(REPO, PR, "writer", "/plan");
    webhooks::set_comment_id(&mut payload, id);
    costs.push(event(
        "`/plan` by a writer",
        "issue_comment",
        payload,
        HEAD,
        (&gh, &proxy, dir.path()),
    ));
    assert_eq!(
        gh.reactions(id),
        ["eyes", "rocket"],
        "the /plan comment did not get 👀 then 🚀"
    );

    // The pull request is merged: the push applies it.
    gh.add_pull(
        REPO,
        PullSpec {
            number: PR,
            head_sha: HEAD.into(),
            merged: true,
            merge_commit_sha: Some(MERGE.into()),
            state: "closed".into(),
            files: vec![(STACK_FILE.into(), "modified".into())],
            ..PullSpec::default()
        },
    );
    gh.add_commit_pulls(MERGE, &[PR]);
    checkout(dir.path(), MERGE);
    let mut payload = webhooks::push("refs/heads/main", HEAD, MERGE, &[(STACK_FILE, "modified")]);
    payload["repository"]["default_branch"] = json!("main");
    costs.push(event(
        "merge: push to main (apply)",
        "push",
        payload,
        MERGE,
        (&gh, &proxy, dir.path()),
    ));
    let applied = gh
        .checks(MERGE)
        .iter()
        .any(|s| s.context == "ec2-gitops/apply" && s.state == "success");
    assert!(applied, "the merge was not applied: {:?}", gh.checks(MERGE));

    let page = report(&costs);
    println!("\n{page}");
    pages::write("github", &page);
    let unexpected = gh.unexpected();
    assert!(
        unexpected.is_empty(),
        "the GitHub fake refused requests: {unexpected:#?}"
    );
}

/// Leaves the workspace at `sha`, as actions/checkout does (`.git/HEAD`).
fn checkout(dir: &Path, sha: &str) {
    std::fs::create_dir_all(dir.join(".git")).expect("create .git");
    std::fs::write(dir.join(".git/HEAD"), format!("{sha}\n")).expect("write .git/HEAD");
}

/// Runs the action for one event and returns what it cost.
fn event(
    label: &'static str,
    name: &str,
    mut payload: Value,
    sha: &str,
    (gh, proxy, checkout): (&FakeGitHub, &Ec2Proxy, &Path),
) -> EventCost {
    webhooks::set_repo(&mut payload, OWNER, NAME);
    let file = webhooks::event_file(&payload);
    let summary = checkout.join("summary.md");
    let outputs = checkout.join("outputs.txt");
    gh.clear_requests();
    proxy.clear();
    let out = process::run(
        process::ec2_command(&proxy.endpoint())
            .arg("action")
            .env("GITHUB_EVENT_NAME", name)
            .env("GITHUB_EVENT_PATH", file.path())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_API_URL", gh.url())
            .env("GITHUB_SHA", sha)
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_WORKSPACE", checkout)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "42")
            .env("INPUT_GITHUB-TOKEN", "ghs_test")
            .env("EC2_GITOPS_GITHUB_BACKOFF_MS", "20"),
    );
    assert_eq!(
        out.code,
        Some(0),
        "the action failed on {label}.\nstdout:\n{}\nstderr:\n{}",
        process::tail(&out.stdout, 40),
        process::tail(&out.stderr, 40)
    );
    let cost = EventCost {
        event: label,
        requests: gh.requests(),
        ec2: proxy.counts(),
        out,
    };
    eprintln!(
        "{label}: {} GitHub REST calls ({} writes), {} EC2 requests",
        cost.requests.len(),
        cost.writes(),
        cost.ec2.values().sum::<usize>()
    );
    cost
}

/// The OpenAPI route a request matches (`/repos/{owner}/{repo}/pulls/{pull_number}`)
/// with its operation's summary; the literal path when none matches.
fn route(method: &str, path: &str) -> (String, String) {
    let want: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let paths = github::openapi()["paths"]
        .as_object()
        .expect("paths in the OpenAPI description");
    let best = paths
        .iter()
        .filter(|(_, ops)| ops.get(method.to_ascii_lowercase()).is_some())
        .filter_map(|(template, ops)| {
            let have: Vec<&str> = template.split('/').collect();
            // A trailing `{path}` (contents) may span several segments.
            let spans = have.last().is_some_and(|s| *s == "{path}");
            let fits = if spans {
                want.len() >= have.len()
            } else {
                want.len() == have.len()
            };
            if !fits {
                return None;
            }
            let mut literal = 0;
            for (h, w) in have.iter().zip(&want) {
                if h.starts_with('{') {
                    continue;
                }
                if h != w {
                    return None;
                }
                literal += 1;
            }
            Some((literal, template, ops))
        })
        .max_by_key(|(literal, _, _)| *literal);
    match best {
        Some((_, template, ops)) => (
            template.clone(),
            ops[method.to_ascii_lowercase()]["summary"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ),
        None => (
            path.to_string(),
            "(not in GitHub's OpenAPI description)".into(),
        ),
    }
}

/// What a write said, from its body: a reaction, a status, a comment's marker.
fn detail(r: &Recorded) -> String {
    let b = &r.body;
    if let Some(content) = b["content"].as_str() {
        let emoji = match content {
            "eyes" => "👀",
            "rocket" => "🚀",
            "confused" => "😕",
            _ => "",
        };
        return format!("`{content}` {emoji}");
    }
    if let (Some(state), Some(context)) = (b["state"].as_str(), b["context"].as_str()) {
        return format!("`{context}`: {state}");
    }
    if let Some(state) = b["state"].as_str() {
        return format!("state {state}");
    }
    if let Some(body) = b["body"].as_str() {
        let kind = ec2_gitops::marker::Marker::parse(body).map(|m| match m {
            ec2_gitops::marker::Marker::Plan(p) => format!("plan, {}", p.status.as_str()),
            ec2_gitops::marker::Marker::Apply { .. } => "apply result".into(),
            ec2_gitops::marker::Marker::Reply { .. } => "reply".into(),
            ec2_gitops::marker::Marker::Drift => "drift issue".into(),
            ec2_gitops::marker::Marker::DriftResolved { .. } => "drift resolved".into(),
        });
        return match kind {
            Some(k) => format!("{} characters, marker: {k}", body.chars().count()),
            None => format!("{} characters", body.chars().count()),
        };
    }
    if let Some(environment) = b["environment"].as_str() {
        return format!("environment `{environment}`");
    }
    String::new()
}

fn report(costs: &[EventCost]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# GitHub\n");
    let _ = writeln!(
        out,
        "The GitHub REST calls `ec2-gitops action` makes per event, counted by the \
         stateful GitHub fake of the test suite (`tests/all/support/github.rs`), which \
         records every request and refuses any it does not expect. The real binary runs \
         with the action's environment, fed with real webhook payloads \
         (`@octokit/webhooks-examples`): a pull request changing one stack (3 instances, \
         2 groups, a key pair, a volume, an elastic IP) is opened, a user with write \
         access comments `/plan`, and the merge is pushed to the default branch and \
         applied against moto. Routes are those of GitHub's OpenAPI description \
         (`@octokit/openapi`) the requests match. Made by `benches/github.rs`:\n\n\
         ```sh\ncargo bench --bench github\n```\n\n{}\n",
        machine::measured_line()
    );
    let _ = writeln!(
        out,
        "| event | GitHub REST calls | reads | writes | budget | EC2 requests | wall s | tool CPU s |\n|---|---:|---:|---:|---|---:|---:|---:|"
    );
    for c in costs {
        let calls = c.requests.len();
        let writes = c.writes();
        let budget = if c.event.contains("/plan") {
            let ok = calls <= PLAN_BUDGET_CALLS && writes <= PLAN_BUDGET_WRITES;
            format!(
                "≤ {PLAN_BUDGET_CALLS} calls, ≤ {PLAN_BUDGET_WRITES} writes: {}",
                if ok { "PASS" } else { "**MISSED**" }
            )
        } else {
            "none".to_string()
        };
        let _ = writeln!(
            out,
            "| {} | {calls} | {} | {writes} | {budget} | {} | {:.2} | {:.2} |",
            c.event,
            calls - writes,
            c.ec2.values().sum::<usize>(),
            c.out.wall.as_secs_f64(),
            c.out.cpu.as_secs_f64()
        );
    }

    if let Some(plan) = costs.iter().find(|c| c.event.contains("/plan")) {
        let calls = plan.requests.len();
        let writes = plan.writes();
        if calls > PLAN_BUDGET_CALLS || writes > PLAN_BUDGET_WRITES {
            let _ = writeln!(
                out,
                "\n`/plan` misses its budget ({calls} calls and {writes} writes against \
                 {PLAN_BUDGET_CALLS} and {PLAN_BUDGET_WRITES})."
            );
        }
    }
    for c in costs {
        let _ = writeln!(out, "\n## {}\n", c.event);
        let mut by_route: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
        for r in &c.requests {
            let (route, summary) = route(&r.method, &r.path);
            by_route
                .entry((r.method.clone(), route))
                .or_insert((summary, 0))
                .1 += 1;
        }
        let _ = writeln!(
            out,
            "By route ({} calls, {} writes):\n\n| method | route | GitHub's name for it | calls |\n|---|---|---|---:|",
            c.requests.len(),
            c.writes()
        );
        for ((method, route), (summary, count)) in &by_route {
            let _ = writeln!(out, "| {method} | `{route}` | {summary} | {count} |");
        }
        let _ = writeln!(
            out,
            "\nIn order:\n\n| # | call | what it wrote | status |\n|---:|---|---|---:|"
        );
        for (i, r) in c.requests.iter().enumerate() {
            let (route, _) = route(&r.method, &r.path);
            let what = if is_write(r) {
                detail(r)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {} | {}`{} {route}` | {what} | {} |",
                i + 1,
                if is_write(r) { "**write** " } else { "" },
                r.method,
                r.status
            );
        }
        let _ = writeln!(
            out,
            "\nEC2 requests of this event: {}.",
            if c.ec2.is_empty() {
                "none".to_string()
            } else {
                c.ec2
                    .iter()
                    .map(|(a, n)| format!("{a} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    out
}
