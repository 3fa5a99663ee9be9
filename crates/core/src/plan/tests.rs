//! Planner tests with plain values: a desired and a live stack built by hand,
//! the plan checked action by action and field by field, then the apply steps
//! derived from it.

use std::collections::BTreeMap;

use super::diff::{default_egress, user_data_digest};
use super::steps::{self, Op, Ref, Step};
use super::*;
use crate::model::*;

const STACK: &str = "web";
const FILE: &str = "infra/web.yaml";
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g";
const USER_DATA: &str = "#cloud-config\npackages: [nginx]\n";

// ---------------------------------------------------------------- helpers ---

fn at(line: usize) -> Location {
    Location {
        file: FILE.into(),
        line,
        column: 3,
    }
}

fn cidr(c: &str) -> Peer {
    if c.contains(':') {
        Peer::Cidr6(c.into())
    } else {
        Peer::Cidr4(c.into())
    }
}

fn tcp(port: i32, peer: Peer) -> Rule {
    Rule {
        protocol: Protocol::Tcp,
        from_port: port,
        to_port: port,
        peer,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| s.to_string()).collect())
}

fn id(kind: Kind, name: &str) -> ResourceId {
    ResourceId::new(kind, name)
}

fn region() -> Region {
    Region {
        images: BTreeMap::from([
            ("ami-old".into(), "/dev/xvda".into()),
            ("ami-new".into(), "/dev/xvda".into()),
        ]),
        subnets: BTreeMap::from([
            (
                "subnet-a".into(),
                ("vpc-default".into(), "us-east-1a".into()),
            ),
            (
                "subnet-b".into(),
                ("vpc-default".into(), "us-east-1b".into()),
            ),
        ]),
        vpcs: vec!["vpc-default".into(), "vpc-other".into()],
        default_vpc: Some("vpc-default".into()),
        instance_types: None,
        address_quota: None,
    }
}

fn group_spec(description: &str, ingress: Vec<Rule>) -> GroupSpec {
    GroupSpec {
        renamed_from: None,
        description: description.into(),
        vpc: None,
        ingress,
        egress: None,
        at: at(10),
    }
}

fn instance_spec() -> InstanceSpec {
    InstanceSpec {
        renamed_from: None,
        image: "ami-old".into(),
        instance_type: "t3.micro".into(),
        subnet: None,
        security_groups: vec!["web".into()],
        key_pair: Some("deploy".into()),
        user_data: Some(USER_DATA.into()),
        root_volume: Some(RootVolume {
            size_gb: 8,
            volume_type: "gp3".into(),
        }),
        tags: BTreeMap::from([("role".into(), "web".into())]),
        protect: false,
        entry: Entry::default(),
        at: at(30),
    }
}

fn live_group(name: &str, gid: &str, description: &str, ingress: Vec<Rule>) -> LiveGroup {
    LiveGroup {
        name: name.into(),
        id: gid.into(),
        group_name: format!("{STACK}-{name}-0123abcd"),
        description: description.into(),
        vpc_id: "vpc-default".into(),
        ingress,
        egress: default_egress(),
        tags: identity_tags(STACK, &id(Kind::SecurityGroup, name)),
    }
}

/// A live instance exactly as [`instance_spec`] describes it.
fn live_instance(name: &str, iid: &str) -> LiveInstance {
    let mut tags = identity_tags(STACK, &id(Kind::Instance, name));
    tags.insert("role".into(), "web".into());
    tags.insert(USER_DATA_TAG.into(), user_data_digest(USER_DATA));
    LiveInstance {
        name: name.into(),
        id: iid.into(),
        state: "running".into(),
        image: "ami-old".into(),
        instance_type: "t3.micro".into(),
        subnet: Some("subnet-a".into()),
        vpc: Some("vpc-default".into()),
        availability_zone: Some("us-east-1a".into()),
        key_name: Some("web-deploy".into()),
        security_group_ids: vec!["sg-web".into()],
        root_device: Some("/dev/xvda".into()),
        block_devices: BTreeMap::from([("/dev/xvda".into(), format!("vol-root-{iid}"))]),
        kept_volumes: std::collections::BTreeSet::new(),
        public_ip: None,
        private_ip: Some("10.0.0.10".into()),
        public_dns: None,
        tags,
    }
}

fn live_root(name: &str, iid: &str) -> LiveVolume {
    LiveVolume {
        name: format!("{name}/root"),
        id: format!("vol-root-{iid}"),
        size_gb: 8,
        volume_type: "gp3".into(),
        availability_zone: "us-east-1a".into(),
        attachment: Some((iid.into(), "/dev/xvda".into())),
        kept_on_termination: false,
        tags: identity_tags(STACK, &id(Kind::Volume, &format!("{name}/root"))),
    }
}

fn volume_spec(instance: &str, size_gb: i32) -> VolumeSpec {
    VolumeSpec {
        renamed_from: None,
        on_destroy: OnDestroy::Snapshot,
        instance: instance.into(),
        device: "/dev/sdf".into(),
        size_gb,
        volume_type: "gp3".into(),
        protect: false,
        at: at(50),
    }
}

fn live_volume(name: &str, vid: &str, attached: Option<&str>) -> LiveVolume {
    LiveVolume {
        name: name.into(),
        id: vid.into(),
        size_gb: 100,
        volume_type: "gp3".into(),
        availability_zone: "us-east-1a".into(),
        attachment: attached.map(|i| (i.to_string(), "/dev/sdf".to_string())),
        kept_on_termination: attached.is_some(),
        tags: identity_tags(STACK, &id(Kind::Volume, name)),
    }
}

fn live_address(name: &str, instance: Option<&str>) -> LiveAddress {
    LiveAddress {
        name: name.into(),
        allocation_id: format!("eipalloc-{name}"),
        public_ip: "198.51.100.7".into(),
        instance_id: instance.map(String::from),
        association_id: instance.map(|_| format!("eipassoc-{name}")),
        tags: identity_tags(STACK, &id(Kind::ElasticIp, name)),
    }
}

/// Desired, live and region: everything a plan is computed from.
#[derive(Clone)]
struct World {
    desired: Desired,
    live: Live,
    region: Region,
}

impl World {
    fn empty() -> Self {
        World {
            desired: Desired {
                stack: STACK.into(),
                region: "us-east-1".into(),
                file: FILE.into(),
                sources: vec![],
                key_pairs: BTreeMap::new(),
                security_groups: BTreeMap::new(),
                instances: BTreeMap::new(),
                volumes: BTreeMap::new(),
                elastic_ips: BTreeMap::new(),
                environment: None,
                after: vec![],
                preview: None,
                preview_of: None,
            },
            live: Live::default(),
            region: region(),
        }
    }

    /// Key pair `deploy`, group `web` and instance `web-1`, live exactly as
    /// desired.
    fn in_sync() -> Self {
        let mut w = World::empty();
        w.desired.key_pairs.insert(
            "deploy".into(),
            KeyPairSpec {
                renamed_from: None,
                public_key: format!("{KEY} ops@example.com"),
                at: at(5),
            },
        );
        w.live.key_pairs.push(LiveKeyPair {
            name: "deploy".into(),
            id: "key-deploy".into(),
            key_name: "web-deploy".into(),
            public_key: Some(KEY.into()),
            tags: identity_tags(STACK, &id(Kind::KeyPair, "deploy")),
        });
        let http = vec![tcp(80, cidr("0.0.0.0/0"))];
        w.desired
            .security_groups
            .insert("web".into(), group_spec("Web", http.clone()));
        w.live
            .security_groups
            .push(live_group("web", "sg-web", "Web", http));
        w.add_instance("web-1", "i-web1");
        w
    }

    /// Adds an instance to both sides, with its root volume.
    fn add_instance(&mut self, name: &str, iid: &str) {
        self.desired.instances.insert(name.into(), instance_spec());
        self.live.instances.push(live_instance(name, iid));
        self.live.volumes.push(live_root(name, iid));
    }

