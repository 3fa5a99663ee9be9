//! Fault injection: the real binary applies a 30-resource stack through a
//! proxy in front of moto that, from a seed, throttles, fails, resets,
//! delays and loses answers (with EC2's ClientToken idempotency, which moto
//! lacks, emulated by the proxy); is SIGKILLed at seeded random points and
//! run again; and races a second apply of the same stack. Every run must end
//! in the YAML's state with no duplicate and no untagged leftover.
//!
//! `EC2_GITOPS_FAULT_SEED=N` replays a seed (failures print theirs).

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ec2_gitops::ec2::{Ec2, Holder, LeaseError};

use crate::crash::{apply_killed_at, census, command, run, text};
use crate::engine::{IMAGE, KEY};
use crate::support::ec2_proxy::{Outcome, Request, Response};
use crate::support::{Ec2Proxy, Moto};

/// Resources the stack declares: 1 key pair, 3 groups, 20 instances, 4
/// volumes, 2 elastic IPs. Each instance's root volume is tagged too.
const DECLARED: usize = 30;
const TAGGED: usize = DECLARED + 20;

fn big_stack(stack: &str) -> String {
    format!(
        r#"version: 1
stack: {stack}
region: us-east-1
defaults:
  image: {IMAGE}
  type: t3.micro
  key_pair: deploy
  security_groups: [web]
key_pairs:
  deploy:
    public_key: {KEY}
security_groups:
  web:
    description: Public HTTP
    ingress:
      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}
      - {{ protocol: tcp, ports: 22, from: admin }}
  admin:
    description: Bastion
    ingress:
      - {{ protocol: tcp, ports: 22, cidr: 203.0.113.0/24 }}
  db:
    description: Database
    ingress:
      - {{ protocol: tcp, ports: 5432, from: web }}
instances:
  web:
    count: 16
    user_data: |
      #cloud-config
      packages: [nginx]
  db:
    count: 2
    security_groups: [db]
    volumes:
      - {{ name: data, device: /dev/sdf, size_gb: 20, type: gp3 }}
  worker:
    count: 2
    volumes:
      - {{ name: scratch, device: /dev/sdg, size_gb: 10, type: gp3 }}
elastic_ips:
  web-ip: {{ instance: web-1 }}
  db-ip: {{ instance: db-1 }}
"#
    )
}

/// SplitMix64: a small seeded generator (no dependency, same everywhere).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn seed(default: u64) -> u64 {
    std::env::var("EC2_GITOPS_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// How often each fault is injected (probabilities per request).
#[derive(Clone, Copy, Default)]
struct Mix {
    throttle: f64,
    server_error: f64,
    reset: f64,
    latency: f64,
    /// Only for calls that change something (a lost Describe is a reset).
    lost: f64,
}

/// Seeded faults for a proxy. One identical request (same body: a retry) is
/// never faulted more than `MAX_STREAK` times in a row, as a client's
/// retries would otherwise rightly give up.
struct Chaos {
    rng: Mutex<Rng>,
    mix: Mix,
    streak: Mutex<HashMap<u64, u32>>,
    injected: Mutex<BTreeMap<&'static str, usize>>,
}

const MAX_STREAK: u32 = 3;

impl Chaos {
    fn install(proxy: &Ec2Proxy, seed: u64, mix: Mix) -> Arc<Chaos> {
        let chaos = Arc::new(Chaos {
            rng: Mutex::new(Rng(seed)),
            mix,
            streak: Mutex::new(HashMap::new()),
            injected: Mutex::new(BTreeMap::new()),
        });
        let c = chaos.clone();
        proxy.set_hook(move |req| c.decide(req));
        chaos
    }

    fn decide(&self, req: &Request) -> Option<Response> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        req.body.hash(&mut h);
        let key = h.finish();
        let mut streak = self.streak.lock().unwrap();
        let n = streak.entry(key).or_default();
        let roll = self.rng.lock().unwrap().unit();
        let m = self.mix;
        let mutating = !crate::support::is_read(&req.action);
        let (kind, response) = if *n >= MAX_STREAK {
            *n = 0;
            return None;
        } else if roll < m.throttle {
            ("throttled", Response::throttled())
        } else if roll < m.throttle + m.server_error {
            (
                "500",
                Response::ec2_error(500, "InternalError", "An internal error has occurred"),
            )
        } else if roll < m.throttle + m.server_error + m.reset {
            ("reset", Response::reset())
        } else if roll < m.throttle + m.server_error + m.reset + m.latency {
            *n = 0;
            self.count("latency");
            return Some(Response::delayed(Duration::from_millis(150)));
        } else if mutating && roll < m.throttle + m.server_error + m.reset + m.latency + m.lost {
            ("lost", Response::lost())
        } else {
            *n = 0;
            return None;
        };
        *n += 1;
        drop(streak);
        self.count(kind);
        Some(response)
    }

    fn count(&self, kind: &'static str) {
        *self.injected.lock().unwrap().entry(kind).or_default() += 1;
    }

    fn injected(&self) -> BTreeMap<&'static str, usize> {
        self.injected.lock().unwrap().clone()
    }
}

