//! Load balancers and target groups: what the plan shows, and the order of
//! the steps that keep the site serving (drain before stop, register before
//! the gate, the new server in before the old one out).

use super::*;
use crate::plan::diff::target_group_name;

const TG_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1";
const LB_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/front/1";
const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/abc";

fn tg_spec() -> TargetGroupSpec {
    TargetGroupSpec {
        port: 80,
        protocol: ElbProtocol::Http,
        vpc: None,
        health_check: HealthCheck {
            path: "/healthz".into(),
            ..HealthCheck::default()
        },
        deregistration_delay: 30,
        at: at(40),
    }
}

fn lb_spec() -> LoadBalancerSpec {
    let listener = |protocol, certificate: Option<&str>, action| ListenerSpec {
        protocol,
        certificate: certificate.map(String::from),
        action,
    };
    LoadBalancerSpec {
        scheme: Scheme::InternetFacing,
        subnets: vec![
            SubnetRef::Zone("us-east-1a".into()),
            SubnetRef::Zone("us-east-1b".into()),
        ],
        security_groups: vec!["web".into()],
        listeners: BTreeMap::from([
            (
                80,
                listener(ElbProtocol::Http, None, ListenerAction::RedirectHttps(443)),
            ),
            (
                443,
                listener(
                    ElbProtocol::Https,
                    Some(CERT),
                    ListenerAction::Forward("web".into()),
                ),
            ),
        ]),
        at: at(50),
    }
}

/// `web-1` … `web-n` behind target group `web` and load balancer `front`,
/// live as desired, every server registered and healthy.
fn site(n: u32, max_unavailable: u32) -> World {
    let mut w = World::in_sync();
    w.desired.instances.clear();
    w.live.instances.clear();
    w.live.volumes.clear();
    w.desired.target_groups.insert("web".into(), tg_spec());
    w.desired.load_balancers.insert("front".into(), lb_spec());
    let mut targets = BTreeMap::new();
    for i in 1..=n {
        let name = format!("web-{i}");
        let iid = format!("i-web{i}");
        w.add_instance(&name, &iid);
        w.spec(&name).entry = Entry {
            name: "web".into(),
            count: n,
            rollout: Rollout {
                max_unavailable: Unavailable::Count(max_unavailable),
                health: Health::TargetGroup,
                timeout_secs: 600,
            },
            subnets: vec![],
            target_groups: vec!["web".into()],
        };
        targets.insert(iid, "healthy".to_string());
    }
    let spec = tg_spec();
    w.live.target_groups.push(LiveTargetGroup {
        name: "web".into(),
        arn: TG_ARN.into(),
        group_name: target_group_name(STACK, "web", &spec, "vpc-default"),
        port: 80,
        protocol: Some(ElbProtocol::Http),
        vpc_id: "vpc-default".into(),
        health_check: spec.health_check.clone(),
        deregistration_delay: 30,
        targets,
        tags: identity_tags(STACK, &id(Kind::TargetGroup, "web")),
    });
    let live_listener = |port: u16, arn: &str| {
        (
            port,
            LiveListener {
                arn: arn.into(),
                spec: lb_spec().listeners.get(&port).cloned(),
            },
        )
    };
    w.live.load_balancers.push(LiveLoadBalancer {
        name: "front".into(),
        arn: LB_ARN.into(),
        balancer_name: "web-front-1".into(),
        dns_name: "web-front-1.us-east-1.elb.amazonaws.com".into(),
        balancer_type: "application".into(),
        scheme: Some(Scheme::InternetFacing),
        vpc_id: "vpc-default".into(),
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        security_group_ids: vec!["sg-web".into()],
        listeners: BTreeMap::from([live_listener(80, "l-80"), live_listener(443, "l-443")]),
        tags: identity_tags(STACK, &id(Kind::LoadBalancer, "front")),
    });
    w
}

fn step<'a>(steps: &'a [Step], what: impl Fn(&Step) -> bool, name: &str) -> &'a Step {
    steps
        .iter()
        .find(|s| what(s))
        .unwrap_or_else(|| panic!("{name}: {steps:#?}"))
}

/// Whether step `a` comes before step `b` through the needs graph.
fn before(steps: &[Step], a: usize, b: usize) -> bool {
    let mut todo = vec![b];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(s) = todo.pop() {
        if s == a {
            return true;
        }
        if seen.insert(s) {
            todo.extend(steps[s].needs.iter().copied());
        }
    }
    false
}

#[test]
fn a_site_in_sync_plans_nothing_and_says_where_it_answers() {
    let w = site(2, 1);
    let plan = w.plan();
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
    assert_eq!(plan.fronts.len(), 1);
    let line = crate::render::front_line(&plan.fronts[0], |s| s.to_string());
    assert_eq!(
        line,
        "Load balancer front (internet-facing) at web-front-1.us-east-1.elb.amazonaws.com: 80 HTTP → redirect to https:443; 443 HTTPS → target group web; web serves web-1, web-2"
    );
}

