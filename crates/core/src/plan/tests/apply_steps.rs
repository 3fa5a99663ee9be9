//! Apply steps: dependency order, destroys last, deterministic tokens, and the graph.

use super::*;

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

pub(super) fn kind_of(op: &Op) -> &'static str {
    match op {
        Op::Rename { .. } => "Rename",
        Op::Retag { .. } => "Retag",
        Op::HealthGate { .. } => "HealthGate",
        Op::CreateTargetGroup(_) => "CreateTargetGroup",
        Op::ModifyTargetGroup { .. } => "ModifyTargetGroup",
        Op::DeleteTargetGroup { .. } => "DeleteTargetGroup",
        Op::RegisterTargets { .. } => "RegisterTargets",
        Op::DeregisterTargets { .. } => "DeregisterTargets",
        Op::CreateLoadBalancer(_) => "CreateLoadBalancer",
        Op::ModifyLoadBalancer { .. } => "ModifyLoadBalancer",
        Op::SetListeners { .. } => "SetListeners",
        Op::DeleteLoadBalancer { .. } => "DeleteLoadBalancer",
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

pub(super) fn assert_acyclic(steps: &[Step]) {
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
        ..
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

/// Over 120 lines: the whole step outline of a mixed change, written out.
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
            root_volume_tags: Some("vol-root-i-web1".into()),
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