    fn inputs(&self) -> Inputs<'_> {
        Inputs {
            desired: &self.desired,
            live: &self.live,
            region: &self.region,
        }
    }

    fn plan(&self) -> Plan {
        compute(&self.inputs())
    }

    fn steps(&self) -> Vec<Step> {
        let plan = self.plan();
        assert!(plan.is_applicable(), "{plan:#?}");
        steps::steps(&plan, &self.inputs())
    }

    fn spec(&mut self, name: &str) -> &mut InstanceSpec {
        self.desired.instances.get_mut(name).expect("desired")
    }

    fn instance(&mut self, iid: &str) -> &mut LiveInstance {
        self.live
            .instances
            .iter_mut()
            .find(|i| i.id == iid)
            .expect("live")
    }

    fn group(&mut self, gid: &str) -> &mut LiveGroup {
        self.live
            .security_groups
            .iter_mut()
            .find(|g| g.id == gid)
            .expect("live")
    }
}

/// The one change of a plan that must have exactly one.
fn only_change(plan: &Plan) -> &Change {
    assert!(plan.errors.is_empty(), "{:#?}", plan.errors);
    assert_eq!(plan.changes.len(), 1, "{:#?}", plan.changes);
    &plan.changes[0]
}

fn actions(plan: &Plan) -> Vec<(String, Action, Option<String>)> {
    plan.changes
        .iter()
        .map(|c| (c.resource.to_string(), c.action, c.live_id.clone()))
        .collect()
}

// ------------------------------------------------------------- instances ---

#[test]
fn in_sync_stack_plans_nothing() {
    let plan = World::in_sync().plan();
    assert!(plan.is_empty(), "{:#?}", plan.changes);
    assert!(plan.errors.is_empty() && plan.warnings.is_empty());
    assert!(plan.is_applicable());
    assert_eq!(
        plan.summary,
        Summary {
            unchanged: 3,
            ..Summary::default()
        }
    );
    assert_eq!(plan.format_version, FORMAT_VERSION);
    assert_eq!(
        (
            plan.stack.as_str(),
            plan.region.as_str(),
            plan.file.as_str()
        ),
        (STACK, "us-east-1", FILE)
    );
    assert_eq!(plan.fingerprint.len(), 16);
}

/// One instance field changed at a time: what the plan says about it.
struct FieldCase {
    name: &'static str,
    edit: fn(&mut World),
    field: &'static str,
    before: Value,
    after: Value,
    effect: Effect,
    action: Action,
}

fn digest(text: &str, bytes: usize) -> Value {
    Value::Digest {
        sha256: user_data_digest(text),
        bytes,
    }
}

#[test]
fn each_instance_field_needs_what_ec2_requires() {
    let new_user_data = "#cloud-config\npackages: [nginx, certbot]\n";
    let cases = [
        FieldCase {
            name: "image",
            edit: |w| w.spec("web-1").image = "ami-new".into(),
            field: "image",
            before: text("ami-old"),
            after: text("ami-new"),
            effect: Effect::Replace,
            action: Action::Replace,
        },
        FieldCase {
            name: "type",
            edit: |w| w.spec("web-1").instance_type = "t3.large".into(),
            field: "type",
            before: text("t3.micro"),
            after: text("t3.large"),
            effect: Effect::Restart,
            action: Action::UpdateWithRestart,
        },
        FieldCase {
            name: "subnet",
            edit: |w| w.spec("web-1").subnet = Some("subnet-b".into()),
            field: "subnet",
            before: text("subnet-a"),
            after: text("subnet-b"),
            effect: Effect::Replace,
            action: Action::Replace,
        },
        FieldCase {
            name: "key pair",
            edit: |w| w.instance("i-web1").key_name = Some("someone-elses".into()),
            field: "key_pair",
            before: text("someone-elses"),
            after: text("web-deploy"),
            effect: Effect::Replace,
            action: Action::Replace,
        },
        FieldCase {
            name: "key pair removed",
            edit: |w| w.spec("web-1").key_pair = None,
            field: "key_pair",
            before: text("web-deploy"),
            after: Value::None,
            effect: Effect::Replace,
            action: Action::Replace,
        },
        FieldCase {
            name: "user data",
            edit: |w| {
                w.spec("web-1").user_data =
                    Some("#cloud-config\npackages: [nginx, certbot]\n".into())
            },
            field: "user_data",
            // The live size is unknown: only the digest tag is kept.
            before: digest(USER_DATA, 0),
            after: digest(new_user_data, new_user_data.len()),
            effect: Effect::Restart,
            action: Action::UpdateWithRestart,
        },
        FieldCase {
            name: "user data removed",
            edit: |w| w.spec("web-1").user_data = None,
            field: "user_data",
            before: digest(USER_DATA, 0),
            after: Value::None,
            effect: Effect::Restart,
            action: Action::UpdateWithRestart,
        },
        FieldCase {
            name: "security groups",
            edit: |w| {
                w.instance("i-web1")
                    .security_group_ids
                    .push("sg-0handmade".into())
            },
            field: "security_groups",
            before: list(&["sg-0handmade", "web"]),
            after: list(&["web"]),
            effect: Effect::InPlace,
            action: Action::Update,
        },
        FieldCase {
            name: "tags",
            edit: |w| {
                let spec = w.spec("web-1");
                spec.tags.insert("env".into(), "prod".into());
                spec.tags.insert("role".into(), "frontend".into());
            },
            field: "tags",
            before: list(&["role=web"]),
            after: list(&["env=prod", "role=frontend"]),
            effect: Effect::InPlace,
            action: Action::Update,
        },
        FieldCase {
            name: "tag removed outside the tool",
            edit: |w| {
                w.instance("i-web1").tags.remove("role");
            },
            field: "tags",
            before: list(&[]),
            after: list(&["role=web"]),
            effect: Effect::InPlace,
            action: Action::Update,
        },
        FieldCase {
            name: "protect",
            edit: |w| w.spec("web-1").protect = true,
            field: "protect",
            before: text("false"),
            after: text("true"),
            effect: Effect::InPlace,
            action: Action::Update,
        },
        FieldCase {
            name: "stopped",
            edit: |w| w.instance("i-web1").state = "stopped".into(),
            field: "state",
            before: text("stopped"),
            after: text("running"),
            effect: Effect::InPlace,
            action: Action::Update,
        },
        FieldCase {
            name: "root volume grown",
            edit: |w| w.spec("web-1").root_volume.as_mut().unwrap().size_gb = 20,
            field: "root_volume.size_gb",
            before: text("8"),
            after: text("20"),
            effect: Effect::InPlace,
            action: Action::Update,
        },
        FieldCase {
            name: "root volume type",
            edit: |w| w.spec("web-1").root_volume.as_mut().unwrap().volume_type = "io2".into(),
            field: "root_volume.type",
            before: text("gp3"),
            after: text("io2"),
            effect: Effect::InPlace,
            action: Action::Update,
        },
    ];
    for case in cases {
        let mut w = World::in_sync();
        (case.edit)(&mut w);
        let plan = w.plan();
        let c = only_change(&plan);
        assert_eq!(c.resource, id(Kind::Instance, "web-1"), "{}", case.name);
        assert_eq!(c.action, case.action, "{}", case.name);
        assert_eq!(c.live_id.as_deref(), Some("i-web1"), "{}", case.name);
        assert_eq!(c.blocked, None, "{}", case.name);
        assert_eq!(c.fields.len(), 1, "{}: {:#?}", case.name, c.fields);
        let f = &c.fields[0];
        assert_eq!(
            (f.field.name(), &f.before, &f.after, f.effect),
            (case.field, &case.before, &case.after, case.effect),
            "{}",
            case.name
        );
        assert!(!f.reason.is_empty(), "{}", case.name);
        assert!(plan.is_applicable(), "{}", case.name);
        let s = plan.summary;
        assert_eq!(s.unchanged, 2, "{}", case.name);
        match case.action {
            Action::Replace => assert_eq!((s.replace, s.update), (1, 0), "{}", case.name),
            Action::UpdateWithRestart => {
                assert_eq!((s.update, s.restart), (1, 1), "{}", case.name)
            }
            _ => assert_eq!((s.update, s.restart), (1, 0), "{}", case.name),
        }
    }
}

