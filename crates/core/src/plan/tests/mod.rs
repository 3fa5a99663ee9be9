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
        default_subnets: BTreeMap::from([
            ("us-east-1a".into(), "subnet-a".into()),
            ("us-east-1b".into(), "subnet-b".into()),
        ]),
        volume_modifications: None,
        outside_groups: Default::default(),
        prefix_lists: Default::default(),
        image_refs: Default::default(),
    }
}

fn group_spec(description: &str, ingress: Vec<Rule>) -> GroupSpec {
    GroupSpec {
        renamed_from: None,
        description: description.into(),
        vpc: None,
        ingress,
        egress: None,
        descriptions: Default::default(),
        at: at(10),
    }
}

fn instance_spec() -> InstanceSpec {
    InstanceSpec {
        renamed_from: None,
        image: "ami-old".into(),
        image_ref: None,
        instance_type: "t3.micro".into(),
        subnet: None,
        zone: None,
        security_groups: vec!["web".into()],
        key_pair: Some("deploy".into()),
        user_data: Some(USER_DATA.into()),
        root_volume: Some(RootVolume {
            size_gb: 8,
            volume_type: "gp3".into(),
            disk: Disk::default(),
        }),
        instance_profile: None,
        metadata: Metadata::default(),
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
        descriptions: Default::default(),
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
        instance_profile: None,
        unexpressed: vec![],
        metadata: Some(LiveMetadata {
            tokens: "required".into(),
            hop_limit: Some(1),
        }),
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
        encrypted: false,
        kms_key: None,
        iops: None,
        throughput: None,
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
        disk: Disk::default(),
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
        encrypted: false,
        kms_key: None,
        iops: None,
        throughput: None,
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
                target_groups: Default::default(),
                load_balancers: Default::default(),
                tags: BTreeMap::new(),
                account: None,
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

mod addresses;
mod apply_steps;
mod balancers;
mod disks;
mod fingerprints;
mod groups;
mod images;
mod instances;
mod key_pairs;
mod region;
mod server;
mod tags;
mod volumes;
mod warnings;

use apply_steps::{assert_acyclic, kind_of};
use volumes::with_volume;
mod batches;
mod renames;
mod rollouts;
