//! Steps that go to EC2 as one call: an entry's new members launched by one
//! `RunInstances`, a rollout batch's restarts stopped and started together.

use super::*;

/// `web-1` … `web-n` of one entry, desired; nothing of them live.
fn new_entry(w: &mut World, entry: &str, n: u32, rollout: Rollout) {
    for i in 1..=n {
        let name = format!("{entry}-{i}");
        let mut spec = instance_spec();
        spec.entry = Entry {
            name: entry.into(),
            count: n,
            rollout: rollout.clone(),
            subnets: vec![],
            target_groups: vec![],
        };
        w.desired.instances.insert(name, spec);
    }
}

fn batch_of<'s>(steps: &'s [Step], name: &str) -> Option<&'s steps::Batch> {
    steps
        .iter()
        .find(|s| s.resource.name == name && matches!(s.op, Op::RunInstance(_)))
        .and_then(|s| s.batch.as_ref())
}

#[test]
fn the_new_members_of_an_entry_are_one_batch_in_index_order() {
    let mut w = World::in_sync();
    new_entry(&mut w, "app", 12, Rollout::default());
    let steps = w.steps();
    let launches: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s.op, Op::RunInstance(_)))
        .collect();
    assert_eq!(launches.len(), 12);
    let first = batch_of(&steps, "app-1").expect("batched");
    for (i, name) in (1..=12).map(|i| format!("app-{i}")).enumerate() {
        let b = batch_of(&steps, &name).expect("batched");
        assert_eq!(b.key, first.key, "one batch");
        assert_eq!((b.index, b.size), (i, 12), "{name}: natural order");
        assert_eq!(b.client_token, first.client_token);
    }
    assert!(first.key.starts_with("app:1-12:"), "{}", first.key);
    // A token EC2 takes (at most 64 ASCII characters).
    let token = first.client_token.as_deref().unwrap();
    assert!(token.len() <= 64 && token.is_ascii(), "{token}");
}

#[test]
fn a_batch_is_the_same_on_every_plan_of_the_same_change_and_another_for_another() {
    let mut w = World::in_sync();
    new_entry(&mut w, "app", 3, Rollout::default());
    let key = |w: &World| batch_of(&w.steps(), "app-1").unwrap().clone();
    let first = key(&w);
    assert_eq!(key(&w), first, "a rerun makes the same batch");
    // Moving the entry in the file changes nothing launched.
    for spec in w.desired.instances.values_mut() {
        spec.at = at(99);
    }
    assert_eq!(key(&w), first);
    // Another type is another launch.
    for spec in w.desired.instances.values_mut() {
        spec.instance_type = "t3.large".into();
    }
    let other = key(&w);
    assert_ne!(other.key, first.key);
    assert_ne!(other.client_token, first.client_token);
}

#[test]
fn launches_that_differ_are_batched_apart() {
    let mut w = World::in_sync();
    new_entry(&mut w, "app", 4, Rollout::default());
    // app-4 gets another image: it cannot share the others' RunInstances.
    w.spec("app-4").image = "ami-new".into();
    let mut db = instance_spec();
    db.entry = Entry {
        name: "db".into(),
        count: 1,
        rollout: Rollout::default(),
        subnets: vec![],
        target_groups: vec![],
    };
    w.desired.instances.insert("db".into(), db);
    let steps = w.steps();
    let b = |n: &str| batch_of(&steps, n).map(|b| (b.key.clone(), b.index, b.size));
    let three = b("app-1").expect("batched");
    assert_eq!(three.2, 3);
    assert_eq!(b("app-3").map(|x| x.0), Some(three.0.clone()));
    let alone = b("app-4").expect("a batch of one");
    assert_eq!(alone.2, 1);
    assert_ne!(alone.0, three.0);
    // An instance without count is launched alone, with its name.
    assert_eq!(b("db"), None);
}

#[test]
fn entries_alike_are_still_launched_apart() {
    let mut w = World::in_sync();
    new_entry(&mut w, "a", 2, Rollout::default());
    new_entry(&mut w, "b", 2, Rollout::default());
    let steps = w.steps();
    let a = batch_of(&steps, "a-1").unwrap();
    let b = batch_of(&steps, "b-1").unwrap();
    assert_ne!(a.key, b.key);
    assert_eq!((a.size, b.size), (2, 2));
}