#[test]
fn fields_that_do_not_count_plan_nothing() {
    type Edit = fn(&mut World);
    let cases: [(&str, Edit); 4] = [
        ("no subnet in the YAML: any subnet will do", |w| {
            w.instance("i-web1").subnet = Some("subnet-b".into())
        }),
        ("reserved tags are the tool's and AWS's", |w| {
            let tags = &mut w.instance("i-web1").tags;
            tags.insert("Name".into(), "renamed-by-hand".into());
            tags.insert("aws:cloudformation:stack-name".into(), "x".into());
            tags.insert("ec2-gitops:something-new".into(), "x".into());
        }),
        ("a running instance", |w| {
            w.instance("i-web1").state = "pending".into()
        }),
        ("no root volume in the YAML: the AMI's", |w| {
            w.spec("web-1").root_volume = None;
            w.live.volumes[0].size_gb = 30;
        }),
    ];
    for (name, edit) in cases {
        let mut w = World::in_sync();
        edit(&mut w);
        let plan = w.plan();
        assert!(plan.is_empty(), "{name}: {:#?}", plan.changes);
    }
}

#[test]
fn user_data_appears_only_as_a_digest() {
    let mut w = World::in_sync();
    w.spec("web-1").user_data = Some("#!/bin/sh\nexport DB_PASSWORD=hunter2\n".into());
    let plan = w.plan();
    assert_eq!(only_change(&plan).fields[0].field.name(), "user_data");
    let json = serde_json::to_string(&plan).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
    assert!(!json.contains("DB_PASSWORD"), "{json}");
    assert!(!crate::render::json(std::slice::from_ref(&plan)).contains("hunter2"));
    assert!(!crate::render::text::plan(&plan, false).contains("hunter2"));
    assert!(!crate::render::markdown::plan(&plan, 60_000).contains("hunter2"));
}

#[test]
fn missing_resources_are_created_in_kind_order() {
    let mut w = World::in_sync();
    w.live = Live::default();
    let plan = w.plan();
    assert_eq!(
        actions(&plan),
        [
            ("key_pair.deploy".to_string(), Action::Create, None),
            ("security_group.web".to_string(), Action::Create, None),
            ("instance.web-1".to_string(), Action::Create, None),
        ]
    );
    // A creation lists what it creates, every value "before: none".
    let web = &plan.changes[2];
    let fields: Vec<&str> = web.fields.iter().map(|f| f.field.name()).collect();
    assert_eq!(
        fields,
        [
            "image",
            "type",
            "key_pair",
            "user_data",
            "security_groups",
            "tags",
            "protect",
            "root_volume.type",
            "root_volume.size_gb"
        ]
    );
    assert!(
        plan.changes
            .iter()
            .flat_map(|c| &c.fields)
            .all(|f| f.before == Value::None)
    );
    assert_eq!(
        plan.summary,
        Summary {
            create: 3,
            ..Summary::default()
        }
    );
}

#[test]
fn orphans_are_destroyed_with_a_reason() {
    let mut w = World::in_sync();
    w.live.instances.push(live_instance("old-1", "i-old1"));
    w.live.key_pairs.push(LiveKeyPair {
        name: "retired".into(),
        id: "key-retired".into(),
        key_name: "web-retired".into(),
        public_key: None,
        tags: BTreeMap::new(),
    });
    w.live
        .security_groups
        .push(live_group("legacy", "sg-legacy", "Legacy", vec![]));
    w.live
        .volumes
        .push(live_volume("old-1/data", "vol-data", Some("i-old1")));
    w.live
        .addresses
        .push(live_address("old-ip", Some("i-old1")));
    let plan = w.plan();
    // Creates and updates first, destroys last; each kind in order.
    assert_eq!(
        actions(&plan),
        [
            (
                "key_pair.retired".to_string(),
                Action::Destroy,
                Some("key-retired".to_string())
            ),
            (
                "security_group.legacy".to_string(),
                Action::Destroy,
                Some("sg-legacy".to_string())
            ),
            (
                "instance.old-1".to_string(),
                Action::Destroy,
                Some("i-old1".to_string())
            ),
            (
                "volume.old-1/data".to_string(),
                Action::Destroy,
                Some("vol-data".to_string())
            ),
            (
                "elastic_ip.old-ip".to_string(),
                Action::Destroy,
                Some("eipalloc-old-ip".to_string())
            ),
        ]
    );
    for c in &plan.changes {
        let reason = c.reason.as_deref().unwrap_or_default();
        assert!(reason.starts_with("no longer in the YAML"), "{c:#?}");
        assert!(c.blocked.is_none() && c.fields.is_empty());
    }
    assert!(
        plan.changes[3]
            .reason
            .as_deref()
            .unwrap()
            .contains("snapshot, then delete")
    );
    assert!(
        plan.changes[4]
            .reason
            .as_deref()
            .unwrap()
            .contains("198.51.100.7")
    );
    // The orphan's root volume goes with its instance.
    assert!(!plan.changes.iter().any(|c| c.resource.name == "old-1/root"));
    assert_eq!(plan.summary.destroy, 5);
    assert!(plan.is_applicable());
}

#[test]
fn protect_blocks_replacing_an_instance() {
    let mut w = World::in_sync();
    w.spec("web-1").protect = true;
    w.instance("i-web1")
        .tags
        .insert(PROTECT_TAG.into(), "true".into());
    w.spec("web-1").image = "ami-new".into();
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.action, Action::Replace);
    assert!(c.blocked.as_deref().unwrap().contains("protect"));
    assert_eq!(plan.summary.blocked, 1);
    assert!(!plan.is_applicable());

    // A restart of a protected instance is allowed.
    let mut w2 = w.clone();
    w2.spec("web-1").image = "ami-old".into();
    w2.spec("web-1").instance_type = "t3.large".into();
    let plan = w2.plan();
    assert_eq!(only_change(&plan).action, Action::UpdateWithRestart);
    assert!(plan.is_applicable());
}

#[test]
fn protected_orphans_are_never_destroyed() {
    let mut w = World::in_sync();
    let mut db = live_instance("db-1", "i-db1");
    db.tags.insert(PROTECT_TAG.into(), "true".into());
    w.live.instances.push(db);
    let mut data = live_volume("db-1/data", "vol-db", Some("i-db1"));
    data.tags.insert(PROTECT_TAG.into(), "true".into());
    w.live.volumes.push(data);
    let plan = w.plan();
    assert_eq!(plan.changes.len(), 2);
    for c in &plan.changes {
        assert_eq!(c.action, Action::Destroy);
        assert!(c.blocked.is_some(), "{c:#?}");
    }
    assert_eq!(plan.summary.blocked, 2);
    assert!(!plan.is_applicable());
}

#[test]
fn duplicate_instances_keep_the_one_needing_no_replace() {
    let mut w = World::in_sync();
    // An interrupted replace: the old instance (lower id) and the new one.
    w.instance("i-web1").id = "i-web1b".into();
    let mut old = live_instance("web-1", "i-web1a");
    old.image = "ami-older".into();
    w.live.instances.insert(0, old);
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.action, Action::Destroy);
    assert_eq!(c.live_id.as_deref(), Some("i-web1a"));
    assert_eq!(
        c.reason.as_deref(),
        Some("duplicate of web-1 (i-web1b): left by an interrupted replace")
    );
    assert_eq!(plan.summary.unchanged, 3);

    // When both need a change, the one needing the smaller one is kept.
    let mut w2 = w.clone();
    w2.spec("web-1").instance_type = "t3.large".into();
    let plan = w2.plan();
    assert_eq!(
        actions(&plan),
        [
            (
                "instance.web-1".to_string(),
                Action::UpdateWithRestart,
                Some("i-web1b".to_string())
            ),
            (
                "instance.web-1".to_string(),
                Action::Destroy,
                Some("i-web1a".to_string())
            ),
        ]
    );
}

#[test]
fn duplicate_instances_keep_volumes_and_addresses_on_the_kept_one() {
    let mut w = World::in_sync();
    w.instance("i-web1").id = "i-web1b".into();
    let mut old = live_instance("web-1", "i-web1a");
    old.image = "ami-older".into();
    w.live.instances.push(old);
    w.desired
        .volumes
        .insert("web-1/data".into(), volume_spec("web-1", 100));
    w.live
        .volumes
        .push(live_volume("web-1/data", "vol-data", Some("i-web1b")));
    w.desired.elastic_ips.insert(
        "web-ip".into(),
        AddressSpec {
            renamed_from: None,
            instance: "web-1".into(),
            at: at(60),
        },
    );
    w.live
        .addresses
        .push(live_address("web-ip", Some("i-web1b")));
    let plan = w.plan();
    assert_eq!(
        actions(&plan),
        [(
            "instance.web-1".to_string(),
            Action::Destroy,
            Some("i-web1a".to_string())
        )]
    );
    let steps = w.steps();
    assert_eq!(steps.len(), 1, "{steps:#?}");
}

