//! Renames are tag updates: count 1 ↔ N, `renamed_from`, volumes that
//! follow their instance.

use super::*;

/// `web` of `count: n` (no count when `n` is 1), desired; live as given.
fn entry(w: &mut World, name: &str, n: u32) {
    w.desired.instances.clear();
    w.desired.volumes.clear();
    let names: Vec<String> = if n <= 1 {
        vec![name.to_string()]
    } else {
        (1..=n).map(|i| format!("{name}-{i}")).collect()
    };
    for expanded in names {
        let mut spec = instance_spec();
        spec.entry = Entry {
            rollout: Default::default(),
            name: name.into(),
            count: n,
            subnets: vec![],
            target_groups: vec![],
        };
        w.desired.instances.insert(expanded, spec);
    }
}

fn live_only(w: &mut World, name: &str, iid: &str) {
    w.live.instances.push(live_instance(name, iid));
    w.live.volumes.push(live_root(name, iid));
}

fn world_with_live(names: &[(&str, &str)]) -> World {
    let mut w = World::in_sync();
    w.desired.instances.clear();
    w.live.instances.clear();
    w.live.volumes.clear();
    for (n, iid) in names {
        live_only(&mut w, n, iid);
    }
    w
}

fn rename_of(c: &Change) -> Option<(String, String)> {
    c.fields.iter().find(|f| f.field == Field::Name).map(|f| {
        let t = |v: &Value| match v {
            Value::Text(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        (t(&f.before), t(&f.after))
    })
}

#[test]
fn scaling_out_from_one_keeps_the_server_under_its_new_name() {
    let mut w = world_with_live(&[("web", "i-web")]);
    entry(&mut w, "web", 3);
    let plan = w.plan();
    assert_eq!(
        actions(&plan),
        vec![
            (
                "instance.web-1".into(),
                Action::Update,
                Some("i-web".into())
            ),
            ("instance.web-2".into(), Action::Create, None),
            ("instance.web-3".into(), Action::Create, None),
        ]
    );
    let c = &plan.changes[0];
    assert_eq!(rename_of(c), Some(("web".into(), "web-1".into())));
    assert_eq!(c.fields.len(), 1, "nothing else changes: {c:#?}");
    assert_eq!(c.reason.as_deref(), Some("rename web → web-1 (tags only)"));
    assert_eq!(plan.summary.destroy, 0);
}

#[test]
fn scaling_in_to_one_keeps_the_first_server_and_removes_the_others() {
    let mut w = world_with_live(&[("web-1", "i-1"), ("web-2", "i-2"), ("web-3", "i-3")]);
    entry(&mut w, "web", 1);
    let plan = w.plan();
    let acts = actions(&plan);
    assert!(
        acts.contains(&("instance.web".into(), Action::Update, Some("i-1".into()))),
        "{acts:#?}"
    );
    assert!(acts.contains(&("instance.web-2".into(), Action::Destroy, Some("i-2".into()))));
    assert!(acts.contains(&("instance.web-3".into(), Action::Destroy, Some("i-3".into()))));
    assert_eq!(plan.summary.create, 0);
}

#[test]
fn renamed_from_renames_an_entry_member_by_member() {
    let mut w = world_with_live(&[("app-1", "i-1"), ("app-2", "i-2")]);
    entry(&mut w, "web", 2);
    w.spec("web-1").renamed_from = Some("app-1".into());
    w.spec("web-2").renamed_from = Some("app-2".into());
    let plan = w.plan();
    let renames: Vec<_> = plan.changes.iter().filter_map(rename_of).collect();
    assert_eq!(
        renames,
        vec![
            ("app-1".into(), "web-1".into()),
            ("app-2".into(), "web-2".into())
        ]
    );
    assert_eq!(plan.summary.create + plan.summary.destroy, 0, "{plan:#?}");
}

#[test]
fn renamed_from_on_a_group_key_pair_and_address_renames_in_place() {
    let mut w = World::in_sync();
    let g = w.desired.security_groups.remove("web").unwrap();
    w.desired.security_groups.insert(
        "frontend".into(),
        GroupSpec {
            renamed_from: Some("web".into()),
            ..g
        },
    );
    for spec in w.desired.instances.values_mut() {
        spec.security_groups = vec!["frontend".into()];
    }
    let k = w.desired.key_pairs.remove("deploy").unwrap();
    w.desired.key_pairs.insert(
        "ops".into(),
        KeyPairSpec {
            renamed_from: Some("deploy".into()),
            ..k
        },
    );
    for spec in w.desired.instances.values_mut() {
        spec.key_pair = Some("ops".into());
    }
    w.desired.elastic_ips.insert(
        "front".into(),
        AddressSpec {
            renamed_from: Some("public".into()),
            instance: "web-1".into(),
            at: at(60),
        },
    );
    w.live
        .addresses
        .push(live_address("public", Some("i-web1")));
    let plan = w.plan();
    assert!(plan.is_applicable(), "{plan:#?}");
    let renames: Vec<_> = plan.changes.iter().filter_map(rename_of).collect();
    assert_eq!(
        renames,
        vec![
            ("deploy".into(), "ops".into()),
            ("web".into(), "frontend".into()),
            ("public".into(), "front".into()),
        ],
        "{plan:#?}"
    );
    assert!(
        plan.changes.iter().all(|c| c.action == Action::Update),
        "{plan:#?}"
    );
    let steps = w.steps();
    assert!(
        steps.iter().all(|s| matches!(s.op, Op::Rename { .. })),
        "only tag updates: {steps:#?}"
    );
}

#[test]
fn a_volume_follows_its_renamed_instance_and_can_be_renamed_itself() {
    let mut w = world_with_live(&[("web", "i-web")]);
    w.live
        .volumes
        .push(live_volume("web/data", "vol-data", Some("i-web")));
    entry(&mut w, "web", 2);
    let mut v = volume_spec("web-1", 100);
    v.renamed_from = Some("data".into());
    w.desired.volumes.insert("web-1/files".into(), v);
    let plan = w.plan();
    let renames: Vec<_> = plan.changes.iter().filter_map(rename_of).collect();
    assert_eq!(
        renames,
        vec![
            ("web".into(), "web-1".into()),
            ("web/data".into(), "web-1/files".into())
        ],
        "{plan:#?}"
    );
    assert!(
        !plan.changes.iter().any(|c| c.action == Action::Destroy),
        "the data volume is kept: {plan:#?}"
    );
}

#[test]
fn a_rename_is_one_tag_step_that_also_renames_the_root_volume() {
    let mut w = world_with_live(&[("web", "i-web")]);
    entry(&mut w, "web", 2);
    let steps = w.steps();
    let renames: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s.op, Op::Rename { .. }))
        .collect();
    assert_eq!(renames.len(), 1, "{steps:#?}");
    let Op::Rename {
        ec2_id,
        tags,
        root_volume,
    } = &renames[0].op
    else {
        unreachable!()
    };
    assert_eq!(ec2_id, "i-web");
    assert_eq!(tags, &identity_tags(STACK, &id(Kind::Instance, "web-1")));
    assert_eq!(
        root_volume,
        &Some((
            "vol-root-i-web".to_string(),
            identity_tags(STACK, &id(Kind::Volume, "web-1/root"))
        ))
    );
    assert!(renames[0].needs.is_empty());
    assert!(
        !steps
            .iter()
            .any(|s| matches!(s.op, Op::UpdateInstance { .. })),
        "nothing else is done to the renamed server: {steps:#?}"
    );
}

#[test]
fn no_rename_when_the_old_name_is_still_wanted_or_held_twice() {
    // Two live servers named `web`: which one is `web-1` is not known.
    let mut w = world_with_live(&[("web", "i-a"), ("web", "i-b")]);
    entry(&mut w, "web", 2);
    let plan = w.plan();
    assert!(
        plan.changes.iter().all(|c| rename_of(c).is_none()),
        "{plan:#?}"
    );
    // `renamed_from` naming a resource the YAML still declares.
    let mut w = World::in_sync();
    let mut g = group_spec("Other", vec![]);
    g.renamed_from = Some("web".into());
    w.desired.security_groups.insert("other".into(), g);
    let plan = w.plan();
    assert!(
        plan.changes.iter().all(|c| rename_of(c).is_none()),
        "{plan:#?}"
    );
}

#[test]
fn a_renamed_plan_plans_nothing_once_applied() {
    // After the rename, EC2 holds `web-1`: the same YAML plans nothing.
    let mut w = world_with_live(&[("web-1", "i-web")]);
    entry(&mut w, "web", 2);
    live_only(&mut w, "web-2", "i-2");
    assert!(w.plan().is_empty(), "{:#?}", w.plan());
}
