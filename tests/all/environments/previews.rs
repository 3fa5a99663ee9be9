//! Preview environments of pull requests: created, updated and destroyed
//! with the PR, never confused with the stack's own resources, refused
//! for forks and over their size, and cleaned up by the scheduled run.

use crate::action::{HEAD, HEAD_2, World};
use crate::engine::stack_yaml;

/// The stack of `World::new("pv")` (it has an elastic IP) with previews
/// allowed.
fn previewed(count: u32) -> String {
    stack_yaml("pv")
        .replace("count: 2", &format!("count: {count}"))
        .replace(
            "region: us-east-1\n",
            "region: us-east-1\npreview: { max_instances: 4, ttl: 72h }\n",
        )
}

/// A writer's comment `body` on pull request `n` at `sha`, and its run.
fn say(w: &World, n: u64, body: &str, sha: &str) -> crate::action::Run {
    w.run("issue_comment", w.comment_event(n, body, "writer"), sha)
}

/// Pull request `n` (head `head`) is closed without merge, changing the
/// stack file.
fn closed(w: &World, n: u64, head: &str) {
    w.gh.add_pull(
        crate::action::REPO,
        crate::support::PullSpec {
            number: n,
            head_sha: head.into(),
            state: "closed".into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..crate::support::PullSpec::default()
        },
    );
}

/// The bot's latest reply on pull request `n` (not its plan comment).
fn latest_reply(w: &World, n: u64) -> String {
    w.bot_comments(n)
        .into_iter()
        .rev()
        .find(|c| c.body.contains("\"kind\":\"reply\""))
        .map(|c| c.body)
        .expect("a reply")
}

/// The plan comment of pull request `n`.
fn plan_comment(w: &World, n: u64) -> String {
    w.bot_comments(n)
        .into_iter()
        .find(|c| crate::support::plan_meta(&c.body).is_some())
        .map(|c| c.body)
        .unwrap_or_else(|| {
            let said: Vec<String> = w.gh.comments(n).into_iter().map(|c| c.body).collect();
            panic!("no plan comment on #{n}; its comments: {said:#?}")
        })
}