#[test]
fn a_new_site_registers_its_servers_once_and_forwards_after() {
    let mut w = site(2, 1);
    w.live = Live {
        key_pairs: w.live.key_pairs.clone(),
        security_groups: w.live.security_groups.clone(),
        ..Live::default()
    };
    let plan = w.plan();
    let kinds: Vec<(Kind, Action)> = (plan.changes.iter())
        .map(|c| (c.resource.kind, c.action))
        .collect();
    assert!(
        kinds.contains(&(Kind::TargetGroup, Action::Create)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(Kind::LoadBalancer, Action::Create)),
        "{kinds:?}"
    );
    let steps = w.steps();
    let registers: Vec<&Step> = (steps.iter())
        .filter(|s| matches!(s.op, Op::RegisterTargets { .. }))
        .collect();
    assert_eq!(registers.len(), 1, "one RegisterTargets for the group");
    let Op::RegisterTargets { instances, group } = &registers[0].op else {
        unreachable!()
    };
    assert_eq!(*group, Ref::New(id(Kind::TargetGroup, "web")));
    assert_eq!(instances.len(), 2);
    for s in steps.iter().filter(|s| matches!(s.op, Op::RunInstance(_))) {
        assert!(before(&steps, s.index, registers[0].index));
    }
    let listeners = step(
        &steps,
        |s| matches!(s.op, Op::SetListeners { .. }),
        "listeners",
    );
    let create = step(
        &steps,
        |s| matches!(s.op, Op::CreateLoadBalancer(_)),
        "create lb",
    );
    assert!(before(&steps, create.index, listeners.index));
    assert!(before(&steps, registers[0].index, listeners.index));
    let Op::SetListeners { create, .. } = &listeners.op else {
        unreachable!()
    };
    assert_eq!(create.len(), 2);
}

#[test]
fn a_rollout_drains_each_batch_before_it_stops_and_gates_on_the_group() {
    let mut w = site(4, 1);
    for i in 1..=4 {
        w.spec(&format!("web-{i}")).instance_type = "t3.small".into();
    }
    let plan = w.plan();
    assert_eq!(plan.rollouts.len(), 1);
    assert_eq!(plan.rollouts[0].target_groups, vec!["web".to_string()]);
    let line = crate::render::rollout_line(&plan.rollouts[0], |s| s.to_string());
    assert!(
        line.contains("1 of 4 servers out of rotation at once"),
        "{line}"
    );
    let steps = w.steps();
    let mut previous_gate: Option<usize> = None;
    for i in 1..=4 {
        let iid = format!("i-web{i}");
        let out = step(
            &steps,
            |s| matches!(&s.op, Op::DeregisterTargets { instances, .. } if instances.iter().any(|(_, x)| *x == iid)),
            "deregister",
        );
        let Op::DeregisterTargets {
            instances,
            drain_secs,
            ..
        } = &out.op
        else {
            unreachable!()
        };
        assert_eq!(instances.len(), 1, "one server out at a time");
        assert_eq!(*drain_secs, 30);
        let update = step(
            &steps,
            |s| matches!(&s.op, Op::UpdateInstance { instance_id, .. } if *instance_id == iid),
            "update",
        );
        let back = step(
            &steps,
            |s| matches!(&s.op, Op::RegisterTargets { instances, .. } if instances.iter().any(|(n, _)| *n == format!("web-{i}"))),
            "register",
        );
        let gate = step(
            &steps,
            |s| matches!(&s.op, Op::HealthGate { instances, .. } if instances.iter().any(|(n, _)| *n == format!("web-{i}"))),
            "gate",
        );
        let Op::HealthGate { health, groups, .. } = &gate.op else {
            unreachable!()
        };
        assert_eq!(*health, Health::TargetGroup);
        assert_eq!(*groups, vec![Ref::Existing(TG_ARN.into())]);
        assert!(
            before(&steps, out.index, update.index),
            "drained before the stop"
        );
        assert!(before(&steps, update.index, back.index));
        assert!(
            before(&steps, back.index, gate.index),
            "back in before the gate"
        );
        if let Some(g) = previous_gate {
            assert!(
                before(&steps, g, out.index),
                "the next batch leaves after the gate"
            );
        }
        previous_gate = Some(gate.index);
    }
}

