//! The stack's `tags:` against moto: on every resource the stack makes
//! (instances, root and data volumes, groups, key pairs, elastic IPs), and
//! changed in place on all of them.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;

use crate::engine::{Env, desired, stack_yaml};

/// The value of tag `key` on every resource of stack `conv`, by resource.
async fn tag_everywhere(env: &Env, stack: &str, key: &str) -> BTreeMap<String, Option<String>> {
    let out = env
        .direct
        .describe_tags()
        .filters(
            Filter::builder()
                .name("key")
                .values("ec2-gitops:stack")
                .build(),
        )
        .filters(Filter::builder().name("value").values(stack).build())
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = out
        .tags()
        .iter()
        .filter_map(|t| t.resource_id().map(str::to_string))
        .collect();
    let all = env
        .direct
        .describe_tags()
        .filters(
            Filter::builder()
                .name("resource-id")
                .set_values(Some(ids.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    ids.into_iter()
        .map(|id| {
            let value = all
                .tags()
                .iter()
                .find(|t| t.resource_id() == Some(id.as_str()) && t.key() == Some(key))
                .and_then(|t| t.value())
                .map(str::to_string);
            (id, value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stacks_tags_are_on_everything_and_change_in_place() {
    let env = Env::start();
    let with = |value: &str| {
        stack_yaml("tg").replace(
            "region: us-east-1\n",
            &format!("region: us-east-1\ntags: {{ cost-center: {value} }}\n"),
        )
    };
    env.converge(&desired(&with("web"))).await;
    let tagged = tag_everywhere(&env, "tg", "cost-center").await;
    // 2 groups, 1 key pair, 3 instances, 3 root volumes, 1 data volume, 1 address.
    assert_eq!(tagged.len(), 11, "{tagged:#?}");
    assert!(
        tagged.values().all(|v| v.as_deref() == Some("web")),
        "{tagged:#?}"
    );

    // Someone else's tag on a group of the stack: never the stack's to remove.
    let group = tagged
        .keys()
        .find(|id| id.starts_with("sg-"))
        .expect("a group")
        .clone();
    env.direct
        .create_tags()
        .resources(&group)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("owner")
                .value("ops")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(env.plan(&desired(&with("web"))).await.is_empty());

    // A new value: every resource is retagged in place, nothing else.
    env.proxy.clear();
    let plan = env.converge(&desired(&with("shop"))).await;
    assert!(
        plan.changes
            .iter()
            .all(|c| c.action == ec2_gitops::plan::Action::Update)
    );
    for a in env.proxy.actions() {
        assert!(
            crate::support::is_read(&a) || a == "CreateTags" || a == "DeleteTags",
            "{a} sent to change tags"
        );
    }
    let tagged = tag_everywhere(&env, "tg", "cost-center").await;
    assert!(
        tagged.values().all(|v| v.as_deref() == Some("shop")),
        "root volumes follow their instance: {tagged:#?}"
    );

    // Removed from the YAML: removed everywhere.
    env.converge(&desired(&stack_yaml("tg"))).await;
    let tagged = tag_everywhere(&env, "tg", "cost-center").await;
    assert!(tagged.values().all(Option::is_none), "{tagged:#?}");
    let owner = tag_everywhere(&env, "tg", "owner").await;
    assert_eq!(
        owner[&group].as_deref(),
        Some("ops"),
        "the hand-set tag stays"
    );
}