/// Resources tagged for `stack` that are not gone: instances, groups,
/// volumes and key pairs.
async fn left(c: &aws_sdk_ec2::Client, stack: &str) -> usize {
    let f = crate::engine::tag_filter(stack);
    let instances = crate::engine::instances_by_name(c, stack).await.len();
    let groups = c
        .describe_security_groups()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .security_groups()
        .len();
    let volumes = c
        .describe_volumes()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .volumes()
        .iter()
        .filter(|v| v.state().map(|s| s.as_str()) != Some("deleted"))
        .count();
    let keys = c
        .describe_key_pairs()
        .filters(f)
        .send()
        .await
        .unwrap()
        .key_pairs()
        .len();
    instances + groups + volumes + keys
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_creates_updates_and_closing_the_pr_destroys_it() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    w.pull(7, HEAD, &["infra/web.yaml"]);
    let r = say(&w, 7, "/preview", HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let reply = w.bot_comments(7).last().unwrap().body.clone();
    assert!(
        reply.contains("### Preview `web-pr7`") || reply.contains("### Preview `pv-pr7`"),
        "{reply}"
    );
    assert!(reply.contains("| `web-1` | `i-"), "{reply}");
    let plan = plan_comment(&w, 7);
    assert!(plan.contains("## Previews"), "{plan}");
    assert!(plan.contains("### Preview `pv-pr7` (us-east-1)"), "{plan}");
    assert!(plan.contains("public DNS name"), "{plan}");
    let preview = crate::engine::instances_by_name(&w.direct, "pv-pr7").await;
    assert_eq!(preview.len(), 3, "web-1, web-2 and db: {preview:?}");
    assert!(
        crate::engine::instances_by_name(&w.direct, "pv")
            .await
            .is_empty(),
        "the stack itself is untouched"
    );
    let addresses = w.direct.describe_addresses().send().await.unwrap();
    assert!(
        addresses.addresses().is_empty(),
        "a preview gets no elastic IP"
    );
    // Everything of the preview carries its tag, from its creation: the
    // preview role may change nothing else.
    let tagged = preview_tagged(&w.direct, "pv-pr7").await;
    assert!(
        tagged.len() >= 8,
        "instances, volumes, groups, key pair: {tagged:?}"
    );
    assert!(
        tagged.iter().all(|(_, v)| v.as_deref() == Some("7")),
        "{tagged:?}"
    );
    // Its apply lease had a name no other stack's lease can have.
    let leases: Vec<String> = w
        .proxy
        .requests_for("CreateKeyPair")
        .iter()
        .filter_map(|r| r.param("KeyName").map(str::to_string))
        .collect();
    assert!(
        leases.contains(&"ec2-gitops-preview-lease-pv-pr7".to_string()),
        "{leases:?}"
    );
    assert!(
        !leases
            .iter()
            .any(|l| l.starts_with("ec2-gitops-lease-pv-pr")),
        "{leases:?}"
    );

    // A push changes nothing until `/preview` again, which updates it.
    w.write_stack(&previewed(3));
    w.pull(7, HEAD_2, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("synchronize", 7, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(
        crate::engine::instances_by_name(&w.direct, "pv-pr7")
            .await
            .len(),
        3
    );
    let r = say(&w, 7, "/preview", HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let now = crate::engine::instances_by_name(&w.direct, "pv-pr7").await;
    assert_eq!(now.len(), 4, "{now:?}");
    assert_eq!(
        now["instance/web-1"], preview["instance/web-1"],
        "updated in place"
    );

    // `/preview destroy` removes it; `/preview` makes it again.
    let r = say(&w, 7, "/preview destroy", HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(left(&w.direct, "pv-pr7").await, 0, "{}", r.text());
    let reply = latest_reply(&w, 7);
    assert!(reply.contains("### Preview `pv-pr7`: destroyed"), "{reply}");
    let plan = plan_comment(&w, 7);
    assert!(
        !plan.contains("## Previews"),
        "gone from the plan comment: {plan}"
    );
    let r = say(&w, 7, "/preview", HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(
        crate::engine::instances_by_name(&w.direct, "pv-pr7")
            .await
            .len(),
        4
    );

    // Closing the pull request destroys it: nothing with its tag is left.
    closed(&w, 7, HEAD_2);
    let r = w.run("pull_request", w.pr_event("closed", 7, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(left(&w.direct, "pv-pr7").await, 0, "{}", r.text());
    assert!(r.summary.contains("destroyed"), "{}", r.text());
}

/// Every resource tagged `ec2-gitops:stack=<stack>` (key pairs, groups,
/// instances, volumes), with its `ec2-gitops:preview` tag.
async fn preview_tagged(c: &aws_sdk_ec2::Client, stack: &str) -> Vec<(String, Option<String>)> {
    let f = aws_sdk_ec2::types::Filter::builder()
        .name("tag:ec2-gitops:stack")
        .values(stack)
        .build();
    let preview = |tags: &[aws_sdk_ec2::types::Tag]| {
        tags.iter()
            .find(|t| t.key() == Some("ec2-gitops:preview"))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    let mut out = Vec::new();
    let i = c
        .describe_instances()
        .filters(f.clone())
        .send()
        .await
        .unwrap();
    for x in i.reservations().iter().flat_map(|r| r.instances()) {
        if x.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated") {
            out.push((x.instance_id().unwrap().to_string(), preview(x.tags())));
        }
    }
    let v = c
        .describe_volumes()
        .filters(f.clone())
        .send()
        .await
        .unwrap();
    out.extend(
        v.volumes()
            .iter()
            .map(|x| (x.volume_id().unwrap().to_string(), preview(x.tags()))),
    );
    let g = c
        .describe_security_groups()
        .filters(f.clone())
        .send()
        .await
        .unwrap();
    out.extend(
        g.security_groups()
            .iter()
            .map(|x| (x.group_id().unwrap().to_string(), preview(x.tags()))),
    );
    let k = c.describe_key_pairs().filters(f).send().await.unwrap();
    out.extend(
        k.key_pairs()
            .iter()
            .map(|x| (x.key_name().unwrap().to_string(), preview(x.tags()))),
    );
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_tagged_for_a_stack_and_a_preview_is_never_the_stacks() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    w.pull(8, HEAD, &["infra/web.yaml"]);
    let r = say(&w, 8, "/preview", HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    // Whoever holds the preview role tags a preview's server with the real
    // stack's name: the real stack must not take it for its own.
    let preview = crate::engine::instances_by_name(&w.direct, "pv-pr8").await;
    let id = preview["instance/web-1"][0].clone();
    w.direct
        .create_tags()
        .resources(&id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("ec2-gitops:stack")
                .value("pv")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let file = w.dir.path().join("infra/web.yaml");
    let out = crate::crash::run(&w.proxy.endpoint(), &["plan", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains(&id),
        "warned about: {}",
        crate::crash::text(&out)
    );
    assert!(
        text.contains("another stack's preview"),
        "{}",
        crate::crash::text(&out)
    );
    let json = crate::crash::run(
        &w.proxy.endpoint(),
        &["plan", file.to_str().unwrap(), "--format", "json"],
    );
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).expect("a JSON plan");
    let touched: Vec<&serde_json::Value> = plan["plans"][0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["live_id"].as_str() == Some(id.as_str()))
        .collect();
    assert!(touched.is_empty(), "never planned: {touched:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_is_refused_for_a_fork_with_no_ec2_call_and_over_its_size() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    w.gh.add_pull(
        crate::action::REPO,
        crate::support::PullSpec {
            number: 8,
            head_sha: HEAD.into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            head_repo: Some("mallory/infra".into()),
            ..crate::support::PullSpec::default()
        },
    );
    w.proxy.clear();
    let r = say(&w, 8, "/preview", HEAD);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert!(
        w.proxy.requests().is_empty(),
        "no EC2 call: {:?}",
        w.proxy.actions()
    );
    let reply = latest_reply(&w, 8);
    assert!(reply.contains("comes from a fork"), "{reply}");

    // A job that checked out something else than the test merge: refused.
    w.pull(10, HEAD, &["infra/web.yaml"]);
    let r = w.run_at(
        "issue_comment",
        w.comment_event(10, "/preview", "writer"),
        HEAD,
        Some("cccccccccccccccccccccccccccccccccccccccc"),
        &[],
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let reply = latest_reply(&w, 10);
    assert!(
        reply.contains("not this pull request's test merge"),
        "{reply}"
    );
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );

    // Over `max_instances` (4): refused, nothing launched.
    w.write_stack(&previewed(4));
    w.pull(9, HEAD, &["infra/web.yaml"]);
    let r = say(&w, 9, "/preview", HEAD);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let reply = latest_reply(&w, 9);
    assert!(reply.contains("would have 5 instances"), "{reply}");
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
}

/// The scheduled run destroys a preview whose pull request is closed (its
/// close event's job did not run) and keeps an open one's.
#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_run_destroys_the_preview_of_a_closed_pr_and_keeps_an_open_ones() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    for n in [11, 12] {
        w.pull(n, HEAD, &["infra/web.yaml"]);
        let r = say(&w, n, "/preview", HEAD);
        assert_eq!(r.code(), Some(0), "{}", r.text());
    }
    assert_eq!(
        crate::engine::instances_by_name(&w.direct, "pv-pr11")
            .await
            .len(),
        3
    );
    // #11 is closed; no job ran on its close event.
    closed(&w, 11, HEAD);
    let mut dispatch = crate::support::webhooks::example("workflow_dispatch", |_| true);
    dispatch["ref"] = serde_json::json!("refs/heads/main");
    let r = w.run("workflow_dispatch", dispatch, crate::action::MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(left(&w.direct, "pv-pr11").await, 0, "{}", r.text());
    assert!(
        r.summary.contains("its pull request is closed"),
        "{}",
        r.text()
    );
    assert_eq!(
        crate::engine::instances_by_name(&w.direct, "pv-pr12")
            .await
            .len(),
        3,
        "an open pull request's preview stays"
    );
}

/// The scheduled run destroys a preview older than the stack's
/// `preview.ttl`. Moto cannot age an instance, so the proxy answers the
/// run's listing of previews (`tag:ec2-gitops:stack = pv-pr*`) with the
/// preview's real instance launched four days ago; everything else is
/// moto's.
#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_run_destroys_a_preview_past_its_ttl() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    w.pull(13, HEAD, &["infra/web.yaml"]);
    let r = say(&w, 13, "/preview", HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let ids = crate::engine::instances_by_name(&w.direct, "pv-pr13").await;
    let id = ids["instance/web-1"][0].clone();
    w.proxy.set_hook(move |req| {
        let listing = req.action == "DescribeInstances"
            && req.params.iter().any(|(_, v)| v == "pv-pr*");
        listing.then(|| {
            crate::support::ProxyResponse::xml(
                200,
                format!(
                    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet><item><instanceId>{id}</instanceId><instanceState><code>16</code><name>running</name></instanceState><launchTime>2020-01-01T00:00:00.000Z</launchTime><tagSet><item><key>ec2-gitops:stack</key><value>pv-pr13</value></item></tagSet></item></instancesSet></item></reservationSet></DescribeInstancesResponse>"
                ),
            )
        })
    });
    let mut dispatch = crate::support::webhooks::example("workflow_dispatch", |_| true);
    dispatch["ref"] = serde_json::json!("refs/heads/main");
    let r = w.run("workflow_dispatch", dispatch, crate::action::MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(
        r.summary.contains("older than its `preview.ttl`"),
        "{}",
        r.text()
    );
    w.proxy.clear_hook();
    assert_eq!(left(&w.direct, "pv-pr13").await, 0, "{}", r.text());
}
