//! GitHub's merge queue: on `merge_group` `checks_requested` the check
//! `ec2-gitops/plan` on the group's head passes only when each stack the
//! group changes plans there as reviewed on the pull request that changes
//! it. The fake models the queue as GitHub builds it (each entry a commit
//! on the one ahead, on a `gh-readonly-queue/…` branch); the payloads are
//! the real `merge_group` example with the group's commits set.

use crate::engine::IMAGE;
use crate::support::github::QueueEntry;
use crate::support::webhooks;

use super::{HEAD, HEAD_2, REPO, Run, World};

/// The base branch's tip the pull requests were planned on (the fake's
/// default) and the queue builds on.
const BASE: &str = "0000000000000000000000000000000000000001";

fn check_group(w: &World, entry: &QueueEntry) -> Run {
    let payload = webhooks::merge_group(&entry.head_ref, &entry.head_sha, &entry.base_sha);
    // actions/checkout checks out the group's head on `merge_group`.
    w.run_at(
        "merge_group",
        payload,
        &entry.head_sha,
        Some(&entry.head_sha),
        &[],
    )
}

/// The one `ec2-gitops/plan` check run on `sha`: (conclusion, title, text).
fn plan_check(w: &World, sha: &str) -> (String, String, String) {
    let runs = w.gh.check_runs(sha);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let run = &runs[0];
    assert_eq!(run.name, "ec2-gitops/plan");
    assert_eq!(run.head_sha, sha);
    (
        run.conclusion.clone().unwrap_or_default(),
        run.title.clone(),
        run.text.clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_planning_as_reviewed_passes_and_its_merge_applies() {
    let w = World::new("mq1");
    w.pull(7, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let entry = w.gh.enqueue(REPO, "main", BASE, &[7]).remove(0);
    w.proxy.clear();

    let r = check_group(&w, &entry);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let (conclusion, title, _) = plan_check(&w, &entry.head_sha);
    assert_eq!(conclusion, "success");
    assert_eq!(title, "1 stack of the merge group plans as reviewed");
    assert!(
        r.summary.contains("| `mq1` | #7 | ✅ the reviewed plan |"),
        "{}",
        r.text()
    );
    assert!(
        r.outputs.contains("merge-group-passed=true"),
        "{}",
        r.text()
    );
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
    assert!(w.gh.check_runs(HEAD).iter().all(|c| c.head_sha == HEAD));

    // GitHub merges the group: main moves to its head, and the push applies.
    w.gh.dequeue(REPO, &entry);
    w.merged(7, HEAD, &entry.head_sha, &["infra/web.yaml"]);
    let mut push = w.push_event(&entry.head_sha, &[("infra/web.yaml", "modified")]);
    push["before"] = serde_json::json!(BASE);
    let r = w.run("push", push, &entry.head_sha);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().iter().any(|a| a == "RunInstances"),
        "{:?}",
        w.mutating_ec2_calls()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_whose_stack_moved_in_ec2_since_review_fails_with_the_reason() {
    let w = World::new("mq2");
    w.pull(8, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 8, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    // Someone launches one of the stack's servers by hand after review.
    w.launch_by_hand("mq2", "instance/web-1").await;
    let entry = w.gh.enqueue(REPO, "main", BASE, &[8]).remove(0);
    w.proxy.clear();

    let r = check_group(&w, &entry);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let (conclusion, title, text) = plan_check(&w, &entry.head_sha);
    assert_eq!(conclusion, "failure");
    assert_eq!(title, "mq2: the plan changed since review on #8");
    assert!(text.contains("the plan changed since review"), "{text}");
    assert!(
        text.contains("Comment `/plan` on #8 to review the plan it would apply now"),
        "{text}"
    );
    assert!(
        r.outputs.contains("merge-group-passed=false"),
        "{}",
        r.text()
    );
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_pull_requests_of_one_group_changing_one_stack_fail_merge_them_one_at_a_time() {
    let w = World::new("mq3");
    w.pull(7, HEAD, &["infra/web.yaml"]);
    w.pull(8, HEAD_2, &["infra/web.yaml", "README.md"]);
    for (n, head) in [(7, HEAD), (8, HEAD_2)] {
        let r = w.run("pull_request", w.pr_event("opened", n, head), head);
        assert_eq!(r.code(), Some(0), "{}", r.text());
    }
    let entries = w.gh.enqueue(REPO, "main", BASE, &[7, 8]);

    // #8's group holds #7 ahead of it: both change the stack.
    let r = check_group(&w, &entries[1]);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let (conclusion, title, text) = plan_check(&w, &entries[1].head_sha);
    assert_eq!(conclusion, "failure");
    assert_eq!(
        title,
        "mq3: #7 and #8 change it in one group: merge them one at a time"
    );
    assert!(text.contains("max_entries_to_build: 1"), "{text}");
    assert!(w.gh.check_runs(&entries[0].head_sha).is_empty());

    // #7's group is #7 alone: it passes.
    let r = check_group(&w, &entries[0]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(plan_check(&w, &entries[0].head_sha).0, "success");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_without_stacks_passes_and_one_checked_out_wrong_fails() {
    let w = World::new("mq4");
    w.pull(9, HEAD, &["README.md"]);
    let entry = w.gh.enqueue(REPO, "main", BASE, &[9]).remove(0);
    let r = check_group(&w, &entry);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let (conclusion, title, _) = plan_check(&w, &entry.head_sha);
    assert_eq!(
        (conclusion.as_str(), title.as_str()),
        ("success", "The merge group changes no stack")
    );
    assert!(w.proxy.actions().is_empty(), "{:?}", w.proxy.actions());

    // A workflow that checks out another commit: the group is not judged.
    w.pull(10, HEAD_2, &["infra/web.yaml"]);
    let other = w.gh.enqueue(REPO, "main", BASE, &[10]).remove(0);
    let payload = webhooks::merge_group(&other.head_ref, &other.head_sha, BASE);
    let r = w.run_at("merge_group", payload, &other.head_sha, Some(HEAD_2), &[]);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let (conclusion, title, _) = plan_check(&w, &other.head_sha);
    assert_eq!(conclusion, "failure");
    assert!(title.contains("not the merge group's head"), "{title}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_of_two_pull_requests_on_two_stacks_passes_and_one_push_applies_each_by_its_review()
{
    let w = World::new("mq5");
    std::fs::write(
        w.dir.path().join("infra/api.yaml"),
        format!(
            "version: 1\nstack: mq5-api\nregion: us-east-1\ninstances:\n  api:\n    image: {IMAGE}\n    type: t3.micro\n"
        ),
    )
    .unwrap();
    w.pull(7, HEAD, &["infra/web.yaml"]);
    w.pull(8, HEAD_2, &["infra/api.yaml"]);
    for (n, head) in [(7, HEAD), (8, HEAD_2)] {
        let r = w.run("pull_request", w.pr_event("opened", n, head), head);
        assert_eq!(r.code(), Some(0), "{}", r.text());
    }
    let entries = w.gh.enqueue(REPO, "main", BASE, &[7, 8]);
    w.proxy.clear();
    let r = check_group(&w, &entries[1]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let (conclusion, title, _) = plan_check(&w, &entries[1].head_sha);
    assert_eq!(
        (conclusion.as_str(), title.as_str()),
        ("success", "2 stacks of the merge group plan as reviewed")
    );
    assert!(r.summary.contains("| `mq5` | #7 |"), "{}", r.summary);
    assert!(r.summary.contains("| `mq5-api` | #8 |"), "{}", r.summary);
    assert!(w.mutating_ec2_calls().is_empty());

    // GitHub merges both in one push: main moves to #8's entry.
    for (e, head, file) in [
        (&entries[0], HEAD, "infra/web.yaml"),
        (&entries[1], HEAD_2, "infra/api.yaml"),
    ] {
        w.gh.dequeue(REPO, e);
        w.merged(e.number, head, &e.head_sha, &[file]);
    }
    let mut push = w.push_event(&entries[1].head_sha, &[("infra/api.yaml", "modified")]);
    push["before"] = serde_json::json!(BASE);
    let mut first = push["commits"][0].clone();
    first["id"] = serde_json::json!(entries[0].head_sha);
    first["modified"] = serde_json::json!(["infra/web.yaml"]);
    push["commits"] = serde_json::json!([first, push["head_commit"].clone()]);
    let r = w.run("push", push, &entries[1].head_sha);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let ids = crate::engine::instances_by_name(&w.direct, "mq5").await;
    assert_eq!(ids.len(), 3, "web-1, web-2 and db: {ids:?}");
    let ids = crate::engine::instances_by_name(&w.direct, "mq5-api").await;
    assert_eq!(ids.len(), 1, "api: {ids:?}");
    // Each pull request is told about its own stack.
    for (n, mine, other) in [(7, "`mq5`", "`mq5-api`"), (8, "`mq5-api`", "`mq5`")] {
        let applied = w.bot_comments(n);
        let last = &applied.last().unwrap().body;
        assert!(last.contains("ec2-gitops apply succeeded"), "{last}");
        assert!(last.contains(&format!("### Stack {mine}")), "{last}");
        assert!(!last.contains(&format!("### Stack {other}")), "{last}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_changed_by_a_commit_no_pull_request_of_the_group_holds_fails_the_group() {
    let w = World::new("mq6");
    w.pull(7, HEAD, &["infra/web.yaml"]);
    w.pull(8, HEAD_2, &["README.md"]);
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let entries = w.gh.enqueue(REPO, "main", BASE, &[7, 8]);
    // #7's entry leaves the queue (merged ahead) while #8's group, which
    // holds its commit, waits for its check.
    w.gh.dequeue(REPO, &entries[0]);
    w.proxy.clear();
    let r = check_group(&w, &entries[1]);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let (conclusion, title, text) = plan_check(&w, &entries[1].head_sha);
    assert_eq!(conclusion, "failure");
    assert_eq!(
        title,
        "mq6: changed by a commit of the group that none of its pull requests changes"
    );
    assert!(text.contains("queue the pull request again"), "{text}");
    assert!(w.proxy.actions().is_empty(), "{:?}", w.proxy.actions());
}