#[test]
fn a_replacement_registers_the_new_server_before_the_old_one_leaves() {
    let mut w = site(2, 1);
    w.spec("web-1").image = "ami-new".into();
    let steps = w.steps();
    let launch = step(&steps, |s| matches!(s.op, Op::RunInstance(_)), "launch");
    let join = step(
        &steps,
        |s| matches!(s.op, Op::RegisterTargets { .. }),
        "join",
    );
    let gate = step(&steps, |s| matches!(s.op, Op::HealthGate { .. }), "gate");
    let leave = step(
        &steps,
        |s| matches!(&s.op, Op::DeregisterTargets { instances, .. } if instances[0].1 == "i-web1"),
        "leave",
    );
    let end = step(
        &steps,
        |s| matches!(&s.op, Op::TerminateInstance { instance_id } if instance_id == "i-web1"),
        "terminate",
    );
    assert!(before(&steps, launch.index, join.index));
    assert!(before(&steps, join.index, gate.index));
    assert!(
        before(&steps, gate.index, leave.index),
        "the new one is healthy first"
    );
    assert!(
        before(&steps, leave.index, end.index),
        "drained before terminated"
    );
}

#[test]
fn a_scale_in_drains_the_servers_it_removes() {
    let mut w = site(3, 1);
    w.desired.instances.remove("web-3");
    let plan = w.plan();
    let tg = (plan.changes.iter())
        .find(|c| c.resource.kind == Kind::TargetGroup)
        .expect("the group loses a server");
    assert_eq!(tg.fields[0].field, Field::Targets);
    assert_eq!(tg.fields[0].after, list(&["web-1", "web-2"]));
    let steps = w.steps();
    let leave = step(
        &steps,
        |s| matches!(s.op, Op::DeregisterTargets { .. }),
        "leave",
    );
    let end = step(
        &steps,
        |s| matches!(s.op, Op::TerminateInstance { .. }),
        "terminate",
    );
    assert!(before(&steps, leave.index, end.index));
    assert!(
        !steps
            .iter()
            .any(|s| matches!(s.op, Op::RegisterTargets { .. }))
    );
}

#[test]
fn a_restart_without_an_elastic_ip_warns_that_the_public_ip_changes() {
    let mut w = site(1, 1);
    w.instance("i-web1").public_ip = Some("54.0.0.1".into());
    w.spec("web-1").instance_type = "t3.small".into();
    let plan = w.plan();
    let warning = (plan.warnings.iter())
        .find(|x| x.message.starts_with("public IP changes"))
        .expect("a warning");
    assert!(warning.message.contains("54.0.0.1"), "{}", warning.message);
}

#[test]
fn a_new_port_replaces_the_group_and_moves_the_listener_before_the_old_goes() {
    let mut w = site(2, 1);
    w.desired.target_groups.get_mut("web").expect("tg").port = 8080;
    let plan = w.plan();
    let tg = (plan.changes.iter())
        .find(|c| c.resource.kind == Kind::TargetGroup)
        .expect("tg");
    assert_eq!(tg.action, Action::Replace);
    let steps = w.steps();
    let create = step(
        &steps,
        |s| matches!(s.op, Op::CreateTargetGroup(_)),
        "create",
    );
    let fill = step(
        &steps,
        |s| matches!(s.op, Op::RegisterTargets { .. }),
        "fill",
    );
    let moved = step(&steps, |s| matches!(s.op, Op::SetListeners { .. }), "move");
    let delete = step(
        &steps,
        |s| matches!(s.op, Op::DeleteTargetGroup { .. }),
        "delete",
    );
    let Op::SetListeners { modify, .. } = &moved.op else {
        unreachable!()
    };
    assert_eq!(modify.len(), 1, "only the listener that forwards moves");
    assert!(before(&steps, create.index, fill.index));
    assert!(before(&steps, fill.index, moved.index));
    assert!(before(&steps, moved.index, delete.index));
}

#[test]
fn a_load_balancer_goes_before_its_security_groups() {
    let mut w = site(1, 1);
    w.desired.load_balancers.clear();
    w.desired.target_groups.clear();
    w.spec("web-1").entry.target_groups.clear();
    w.spec("web-1").entry.rollout.health = Health::StatusChecks;
    w.desired.security_groups.clear();
    w.spec("web-1").security_groups.clear();
    let steps = w.steps();
    let lb = step(
        &steps,
        |s| matches!(s.op, Op::DeleteLoadBalancer { .. }),
        "lb",
    );
    let tg = step(
        &steps,
        |s| matches!(s.op, Op::DeleteTargetGroup { .. }),
        "tg",
    );
    let sg = step(&steps, |s| matches!(s.op, Op::DeleteGroup { .. }), "sg");
    assert!(before(&steps, lb.index, tg.index));
    assert!(before(&steps, lb.index, sg.index));
}

#[test]
fn a_target_someone_else_registered_is_left_and_warned_about() {
    let mut w = site(2, 1);
    w.live.target_groups[0]
        .targets
        .insert("i-stranger".into(), "healthy".into());
    let plan = w.plan();
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
    let warning = (plan.warnings.iter())
        .find(|x| x.resource == id(Kind::TargetGroup, "web"))
        .expect("a warning");
    assert!(
        warning.message.starts_with("i-stranger also serves in it"),
        "{}",
        warning.message
    );
    assert!(
        !w.steps()
            .iter()
            .any(|s| matches!(s.op, Op::DeregisterTargets { .. }))
    );
}
