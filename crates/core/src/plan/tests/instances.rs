//! Instances: what each field needs, orphans, protection and duplicates.

use super::*;

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

pub(super) fn digest(text: &str, bytes: usize) -> Value {
    Value::Digest {
        sha256: user_data_digest(text),
        bytes,
    }
}

/// Over 120 lines: one case per field of an instance, side by side.
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
            before: text("subnet-a (us-east-1a)"),
            after: text("subnet-b (us-east-1b)"),
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
            "metadata.tokens",
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
