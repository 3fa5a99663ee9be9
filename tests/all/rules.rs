//! Rule sources outside the stack, against moto: a managed prefix list and
//! a security group the stack does not own, named by id, referenced and
//! never changed; one that does not exist refused at plan time.

use aws_sdk_ec2::types::Filter;

use crate::engine::{Env, desired};

fn stack(source_group: &str, prefix_list: &str) -> String {
    described(source_group, prefix_list, "from the office network")
}

fn described(source_group: &str, prefix_list: &str, description: &str) -> String {
    format!(
        r#"version: 1
stack: rls
region: us-east-1
security_groups:
  web:
    description: Web behind a CDN
    ingress:
      - {{ protocol: tcp, ports: 443, prefix_list: {prefix_list} }}
      - {{ protocol: tcp, ports: 80, cidr: 10.0.0.0/8, description: "{description}" }}
      - {{ protocol: tcp, ports: 22, group: {source_group} }}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn prefix_lists_and_outside_groups_are_sources_and_the_outside_group_is_never_touched() {
    let env = Env::start();
    let c = &env.direct;
    let pl = c
        .create_managed_prefix_list()
        .prefix_list_name("cdn")
        .max_entries(10)
        .address_family("IPv4")
        .send()
        .await
        .unwrap()
        .prefix_list()
        .and_then(|p| p.prefix_list_id())
        .unwrap()
        .to_string();
    let bastion = c
        .create_security_group()
        .group_name("bastion")
        .description("Bastion, another team's")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();

    let yaml = stack(&bastion, &pl);
    env.proxy.clear();
    env.converge(&desired(&yaml)).await;
    // Nothing sent names the outside group but as a source.
    for r in env.proxy.requests() {
        if crate::support::is_read(&r.action) {
            continue;
        }
        let names_it_as_target = r.param("GroupId") == Some(bastion.as_str())
            || r.param("ResourceId.1") == Some(bastion.as_str());
        assert!(
            !names_it_as_target,
            "{} changed the outside group",
            r.action
        );
    }
    let web = c
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("tag:ec2-gitops:stack")
                .values("rls")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let perms = web.security_groups()[0].ip_permissions();
    let lists: Vec<&str> = perms
        .iter()
        .flat_map(|p| p.prefix_list_ids())
        .filter_map(|l| l.prefix_list_id())
        .collect();
    assert_eq!(lists, [pl.as_str()]);
    let groups: Vec<&str> = perms
        .iter()
        .flat_map(|p| p.user_id_group_pairs())
        .filter_map(|g| g.group_id())
        .collect();
    assert_eq!(groups, [bastion.as_str()]);

    let described_ranges: Vec<&str> = perms
        .iter()
        .flat_map(|p| p.ip_ranges())
        .filter_map(|r| r.description())
        .collect();
    assert_eq!(described_ranges, ["from the office network"]);

    // A new description: changed in place, the rule never revoked.
    env.proxy.clear();
    let redescribed = described(&bastion, &pl, "from the office and VPN (10/8)");
    let plan = env.converge(&desired(&redescribed)).await;
    assert_eq!(
        plan.changes[0]
            .fields
            .iter()
            .map(|f| f.field)
            .collect::<Vec<_>>(),
        [ec2_gitops::plan::Field::RuleDescriptions]
    );
    assert_eq!(
        env.proxy
            .count("UpdateSecurityGroupRuleDescriptionsIngress"),
        1
    );
    for a in [
        "RevokeSecurityGroupIngress",
        "AuthorizeSecurityGroupIngress",
    ] {
        assert_eq!(env.proxy.count(a), 0, "{a}");
    }
    let yaml = redescribed;

    // A plan reads each kind of source once.
    env.proxy.clear();
    assert!(env.plan(&desired(&yaml)).await.is_empty());
    assert_eq!(env.proxy.count("DescribeManagedPrefixLists"), 1);
    assert_eq!(
        env.proxy.count("DescribeSecurityGroups"),
        2,
        "the stack's, and the outside one"
    );

    // Sources that do not exist: refused before any change.
    let plan = env
        .plan(&desired(&stack(
            "sg-0123456789abcdef0",
            "pl-0123456789abcdef0",
        )))
        .await;
    let messages: Vec<&str> = plan.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("security group sg-0123456789abcdef0, which does not exist"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("prefix list pl-0123456789abcdef0, which does not exist"))
    );
}
