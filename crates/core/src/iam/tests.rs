//! The policies: what each role may do, and what it may not.

use super::*;

#[test]
fn the_plan_role_reads_and_never_changes() {
    let p = policy(Role::Plan, "aws");
    let actions: Vec<&str> = p["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        actions.iter().all(|a| a.starts_with("ec2:Describe")),
        "{actions:?}"
    );
    assert!(actions.contains(&"ec2:DescribeInstances"));
    // The load balancers' reads, which take no resource.
    let statements = p["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 3);
    let balancers: Vec<&str> = statements[1]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        balancers
            .iter()
            .all(|a| a.starts_with("elasticloadbalancing:Describe") || *a == "tag:GetResources"),
        "{balancers:?}"
    );
    // And the image parameters, by their ARNs.
    assert_eq!(statements[2]["Action"], json!(["ssm:GetParameters"]));
    assert_eq!(
        statements[2]["Resource"],
        json!(["arn:aws:ssm:*:*:parameter/*"])
    );
}

#[test]
fn the_apply_role_can_call_every_change_the_tool_makes() {
    let all = actions(Role::Apply, None);
    for o in operations().filter(|o| o.roles.contains(&Role::Apply)) {
        assert!(
            all.contains(&format!("{}:{}", o.service, o.action)),
            "{}",
            o.action
        );
    }
    assert!(all.contains(&"ec2:CreateSnapshot".to_string()));
    assert!(!all.iter().any(|a| a.starts_with("iam:")));
}

#[test]
fn every_change_of_the_preview_role_is_narrowed_by_the_preview_tag() {
    let p = policy(Role::Preview, "aws");
    for s in p["Statement"].as_array().unwrap() {
        let actions: Vec<&str> = match &s["Action"] {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            Value::String(a) => vec![a.as_str()],
            _ => vec![],
        };
        if actions.iter().all(|a| a.starts_with("ec2:Describe")) {
            continue;
        }
        let narrowed = !s["Condition"].is_null()
            || s["Resource"].as_array().is_some_and(|r| {
                r.iter().all(|r| {
                    let r = r.as_str().unwrap_or("");
                    // What a launch uses but does not change, and the
                    // preview's own lease.
                    [
                        "image/",
                        "subnet/",
                        "network-interface/",
                        "vpc/",
                        "security-group-rule/",
                        "key-pair/ec2-gitops-preview-lease-",
                        ":parameter/",
                    ]
                    .iter()
                    .any(|k| r.contains(k))
                })
            });
        assert!(narrowed, "{s:#}");
        assert!(
            !s.to_string().contains("-pr*"),
            "no stack-name pattern: {s}"
        );
    }
}

#[test]
fn trust_covers_pull_requests_the_default_branch_and_environments() {
    let t = trust(
        Role::Apply,
        "123456789012",
        "octo/infra",
        "main",
        &["production".into()],
    );
    let subjects =
        &t["Statement"][0]["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"];
    assert_eq!(
        subjects,
        &json!([
            "repo:octo/infra:ref:refs/heads/main",
            "repo:octo/infra:environment:production"
        ])
    );
    let plan = trust(Role::Plan, "123456789012", "octo/infra", "main", &[]);
    assert!(plan.to_string().contains("repo:octo/infra:pull_request"));
    assert!(
        plan.to_string()
            .contains("repo:octo/infra:ref:refs/heads/gh-readonly-queue/main/*"),
        "the merge queue's check job assumes the plan role"
    );
}
