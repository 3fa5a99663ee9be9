//! The scheduled drift check: one issue opened, updated, then closed.

use serde_json::json;

use crate::engine::instances_by_name;
use crate::support::webhooks;

use super::{MERGE, World};

#[tokio::test(flavor = "multi_thread")]
async fn drift_opens_one_issue_updates_it_and_closes_it_when_clean() {
    let w = World::new("gh7");
    let dispatch = || {
        let mut p = webhooks::example("workflow_dispatch", |_| true);
        p["ref"] = json!("refs/heads/main");
        p
    };
    // Apply the stack (a direct push, allowed here), then check: clean, no
    // issue.
    let r = w.run_with(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
        &[("INPUT_APPLY-UNREVIEWED-PUSHES", "true")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let r = w.run("workflow_dispatch", dispatch(), MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.outputs.contains("drifted=false"), "{}", r.text());
    assert!(w.gh.issues().is_empty());

    // Someone changes an instance by hand: one issue names it.
    let db = instances_by_name(&w.direct, "gh7").await["instance/db"][0].clone();
    w.direct
        .create_tags()
        .resources(&db)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("owner")
                .value("alice")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = w.run("workflow_dispatch", dispatch(), MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.outputs.contains("drifted=true"), "{}", r.text());
    let issues = w.gh.issues();
    assert_eq!(issues.len(), 1);
    let body = issues[0].body.clone().unwrap_or_default();
    assert!(
        body.contains("`instance.db`") && body.contains("owner=alice"),
        "{body}"
    );
    assert!(body.contains("How to fix it"), "{body}");

    // More drift: the same issue is edited, never a second one.
    w.direct
        .create_tags()
        .resources(&db)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("team")
                .value("ops")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = w.run("workflow_dispatch", dispatch(), MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let issues = w.gh.issues();
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0]
            .body
            .as_deref()
            .unwrap_or_default()
            .contains("team=ops")
    );

    // Fixed (re-applied by a direct push, allowed here): the issue is
    // closed with a comment.
    let r = w.run_with(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
        &[("INPUT_APPLY-UNREVIEWED-PUSHES", "true")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let r = w.run("workflow_dispatch", dispatch(), MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let issues = w.gh.issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].state, "closed");
    assert!(
        w.gh.comments(issues[0].number)
            .iter()
            .any(|c| c.body.contains("match the YAML again")),
        "no closing comment"
    );
}
