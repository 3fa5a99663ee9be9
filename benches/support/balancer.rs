//! The benchmark stack's load balancer, seeded in moto as `ec2-gitops
//! apply` would have made it (`benches/plan.rs`).

use ec2_gitops::model::{Kind, ResourceId, identity_tags};
use ec2_gitops::plan::steps::group_name;

use super::stack::*;

/// The target group `web` holding every `web` server and the load balancer
/// `front` forwarding HTTP to it, as `ec2-gitops apply` would have made them
/// (names, tags, ELB's defaults).
pub async fn seed(
    ec2: &aws_sdk_ec2::Client,
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    shape: &Shape,
) {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, LoadBalancerSchemeEnum, ProtocolEnum, Tag as ElbTag,
        TargetDescription,
    };
    use ec2_gitops::model::{HealthCheck, LoadBalancerSpec, Scheme, TargetGroupSpec};
    use ec2_gitops::plan::diff::{balancer_name, target_group_name};
    let elb_tags = |kind, name| -> Vec<ElbTag> {
        identity_tags(STACK, &ResourceId::new(kind, name))
            .into_iter()
            .map(|(k, v)| ElbTag::builder().key(k).value(v).build())
            .collect()
    };
    let subnets = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .expect("DescribeSubnets");
    let in_zone = |zone: &str| {
        subnets
            .subnets()
            .iter()
            .find(|s| s.availability_zone() == Some(zone))
            .and_then(|s| Some((s.subnet_id()?.to_string(), s.vpc_id()?.to_string())))
            .expect("a default subnet in the zone")
    };
    let (first, vpc) = in_zone(BALANCER_ZONES[0]);
    let (second, _) = in_zone(BALANCER_ZONES[1]);
    let spec = TargetGroupSpec {
        port: 80,
        protocol: ec2_gitops::model::ElbProtocol::Http,
        vpc: None,
        health_check: HealthCheck::default(),
        deregistration_delay: 300,
        at: Default::default(),
    };
    let tg = elb
        .create_target_group()
        .name(target_group_name(STACK, TARGET_GROUP, &spec, &vpc))
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .set_tags(Some(elb_tags(Kind::TargetGroup, TARGET_GROUP)))
        .send()
        .await
        .expect("CreateTargetGroup")
        .target_groups()[0]
        .target_group_arn()
        .expect("target group ARN")
        .to_string();
    let described = ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{}", ec2_gitops::model::STACK_TAG))
                .values(STACK)
                .build(),
        )
        .max_results(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let served: std::collections::BTreeSet<String> = shape
        .served()
        .map(|n| ResourceId::new(Kind::Instance, n).tag_value())
        .collect();
    let ids: Vec<String> = described
        .into_iter()
        .map(|r| r.expect("DescribeInstances"))
        .flat_map(|r| r.instances().to_vec())
        .filter(|i| {
            i.tags().iter().any(|t| {
                t.key() == Some(ec2_gitops::model::NAME_TAG)
                    && t.value().is_some_and(|v| served.contains(v))
            })
        })
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    for chunk in ids.chunks(500) {
        elb.register_targets()
            .target_group_arn(&tg)
            .set_targets(Some(
                chunk
                    .iter()
                    .map(|id| TargetDescription::builder().id(id).build())
                    .collect(),
            ))
            .send()
            .await
            .expect("RegisterTargets");
    }
    let lb_spec = LoadBalancerSpec {
        scheme: Scheme::InternetFacing,
        subnets: vec![],
        security_groups: vec![],
        listeners: Default::default(),
        at: Default::default(),
    };
    let group = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values(group_name(STACK, GROUP, GROUP_DESCRIPTION, &vpc))
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroups")
        .security_groups()[0]
        .group_id()
        .expect("group id")
        .to_string();
    let lb = elb
        .create_load_balancer()
        .name(balancer_name(STACK, BALANCER, &lb_spec))
        .scheme(LoadBalancerSchemeEnum::InternetFacing)
        .subnets(first)
        .subnets(second)
        .security_groups(group)
        .set_tags(Some(elb_tags(Kind::LoadBalancer, BALANCER)))
        .send()
        .await
        .expect("CreateLoadBalancer")
        .load_balancers()[0]
        .load_balancer_arn()
        .expect("load balancer ARN")
        .to_string();
    elb.create_listener()
        .load_balancer_arn(lb)
        .port(80)
        .protocol(ProtocolEnum::Http)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(tg)
                .build(),
        )
        .send()
        .await
        .expect("CreateListener");
    eprintln!(
        "seeded target group {TARGET_GROUP} with {} servers behind load balancer {BALANCER}",
        ids.len()
    );
}
