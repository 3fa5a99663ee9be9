//! A site behind a load balancer, against moto's ELB with a proxy that
//! answers target health as ELB does (`draining` for the deregistration
//! delay, `initial` after a registration, `unhealthy` for a failing
//! server): the load balancer, its listeners and target group made and
//! read back; a rollout that keeps three of four servers in rotation and
//! drains each before it stops; an unhealthy server that stops the
//! rollout; a replacement that joins before the old server leaves; the
//! plan's ELB reads counted; everything removed with the YAML.

use std::collections::BTreeSet;
use std::time::Duration;

use ec2_gitops::app;
use ec2_gitops::model::Kind;
use ec2_gitops::outcome::Outcome;
use ec2_gitops::plan::Action;

use crate::engine::{Env, IMAGE, IMAGE_2, Recorder, desired};
use crate::support::elb_health::{ElbHealth, Event, events, target_ids};

/// How long the proxy keeps a deregistered server draining.
const DRAIN: Duration = Duration::from_secs(2);
/// How long a registered server is `initial`.
const INITIAL: Duration = Duration::from_millis(500);
/// A site of `count` servers; `cert` is the HTTPS listener's certificate.
fn site(cert: &str, count: u32, image: &str, kind: &str, timeout: &str) -> String {
    format!(
        r#"version: 1
stack: site
region: us-east-1
security_groups:
  lb:
    description: the front door
    ingress:
      - {{ protocol: tcp, ports: 443, cidr: 0.0.0.0/0 }}
      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}
target_groups:
  web:
    port: 80
    health_check: {{ path: /healthz, interval: 5, timeout: 2, healthy_threshold: 2 }}
    deregistration_delay: 2
load_balancers:
  front:
    subnets: [{{ zone: us-east-1a }}, {{ zone: us-east-1b }}]
    security_groups: [lb]
    listeners:
      - {{ port: 80, redirect: https }}
      - {{ port: 443, protocol: HTTPS, certificate: "{cert}", forward: web }}
instances:
  web:
    count: {count}
    image: {image}
    type: {kind}
    target_groups: [web]
    rollout: {{ max_unavailable: 1, timeout: {timeout} }}
"#
    )
}

/// An environment whose proxy answers target health as ELB does, with a
/// certificate in ACM: the site's YAML of `count` servers and more.
fn start() -> (Env, ElbHealth, impl Fn(u32, &str, &str, &str) -> String) {
    let env = Env::start();
    let health = ElbHealth::new(DRAIN, INITIAL);
    let hook = health.clone();
    env.proxy.set_hook(move |r| hook.hook(r));
    let cert = env._moto.create_certificate("www.example.com");
    let yaml = move |count: u32, image: &str, kind: &str, timeout: &str| {
        site(&cert, count, image, kind, timeout)
    };
    (env, health, yaml)
}

/// The stack's servers by name: (name, instance id).
async fn servers(env: &Env) -> Vec<(String, String)> {
    crate::engine::running_by_name(&env.direct, "site")
        .await
        .into_iter()
        .map(|(n, i)| (n, i.instance_id().unwrap_or_default().to_string()))
        .collect()
}