// -------------------------------------------------------- security groups ---

#[test]
fn group_description_change_replaces_the_group() {
    let mut w = World::in_sync();
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .description = "Public web".into();
    let plan = w.plan();
    let g = plan
        .changes
        .iter()
        .find(|c| c.resource == id(Kind::SecurityGroup, "web"))
        .unwrap();
    assert_eq!(g.action, Action::Replace);
    assert_eq!(g.live_id.as_deref(), Some("sg-web"));
    assert_eq!(g.fields.len(), 1);
    assert_eq!(
        (
            g.fields[0].field.name(),
            &g.fields[0].before,
            &g.fields[0].after
        ),
        ("description", &text("Web"), &text("Public web"))
    );
    assert_eq!(g.fields[0].effect, Effect::Replace);
    // The instance moves to the new group, in place: its live group id no
    // longer counts as `web`.
    let i = plan
        .changes
        .iter()
        .find(|c| c.resource == id(Kind::Instance, "web-1"))
        .unwrap();
    assert_eq!(i.action, Action::Update);
    assert_eq!(i.fields[0].field.name(), "security_groups");
    assert_eq!(
        (&i.fields[0].before, &i.fields[0].after),
        (&list(&["sg-web"]), &list(&["web"]))
    );
}

#[test]
fn group_vpc_change_replaces_the_group() {
    let mut w = World::in_sync();
    w.desired.security_groups.get_mut("web").unwrap().vpc = Some("vpc-other".into());
    let plan = w.plan();
    let g = &plan.changes[0];
    assert_eq!(g.resource, id(Kind::SecurityGroup, "web"));
    assert_eq!(g.action, Action::Replace);
    assert_eq!(g.fields[0].field.name(), "vpc");
    assert_eq!(
        (&g.fields[0].before, &g.fields[0].after),
        (&text("vpc-default"), &text("vpc-other"))
    );
}

#[test]
fn rules_added_and_removed_change_in_place() {
    let mut w = World::in_sync();
    w.group("sg-web").ingress.push(tcp(8080, cidr("0.0.0.0/0")));
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .extend([tcp(443, cidr("0.0.0.0/0")), tcp(443, cidr("::/0"))]);
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.resource, id(Kind::SecurityGroup, "web"));
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.fields.len(), 1);
    let f = &c.fields[0];
    assert_eq!(f.field.name(), "ingress");
    assert_eq!(f.effect, Effect::InPlace);
    assert_eq!(f.before, list(&["tcp 80 0.0.0.0/0", "tcp 8080 0.0.0.0/0"]));
    assert_eq!(
        f.after,
        // In natural order: port 80 before 443.
        list(&["tcp 80 0.0.0.0/0", "tcp 443 0.0.0.0/0", "tcp 443 ::/0"])
    );

    let steps = w.steps();
    assert_eq!(steps.len(), 1);
    let Op::SetRules {
        group,
        authorize_ingress,
        revoke_ingress,
        authorize_egress,
        revoke_egress,
    } = &steps[0].op
    else {
        panic!("{steps:#?}")
    };
    assert_eq!(group, &Ref::Existing("sg-web".into()));
    let rules = |rs: &[steps::RuleRef]| rs.iter().map(|r| r.rule.to_string()).collect::<Vec<_>>();
    assert_eq!(
        rules(authorize_ingress),
        ["tcp 443 0.0.0.0/0", "tcp 443 ::/0"]
    );
    assert_eq!(rules(revoke_ingress), ["tcp 8080 0.0.0.0/0"]);
    assert!(authorize_egress.is_empty() && revoke_egress.is_empty());
}

#[test]
fn group_references_by_id_read_as_names() {
    let mut w = World::in_sync();
    w.desired.security_groups.insert(
        "admin".into(),
        group_spec("Bastion", vec![tcp(22, cidr("203.0.113.0/24"))]),
    );
    w.live.security_groups.push(live_group(
        "admin",
        "sg-admin",
        "Bastion",
        vec![tcp(22, cidr("203.0.113.0/24"))],
    ));
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .push(tcp(22, Peer::Group("admin".into())));
    w.group("sg-web")
        .ingress
        .push(tcp(22, Peer::GroupId("sg-admin".into())));
    let plan = w.plan();
    assert!(plan.is_empty(), "{:#?}", plan.changes);

    // When `admin` is replaced, the reference points at a group going away.
    w.desired
        .security_groups
        .get_mut("admin")
        .unwrap()
        .description = "Bastion hosts".into();
    let plan = w.plan();
    let web = plan
        .changes
        .iter()
        .find(|c| c.resource == id(Kind::SecurityGroup, "web"))
        .unwrap();
    assert_eq!(web.action, Action::Update);
    assert_eq!(
        web.fields[0].before,
        list(&["tcp 22 group sg-admin", "tcp 80 0.0.0.0/0"])
    );
    assert_eq!(
        web.fields[0].after,
        list(&["tcp 22 group admin", "tcp 80 0.0.0.0/0"])
    );
}

#[test]
fn omitted_egress_means_the_ec2_default() {
    // In sync: live has exactly `all 0.0.0.0/0` out, the YAML omits egress.
    assert!(World::in_sync().plan().is_empty());

    let mut w = World::in_sync();
    w.group("sg-web").egress.push(tcp(25, cidr("0.0.0.0/0")));
    let c = only_change(&w.plan()).clone();
    assert_eq!(c.fields[0].field.name(), "egress");
    assert_eq!(
        (&c.fields[0].before, &c.fields[0].after),
        (
            &list(&["all traffic 0.0.0.0/0", "tcp 25 0.0.0.0/0"]),
            &list(&["all traffic 0.0.0.0/0"])
        )
    );

    let mut w = World::in_sync();
    w.desired.security_groups.get_mut("web").unwrap().egress =
        Some(vec![tcp(443, cidr("0.0.0.0/0"))]);
    let c = only_change(&w.plan()).clone();
    assert_eq!(c.action, Action::Update);
    assert_eq!(
        (&c.fields[0].before, &c.fields[0].after),
        (
            &list(&["all traffic 0.0.0.0/0"]),
            &list(&["tcp 443 0.0.0.0/0"])
        )
    );

    // An explicit empty egress closes the group.
    let mut w = World::in_sync();
    w.desired.security_groups.get_mut("web").unwrap().egress = Some(vec![]);
    let c = only_change(&w.plan()).clone();
    assert_eq!(c.fields[0].after, list(&[]));
}

// -------------------------------------------------------------- key pairs ---

#[test]
fn key_pair_public_key_change_replaces_it_but_the_comment_does_not() {
    let mut w = World::in_sync();
    w.desired.key_pairs.get_mut("deploy").unwrap().public_key =
        format!("{KEY} someone-else@laptop");
    assert!(w.plan().is_empty());

    let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJlcGxhY2VkIGtleSBtYXRlcmlhbCBoZXJlISEh";
    w.desired.key_pairs.get_mut("deploy").unwrap().public_key = format!("{other} ops");
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.resource, id(Kind::KeyPair, "deploy"));
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.fields[0].field.name(), "public_key");
    assert_eq!(
        (&c.fields[0].before, &c.fields[0].after),
        (&text(KEY), &text(other))
    );

    // EC2 may not return the public key: then it cannot be compared.
    w.live.key_pairs[0].public_key = None;
    assert!(w.plan().is_empty());
}

// ---------------------------------------------------------------- volumes ---

fn with_volume() -> World {
    let mut w = World::in_sync();
    w.desired
        .volumes
        .insert("web-1/data".into(), volume_spec("web-1", 100));
    w.live
        .volumes
        .push(live_volume("web-1/data", "vol-data", Some("i-web1")));
    w
}

/// The `DeleteVolume` step of `web-1/data`: (needs, detach, deleted_with).
fn data_deletion(steps: &[Step]) -> (Vec<&'static str>, bool, Option<String>) {
    let d = steps
        .iter()
        .find(|s| matches!(s.op, Op::DeleteVolume { .. }))
        .expect("the volume is deleted");
    let Op::DeleteVolume {
        detach,
        deleted_with,
        snapshot,
        ..
    } = &d.op
    else {
        unreachable!()
    };
    assert!(snapshot.is_some(), "data is snapshotted first");
    let needs = d.needs.iter().map(|n| kind_of(&steps[*n].op)).collect();
    (needs, detach.is_some(), deleted_with.clone())
}

