//! GitHub failing under the action: 5xx and rate limits retried, nothing
//! posted twice, and the result still recorded when GitHub is down.

use crate::engine::instances_by_name;

use super::{HEAD, MERGE, World};

#[tokio::test(flavor = "multi_thread")]
async fn github_502_is_retried_and_github_down_during_the_result_still_records_it() {
    let w = World::new("gh6");
    w.pull(13, HEAD, &["infra/web.yaml"]);
    w.gh.fail_next("POST", "/repos/octo/infra/issues/13/comments", 502, None, 1);
    let r = w.run("pull_request", w.pr_event("opened", 13, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.bot_comments(13).len(), 1, "posted once, after the retry");
    let posts =
        w.gh.requests()
            .into_iter()
            .filter(|q| q.method == "POST" && q.path.ends_with("/issues/13/comments"))
            .count();
    assert_eq!(posts, 2);

    // Merge while GitHub fails the result posts: the apply completes and the
    // summary, outputs and exit code carry the result.
    w.merge(13, HEAD);
    w.gh.fail_next(
        "POST",
        "/repos/octo/infra/issues/13/comments",
        503,
        None,
        50,
    );
    w.gh.fail_next("POST", "/repos/octo/infra/statuses", 503, None, 50);
    w.gh.fail_next("POST", "/repos/octo/infra/deployments", 503, None, 50);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(
        r.code(),
        Some(0),
        "the apply itself succeeded: {}",
        r.text()
    );
    assert!(
        r.summary.contains("ec2-gitops apply succeeded"),
        "{}",
        r.text()
    );
    assert!(r.summary.contains("could not be posted"), "{}", r.text());
    assert!(r.outputs.contains("applied=true"), "{}", r.text());
    assert_eq!(instances_by_name(&w.direct, "gh6").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn github_429_and_502_with_retry_after_are_retried_and_nothing_is_posted_twice() {
    let w = World::new("gh10");
    w.pull(14, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 14, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    // `/plan` with every call it makes failing first: secondary rate limits
    // (429, and 403 with retry-after) and 502s.
    let base = "/repos/octo/infra";
    w.gh.fail_next(
        "POST",
        &format!("{base}/issues/comments/*/reactions"),
        429,
        Some(1),
        2,
    );
    w.gh.fail_next(
        "GET",
        &format!("{base}/collaborators/writer/permission"),
        502,
        None,
        1,
    );
    w.gh.fail_next("GET", &format!("{base}/pulls/14"), 429, Some(1), 1);
    w.gh.fail_next("GET", &format!("{base}/issues/14/comments"), 502, None, 1);
    w.gh.fail_next(
        "PATCH",
        &format!("{base}/issues/comments/*"),
        403,
        Some(1),
        1,
    );
    // The plan's check run, updated in place.
    w.gh.fail_next("PATCH", &format!("{base}/check-runs"), 502, None, 2);
    w.gh.clear_requests();
    let r = w.run(
        "issue_comment",
        w.comment_event(14, "/plan", "writer"),
        HEAD,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let failed = w.gh.requests().iter().filter(|q| q.status >= 400).count();
    assert_eq!(failed, 8, "every injected failure was met and retried");
    let plans = w.bot_comments(14);
    assert_eq!(plans.len(), 1, "one plan comment: {plans:?}");
    assert_eq!(plans[0].updates, 1, "edited once by /plan");
    let command =
        w.gh.comments(14)
            .into_iter()
            .find(|c| c.body == "/plan")
            .unwrap();
    assert_eq!(command.reactions, ["eyes", "rocket"], "each reaction once");
    let runs = w.gh.check_runs(HEAD);
    assert_eq!(
        (runs.len(), runs[0].updates),
        (1, 1),
        "one check run, updated in place by /plan"
    );

    // The merge, with its result posts failing first.
    w.merge(14, HEAD);
    w.gh.fail_next(
        "POST",
        &format!("{base}/issues/14/comments"),
        429,
        Some(1),
        1,
    );
    w.gh.fail_next("POST", &format!("{base}/deployments"), 502, None, 2);
    w.gh.fail_next(
        "POST",
        &format!("{base}/deployments/*/statuses"),
        429,
        Some(1),
        1,
    );
    w.gh.fail_next("POST", &format!("{base}/check-runs"), 502, None, 1);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(!r.summary.contains("could not be posted"), "{}", r.text());
    let comments = w.bot_comments(14);
    assert_eq!(
        comments.len(),
        2,
        "the plan and ONE apply result: {comments:?}"
    );
    assert_eq!(w.gh.deployments().len(), 1, "one deployment");
    assert_eq!(
        w.gh.deployments()[0].statuses.len(),
        1,
        "one deployment status"
    );
    assert_eq!(w.gh.checks(MERGE).len(), 1, "one apply status");
}