/// Checks the log of a rollout: every server stopped or terminated left
/// the group first and was polled until drained; at every moment at least
/// `serving` of the group's servers were registered and past `initial`.
fn assert_rolled_safely(env: &Env, before: &[String], serving: usize) {
    let log = env.proxy.requests();
    let mut in_rotation: BTreeSet<String> = before.iter().cloned().collect();
    let mut left_at = std::collections::BTreeMap::new();
    for (at, e) in events(&log) {
        match e {
            Event::Left(id) => {
                in_rotation.remove(&id);
                left_at.insert(id, at);
                assert!(
                    in_rotation.len() >= serving,
                    "{} in rotation after a server left",
                    in_rotation.len()
                );
            }
            Event::Joined(id) => {
                in_rotation.insert(id);
            }
            Event::Stopped(id) | Event::Terminated(id) => {
                assert!(!in_rotation.contains(&id), "{id} stopped while in rotation");
                let left = left_at
                    .get(&id)
                    .unwrap_or_else(|| panic!("{id} never left"));
                // The last health poll of it before the stop came after its
                // drain: ELB (the proxy) no longer called it draining.
                let drained = log.iter().any(|r| {
                    r.action == "DescribeTargetHealth"
                        && target_ids(r).contains(&id)
                        && r.started >= *left + DRAIN
                        && r.started <= at
                });
                assert!(drained, "{id} stopped before it was drained");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_is_made_read_back_and_rolled_out_a_server_at_a_time_drained_first() {
    let (env, _, site) = start();
    let first = desired(&site(4, IMAGE, "t3.micro", "60s"));
    let plan = env.converge(&first).await;
    let kinds: BTreeSet<(Kind, Action)> = (plan.changes.iter())
        .map(|c| (c.resource.kind, c.action))
        .collect();
    assert!(kinds.contains(&(Kind::LoadBalancer, Action::Create)));
    assert!(kinds.contains(&(Kind::TargetGroup, Action::Create)));
    // One RegisterTargets for the four new servers.
    let registered: Vec<_> = env.proxy.requests_for("RegisterTargets");
    assert_eq!(registered.len(), 1);
    assert_eq!(target_ids(&registered[0]).len(), 4);

    // The plan reads ELB in a fixed number of calls, and says where the
    // site answers and who serves it.
    env.proxy.clear();
    let again = env.plan(&first).await;
    assert!(again.is_empty());
    for (action, n) in [
        ("GetResources", 1),
        ("DescribeTargetGroups", 1),
        ("DescribeLoadBalancers", 1),
        ("DescribeListeners", 1),
        ("DescribeTargetGroupAttributes", 1),
        ("DescribeTargetHealth", 1),
    ] {
        assert_eq!(env.proxy.count(action), n, "{action}");
    }
    let front = &again.fronts[0];
    let dns = front.dns_name.clone().expect("a DNS name");
    assert!(dns.contains("elb.amazonaws.com"), "{dns}");
    assert_eq!(
        front.groups,
        vec![(
            "web".to_string(),
            (1..=4).map(|i| format!("web-{i}")).collect::<Vec<_>>()
        )]
    );

    // A type change: one server out of rotation at a time.
    let ids: Vec<String> = servers(&env).await.into_iter().map(|(_, i)| i).collect();
    let bigger = desired(&site(4, IMAGE, "t3.small", "60s"));
    let plan = env.plan(&bigger).await;
    let line = ec2_gitops::render::rollout_line(&plan.rollouts[0], |s| s.to_string());
    assert!(
        line.contains("1 of 4 servers out of rotation at once"),
        "{line}"
    );
    env.proxy.clear();
    env.converge(&bigger).await;
    assert_eq!(env.proxy.count("StopInstances"), 4);
    assert_eq!(env.proxy.count("DeregisterTargets"), 4);
    assert_eq!(env.proxy.count("RegisterTargets"), 4);
    assert_rolled_safely(&env, &ids, 3);
    // The same servers, all back in the group.
    let after: Vec<String> = servers(&env).await.into_iter().map(|(_, i)| i).collect();
    assert_eq!(after, ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unhealthy_server_stops_the_rollout_after_its_batch_and_the_rest_keep_serving() {
    let (env, health, site) = start();
    env.converge(&desired(&site(4, IMAGE, "t3.micro", "4s")))
        .await;
    let ids = servers(&env).await;
    health.fail(&ids[1].1);
    let bigger = desired(&site(4, IMAGE, "t3.small", "4s"));
    let (plan, live, region) = app::plan(&env.ec2, &bigger).await.expect("plan");
    env.proxy.clear();
    let results = app::apply(
        &env.ec2,
        &bigger,
        &plan,
        &live,
        &region,
        &Recorder::default(),
    )
    .await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(e) => Some(e.message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(failed[0].contains("web-2"), "{}", failed[0]);
    assert!(failed[0].contains("unhealthy"), "{}", failed[0]);
    // Only the first two batches went out; web-3 and web-4 never left.
    let stopped: Vec<String> = (env.proxy.requests_for("StopInstances").iter())
        .flat_map(|r| {
            r.param_list("InstanceId")
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(stopped, vec![ids[0].1.clone(), ids[1].1.clone()]);
    let left: Vec<String> = (env.proxy.requests_for("DeregisterTargets").iter())
        .flat_map(target_ids)
        .collect();
    assert!(
        !left.contains(&ids[2].1) && !left.contains(&ids[3].1),
        "{left:?}"
    );
    assert_rolled_safely(
        &env,
        &ids.iter().map(|(_, i)| i.clone()).collect::<Vec<_>>(),
        3,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_joins_before_the_old_server_leaves_and_the_site_can_be_removed() {
    let (env, _, site) = start();
    env.converge(&desired(&site(2, IMAGE, "t3.micro", "60s")))
        .await;
    let old = servers(&env).await;
    env.proxy.clear();
    env.converge(&desired(&site(2, IMAGE_2, "t3.micro", "60s")))
        .await;
    let new = servers(&env).await;
    let log = env.proxy.requests();
    let evs = events(&log);
    for ((_, was), (_, now)) in old.iter().zip(&new) {
        assert_ne!(was, now, "replaced");
        let at = |e: &Event| evs.iter().position(|(_, x)| x == e).unwrap_or(usize::MAX);
        let joined = at(&Event::Joined(now.clone()));
        let left = at(&Event::Left(was.clone()));
        let terminated = at(&Event::Terminated(was.clone()));
        assert!(
            joined < left,
            "the new server joins before the old one leaves"
        );
        assert!(left < terminated, "the old one is drained before it goes");
    }
    assert_rolled_safely(
        &env,
        &old.iter().map(|(_, i)| i.clone()).collect::<Vec<_>>(),
        2,
    );

    // The load balancer and its group leave with the YAML; the servers stay.
    let bare = site(2, IMAGE_2, "t3.micro", "60s")
        .replace("    target_groups: [web]\n", "")
        .replace("    rollout: { max_unavailable: 1, timeout: 60s }\n", "");
    let bare = bare
        .split("target_groups:\n")
        .next()
        .map(|head| format!("{head}{}", &bare[bare.find("instances:").unwrap_or(0)..]))
        .unwrap_or(bare.clone());
    let plan = env.converge(&desired(&bare)).await;
    let destroyed: BTreeSet<Kind> = (plan.changes.iter())
        .filter(|c| c.action == Action::Destroy)
        .map(|c| c.resource.kind)
        .collect();
    assert_eq!(
        destroyed,
        BTreeSet::from([Kind::LoadBalancer, Kind::TargetGroup])
    );
    assert_eq!(servers(&env).await, new);
    env.proxy.clear();
    let after = env.plan(&desired(&bare)).await;
    assert!(after.is_empty());
    assert_eq!(env.proxy.count("GetResources"), 1);
    assert_eq!(
        env.proxy.count("DescribeLoadBalancers"),
        0,
        "nothing left to describe"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_checks_draining_time_listeners_and_groups_change_in_place() {
    let (env, _, site) = start();
    let first = site(2, IMAGE, "t3.micro", "60s");
    env.converge(&desired(&first)).await;
    let elb = crate::support::elb_client_at(&env._moto.endpoint(), "us-east-1");
    let before = elb.describe_load_balancers().send().await.unwrap();
    let lb = before.load_balancers()[0].clone();

    // A new health check and draining time, the redirect replaced by a
    // plain HTTP forward, an HTTP listener on 8080, and the web group on
    // the load balancer too.
    let changed = first
        .replace(
            "health_check: { path: /healthz, interval: 5, timeout: 2, healthy_threshold: 2 }\n    deregistration_delay: 2",
            "health_check: { path: /ready, matcher: 200-299, interval: 10, timeout: 3, healthy_threshold: 3 }\n    deregistration_delay: 20",
        )
        .replace("{ port: 80, redirect: https }", "{ port: 80, forward: web }\n      - { port: 8080, forward: web }")
        .replace(
            "    security_groups: [lb]\n    listeners:",
            "    security_groups: [lb, web-sg]\n    listeners:",
        )
        .replace(
            "target_groups:\n  web:\n    port: 80",
            "  web-sg:\n    description: the servers\ntarget_groups:\n  web:\n    port: 80",
        );
    let plan = env.plan(&desired(&changed)).await;
    let updated: BTreeSet<(Kind, Action)> = (plan.changes.iter())
        .map(|c| (c.resource.kind, c.action))
        .collect();
    assert!(
        updated.contains(&(Kind::TargetGroup, Action::Update)),
        "{updated:?}"
    );
    assert!(
        updated.contains(&(Kind::LoadBalancer, Action::Update)),
        "{updated:?}"
    );
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c.action, Action::Replace | Action::Destroy)),
        "{:#?}",
        plan.changes
    );
    env.proxy.clear();
    env.converge(&desired(&changed)).await;
    for (action, n) in [
        ("ModifyTargetGroup", 1),
        ("ModifyTargetGroupAttributes", 1),
        ("SetSecurityGroups", 1),
        ("CreateListener", 1),
        ("ModifyListener", 1),
        ("CreateLoadBalancer", 0),
        ("CreateTargetGroup", 0),
        ("DeregisterTargets", 0),
    ] {
        assert_eq!(env.proxy.count(action), n, "{action}");
    }
    let after = elb.describe_load_balancers().send().await.unwrap();
    assert_eq!(
        after.load_balancers()[0].dns_name(),
        lb.dns_name(),
        "the same load balancer"
    );
    assert_eq!(after.load_balancers()[0].security_groups().len(), 2);
    let groups = elb.describe_target_groups().send().await.unwrap();
    let tg = &groups.target_groups()[0];
    assert_eq!(tg.health_check_path(), Some("/ready"));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200-299"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_the_tagging_api_still_lists_after_its_deletion_is_left_out() {
    let (env, _, site) = start();
    let yaml = site(1, IMAGE, "t3.micro", "60s");
    env.converge(&desired(&yaml)).await;
    let elb = crate::support::elb_client_at(&env._moto.endpoint(), "us-east-1");
    let tg = elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    let lb = elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    // The tagging API is eventually consistent: it lists a group and a load
    // balancer deleted a moment ago beside the live ones.
    let gone_tg = format!("{tg}0");
    let gone_lb = format!("{lb}0");
    let mapping = |arn: &str, name: &str| {
        serde_json::json!({
            "ResourceARN": arn,
            "Tags": [
                { "Key": "ec2-gitops:stack", "Value": "site" },
                { "Key": "ec2-gitops:name", "Value": name },
            ],
        })
    };
    let body = serde_json::json!({
        "ResourceTagMappingList": [
            mapping(&tg, "target_group/web"),
            mapping(&gone_tg, "target_group/old"),
            mapping(&lb, "load_balancer/front"),
            mapping(&gone_lb, "load_balancer/old"),
        ],
        "PaginationToken": "",
    })
    .to_string();
    // ELB refuses a describe that names one that is gone (moto leaves it
    // out and answers the rest).
    let not_found = |code: &str, what: &str| {
        crate::support::ProxyResponse::xml(
            400,
            format!(
                r#"<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>{code}</Code><Message>One or more {what} not found</Message></Error><RequestId>gone</RequestId></ErrorResponse>"#
            ),
        )
    };
    env.proxy.set_hook(move |r| {
        let names = |param: &str, gone: &str| r.param_list(param).contains(&gone);
        match r.action.as_str() {
            "GetResources" => {
                let mut answer = crate::support::ProxyResponse::xml(200, body.clone());
                answer.headers = vec![("content-type".into(), "application/x-amz-json-1.1".into())];
                Some(answer)
            }
            "DescribeTargetGroups" if names("TargetGroupArns.member", &gone_tg) => {
                Some(not_found("TargetGroupNotFound", "target groups"))
            }
            "DescribeLoadBalancers" if names("LoadBalancerArns.member", &gone_lb) => {
                Some(not_found("LoadBalancerNotFound", "load balancers"))
            }
            _ => None,
        }
    });
    env.proxy.clear();
    let plan = env.plan(&desired(&yaml)).await;
    assert!(plan.is_empty(), "{:#?}", plan.changes);
    // The batch was refused for the missing one; each was asked alone.
    assert_eq!(env.proxy.count("DescribeTargetGroups"), 3);
    assert_eq!(env.proxy.count("DescribeLoadBalancers"), 3);
}
