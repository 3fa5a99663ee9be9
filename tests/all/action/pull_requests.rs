//! A pull request's life: one plan comment kept current, the merge applied
//! (or refused when EC2 moved after review), `/plan` by a writer or a
//! reader, a PR closed unmerged or touching no stack.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::engine::{instances_by_name, stack_yaml};
use crate::support::plan_meta;
use ec2_gitops::marker::PlanStatus;

use super::{HEAD, HEAD_2, MERGE, World};

fn path(p: &Path) -> PathBuf {
    p.to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn pr_plan_comment_is_one_and_stays_current_then_merge_applies_and_records() {
    let w = World::new("gh1");
    // Opened: one comment, one status.
    w.pull(7, HEAD, &["infra/web.yaml", "README.md"]);
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let comments = w.bot_comments(7);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let body = &comments[0].body;
    let meta = plan_meta(body).expect("the plan comment's marker");
    assert!(body.contains("Plan: 8 to create"), "{body}");
    assert_eq!(meta.head, HEAD);
    assert_eq!(meta.status, PlanStatus::Planned);
    let status = w.gh.checks(HEAD);
    assert_eq!(status.len(), 1);
    assert_eq!(
        (status[0].state.as_str(), status[0].context.as_str()),
        ("success", "ec2-gitops/plan")
    );
    assert!(r.outputs.contains("plan<<"), "{}", r.text());
    assert!(r.outputs.contains("result-json=[{"), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "a plan changed EC2: {:?}",
        w.mutating_ec2_calls()
    );

    // New push: the same comment is edited, never a second one.
    w.write_stack(&stack_yaml("gh1").replace("count: 2", "count: 3"));
    w.pull(7, HEAD_2, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("synchronize", 7, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let comments = w.bot_comments(7);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].updates, 1);
    assert!(
        comments[0].body.contains("Plan: 9 to create"),
        "{}",
        comments[0].body
    );
    assert_eq!(
        plan_meta(&comments[0].body).map(|m| m.head),
        Some(HEAD_2.to_string())
    );

    // Merge: the reviewed plan is applied and recorded everywhere.
    w.merge(7, HEAD_2);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let by_name = instances_by_name(&w.direct, "gh1").await;
    assert_eq!(by_name.len(), 4, "{by_name:?}");
    let comments = w.bot_comments(7);
    assert_eq!(comments.len(), 2, "plan comment + apply result");
    assert!(
        comments[1].body.contains("ec2-gitops apply succeeded"),
        "{}",
        comments[1].body
    );
    assert!(
        comments[1].body.contains("launched i-"),
        "{}",
        comments[1].body
    );
    let status = w.gh.checks(MERGE);
    assert_eq!(
        (status[0].state.as_str(), status[0].context.as_str()),
        ("success", "ec2-gitops/apply")
    );
    let deployments = w.gh.deployments();
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].environment, "gh1");
    assert_eq!(
        deployments[0].statuses.last().map(|s| s.state.as_str()),
        Some("success")
    );
    assert!(
        r.summary.contains("ec2-gitops apply succeeded"),
        "{}",
        r.text()
    );
    assert!(r.outputs.contains("applied=true"), "{}", r.text());
    assert!(r.outputs.contains("result-json="), "{}", r.text());
    let _ = path(w.dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn live_state_moved_between_review_and_merge_refuses_and_posts_the_new_plan() {
    let w = World::new("gh2");
    w.pull(8, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 8, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());

    // Someone launches a tagged instance of this stack by hand after review.
    w.launch_by_hand("gh2", "instance/web-1").await;
    w.proxy.clear();
    w.merge(8, HEAD);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "refused apply changed EC2: {:?}",
        w.mutating_ec2_calls()
    );
    let comments = w.bot_comments(8);
    let plan = &comments[0].body;
    assert!(plan.contains("The merge was not applied"), "{plan}");
    assert_eq!(
        plan_meta(plan).map(|m| m.status),
        Some(PlanStatus::MergeRefused),
        "{plan}"
    );
    assert!(
        comments.last().unwrap().body.contains("not applied"),
        "{comments:#?}"
    );
    assert_eq!(w.gh.checks(MERGE)[0].state, "failure");
    assert!(r.outputs.contains("applied=false"), "{}", r.text());

    // /apply by a writer (allowed after a refused merge): applies the new plan.
    let ev = w.comment_event(8, "/apply", "writer");
    let r = w.run("issue_comment", ev, MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let by_name = instances_by_name(&w.direct, "gh2").await;
    assert!(by_name.values().all(|ids| ids.len() == 1), "{by_name:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_command_by_a_writer_reacts_and_updates_by_a_reader_is_refused() {
    let w = World::new("gh3");
    w.pull(9, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 9, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    w.proxy.clear();

    // Read user: one polite reply, no EC2 call, and nothing else written
    // (the permission is asked before any reaction).
    let ev = w.comment_event(9, "please\n/plan", "reader");
    let id = ev["comment"]["id"].as_u64().unwrap();
    let r = w.run("issue_comment", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.proxy.total(), 0, "a refused command called EC2");
    assert_eq!(w.gh.reactions(id), Vec::<String>::new());
    let replies: Vec<_> = w
        .bot_comments(9)
        .into_iter()
        .filter(|c| c.body.contains("only people with write access"))
        .collect();
    assert_eq!(replies.len(), 1);

    // Writer: 👀, re-plan into the same comment, 🚀.
    w.write_stack(&stack_yaml("gh3").replace("count: 2", "count: 3"));
    let ev = w.comment_event(9, "/plan", "writer");
    let id = ev["comment"]["id"].as_u64().unwrap();
    let r = w.run("issue_comment", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.gh.reactions(id), ["eyes", "rocket"]);
    let plans: Vec<_> = w
        .bot_comments(9)
        .into_iter()
        .filter(|c| plan_meta(&c.body).is_some())
        .collect();
    assert_eq!(plans.len(), 1);
    assert!(
        plans[0].body.contains("Plan: 9 to create"),
        "{}",
        plans[0].body
    );

    // A command inside a code block: nothing at all happens.
    w.gh.clear_requests();
    let ev = w.comment_event(9, "Run this:\n```\n/plan\n```", "writer");
    w.gh.clear_requests();
    let r = w.run("issue_comment", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(w.gh.requests().is_empty(), "{:?}", w.gh.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_unmerged_marks_the_plan_discarded_and_a_pr_without_stacks_gets_nothing() {
    let w = World::new("gh4");
    w.pull(10, HEAD, &["infra/web.yaml"]);
    assert_eq!(
        w.run("pull_request", w.pr_event("opened", 10, HEAD), HEAD)
            .code(),
        Some(0)
    );
    let mut ev = w.pr_event("closed", 10, HEAD);
    ev["pull_request"]["merged"] = json!(false);
    let r = w.run("pull_request", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let c = &w.bot_comments(10)[0];
    assert!(c.body.contains("discarded"), "{}", c.body);
    assert_eq!(
        plan_meta(&c.body).map(|m| m.status),
        Some(PlanStatus::Discarded),
        "{}",
        c.body
    );

    // A PR that touches no stack: no comment, no status.
    w.pull(11, HEAD_2, &["README.md"]);
    let r = w.run("pull_request", w.pr_event("opened", 11, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(w.bot_comments(11).is_empty());
    assert!(w.gh.checks(HEAD_2).is_empty());
}
