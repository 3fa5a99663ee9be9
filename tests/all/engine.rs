//! The engine end to end against moto: plan, apply, re-plan, edits of every
//! kind, resources the stack does not own, and the reads' call budget.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use ec2_gitops::app;
use ec2_gitops::ec2::{Ec2, Outcome, Progress, StepResult};
use ec2_gitops::model::Desired;
use ec2_gitops::plan::steps::Step;
use ec2_gitops::plan::{Action, Plan};

use crate::support::{Ec2Proxy, Moto, ProxyResponse, ec2_client_at};

pub const IMAGE: &str = "ami-0e1e769742d1cfb49";
pub const IMAGE_2: &str = "ami-02b9a589195146a8f";
pub const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHlth9viP3YlUZf/E7QM/+JJDrOV9IwGcBVJdVWOJsk ops@example.com";
const KEY_2: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLiifhBY/efyDf1Y2t+VXpVviaajAprUpMW69tDrhIe new@example.com";

/// A stack using every kind of resource; `{stack}` is replaced by its name.
pub fn stack_yaml(stack: &str) -> String {
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
instances:
  web:
    count: 2
    user_data: |
      #cloud-config
      packages: [nginx]
    root_volume: {{ size_gb: 10, type: gp3 }}
    tags: {{ role: web }}
  db:
    type: t3.small
    volumes:
      - {{ name: data, device: /dev/sdf, size_gb: 20, type: gp3 }}
elastic_ips:
  web-ip: {{ instance: web-1 }}
"#
    )
}

/// Parses a stack (no files referenced).
pub fn desired(yaml: &str) -> Desired {
    let none = |_: &str| Err("no files in tests".into());
    let readers = ec2_gitops::config::Readers {
        user_data: &none,
        base: &none,
    };
    ec2_gitops::config::parse_stack(yaml, "stack.yaml", &readers)
        .unwrap_or_else(|d| panic!("test stack is invalid: {d:#?}"))
}

/// Records progress instead of printing it.
#[derive(Default)]
pub struct Recorder {
    pub lines: Mutex<Vec<String>>,
}

impl Progress for Recorder {
    fn started(&self, _step: &Step) {}
    fn finished(&self, r: &StepResult) {
        self.lines
            .lock()
            .unwrap()
            .push(ec2_gitops::render::report::step_line(r));
    }
    fn waiting(&self, pending: usize, state: &str, _elapsed: Duration) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("waiting {pending} {state}"));
    }
}

pub struct Env {
    pub _moto: Moto,
    pub proxy: Ec2Proxy,
    pub ec2: Ec2,
    pub direct: aws_sdk_ec2::Client,
}

impl Env {
    pub fn start() -> Env {
        let moto = Moto::start();
        let proxy = Ec2Proxy::start(&moto.endpoint());
        let ec2 = Ec2::from_client(ec2_client_at(&proxy.endpoint(), "us-east-1"))
            .with_ssm(crate::support::ssm_client_at(
                &proxy.endpoint(),
                "us-east-1",
            ))
            .with_elb(crate::support::elb_at(&proxy.endpoint(), "us-east-1"));
        let direct = moto.ec2_client("us-east-1");
        Env {
            _moto: moto,
            proxy,
            ec2,
            direct,
        }
    }

    pub async fn plan(&self, d: &Desired) -> Plan {
        app::plan(&self.ec2, d).await.expect("plan").0
    }

    /// Plans and applies; every step must succeed.
    pub async fn apply(&self, d: &Desired) -> (Plan, Vec<StepResult>) {
        let (plan, live, region) = app::plan(&self.ec2, d).await.expect("plan");
        assert!(plan.is_applicable(), "plan not applicable: {plan:#?}");
        let results = app::apply(&self.ec2, d, &plan, &live, &region, &Recorder::default()).await;
        let failed: Vec<_> = results
            .iter()
            .filter(|r| !matches!(r.outcome, Outcome::Done(_)))
            .collect();
        assert!(failed.is_empty(), "steps failed: {failed:#?}");
        (plan, results)
    }

    /// Applies, then checks the next plan is empty.
    pub async fn converge(&self, d: &Desired) -> Plan {
        let (plan, _) = self.apply(d).await;
        let again = self.plan(d).await;
        assert!(
            again.is_empty(),
            "plan after apply is not empty: {}",
            ec2_gitops::render::text::plan(&again, false)
        );
        plan
    }
}

