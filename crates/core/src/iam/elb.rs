//! The operations of Elastic Load Balancing and of the tagging API the tool
//! calls: reads for every role but the preview's (a preview has no load
//! balancer), changes for the apply role, the adopting tags for import.

use super::Role::{Apply, Import, Plan};
use super::{Operation, Role, Scope};

/// Every load balancer operation the tool calls, by action name.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        service: "tag",
        action: "GetResources",
        roles: &[Plan, Apply, Import],
        scope: Scope::Read,
        why: "find a stack's load balancers and target groups by its tag (one paged call)",
    },
    elb(
        "DescribeLoadBalancers",
        &[Plan, Apply, Import],
        Scope::Read,
        "read a stack's load balancers",
    ),
    elb(
        "DescribeListeners",
        &[Plan, Apply, Import],
        Scope::Read,
        "read a load balancer's listeners",
    ),
    elb(
        "DescribeTargetGroups",
        &[Plan, Apply, Import],
        Scope::Read,
        "read a stack's target groups",
    ),
    elb(
        "DescribeTargetGroupAttributes",
        &[Plan, Apply, Import],
        Scope::Read,
        "read a target group's draining time",
    ),
    elb(
        "DescribeTags",
        &[Import],
        Scope::Read,
        "import: refuse a load balancer or target group a stack owns already",
    ),
    elb(
        "DescribeTargetHealth",
        &[Plan, Apply, Import],
        Scope::Read,
        "which servers a target group holds; wait for draining and health",
    ),
    elb(
        "CreateTargetGroup",
        &[Apply],
        Scope::Changes(&[]),
        "target groups (tagged at creation)",
    ),
    elb(
        "ModifyTargetGroup",
        &[Apply],
        Scope::Changes(&[]),
        "a target group's health check",
    ),
    elb(
        "ModifyTargetGroupAttributes",
        &[Apply],
        Scope::Changes(&[]),
        "a target group's draining time",
    ),
    elb(
        "DeleteTargetGroup",
        &[Apply],
        Scope::Changes(&[]),
        "target groups removed",
    ),
    elb(
        "RegisterTargets",
        &[Apply],
        Scope::Changes(&[]),
        "servers join their target groups",
    ),
    elb(
        "DeregisterTargets",
        &[Apply],
        Scope::Changes(&[]),
        "servers leave their target groups (drained before they stop)",
    ),
    elb(
        "CreateLoadBalancer",
        &[Apply],
        Scope::Changes(&[]),
        "load balancers (tagged at creation)",
    ),
    elb(
        "SetSubnets",
        &[Apply],
        Scope::Changes(&[]),
        "a load balancer's subnets",
    ),
    elb(
        "SetSecurityGroups",
        &[Apply],
        Scope::Changes(&[]),
        "a load balancer's security groups",
    ),
    elb("CreateListener", &[Apply], Scope::Changes(&[]), "listeners"),
    elb(
        "ModifyListener",
        &[Apply],
        Scope::Changes(&[]),
        "listeners changed (a replaced target group's)",
    ),
    elb(
        "DeleteListener",
        &[Apply],
        Scope::Changes(&[]),
        "listeners removed",
    ),
    elb(
        "DeleteLoadBalancer",
        &[Apply],
        Scope::Changes(&[]),
        "load balancers removed",
    ),
    elb(
        "AddTags",
        &[Apply, Import],
        Scope::Changes(&[]),
        "the stack's tags on load balancers and target groups; adoption by import",
    ),
    elb(
        "RemoveTags",
        &[Apply],
        Scope::Changes(&[]),
        "a tag taken out of the stack's `tags:`",
    ),
];

/// An Elastic Load Balancing operation. No preview role calls one (a
/// preview has no load balancer): its scope only says read or change.
const fn elb(
    action: &'static str,
    roles: &'static [Role],
    scope: Scope,
    why: &'static str,
) -> Operation {
    Operation {
        service: "elasticloadbalancing",
        action,
        roles,
        scope,
        why,
    }
}