#[test]
fn a_data_volume_is_never_detached_from_an_instance_being_terminated() {
    // The instance goes with its volume; EC2 keeps the volume at
    // termination (how the tool attaches it): it is snapshotted and deleted
    // after the termination, never detached from the running instance.
    let mut w = with_volume();
    w.desired.instances.remove("web-1");
    w.desired.volumes.clear();
    let steps = w.steps();
    assert_acyclic(&steps);
    assert_eq!(
        data_deletion(&steps),
        (vec!["TerminateInstance"], false, None)
    );

    // EC2 deletes it with the instance (DeleteOnTermination): the snapshot
    // is taken before the termination, and nothing detaches or deletes it.
    let mut w = with_volume();
    w.live.volumes.last_mut().unwrap().kept_on_termination = false;
    w.desired.instances.remove("web-1");
    w.desired.volumes.clear();
    let steps = w.steps();
    assert_acyclic(&steps);
    let (needs, detaches, with) = data_deletion(&steps);
    assert_eq!((needs, detaches), (vec![], false));
    assert_eq!(with.as_deref(), Some("i-web1"));
    let termination = steps
        .iter()
        .find(|s| matches!(s.op, Op::TerminateInstance { .. }))
        .expect("terminated");
    let barrier = &steps[termination.needs[0]];
    assert!(
        barrier
            .needs
            .iter()
            .any(|n| matches!(steps[*n].op, Op::DeleteVolume { .. })),
        "the termination waits for the snapshot"
    );

    // Only the volume goes, its instance stays: detached, then deleted.
    let mut w = with_volume();
    w.desired.volumes.clear();
    let steps = w.steps();
    assert_eq!(data_deletion(&steps), (vec![], true, None));
}

#[test]
fn volumes_grow_and_change_type_in_place() {
    assert!(with_volume().plan().is_empty());

    let mut w = with_volume();
    w.desired.volumes.get_mut("web-1/data").unwrap().size_gb = 200;
    w.desired.volumes.get_mut("web-1/data").unwrap().volume_type = "io2".into();
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.resource, id(Kind::Volume, "web-1/data"));
    assert_eq!(c.action, Action::Update);
    let fields: Vec<_> = c
        .fields
        .iter()
        .map(|f| (f.field.name(), f.before.clone(), f.after.clone(), f.effect))
        .collect();
    assert_eq!(
        fields,
        [
            ("type", text("gp3"), text("io2"), Effect::InPlace),
            ("size_gb", text("100"), text("200"), Effect::InPlace),
        ]
    );
    let steps = w.steps();
    assert_eq!(
        steps[0].op,
        Op::UpdateVolume {
            volume_id: "vol-data".into(),
            modify: Some((200, "io2".into())),
            detach: None,
            attach: None,
            deletes_data: None,
        }
    );
}

#[test]
fn volume_shrink_is_an_error() {
    let mut w = with_volume();
    w.desired.volumes.get_mut("web-1/data").unwrap().size_gb = 50;
    let plan = w.plan();
    assert!(plan.is_empty(), "{:#?}", plan.changes);
    assert_eq!(
        plan.errors,
        [PlanError {
            resource: id(Kind::Volume, "web-1/data"),
            at: Some(at(50)),
            message: "volume web-1/data cannot shrink from 100 GiB to 50 GiB".into(),
            hint: Some("EBS volumes can only grow; restore the size in the YAML".into()),
        }]
    );
    assert!(!plan.is_applicable());
}

#[test]
fn volume_moves_to_a_new_instance() {
    let mut w = with_volume();
    w.desired.instances.insert("web-2".into(), instance_spec());
    w.desired.volumes.get_mut("web-1/data").unwrap().instance = "web-2".into();
    let plan = w.plan();
    assert_eq!(
        actions(&plan),
        [
            ("instance.web-2".to_string(), Action::Create, None),
            (
                "volume.web-1/data".to_string(),
                Action::Update,
                Some("vol-data".to_string())
            ),
        ]
    );
    let f = &plan.changes[1].fields[0];
    assert_eq!(f.field.name(), "attachment");
    assert_eq!(
        (&f.before, &f.after),
        (&text("i-web1 /dev/sdf"), &text("web-2 (new) /dev/sdf"))
    );
    let steps = w.steps();
    assert!(matches!(steps[0].op, Op::RunInstance(_)));
    assert_eq!(
        steps[1].op,
        Op::UpdateVolume {
            volume_id: "vol-data".into(),
            modify: None,
            detach: Some(("i-web1".into(), "/dev/sdf".into())),
            attach: Some((Ref::New(id(Kind::Instance, "web-2")), "/dev/sdf".into())),
            deletes_data: None,
        }
    );
    assert_eq!(steps[1].needs, [0]);
}

#[test]
fn volume_of_a_replaced_instance_follows_it() {
    let mut w = with_volume();
    w.spec("web-1").image = "ami-new".into();
    let plan = w.plan();
    let v = plan
        .changes
        .iter()
        .find(|c| c.resource.kind == Kind::Volume)
        .unwrap();
    assert_eq!(v.fields[0].after, text("web-1 (new) /dev/sdf"));
}

#[test]
fn missing_volume_is_created_on_its_instance() {
    let mut w = World::in_sync();
    w.desired
        .volumes
        .insert("web-1/data".into(), volume_spec("web-1", 100));
    let plan = w.plan();
    assert_eq!(
        actions(&plan),
        [("volume.web-1/data".to_string(), Action::Create, None)]
    );
    let steps = w.steps();
    let Op::CreateVolume {
        instance,
        device,
        size_gb,
        ..
    } = &steps[0].op
    else {
        panic!("{steps:#?}")
    };
    assert_eq!(
        (instance, device.as_str(), *size_gb),
        (&Ref::Existing("i-web1".into()), "/dev/sdf", 100)
    );
}

// ----------------------------------------------------------- elastic IPs ---

#[test]
fn elastic_ip_is_reassociated_in_place() {
    let mut w = World::in_sync();
    w.add_instance("web-2", "i-web2");
    w.desired.elastic_ips.insert(
        "web-ip".into(),
        AddressSpec {
            renamed_from: None,
            instance: "web-2".into(),
            at: at(60),
        },
    );
    w.live
        .addresses
        .push(live_address("web-ip", Some("i-web1")));
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.resource, id(Kind::ElasticIp, "web-ip"));
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.live_id.as_deref(), Some("eipalloc-web-ip"));
    assert_eq!(
        (&c.fields[0].before, &c.fields[0].after),
        (&text("i-web1"), &text("i-web2"))
    );
    assert_eq!(
        w.steps()[0].op,
        Op::AssociateAddress {
            allocation: Ref::Existing("eipalloc-web-ip".into()),
            instance: Ref::Existing("i-web2".into()),
        }
    );

    // Unassociated (someone disassociated it by hand).
    w.desired.elastic_ips.get_mut("web-ip").unwrap().instance = "web-1".into();
    w.live.addresses[0].instance_id = None;
    let plan = w.plan();
    assert_eq!(
        (
            &plan.changes[0].fields[0].before,
            &plan.changes[0].fields[0].after
        ),
        (&Value::None, &text("i-web1"))
    );
}

// ------------------------------------------------------------ region facts ---