fn actions(plan: &Plan) -> BTreeMap<String, Action> {
    plan.changes
        .iter()
        .map(|c| (c.resource.to_string(), c.action))
        .collect()
}

pub(crate) fn tag_filter(stack: &str) -> Filter {
    Filter::builder()
        .name("tag:ec2-gitops:stack")
        .values(stack)
        .build()
}

/// Live (not terminated) instances of a stack by name tag, straight from moto.
/// The running instances of `stack`, by their `ec2-gitops:name` tag
/// (`instance/web-1`), sorted.
pub async fn running_by_name(
    c: &aws_sdk_ec2::Client,
    stack: &str,
) -> Vec<(String, aws_sdk_ec2::types::Instance)> {
    let out = c
        .describe_instances()
        .filters(tag_filter(stack))
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut v: Vec<(String, aws_sdk_ec2::types::Instance)> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            let name = i
                .tags()
                .iter()
                .find(|t| t.key() == Some("ec2-gitops:name"))
                .and_then(|t| t.value())
                .unwrap_or_default()
                .to_string();
            (name, i.clone())
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

pub async fn instances_by_name(
    c: &aws_sdk_ec2::Client,
    stack: &str,
) -> BTreeMap<String, Vec<String>> {
    let out = c
        .describe_instances()
        .filters(tag_filter(stack))
        .max_results(1000)
        .send()
        .await
        .unwrap();
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in out.reservations().iter().flat_map(|r| r.instances()) {
        let state = i
            .state()
            .and_then(|s| s.name())
            .map(|s| s.as_str())
            .unwrap_or("");
        if state == "terminated" {
            continue;
        }
        let name = i
            .tags()
            .iter()
            .find(|t| t.key() == Some("ec2-gitops:name"))
            .and_then(|t| t.value())
            .unwrap_or("<untagged>")
            .to_string();
        m.entry(name)
            .or_default()
            .push(i.instance_id().unwrap().to_string());
    }
    m
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_converges_and_a_plan_reads_with_a_few_batched_calls() {
    let env = Env::start();
    let d = desired(&stack_yaml("conv"));
    let first = env.converge(&d).await;
    assert_eq!(first.summary.create, 8, "{:#?}", first.summary);

    // Reading state: one call per kind, whatever the size.
    env.proxy.clear();
    let again = env.plan(&d).await;
    assert!(again.is_empty());
    let counts = env.proxy.counts();
    // DescribeAddresses twice: the stack's (by tag) and the account's count
    // for the quota check. GetResources: the stack has no load balancer,
    // and one call of the tagging API says so.
    let expected: BTreeMap<String, usize> = [
        ("DescribeInstances", 1),
        ("DescribeSecurityGroups", 1),
        ("DescribeVolumes", 1),
        ("DescribeAddresses", 2),
        ("DescribeKeyPairs", 1),
        ("DescribeImages", 1),
        ("DescribeVpcs", 1),
        ("DescribeInstanceTypeOfferings", 1),
        ("DescribeAccountAttributes", 1),
        ("GetResources", 1),
    ]
    .into_iter()
    .map(|(a, n)| (a.to_string(), n))
    .collect();
    assert_eq!(counts, expected);

    // Everything carries the identity tags; instances are one per name.
    let by_name = instances_by_name(&env.direct, "conv").await;
    assert_eq!(
        by_name.keys().cloned().collect::<Vec<_>>(),
        ["instance/db", "instance/web-1", "instance/web-2"]
    );
    assert!(by_name.values().all(|ids| ids.len() == 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_plan_the_right_change_and_apply_converges() {
    let env = Env::start();
    let base = stack_yaml("edit");
    env.converge(&desired(&base)).await;

    // Instance type → restart; tags → in place; root volume grown → in place.
    let yaml = base
        .replace(
            "    tags: { role: web }",
            "    type: t3.small\n    tags: { team: frontend }",
        )
        .replace("size_gb: 10, type: gp3", "size_gb: 12, type: gp3");
    let plan = env.plan(&desired(&yaml)).await;
    assert_eq!(
        actions(&plan),
        BTreeMap::from([
            ("instance.web-1".into(), Action::UpdateWithRestart),
            ("instance.web-2".into(), Action::UpdateWithRestart),
        ])
    );
    let fields: BTreeSet<&str> = plan.changes[0]
        .fields
        .iter()
        .map(|f| f.field.name())
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["type", "tags", "root_volume.size_gb"])
    );
    env.converge(&desired(&yaml)).await;

    // User data → restart (digest kept in a tag, text never in the plan).
    let yaml2 = yaml.replace("packages: [nginx]", "packages: [nginx, certbot]");
    let plan = env.plan(&desired(&yaml2)).await;
    assert_eq!(plan.changes.len(), 2);
    assert!(
        plan.changes
            .iter()
            .all(|c| c.action == Action::UpdateWithRestart)
    );
    assert!(!ec2_gitops::render::json(std::slice::from_ref(&plan)).contains("certbot"));
    env.converge(&desired(&yaml2)).await;

    // Rules, group membership, a data volume grown, the address moved.
    let yaml3 = yaml2
        .replace(
            "      - { protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }",
            "      - { protocol: tcp, ports: 443, cidr: [0.0.0.0/0, \"::/0\"] }",
        )
        .replace("size_gb: 20, type: gp3", "size_gb: 25, type: gp3")
        .replace("web-ip: { instance: web-1 }", "web-ip: { instance: web-2 }")
        .replace(
            "    type: t3.small\n    volumes:",
            "    type: t3.small\n    security_groups: [web, admin]\n    volumes:",
        );
    let plan = env.plan(&desired(&yaml3)).await;
    assert_eq!(
        actions(&plan),
        BTreeMap::from([
            ("elastic_ip.web-ip".into(), Action::Update),
            ("instance.db".into(), Action::Update),
            ("security_group.web".into(), Action::Update),
            ("volume.db/data".into(), Action::Update),
        ])
    );
    env.converge(&desired(&yaml3)).await;

    // A new image → replace: the new instance first, then the old one goes;
    // the address follows the new instance.
    let yaml4 = yaml3.replace(
        "  web:\n    count: 2",
        &format!("  web:\n    count: 2\n    image: {IMAGE_2}"),
    );
    let before = instances_by_name(&env.direct, "edit").await;
    let plan = env.plan(&desired(&yaml4)).await;
    assert_eq!(
        plan.summary.replace,
        2,
        "{}",
        ec2_gitops::render::text::plan(&plan, false)
    );
    env.converge(&desired(&yaml4)).await;
    let after = instances_by_name(&env.direct, "edit").await;
    assert_eq!(after["instance/web-1"].len(), 1);
    assert_ne!(after["instance/web-1"], before["instance/web-1"]);
    assert_eq!(after["instance/db"], before["instance/db"]);

    // A new public key → the key pair is replaced (running instances keep theirs).
    let yaml5 = yaml4.replace(KEY, KEY_2);
    let plan = env.plan(&desired(&yaml5)).await;
    assert_eq!(
        actions(&plan),
        BTreeMap::from([("key_pair.deploy".into(), Action::Replace)])
    );
    env.converge(&desired(&yaml5)).await;

    // Remove the address, the volume, an instance and the admin group; EC2
    // keeps a group "in use" for a moment after its instances go: the first
    // two deletes answer DependencyViolation, as real EC2 does.
    let refused = Arc::new(Mutex::new(0));
    let r = refused.clone();
    env.proxy.set_hook(move |req| {
        let mut n = r.lock().unwrap();
        (req.action == "DeleteSecurityGroup" && *n < 2).then(|| {
            *n += 1;
            ProxyResponse::ec2_error(
                400,
                "DependencyViolation",
                "resource sg has a dependent object",
            )
        })
    });
    let yaml6 = yaml5
        .replace("elastic_ips:\n  web-ip: { instance: web-2 }\n", "")
        .replace("    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 25, type: gp3 }\n", "")
        .replace("count: 2", "count: 1")
        .replace("      - { protocol: tcp, ports: 22, from: admin }\n", "")
        .replace("    security_groups: [web, admin]\n", "")
        .replace("  admin:\n    description: Bastion\n    ingress:\n      - { protocol: tcp, ports: 22, cidr: 203.0.113.0/24 }\n", "");
    let plan = env.plan(&desired(&yaml6)).await;
    let destroyed: BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Destroy)
        .map(|c| c.resource.to_string())
        .collect();
    assert_eq!(
        destroyed,
        BTreeSet::from([
            "elastic_ip.web-ip".into(),
            "volume.db/data".into(),
            "instance.web-2".into(),
            "security_group.admin".into(),
        ]),
        "{}",
        ec2_gitops::render::text::plan(&plan, false)
    );
    // count 1 names the first server `web` again: a tag update, no create.
    assert_eq!(actions(&plan)["instance.web"], Action::Update);
    env.converge(&desired(&yaml6)).await;
    assert_eq!(
        *refused.lock().unwrap(),
        2,
        "the DependencyViolation hook was not exercised"
    );

    // Every EC2 operation the product uses ran at least once in this test.
    let seen: BTreeSet<String> = env.proxy.actions().into_iter().collect();
    for op in [
        "ImportKeyPair",
        "DeleteKeyPair",
        "CreateSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "RevokeSecurityGroupIngress",
        "DeleteSecurityGroup",
        "RunInstances",
        "StopInstances",
        "StartInstances",
        "ModifyInstanceAttribute",
        "TerminateInstances",
        "CreateTags",
        "DeleteTags",
        "CreateVolume",
        "AttachVolume",
        "DetachVolume",
        "ModifyVolume",
        "DeleteVolume",
        "AllocateAddress",
        "AssociateAddress",
        "DisassociateAddress",
        "ReleaseAddress",
        "DescribeInstances",
        "DescribeSecurityGroups",
        "DescribeVolumes",
        "DescribeAddresses",
        "DescribeKeyPairs",
        "DescribeImages",
        "DescribeVpcs",
    ] {
        assert!(seen.contains(op), "{op} was never called; seen: {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_without_the_stack_tag_are_never_touched() {
    let env = Env::start();
    let c = &env.direct;
    // Made by hand: an instance, a group, a volume, an address and a key
    // pair with the names the stack would use, and one tagged for ANOTHER stack.
    let run = c
        .run_instances()
        .image_id(IMAGE)
        .instance_type("t3.micro".into())
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Name").value("hand-web-1").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let hand_instance = run.instances()[0].instance_id().unwrap().to_string();
    let other = c
        .run_instances()
        .image_id(IMAGE)
        .instance_type("t3.micro".into())
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(
                    Tag::builder()
                        .key("ec2-gitops:stack")
                        .value("someone-else")
                        .build(),
                )
                .tags(
                    Tag::builder()
                        .key("ec2-gitops:name")
                        .value("instance/web-1")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let other_instance = other.instances()[0].instance_id().unwrap().to_string();
    let group = c
        .create_security_group()
        .group_name("hand-made")
        .description("made by hand")
        .send()
        .await
        .unwrap();
    let hand_group = group.group_id().unwrap().to_string();
    let volume = c
        .create_volume()
        .availability_zone("us-east-1a")
        .size(5)
        .send()
        .await
        .unwrap();
    let hand_volume = volume.volume_id().unwrap().to_string();
    let address = c.allocate_address().send().await.unwrap();
    let hand_address = address.allocation_id().unwrap().to_string();
    c.import_key_pair()
        .key_name("hand-key")
        .public_key_material(aws_sdk_ec2::primitives::Blob::new(KEY.as_bytes()))
        .send()
        .await
        .unwrap();

    // Create the stack, then remove everything from it.
    let d = desired(&stack_yaml("own"));
    env.converge(&d).await;
    let empty = desired("version: 1\nstack: own\nregion: us-east-1\n");
    let plan = env.converge(&empty).await;
    assert_eq!(
        plan.summary.destroy,
        8,
        "{}",
        ec2_gitops::render::text::plan(&plan, false)
    );
    for c in &plan.changes {
        let id = c.live_id.as_deref().unwrap_or_default();
        assert!(
            ![
                &hand_instance,
                &other_instance,
                &hand_group,
                &hand_volume,
                &hand_address
            ]
            .contains(&&id.to_string()),
            "the plan touches a resource the stack does not own: {c:?}"
        );
    }

    // All hand-made resources are still there.
    let instances = c
        .describe_instances()
        .instance_ids(&hand_instance)
        .instance_ids(&other_instance)
        .send()
        .await
        .unwrap();
    for i in instances.reservations().iter().flat_map(|r| r.instances()) {
        assert_eq!(
            i.state().and_then(|s| s.name()).unwrap().as_str(),
            "running"
        );
    }
    assert_eq!(
        c.describe_security_groups()
            .group_ids(&hand_group)
            .send()
            .await
            .unwrap()
            .security_groups()
            .len(),
        1
    );
    assert_eq!(
        c.describe_volumes()
            .volume_ids(&hand_volume)
            .send()
            .await
            .unwrap()
            .volumes()
            .len(),
        1
    );
    assert_eq!(
        c.describe_addresses()
            .allocation_ids(&hand_address)
            .send()
            .await
            .unwrap()
            .addresses()
            .len(),
        1
    );
    assert_eq!(
        c.describe_key_pairs()
            .key_names("hand-key")
            .send()
            .await
            .unwrap()
            .key_pairs()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_image_is_a_plan_error_at_its_line_and_nothing_is_called() {
    let env = Env::start();
    let yaml = stack_yaml("bad").replace(IMAGE, "ami-0123456789abcdef0");
    let plan = env.plan(&desired(&yaml)).await;
    assert!(!plan.is_applicable());
    let e = &plan.errors[0];
    assert!(
        e.message.contains("ami-0123456789abcdef0 does not exist"),
        "{e:?}"
    );
    assert_eq!(e.at.as_ref().map(|l| l.file.as_str()), Some("stack.yaml"));
    let mutating: Vec<String> = env
        .proxy
        .actions()
        .into_iter()
        .filter(|a| !crate::support::is_read(a))
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried_and_the_end_state_is_the_same() {
    let env = Env::start();
    // Every third mutating call is throttled once.
    let n = Arc::new(Mutex::new(0u32));
    let k = n.clone();
    env.proxy.set_hook(move |req| {
        if crate::support::is_read(&req.action) {
            return None;
        }
        let mut n = k.lock().unwrap();
        *n += 1;
        n.is_multiple_of(3).then(ProxyResponse::throttled)
    });
    let d = desired(&stack_yaml("thr"));
    env.converge(&d).await;
    let by_name = instances_by_name(&env.direct, "thr").await;
    assert!(by_name.values().all(|ids| ids.len() == 1), "{by_name:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_error_skips_only_what_depends_on_it() {
    let env = Env::start();
    // EC2 refuses to launch db (a permanent 400, not retried).
    env.proxy.set_hook(|req| {
        (req.action == "RunInstances" && req.param("InstanceType") == Some("t3.small")).then(|| {
            ProxyResponse::ec2_error(
                400,
                "InsufficientInstanceCapacity",
                "no t3.small capacity in us-east-1a",
            )
        })
    });
    let d = desired(&stack_yaml("perm"));
    let (plan, live, region) = app::plan(&env.ec2, &d).await.unwrap();
    let results = app::apply(&env.ec2, &d, &plan, &live, &region, &Recorder::default()).await;
    let outcome = |name: &str| {
        results
            .iter()
            .filter(|r| r.step.resource.to_string() == name)
            .map(|r| match &r.outcome {
                Outcome::Done(_) => "done".to_string(),
                Outcome::Failed(e) => format!("failed: {}", e.code),
                Outcome::Skipped(why) => format!("skipped: {why}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        outcome("instance.db"),
        ["failed: InsufficientInstanceCapacity"]
    );
    assert_eq!(
        outcome("volume.db/data"),
        ["skipped: instance.db did not succeed"]
    );
    for independent in ["instance.web-1", "instance.web-2", "key_pair.deploy"] {
        assert_eq!(outcome(independent), ["done"], "{independent}");
    }
    // Allocated, then associated: two steps.
    assert_eq!(outcome("elastic_ip.web-ip"), ["done", "done"]);
    let report = ec2_gitops::render::report::text("perm", &results, 1.0);
    assert!(
        report.contains("FAILED: 9 done, 1 failed, 1 skipped"),
        "{report}"
    );

    // Capacity is back: the rerun does only what is left.
    env.proxy.clear_hook();
    env.proxy.clear();
    let plan = env.converge(&d).await;
    assert_eq!(
        actions(&plan),
        BTreeMap::from([
            ("instance.db".into(), Action::Create),
            ("volume.db/data".into(), Action::Create),
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn subnets_are_checked_in_one_call() {
    let env = Env::start();
    let subnets = env.direct.describe_subnets().send().await.unwrap();
    let subnet = subnets.subnets()[0].subnet_id().unwrap().to_string();
    let yaml = stack_yaml("sub").replace(
        "    type: t3.small\n",
        &format!("    type: t3.small\n    subnet: {subnet}\n"),
    );
    env.converge(&desired(&yaml)).await;
    env.proxy.clear();
    assert!(env.plan(&desired(&yaml)).await.is_empty());
    assert_eq!(env.proxy.count("DescribeSubnets"), 1);

    let missing = yaml.replace(&subnet, "subnet-0123456789abcdef0");
    let plan = env.plan(&desired(&missing)).await;
    assert_eq!(plan.errors.len(), 1, "{:?}", plan.errors);
    assert!(
        plan.errors[0]
            .message
            .contains("subnet-0123456789abcdef0 does not exist")
    );
}