#[test]
fn replacements_are_batched_per_rollout_batch_and_restarts_stopped_together() {
    let rollout = Rollout {
        max_unavailable: Unavailable::Count(2),
        ..Rollout::default()
    };
    let mut w = World::in_sync();
    w.desired.instances.clear();
    w.live.instances.clear();
    w.live.volumes.clear();
    for i in 1..=4 {
        let name = format!("web-{i}");
        w.add_instance(&name, &format!("i-web{i}"));
        w.spec(&name).entry = Entry {
            name: "web".into(),
            count: 4,
            rollout: rollout.clone(),
            subnets: vec![],
            target_groups: vec![],
        };
    }
    // A new image replaces each: two launches per rollout batch.
    for spec in w.desired.instances.values_mut() {
        spec.image = "ami-new".into();
    }
    let steps = w.steps();
    let keys: Vec<(String, usize)> = (1..=4)
        .map(|i| {
            let b = batch_of(&steps, &format!("web-{i}")).expect("batched");
            (b.key.clone(), b.size)
        })
        .collect();
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[2], keys[3]);
    assert_ne!(keys[0].0, keys[2].0, "one launch per rollout batch");

    // A type change restarts them instead: each batch stops together.
    let mut w2 = w.clone();
    for spec in w2.desired.instances.values_mut() {
        spec.image = "ami-old".into();
        spec.instance_type = "t3.large".into();
    }
    let steps = w2.steps();
    let restart = |i: usize| {
        steps
            .iter()
            .find(|s| {
                s.resource.name == format!("web-{i}") && matches!(s.op, Op::UpdateInstance { .. })
            })
            .and_then(|s| s.batch.clone())
            .expect("in a restart batch")
    };
    assert_eq!(restart(1).key, restart(2).key);
    assert_eq!(restart(3).key, restart(4).key);
    assert_ne!(restart(1).key, restart(3).key);
    assert_eq!(
        (restart(1).index, restart(2).index, restart(2).size),
        (0, 1, 2)
    );
}

#[test]
fn a_thousand_and_one_new_members_make_two_launches() {
    let mut w = World::in_sync();
    new_entry(&mut w, "app", 1001, Rollout::default());
    let steps = w.steps();
    let sizes: std::collections::BTreeMap<String, usize> = steps
        .iter()
        .filter_map(|s| s.batch.as_ref().map(|b| (b.key.clone(), b.size)))
        .collect();
    let mut sizes: Vec<usize> = sizes.into_values().collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![1, 1000], "EC2 launches at most 1,000 at once");
}

#[test]
fn a_launch_tag_says_whose_each_instance_is_and_refuses_what_it_did_not_write() {
    use crate::plan::launch_tag::LaunchTag;
    let tag = LaunchTag {
        entry: "web".into(),
        indexes: vec![4, 5, 6, 9, 11, 12],
        hash: "0123456789abcdef".into(),
    };
    assert_eq!(tag.render(), "web:4-6,9,11-12:0123456789abcdef");
    assert_eq!(LaunchTag::parse(&tag.render()), Some(tag.clone()));
    assert_eq!(tag.name_at(0).as_deref(), Some("web-4"));
    assert_eq!(tag.name_at(3).as_deref(), Some("web-9"));
    assert_eq!(tag.name_at(6), None);
    for hostile in [
        "",
        "web:4-6",
        "web:4-6:0123456789abcdef:x",
        "Web:1:0123456789abcdef",
        "web:0:0123456789abcdef",
        "web:6-4:0123456789abcdef",
        "web:4,4:0123456789abcdef",
        "web:1-4294967295:0123456789abcdef",
        "web:1:0123456789abcdeg",
        "web\n:1:0123456789abcdef",
    ] {
        assert_eq!(LaunchTag::parse(hostile), None, "{hostile:?}");
    }
}

#[test]
fn members_far_apart_are_cut_into_batches_whose_tag_fits() {
    let mut w = World::in_sync();
    new_entry(&mut w, "app", 400, Rollout::default());
    // Every other member exists already: 200 new ones, none adjacent.
    for i in (2..=400).step_by(2) {
        let name = format!("app-{i}");
        let iid = format!("i-app{i}");
        w.live.instances.push(live_instance(&name, &iid));
        w.live.volumes.push(live_root(&name, &iid));
    }
    let steps = w.steps();
    let mut tags: Vec<String> = steps
        .iter()
        .filter_map(|s| s.batch.as_ref().map(|b| b.key.clone()))
        .collect();
    tags.dedup();
    assert!(tags.len() > 1, "one tag cannot list 200 indexes apart");
    for t in &tags {
        assert!(t.len() <= 256, "{} characters", t.len());
        assert!(
            crate::plan::launch_tag::LaunchTag::parse(t).is_some(),
            "{t}"
        );
    }
}

#[test]
fn a_rerun_that_finds_the_groups_made_makes_the_same_batch() {
    let mut w = World::in_sync();
    new_entry(&mut w, "app", 3, Rollout::default());
    let rerun = w.clone();
    // The first run makes the group and key pair as well.
    w.live.security_groups.clear();
    w.live.key_pairs.clear();
    let first = w.steps();
    let again = rerun.steps();
    let key = |steps: &[Step]| batch_of(steps, "app-1").cloned().expect("batched");
    assert!(
        first.iter().any(|s| matches!(s.op, Op::CreateGroup { .. })),
        "the first run makes the group"
    );
    assert_eq!(key(&first).key, key(&again).key);
    assert_eq!(key(&first).client_token, key(&again).client_token);
}
