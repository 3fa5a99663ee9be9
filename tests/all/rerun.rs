//! A re-run finishes what was reviewed: a merge whose apply fails halfway is
//! finished by re-running its workflow (the same event), with no new review;
//! a re-run after someone changed EC2 in between is refused, naming what the
//! review did not see.

use crate::action::{HEAD, MERGE, World};
use crate::engine::instances_by_name;
use crate::support::ProxyResponse;

/// The merge's push: onto the base the pull request was planned on.
fn push(w: &World) -> serde_json::Value {
    let mut event = w.push_event(MERGE, &[("infra/web.yaml", "modified")]);
    event["before"] = serde_json::json!(crate::support::PullSpec::default().base_sha);
    event
}

/// Opens PR 5 (its plan comment), merges it, and refuses every launch of
/// `db` while the merge applies: web is applied, db is not.
fn merge_failing_db(w: &World) -> crate::action::Run {
    w.pull(5, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 5, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    w.merge(5, HEAD);
    w.proxy.set_hook(|req| {
        (req.action == "RunInstances"
            && req
                .params
                .iter()
                .any(|(k, v)| k.ends_with(".Value") && v == "instance/db"))
        .then(|| {
            ProxyResponse::ec2_error(
                500,
                "InsufficientInstanceCapacity",
                "We currently do not have sufficient t3.small capacity.",
            )
        })
    });
    let r = w.run("push", push(w), MERGE);
    w.proxy.clear_hook();
    assert_eq!(r.code(), Some(1), "{}", r.text());
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_of_a_merge_that_failed_halfway_applies_what_was_left_with_no_new_review() {
    let w = World::new("rerun");
    let failed = merge_failing_db(&w);
    let said = w.bot_comments(5).last().unwrap().body.clone();
    assert!(said.contains("re-run"), "the advice: {said}");
    let before = instances_by_name(&w.direct, "rerun").await;
    assert!(before.contains_key("instance/web-1") && !before.contains_key("instance/db"));
    assert!(failed.text().contains("InsufficientInstanceCapacity"));

    // The capacity is back; the workflow is re-run (same event, attempt 2).
    let mark = w.proxy.total();
    let r = w.run_with("push", push(&w), MERGE, &[("GITHUB_RUN_ATTEMPT", "2")]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let launched: Vec<String> = w.proxy.requests()[mark..]
        .iter()
        .filter(|q| q.action == "RunInstances" && !q.answered_by_hook)
        .flat_map(|q| {
            q.params
                .iter()
                .filter(|(k, _)| k.ends_with(".Value"))
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        })
        .filter(|v| v.starts_with("instance/"))
        .collect();
    assert_eq!(launched, ["instance/db"], "only what was left");
    let after = instances_by_name(&w.direct, "rerun").await;
    assert!(after.values().all(|ids| ids.len() == 1), "{after:?}");
    assert_eq!(after.len(), 3, "{after:?}");
    let result = w.bot_comments(5).last().unwrap().body.clone();
    assert!(result.contains("ec2-gitops apply succeeded"), "{result}");
    let apply_check =
        w.gh.check_runs(MERGE)
            .into_iter()
            .rfind(|c| c.name == "ec2-gitops/apply")
            .expect("an apply check");
    assert_eq!(
        apply_check.conclusion.as_deref(),
        Some("success"),
        "{apply_check:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_after_someone_changed_ec2_is_refused_and_says_what_the_review_did_not_see() {
    let w = World::new("moved");
    merge_failing_db(&w);
    // Someone edits web-1 by hand: a change the review never saw.
    let web1 = instances_by_name(&w.direct, "moved").await["instance/web-1"][0].clone();
    w.direct
        .create_tags()
        .resources(&web1)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("role")
                .value("by-hand")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mark = w.proxy.total();
    let r = w.run_with("push", push(&w), MERGE, &[("GITHUB_RUN_ATTEMPT", "2")]);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let changed: Vec<String> = w.proxy.requests()[mark..]
        .iter()
        .filter(|q| !crate::support::is_read(&q.action))
        .map(|q| q.action.clone())
        .collect();
    assert!(changed.is_empty(), "nothing applied: {changed:?}");
    let said = w.bot_comments(5).last().unwrap().body.clone();
    assert!(
        said.contains(
            "`instance.web-1` would change `tags`, which is not what the review approved"
        ),
        "{said}"
    );
}