#[test]
fn unknown_image_subnet_and_vpc_are_located_errors() {
    let mut w = World::in_sync();
    w.spec("web-1").image = "ami-nope".into();
    w.spec("web-1").subnet = Some("subnet-nope".into());
    w.desired.security_groups.get_mut("web").unwrap().vpc = Some("vpc-nope".into());
    let plan = w.plan();
    let errors: Vec<_> = plan
        .errors
        .iter()
        .map(|e| {
            (
                e.resource.to_string(),
                e.at.as_ref().map(|l| l.to_string()),
                e.message.as_str(),
                e.hint.is_some(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (
                "instance.web-1".to_string(),
                Some("infra/web.yaml:30:3".to_string()),
                "image ami-nope does not exist in us-east-1 (or is not visible to this account)",
                true
            ),
            (
                "instance.web-1".to_string(),
                Some("infra/web.yaml:30:3".to_string()),
                "subnet subnet-nope does not exist in us-east-1",
                true
            ),
            (
                "security_group.web".to_string(),
                Some("infra/web.yaml:10:3".to_string()),
                "VPC vpc-nope does not exist in us-east-1",
                true
            ),
        ]
    );
    assert!(!plan.is_applicable());
}

#[test]
fn an_error_in_a_count_entry_is_reported_once_for_the_entry() {
    let mut w = World::empty();
    for n in 1..=3 {
        let mut spec = instance_spec();
        spec.image = "ami-nope".into();
        spec.instance_type = "t9.nope".into();
        spec.security_groups = vec![];
        spec.entry = Entry {
            rollout: Default::default(),
            name: "web".into(),
            count: 3,
        };
        w.desired.instances.insert(format!("web-{n}"), spec);
    }
    w.region.instance_types = Some(["t3.micro".to_string()].into());
    // Another entry with the same error is its own.
    let mut db = instance_spec();
    db.image = "ami-nope".into();
    db.security_groups = vec![];
    db.entry = Entry {
        rollout: Default::default(),
        name: "db".into(),
        count: 1,
    };
    db.at = at(40);
    w.desired.instances.insert("db".into(), db);
    let plan = w.plan();
    let errors: Vec<(String, String)> = plan
        .errors
        .iter()
        .map(|e| (e.resource.to_string(), e.message.clone()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "instance.db".to_string(),
                "image ami-nope does not exist in us-east-1 (or is not visible to this account)"
                    .to_string()
            ),
            (
                "instance.web".to_string(),
                "`instances.web` (3 instances): image ami-nope does not exist in us-east-1 (or is not visible to this account)".to_string()
            ),
            (
                "instance.web".to_string(),
                "`instances.web` (3 instances): instance type t9.nope is not offered in us-east-1"
                    .to_string()
            ),
        ]
    );
}

#[test]
fn no_default_vpc_is_an_error_unless_the_group_names_one() {
    let mut w = World::in_sync();
    w.region.default_vpc = None;
    let plan = w.plan();
    assert_eq!(plan.errors.len(), 1, "{:#?}", plan.errors);
    let e = &plan.errors[0];
    assert_eq!(e.resource, id(Kind::SecurityGroup, "web"));
    assert_eq!(e.at, Some(at(10)));
    assert_eq!(e.message, "us-east-1 has no default VPC");
    assert_eq!(e.hint.as_deref(), Some("set `vpc:` on the security group"));

    w.desired.security_groups.get_mut("web").unwrap().vpc = Some("vpc-default".into());
    assert!(w.plan().errors.is_empty());
}

// --------------------------------------------------------------- warnings ---

#[test]
fn admin_ports_open_to_the_internet_warn_only_when_new() {
    // A new group opening SSH to the world.
    let mut w = World::in_sync();
    w.desired.security_groups.insert(
        "ssh".into(),
        group_spec(
            "SSH",
            vec![
                tcp(22, cidr("0.0.0.0/0")),
                tcp(22, cidr("10.0.0.0/8")),
                tcp(443, cidr("0.0.0.0/0")),
            ],
        ),
    );
    let plan = w.plan();
    assert_eq!(plan.warnings.len(), 1, "{:#?}", plan.warnings);
    assert_eq!(plan.warnings[0].resource, id(Kind::SecurityGroup, "ssh"));
    assert!(
        plan.warnings[0]
            .message
            .starts_with("`tcp 22 0.0.0.0/0` opens 22 (SSH) to the whole internet"),
        "{}",
        plan.warnings[0].message
    );

    // Already open: adding another rule does not warn about it again...
    let mut w = World::in_sync();
    let open = tcp(22, cidr("0.0.0.0/0"));
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .push(open.clone());
    w.group("sg-web").ingress.push(open.clone());
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .push(Rule {
            protocol: Protocol::Tcp,
            from_port: 3389,
            to_port: 3389,
            peer: cidr("::/0"),
        });
    let plan = w.plan();
    assert_eq!(plan.warnings.len(), 1, "{:#?}", plan.warnings);
    assert!(plan.warnings[0].message.contains("3389 (RDP)"));

    // ...nor does a change of the egress rules only.
    let mut w = World::in_sync();
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .push(open.clone());
    w.group("sg-web").ingress.push(open);
    w.group("sg-web").egress.push(tcp(25, cidr("0.0.0.0/0")));
    let plan = w.plan();
    assert_eq!(only_change(&plan).fields[0].field.name(), "egress");
    assert!(plan.warnings.is_empty(), "{:#?}", plan.warnings);
}

// ------------------------------------------------------------ fingerprint ---

#[test]
fn fingerprint_covers_what_a_creation_creates() {
    let mut w = World::in_sync();
    w.live = Live::default();
    let a = w.plan();
    let spec = w.desired.instances.values_mut().next().unwrap();
    spec.instance_type = "t3.xlarge".into();
    let b = w.plan();
    assert_ne!(
        a.fingerprint, b.fingerprint,
        "two creations of different instances must not share a fingerprint"
    );
}

#[test]
fn fingerprint_is_stable_and_follows_live_values() {
    let mut w = World::in_sync();
    w.spec("web-1").instance_type = "t3.large".into();
    let a = w.plan();
    let b = w.plan();
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.fingerprint, fingerprint::of(&a));
    assert!(a.fingerprint.chars().all(|c| c.is_ascii_hexdigit()));

    // Same change planned, but the live value it was computed from moved.
    w.instance("i-web1").instance_type = "t3.small".into();
    let c = w.plan();
    assert_eq!(c.changes[0].action, a.changes[0].action);
    assert_ne!(a.fingerprint, c.fingerprint);

    // A live id moved (the instance was replaced by hand).
    let mut w2 = World::in_sync();
    w2.spec("web-1").instance_type = "t3.large".into();
    w2.instance("i-web1").id = "i-web1-other".into();
    assert_ne!(a.fingerprint, w2.plan().fingerprint);

    // The field itself is not hashed.
    let mut d = a.clone();
    d.fingerprint = "0000000000000000".into();
    assert_eq!(fingerprint::of(&d), a.fingerprint);
}

// ------------------------------------------------------------------ steps ---

/// A whole stack created from nothing: key pair, two groups referencing each
/// other, two instances, a volume and an elastic IP.
fn full_stack() -> World {
    let mut w = World::empty();
    w.desired.key_pairs.insert(
        "deploy".into(),
        KeyPairSpec {
            renamed_from: None,
            public_key: KEY.into(),
            at: at(5),
        },
    );
    w.desired.security_groups.insert(
        "web".into(),
        group_spec(
            "Web",
            vec![
                tcp(80, cidr("0.0.0.0/0")),
                tcp(22, Peer::Group("admin".into())),
            ],
        ),
    );
    w.desired.security_groups.insert(
        "admin".into(),
        group_spec(
            "Bastion",
            vec![
                tcp(22, cidr("203.0.113.0/24")),
                tcp(9100, Peer::Group("web".into())),
            ],
        ),
    );
    w.desired.instances.insert("web-1".into(), instance_spec());
    let mut bastion = instance_spec();
    bastion.security_groups = vec!["admin".into()];
    bastion.key_pair = None;
    w.desired.instances.insert("bastion".into(), bastion);
    w.desired
        .volumes
        .insert("web-1/data".into(), volume_spec("web-1", 100));
    w.desired.elastic_ips.insert(
        "web-ip".into(),
        AddressSpec {
            renamed_from: None,
            instance: "web-1".into(),
            at: at(60),
        },
    );
    w
}

fn kind_of(op: &Op) -> &'static str {
    match op {
        Op::Rename { .. } => "Rename",
        Op::HealthGate { .. } => "HealthGate",
        Op::StopInstance { .. } => "StopInstance",
        Op::Barrier => "Barrier",
        Op::ImportKeyPair { .. } => "ImportKeyPair",
        Op::DeleteKeyPair { .. } => "DeleteKeyPair",
        Op::CreateGroup { .. } => "CreateGroup",
        Op::SetRules { .. } => "SetRules",
        Op::DeleteGroup { .. } => "DeleteGroup",
        Op::RunInstance(_) => "RunInstance",
        Op::UpdateInstance { .. } => "UpdateInstance",
        Op::TerminateInstance { .. } => "TerminateInstance",
        Op::CreateVolume { .. } => "CreateVolume",
        Op::UpdateVolume { .. } => "UpdateVolume",
        Op::DeleteVolume { .. } => "DeleteVolume",
        Op::AllocateAddress { .. } => "AllocateAddress",
        Op::AssociateAddress { .. } => "AssociateAddress",
        Op::ReleaseAddress { .. } => "ReleaseAddress",
    }
}

