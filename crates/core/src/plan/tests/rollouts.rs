//! Rollouts: restarts and replacements of an entry go batch by batch, each
//! batch gated on health before the next.

use super::*;

/// `web-1` … `web-n` of one entry, live as desired.
fn group(n: u32, rollout: Rollout) -> World {
    let mut w = World::in_sync();
    w.desired.instances.clear();
    w.live.instances.clear();
    w.live.volumes.clear();
    for i in 1..=n {
        let name = format!("web-{i}");
        w.add_instance(&name, &format!("i-web{i}"));
        w.spec(&name).entry = Entry {
            name: "web".into(),
            count: n,
            rollout: rollout.clone(),
            subnets: vec![],
            target_groups: vec![],
        };
    }
    w
}

fn gates(steps: &[Step]) -> Vec<&Step> {
    steps
        .iter()
        .filter(|s| matches!(s.op, Op::HealthGate { .. }))
        .collect()
}

#[test]
fn a_type_change_on_four_goes_one_at_a_time_each_behind_a_gate() {
    let mut w = group(4, Rollout::default());
    for spec in w.desired.instances.values_mut() {
        spec.instance_type = "t3.small".into();
    }
    let plan = w.plan();
    assert_eq!(
        plan.rollouts,
        vec![RolloutPlan {
            entry: "web".into(),
            health: Health::StatusChecks,
            timeout_secs: 600,
            batches: (1..=4).map(|i| vec![format!("web-{i}")]).collect(),
            target_groups: vec![],
            servers: 0,
        }]
    );
    let steps = w.steps();
    let gates = gates(&steps);
    assert_eq!(gates.len(), 4);
    let update = |name: &str| {
        steps
            .iter()
            .find(|s| s.resource.name == name && matches!(s.op, Op::UpdateInstance { .. }))
            .expect(name)
    };
    assert!(
        !update("web-1")
            .needs
            .iter()
            .any(|n| gates.iter().any(|g| g.index == *n))
    );
    for k in 1..4 {
        let member = update(&format!("web-{}", k + 1));
        assert!(member.needs.contains(&gates[k - 1].index), "{member:#?}");
        assert!(gates[k].needs.contains(&member.index));
    }
}

#[test]
fn fifty_percent_makes_two_batches_of_two_in_index_order() {
    let rollout = Rollout {
        max_unavailable: Unavailable::Percent(50),
        ..Rollout::default()
    };
    let mut w = group(4, rollout);
    for spec in w.desired.instances.values_mut() {
        spec.instance_type = "t3.small".into();
    }
    let plan = w.plan();
    assert_eq!(
        plan.rollouts[0].batches,
        vec![vec!["web-1", "web-2"], vec!["web-3", "web-4"]]
    );
    assert_eq!(gates(&w.steps()).len(), 2);
}

#[test]
fn members_are_batched_by_index_not_by_text() {
    let mut w = group(12, Rollout::default());
    for spec in w.desired.instances.values_mut() {
        spec.instance_type = "t3.small".into();
    }
    let order: Vec<String> = w.plan().rollouts[0]
        .batches
        .iter()
        .map(|b| b[0].clone())
        .collect();
    assert_eq!(order[..3], ["web-1", "web-2", "web-3"]);
    assert_eq!(order[11], "web-12");
}

#[test]
fn in_place_changes_and_other_entries_are_not_rolled_out() {
    let mut w = group(3, Rollout::default());
    w.spec("web-2").tags.insert("team".into(), "ops".into());
    let plan = w.plan();
    assert!(plan.rollouts.is_empty(), "{plan:#?}");
    assert!(gates(&w.steps()).is_empty());
}

#[test]
fn a_replacement_moves_volumes_and_the_address_only_once_the_new_one_is_healthy() {
    // `web-1` (i-web1) with its data volume `vol-data`.
    let mut w = with_volume();
    w.desired.elastic_ips.insert(
        "www".into(),
        AddressSpec {
            renamed_from: None,
            instance: "web-1".into(),
            at: at(60),
        },
    );
    w.live.addresses.push(live_address("www", Some("i-web1")));
    w.spec("web-1").image = "ami-new".into();
    let steps = w.steps();
    let find = |pred: &dyn Fn(&Step) -> bool| steps.iter().find(|s| pred(s)).expect("step");
    let launch = find(&|s| matches!(s.op, Op::RunInstance(_)));
    let gate = find(&|s| matches!(s.op, Op::HealthGate { .. }));
    let stop =
        find(&|s| matches!(&s.op, Op::StopInstance { instance_id } if instance_id == "i-web1"));
    let volume = find(&|s| matches!(s.op, Op::UpdateVolume { .. }));
    let address = find(&|s| matches!(s.op, Op::AssociateAddress { .. }));
    let terminate = find(&|s| matches!(s.op, Op::TerminateInstance { .. }));
    assert!(gate.needs.contains(&launch.index));
    assert!(
        stop.needs.contains(&gate.index),
        "stop after the new one is healthy"
    );
    assert!(
        volume.needs.contains(&stop.index),
        "detach from a stopped instance"
    );
    assert!(
        address.needs.contains(&gate.index),
        "the IP moves to a healthy server"
    );
    // Needs, directly or through other steps (barriers).
    let after = |late: &Step, early: &Step| {
        let mut seen = vec![late.index];
        while let Some(i) = seen.pop() {
            if steps[i].needs.contains(&early.index) {
                return true;
            }
            seen.extend(&steps[i].needs);
        }
        false
    };
    for s in [volume, address, stop] {
        assert!(after(terminate, s), "terminate last");
    }
    let Op::UpdateVolume { detach, attach, .. } = &volume.op else {
        unreachable!()
    };
    assert_eq!(detach.as_ref().map(|(i, _)| i.as_str()), Some("i-web1"));
    assert!(matches!(attach, Some((Ref::New(_), _))));
}