/// A stack file in a temp dir.
fn stack_file(dir: &std::path::Path, stack: &str) -> String {
    let path = dir.join(format!("{stack}.yaml"));
    std::fs::write(&path, big_stack(stack)).unwrap();
    path.display().to_string()
}

/// The stack is exactly the YAML's: plan empty, one resource per name, no
/// untagged leftover, no lease left behind.
async fn assert_converged(
    moto: &Moto,
    direct: &aws_sdk_ec2::Client,
    file: &str,
    stack: &str,
    why: &str,
) {
    let plan = run(&moto.endpoint(), &["plan", file, "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{why}: plan not empty: {}",
        text(&plan)
    );
    let (by_name, untagged) = census(direct, stack).await;
    let dups: Vec<_> = by_name.iter().filter(|(_, n)| **n != 1).collect();
    assert!(dups.is_empty(), "{why}: duplicates {dups:?}");
    assert_eq!(by_name.len(), TAGGED, "{why}: {by_name:?}");
    assert_eq!(untagged, 0, "{why}: untagged leftovers");
    let leases = direct
        .describe_key_pairs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("key-name")
                .values(format!("ec2-gitops-lease-{stack}"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        leases.key_pairs().is_empty(),
        "{why}: the apply lease was left behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_percent_throttling_ends_in_the_same_state_with_no_duplicate() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), "throttled");
    let seed = seed(30);
    let chaos = Chaos::install(
        &proxy,
        seed,
        Mix {
            throttle: 0.3,
            ..Mix::default()
        },
    );
    let out = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
    proxy.clear_hook();
    let why = format!("seed {seed}, injected {:?}", chaos.injected());
    assert!(out.status.success(), "{why}: {}", text(&out));
    let throttled = chaos.injected().get("throttled").copied().unwrap_or(0);
    assert!(
        throttled * 5 >= proxy.total(),
        "{why}: only {throttled} of {} throttled",
        proxy.total()
    );
    assert_converged(&moto, &direct, &file, "throttled", &why).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resets_500s_latency_and_lost_answers_end_in_the_same_state_with_no_duplicate() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    proxy.emulate_client_tokens();
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), "chaos");
    let seed = seed(7);
    let mix = Mix {
        throttle: 0.08,
        server_error: 0.08,
        reset: 0.08,
        latency: 0.1,
        lost: 0.1,
    };
    let chaos = Chaos::install(&proxy, seed, mix);
    let out = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
    proxy.clear_hook();
    let injected = chaos.injected();
    let why = format!("seed {seed}, injected {injected:?}");
    assert!(out.status.success(), "{why}: {}", text(&out));
    for kind in ["throttled", "500", "reset", "latency", "lost"] {
        assert!(
            injected.get(kind).copied().unwrap_or(0) > 0,
            "{why}: no {kind}"
        );
    }
    let lost: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| r.outcome == Outcome::Lost)
        .map(|r| r.action.clone())
        .collect();
    assert_converged(
        &moto,
        &direct,
        &file,
        "chaos",
        &format!("{why}, lost answers of {lost:?}"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_answers_of_creates_make_exactly_one_resource_each() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    proxy.emulate_client_tokens();
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), "lost");
    // The first answer of each create is lost (the create happened); a
    // retried AttachVolume then gets EC2's VolumeInUse, which moto lacks.
    let lost_once: Arc<Mutex<Vec<String>>> = Arc::default();
    let attached: Arc<Mutex<Vec<String>>> = Arc::default();
    {
        let (lost_once, attached) = (lost_once.clone(), attached.clone());
        proxy.set_hook(move |req| {
            let creates = [
                "RunInstances",
                "CreateVolume",
                "AllocateAddress",
                "AttachVolume",
                "CreateSecurityGroup",
                "ImportKeyPair",
                "CreateKeyPair",
            ];
            if req.action == "AttachVolume" {
                let volume = req.param("VolumeId").unwrap_or_default().to_string();
                let mut a = attached.lock().unwrap();
                if a.contains(&volume) {
                    return Some(Response::ec2_error(
                        400,
                        "VolumeInUse",
                        &format!("{volume} is already attached to an instance"),
                    ));
                }
                let mut l = lost_once.lock().unwrap();
                a.push(volume);
                if !l.contains(&req.action) {
                    l.push(req.action.clone());
                    return Some(Response::lost());
                }
                return None;
            }
            let mut l = lost_once.lock().unwrap();
            if creates.contains(&req.action.as_str()) && !l.contains(&req.action) {
                l.push(req.action.clone());
                return Some(Response::lost());
            }
            None
        });
    }
    let out = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
    proxy.clear_hook();
    assert!(out.status.success(), "{}", text(&out));
    let runs: Vec<Outcome> = proxy
        .requests_for("RunInstances")
        .iter()
        .map(|r| r.outcome)
        .collect();
    assert!(
        runs.contains(&Outcome::Lost) && runs.contains(&Outcome::Replayed),
        "the lost RunInstances was retried with its token: {runs:?}"
    );
    assert_eq!(
        lost_once.lock().unwrap().len(),
        7,
        "every kind of create lost an answer once: {:?}",
        lost_once.lock().unwrap()
    );
    assert_converged(&moto, &direct, &file, "lost", "lost answers").await;
    let addresses = direct.describe_addresses().send().await.unwrap();
    assert_eq!(
        addresses.addresses().len(),
        2,
        "one address per elastic IP, none extra"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_of_one_stack_started_together_end_in_the_yaml_state() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    proxy.emulate_client_tokens();
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), "twice");
    let spawn = || {
        command(&proxy.endpoint(), &["apply", &file, "--auto-approve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", text(&a));
    assert!(b.status.success(), "{}", text(&b));
    let said = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout).contains("Nothing to apply: another apply")
    };
    assert!(
        said(&a) != said(&b),
        "one applied, the other waited and found nothing to do:\n{}\n{}",
        text(&a),
        text(&b)
    );
    // Three entries, each launched by one RunInstances (web's 16 together).
    let launched: Vec<u32> = proxy
        .requests_for("RunInstances")
        .iter()
        .map(|r| r.param("MaxCount").unwrap().parse().unwrap())
        .collect();
    assert_eq!(launched.len(), 3, "one launch per entry: {launched:?}");
    assert_eq!(launched.iter().sum::<u32>(), 20, "{launched:?}");
    assert_converged(&moto, &direct, &file, "twice", "two applies").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lease_waits_for_a_live_holder_takes_over_a_dead_one_and_refuses_a_foreign_key() {
    let moto = Moto::start();
    let ec2 = Ec2::from_client(moto.ec2_client("us-east-1"));
    let direct = moto.ec2_client("us-east-1");
    let me = Holder::this_process();
    let quiet = |_: &str| {};
    // Held by someone alive elsewhere: a bounded wait, then a clear error.
    let other = Holder {
        host: "runner-elsewhere".into(),
        pid: 1,
        run: "99/1".into(),
    };
    let held = ec2
        .acquire_lease("web", None, &other, Duration::ZERO, &quiet)
        .await
        .map_err(|e| e.to_string())
        .unwrap();
    let waited = Arc::new(AtomicUsize::new(0));
    let w = waited.clone();
    let note = move |_: &str| {
        w.fetch_add(1, Ordering::SeqCst);
    };
    let err = ec2
        .acquire_lease("web", None, &me, Duration::from_secs(3), &note)
        .await
        .err()
        .expect("the lease is held");
    assert!(matches!(err, LeaseError::Timeout { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("host=runner-elsewhere;pid=1;run=99/1") && msg.contains("nothing was changed"),
        "{msg}"
    );
    assert!(waited.load(Ordering::SeqCst) >= 1, "the wait was reported");
    // Released: free at once.
    held.release().await.expect("the lease is released");
    let mine = ec2
        .acquire_lease("web", None, &me, Duration::ZERO, &quiet)
        .await
        .map_err(|e| e.to_string())
        .unwrap();
    mine.release().await.expect("the lease is released");
    // Held by a process of this host that is gone: taken over at once.
    let dead = Holder {
        pid: u32::MAX - 1,
        ..me.clone()
    };
    let _abandoned = ec2
        .acquire_lease("web", None, &dead, Duration::ZERO, &quiet)
        .await
        .map_err(|e| e.to_string())
        .unwrap();
    let taken = ec2
        .acquire_lease("web", None, &me, Duration::ZERO, &quiet)
        .await
        .map_err(|e| e.to_string())
        .unwrap();
    taken.release().await.expect("the lease is released");
    // A key pair of that name that is not a lease is never touched.
    direct
        .import_key_pair()
        .key_name("ec2-gitops-lease-db")
        .public_key_material(aws_sdk_ec2::primitives::Blob::new(KEY.as_bytes()))
        .send()
        .await
        .unwrap();
    let err = ec2
        .acquire_lease("db", None, &me, Duration::from_secs(60), &quiet)
        .await
        .err()
        .expect("foreign");
    assert!(matches!(err, LeaseError::Foreign { .. }), "{err}");
    assert!(
        err.to_string().contains("is not an ec2-gitops lease"),
        "{err}"
    );
    let keys = direct.describe_key_pairs().send().await.unwrap();
    let names: Vec<&str> = keys
        .key_pairs()
        .iter()
        .filter_map(|k| k.key_name())
        .collect();
    assert_eq!(
        names,
        ["ec2-gitops-lease-db"],
        "the foreign key pair is still there"
    );
}

/// Whether a request is one of the polls of a wait, whose number depends on
/// how fast moto answers (the other requests of an apply are the same from
/// run to run).
fn is_poll(r: &Request) -> bool {
    match r.action.as_str() {
        "DescribeInstanceStatus" => true,
        "DescribeInstances" => r
            .params
            .iter()
            .any(|(k, v)| k.starts_with("Filter.") && v == "instance-id"),
        "DescribeVolumes" => r.param("VolumeId.1").is_some(),
        "DescribeSnapshots" => r.param("SnapshotId.1").is_some(),
        _ => false,
    }
}

/// SIGKILL at `points` seeded random requests of a full apply (any request
/// but the polls of waits, reads included), each followed by a rerun that
/// must converge.
async fn sigkill_at_random_points(seed: u64, points: usize) {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    proxy.emulate_client_tokens();
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    // How many requests a full apply makes, to draw points within it.
    let probe = stack_file(dir.path(), "probe");
    let out = run(&proxy.endpoint(), &["apply", &probe, "--auto-approve"]);
    assert!(out.status.success(), "{}", text(&out));
    let total = proxy.requests().iter().filter(|r| !is_poll(r)).count();
    moto.reset();
    let mut rng = Rng(seed);
    for i in 0..points {
        let kill_at = 1 + (rng.next() % total as u64) as usize;
        let stack = format!("kill{i}");
        let file = stack_file(dir.path(), &stack);
        let (ok, during) = apply_killed_at(&proxy, &file, kill_at, |r| !is_poll(r));
        let why =
            format!("seed {seed}, point {i}: killed at request {kill_at} of {total} ({during})");
        assert!(!ok && !during.is_empty(), "{why}: the kill did not happen");
        let rerun = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
        assert!(
            rerun.status.success(),
            "{why}: rerun failed: {}",
            text(&rerun)
        );
        assert_converged(&moto, &direct, &file, &stack, &why).await;
        // Two elastic IPs a stack; the region's quota is 5.
        moto.reset();
    }
}

// Twenty points in all, in four tests so that they run side by side.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_points_then_rerun_converges_a() {
    sigkill_at_random_points(seed(1001), 5).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_points_then_rerun_converges_b() {
    sigkill_at_random_points(seed(1002) ^ 0xb, 5).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_points_then_rerun_converges_c() {
    sigkill_at_random_points(seed(1003) ^ 0xc, 5).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_points_then_rerun_converges_d() {
    sigkill_at_random_points(seed(1004) ^ 0x1d, 5).await;
}