fn outline(steps: &[Step]) -> Vec<(usize, &'static str, String, Vec<usize>)> {
    steps
        .iter()
        .map(|s| {
            (
                s.index,
                kind_of(&s.op),
                s.resource.to_string(),
                s.needs.clone(),
            )
        })
        .collect()
}

fn assert_acyclic(steps: &[Step]) {
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s.index, i);
        assert!(s.needs.iter().all(|&n| n < i), "{s:#?}");
    }
}

fn launch(step: &Step) -> &steps::Launch {
    match &step.op {
        Op::RunInstance(l) => l,
        op => panic!("not a launch: {op:?}"),
    }
}

#[test]
fn full_create_runs_in_dependency_order() {
    let w = full_stack();
    let steps = w.steps();
    assert_acyclic(&steps);
    let s = |v: &str| v.to_string();
    assert_eq!(
        outline(&steps),
        [
            (0, "ImportKeyPair", s("key_pair.deploy"), vec![]),
            (1, "CreateGroup", s("security_group.admin"), vec![]),
            (2, "CreateGroup", s("security_group.web"), vec![]),
            // Rules after both groups exist: they reference each other.
            (3, "SetRules", s("security_group.admin"), vec![1, 2]),
            (4, "SetRules", s("security_group.web"), vec![1, 2]),
            // The new groups only gain rules: the launches do not wait for
            // them (nothing is wider than the YAML meanwhile)...
            (5, "RunInstance", s("instance.bastion"), vec![1]),
            (6, "RunInstance", s("instance.web-1"), vec![0, 2]),
            (7, "CreateVolume", s("volume.web-1/data"), vec![6]),
            // The address is allocated from the start; its association,
            // which brings traffic, waits for the rules and the data volume
            // too.
            (8, "AllocateAddress", s("elastic_ip.web-ip"), vec![]),
            (
                9,
                "AssociateAddress",
                s("elastic_ip.web-ip"),
                vec![4, 6, 7, 8]
            ),
        ]
    );
    assert!(steps.iter().all(|s| !s.destroys));

    let Op::SetRules {
        group,
        authorize_ingress,
        authorize_egress,
        revoke_ingress,
        revoke_egress,
    } = &steps[4].op
    else {
        panic!()
    };
    assert_eq!(group, &Ref::New(id(Kind::SecurityGroup, "web")));
    let refs: Vec<_> = authorize_ingress
        .iter()
        .map(|r| (r.rule.to_string(), r.group.clone()))
        .collect();
    assert_eq!(
        refs,
        [
            (
                s("tcp 22 group admin"),
                Some(Ref::New(id(Kind::SecurityGroup, "admin")))
            ),
            (s("tcp 80 0.0.0.0/0"), None),
        ]
    );
    // EC2's default egress is what the YAML wants: nothing to do.
    assert!(authorize_egress.is_empty() && revoke_egress.is_empty() && revoke_ingress.is_empty());

    let Op::CreateGroup {
        group_name,
        vpc_id,
        tags,
        ..
    } = &steps[2].op
    else {
        panic!()
    };
    assert!(group_name.starts_with("web-web-"), "{group_name}");
    assert_eq!(vpc_id, "vpc-default");
    assert_eq!(tags, &identity_tags(STACK, &id(Kind::SecurityGroup, "web")));

    let web = launch(&steps[6]);
    assert_eq!(web.groups, [Ref::New(id(Kind::SecurityGroup, "web"))]);
    assert_eq!(web.key_name.as_deref(), Some("web-deploy"));
    assert_eq!(web.user_data.as_deref(), Some(USER_DATA));
    assert_eq!(
        web.tags.get(USER_DATA_TAG),
        Some(&user_data_digest(USER_DATA))
    );
    assert_eq!(web.tags.get("role").map(String::as_str), Some("web"));
    assert_eq!(
        web.tags.get(NAME_TAG).map(String::as_str),
        Some("instance/web-1")
    );
    assert_eq!(
        web.root_volume
            .as_ref()
            .map(|(d, r)| (d.as_str(), r.size_gb)),
        Some(("/dev/xvda", 8))
    );
    assert!(web.client_token.starts_with("ec2-gitops-"));
    assert!(web.client_token.len() <= 64, "EC2 allows 64 characters");
    assert_eq!(launch(&steps[5]).key_name, None);
    assert!(matches!(
        &steps[7].op,
        Op::CreateVolume { instance: Ref::New(i), .. } if i == &id(Kind::Instance, "web-1")
    ));
}

#[test]
fn destroys_follow_creates_and_terminations_wait_for_replacements() {
    // Live: the full stack as created, then the YAML changes: web-1 gets a
    // new image (replace), the bastion and its group go, the key pair goes.
    let mut w = full_stack();
    w.live.security_groups = vec![
        live_group(
            "admin",
            "sg-admin",
            "Bastion",
            vec![
                tcp(22, cidr("203.0.113.0/24")),
                tcp(9100, Peer::GroupId("sg-web".into())),
            ],
        ),
        live_group(
            "web",
            "sg-web",
            "Web",
            vec![
                tcp(80, cidr("0.0.0.0/0")),
                tcp(22, Peer::GroupId("sg-admin".into())),
            ],
        ),
    ];
    w.live.key_pairs.push(LiveKeyPair {
        name: "deploy".into(),
        id: "key-deploy".into(),
        key_name: "web-deploy".into(),
        public_key: Some(KEY.into()),
        tags: BTreeMap::new(),
    });
    w.live.instances.push(live_instance("web-1", "i-web1"));
    w.live.volumes.push(live_root("web-1", "i-web1"));
    let mut bastion = live_instance("bastion", "i-bastion");
    bastion.security_group_ids = vec!["sg-admin".into()];
    bastion.key_name = None;
    w.live.instances.push(bastion);
    w.live
        .volumes
        .push(live_volume("web-1/data", "vol-data", Some("i-web1")));
    w.live
        .addresses
        .push(live_address("web-ip", Some("i-web1")));
    assert!(w.plan().is_empty(), "{:#?}", w.plan().changes);

    w.desired.instances.remove("bastion");
    w.desired.security_groups.remove("admin");
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .retain(|r| !matches!(r.peer, Peer::Group(_)));
    w.desired.key_pairs.clear();
    w.spec("web-1").key_pair = None;
    w.spec("web-1").image = "ami-new".into();
    let plan = w.plan();
    let s = |v: &str| v.to_string();
    assert_eq!(
        actions(&plan),
        [
            (s("security_group.web"), Action::Update, Some(s("sg-web"))),
            (s("instance.web-1"), Action::Replace, Some(s("i-web1"))),
            (s("volume.web-1/data"), Action::Update, Some(s("vol-data"))),
            (
                s("elastic_ip.web-ip"),
                Action::Update,
                Some(s("eipalloc-web-ip"))
            ),
            (s("key_pair.deploy"), Action::Destroy, Some(s("key-deploy"))),
            (
                s("security_group.admin"),
                Action::Destroy,
                Some(s("sg-admin"))
            ),
            (s("instance.bastion"), Action::Destroy, Some(s("i-bastion"))),
        ]
    );
    let steps = w.steps();
    assert_acyclic(&steps);
    assert_eq!(
        outline(&steps),
        [
            (0, "SetRules", s("security_group.web"), vec![]),
            (1, "RunInstance", s("instance.web-1"), vec![0]),
            // The replacement is healthy before anything moves to it.
            (2, "HealthGate", s("instance.web-1 batch 1/1"), vec![1]),
            // The old one is stopped before its volume is detached.
            (3, "StopInstance", s("instance.web-1"), vec![1, 2]),
            (4, "UpdateVolume", s("volume.web-1/data"), vec![1, 2, 3]),
            // The address moves once the volume is attached to the new one.
            (
                5,
                "AssociateAddress",
                s("elastic_ip.web-ip"),
                vec![0, 1, 2, 4]
            ),
            // Destructions wait for every creation and change through one
            // barrier, and each stage for the one before through another:
            // the dependencies stay linear in the number of steps.
            (
                6,
                "Barrier",
                s("instance.barrier 6"),
                vec![0, 1, 2, 3, 4, 5]
            ),
            (7, "TerminateInstance", s("instance.web-1"), vec![1, 6]),
            (8, "TerminateInstance", s("instance.bastion"), vec![6]),
            (9, "Barrier", s("instance.barrier 9"), vec![7, 8]),
            (10, "DeleteGroup", s("security_group.admin"), vec![9]),
            (11, "DeleteKeyPair", s("key_pair.deploy"), vec![9]),
        ]
    );
    assert_eq!(
        steps[7].op,
        Op::TerminateInstance {
            instance_id: "i-web1".into()
        }
    );
    let destroys: Vec<usize> = steps
        .iter()
        .filter(|s| s.destroys)
        .map(|s| s.index)
        .collect();
    assert_eq!(destroys, [7, 8, 10, 11]);
}

#[test]
fn client_tokens_are_deterministic_and_follow_history() {
    let w = full_stack();
    let token = |w: &World| launch(&w.steps()[6]).client_token.clone();
    let a = token(&w);
    assert_eq!(a, token(&w));
    assert_ne!(a, launch(&w.steps()[5]).client_token, "one per instance");

    // A terminated web-1 in the history: a new token, so EC2 does not answer
    // the re-creation with the terminated instance.
    let mut w2 = w.clone();
    w2.live
        .terminated
        .insert("web-1".into(), vec!["i-gone".into()]);
    let b = token(&w2);
    assert_ne!(a, b);
    w2.live
        .terminated
        .insert("web-1".into(), vec!["i-gone".into(), "i-gone2".into()]);
    assert_ne!(b, token(&w2));

    // Another configuration: another token.
    let mut w3 = w.clone();
    w3.spec("web-1").instance_type = "t3.large".into();
    assert_ne!(a, token(&w3));

    // Where the YAML says it (file name as typed, line) is not configuration.
    let mut w4 = w.clone();
    w4.spec("web-1").at = Location {
        file: "./infra/web.yaml".into(),
        line: 99,
        column: 1,
    };
    w4.desired.volumes.get_mut("web-1/data").unwrap().at = at(77);
    assert_eq!(a, token(&w4));
    let volume_token = |w: &World| match &w.steps()[7].op {
        Op::CreateVolume { client_token, .. } => client_token.clone(),
        op => panic!("{op:?}"),
    };
    assert_eq!(volume_token(&w), volume_token(&w4));
}

#[test]
fn group_name_changes_with_description_and_vpc() {
    let a = steps::group_name("web", "web", "Web", "vpc-1");
    assert_eq!(a, steps::group_name("web", "web", "Web", "vpc-1"));
    assert!(
        a.starts_with("web-web-") && a.len() == "web-web-".len() + 8,
        "{a}"
    );
    assert_ne!(a, steps::group_name("web", "web", "Public web", "vpc-1"));
    assert_ne!(a, steps::group_name("web", "web", "Web", "vpc-2"));

    // Replacing a group creates the new one under another EC2 name.
    let mut w = World::in_sync();
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .description = "Public web".into();
    let steps = w.steps();
    let Op::CreateGroup { group_name, .. } = &steps[0].op else {
        panic!("{steps:#?}")
    };
    assert_eq!(
        group_name,
        &steps::group_name("web", "web", "Public web", "vpc-default")
    );
    assert_ne!(
        group_name,
        &steps::group_name("web", "web", "Web", "vpc-default")
    );
    let last = steps.last().unwrap();
    assert_eq!(
        last.op,
        Op::DeleteGroup {
            group_id: "sg-web".into()
        }
    );
    assert_acyclic(&steps);
}

#[test]
fn instance_update_steps_carry_only_what_changed() {
    let mut w = World::in_sync();
    w.spec("web-1").instance_type = "t3.large".into();
    w.spec("web-1").tags = BTreeMap::from([("env".into(), "prod".into())]);
    w.instance("i-web1").state = "stopped".into();
    let steps = w.steps();
    assert_eq!(steps.len(), 2, "the update and its health gate: {steps:#?}");
    assert!(matches!(steps[1].op, Op::HealthGate { .. }));
    let Op::UpdateInstance {
        instance_id,
        update,
    } = &steps[0].op
    else {
        panic!("{steps:#?}")
    };
    assert_eq!(instance_id, "i-web1");
    assert_eq!(
        **update,
        steps::InstanceUpdate {
            instance_type: Some("t3.large".into()),
            set_tags: BTreeMap::from([("env".into(), "prod".into())]),
            remove_tags: vec!["role".into()],
            start: true,
            ..Default::default()
        }
    );
    assert!(update.needs_stop());
}

#[test]
fn plan_time_checks_that_save_an_apply() {
    // Instance type not offered in the region.
    let mut w = World::in_sync();
    w.region.instance_types = Some(["t3.micro".to_string()].into());
    w.spec("web-1").instance_type = "p5.48xlarge".into();
    let plan = w.plan();
    assert_eq!(plan.errors.len(), 1, "{:?}", plan.errors);
    assert_eq!(
        plan.errors[0].message,
        "instance type p5.48xlarge is not offered in us-east-1"
    );

    // A group in another VPC than the instance's subnet.
    let mut w = World::in_sync();
    w.spec("web-1").subnet = Some("subnet-a".into());
    w.desired.security_groups.get_mut("web").unwrap().vpc = Some("vpc-other".into());
    let plan = w.plan();
    assert!(
        plan.errors.iter().any(|e| e.message == "security group web is in vpc-other, but the instance's subnet subnet-a is in vpc-default"),
        "{:?}",
        plan.errors
    );

    // A rule referencing a group of another VPC.
    let mut w = World::in_sync();
    let mut admin = w.desired.security_groups["web"].clone();
    admin.vpc = Some("vpc-other".into());
    admin.ingress.clear();
    w.desired.security_groups.insert("admin".into(), admin);
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .push(Rule {
            protocol: Protocol::Tcp,
            from_port: 22,
            to_port: 22,
            peer: Peer::Group("admin".into()),
        });
    let plan = w.plan();
    assert!(
        plan.errors.iter().any(|e| e.message == "rule `tcp 22 group admin` references group admin in vpc-other, but web is in vpc-default"),
        "{:?}",
        plan.errors
    );

    // Elastic IPs beyond the account's quota.
    let mut w = World::in_sync();
    w.region.address_quota = Some((5, 5));
    w.desired.elastic_ips.insert(
        "web-ip".into(),
        AddressSpec {
            renamed_from: None,
            instance: "web-1".into(),
            at: at(60),
        },
    );
    let plan = w.plan();
    assert_eq!(plan.errors.len(), 1, "{:?}", plan.errors);
    assert_eq!(
        plan.errors[0].message,
        "1 new elastic IP(s) do not fit: the account has 5 of its 5 allowed in us-east-1"
    );
    assert!(!plan.is_applicable());
    w.region.address_quota = Some((5, 4));
    assert!(w.plan().errors.is_empty());
}

#[test]
fn field_names_in_json_are_the_names_messages_use() {
    for f in Field::ALL {
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, format!("\"{}\"", f.name()), "{f:?}");
        let back: Field = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
    }
    let names: std::collections::BTreeSet<&str> = Field::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(names.len(), Field::ALL.len(), "two fields share a name");
}

mod batches;
mod renames;
mod rollouts;

#[test]
fn the_graph_has_every_resource_and_what_references_what() {
    let mut w = World::in_sync();
    // A stray instance the plan destroys is drawn too.
    w.live.instances.push(live_instance("old", "i-old"));
    let plan = w.plan();
    let names: Vec<String> = plan.graph.nodes.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "key_pair.deploy",
            "security_group.web",
            "instance.old",
            "instance.web-1"
        ]
    );
    let edges: Vec<(String, String)> = plan
        .graph
        .edges
        .iter()
        .map(|&(a, b)| (names[a].clone(), names[b].clone()))
        .collect();
    assert_eq!(
        edges,
        [
            ("instance.web-1".to_string(), "key_pair.deploy".to_string()),
            (
                "instance.web-1".to_string(),
                "security_group.web".to_string()
            ),
        ]
    );
}
