//! A pull request is planned merged into its base (GitHub's test merge),
//! never from its head alone: what its merge will apply. End to end through
//! `ec2-gitops action` with moto and the GitHub fake, whose open pull
//! requests have a test merge (`merge_commit_sha`, parents base then head)
//! that it computes lazily (`mergeable: null` first) and recomputes when the
//! base moves.

use serde_json::json;

use crate::action::{HEAD, HEAD_2, REPO, World};
use crate::engine::stack_yaml;
use crate::support::github::test_merge_sha;
use crate::support::{PullSpec, plan_meta, webhooks};
use ec2_gitops::marker::PlanStatus;

/// The default branch before any pull request of these tests.
const MAIN_0: &str = "a000000000000000000000000000000000000000";
/// The merge commit of PR A, then of PR B.
const MERGE_A: &str = "a111111111111111111111111111111111111111";
const MERGE_B: &str = "a222222222222222222222222222222222222222";

fn with_tag(yaml: &str) -> String {
    yaml.replace(
        "tags: { role: web }",
        "tags: { role: web, release: spring-sale }",
    )
}

fn with_port(yaml: &str) -> String {
    yaml.replace(
        "      - { protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }\n",
        "      - { protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }\n      - { protocol: tcp, ports: 8443, cidr: 0.0.0.0/0 }\n",
    )
}

fn push(w: &World, before: &str, after: &str) -> serde_json::Value {
    let mut p = webhooks::push(
        "refs/heads/main",
        before,
        after,
        &[("infra/web.yaml", "modified")],
    );
    p["repository"]["default_branch"] = json!("main");
    let _ = w;
    p
}

/// A world whose stack is already applied as the default branch holds it.
fn applied_world(stack: &str) -> World {
    let w = World::new(stack);
    // Applied by a direct push (allowed here).
    let r = w.run_with(
        "push",
        push(&w, "0".repeat(40).as_str(), MAIN_0),
        MAIN_0,
        &[("INPUT_APPLY-UNREVIEWED-PUSHES", "true")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.outputs.contains("applied=true"), "{}", r.text());
    w
}

fn open(w: &World, number: u64, head: &str, base: &str) {
    w.gh.add_pull(
        REPO,
        PullSpec {
            number,
            head_sha: head.into(),
            base_sha: base.into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..PullSpec::default()
        },
    );
}

async fn group_ports(w: &World, stack: &str) -> Vec<i32> {
    let groups = w
        .direct
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:ec2-gitops:name")
                .values("security_group/web")
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:ec2-gitops:stack")
                .values(stack)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut ports: Vec<i32> = groups.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter_map(|p| p.from_port())
        .collect();
    ports.sort();
    ports
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pr_replanned_after_another_was_applied_shows_only_its_own_change_and_its_merge_applies_it()
 {
    let w = applied_world("tm1");
    let base = stack_yaml("tm1");
    // A adds a tag, B opens port 8443: both branched from MAIN_0.
    open(&w, 40, HEAD, MAIN_0);
    open(&w, 41, HEAD_2, MAIN_0);
    w.write_stack(&with_tag(&base));
    let r = w.run("pull_request", w.pr_event("opened", 40, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    w.write_stack(&with_port(&base));
    let r = w.run("pull_request", w.pr_event("opened", 41, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let b = &w.bot_comments(41)[0];
    let meta = plan_meta(&b.body).unwrap();
    assert_eq!(meta.base.as_deref(), Some(MAIN_0), "{}", b.body);

    // A merges and is applied; GitHub recomputes B's test merge on it.
    w.write_stack(&with_tag(&base));
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 40,
            head_sha: HEAD.into(),
            base_sha: MAIN_0.into(),
            merged: true,
            merge_commit_sha: Some(MERGE_A.into()),
            state: "closed".into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..PullSpec::default()
        },
    );
    w.gh.add_commit_pulls(MERGE_A, &[40]);
    let mut b_spec = w.gh.pull(REPO, 41).unwrap();
    b_spec.base_sha = MERGE_A.into();
    b_spec.mergeable_unknown_polls = 1;
    w.gh.add_pull(REPO, b_spec);
    let b_merge = test_merge_sha(HEAD_2, MERGE_A);
    w.gh.set_file(
        REPO,
        &b_merge,
        "infra/web.yaml",
        with_port(&with_tag(&base)).as_bytes(),
    );
    let replan = [("INPUT_REPLAN-STALE", "true")];
    let r = w.run_with("push", push(&w, MAIN_0, MERGE_A), MERGE_A, &replan);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let b = &w.bot_comments(41)[0];
    let meta = plan_meta(&b.body).unwrap();
    assert_eq!(
        (meta.status, meta.base.as_deref()),
        (PlanStatus::Planned, Some(MERGE_A)),
        "{}",
        b.body
    );
    // Only the port: nothing of A's tag is reverted.
    assert!(b.body.contains("8443"), "{}", b.body);
    assert!(!b.body.contains("spring-sale"), "{}", b.body);
    assert!(
        b.body.contains("Plan: 0 to create, 1 to update"),
        "{}",
        b.body
    );

    // B merges onto A's merge: the re-planned fingerprint is the merge's.
    w.write_stack(&with_port(&with_tag(&base)));
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 41,
            head_sha: HEAD_2.into(),
            base_sha: MERGE_A.into(),
            merged: true,
            merge_commit_sha: Some(MERGE_B.into()),
            state: "closed".into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..PullSpec::default()
        },
    );
    w.gh.add_commit_pulls(MERGE_B, &[41]);
    let r = w.run("push", push(&w, MERGE_A, MERGE_B), MERGE_B);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.outputs.contains("applied=true"), "{}", r.text());
    // EC2 holds both changes.
    assert_eq!(group_ports(&w, "tm1").await, [22, 80, 8443]);
    let web1 =
        crate::engine::instances_by_name(&w.direct, "tm1").await["instance/web-1"][0].clone();
    let tags = w
        .direct
        .describe_tags()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("resource-id")
                .values(&web1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("release") && t.value() == Some("spring-sale")),
        "{tags:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pr_behind_main_plans_only_its_own_change_and_a_checkout_of_its_head_is_refused() {
    let w = applied_world("tm2");
    let base = stack_yaml("tm2");
    // Main has moved (A's tag applied) since PR C branched; C opens 8443.
    // Its head alone would revert the tag; its test merge does not.
    open(&w, 42, HEAD, MAIN_0);
    w.write_stack(&with_tag(&base));
    // A lands as a direct push (allowed here).
    let r = w.run_with(
        "push",
        push(&w, MAIN_0, MERGE_A),
        MERGE_A,
        &[("INPUT_APPLY-UNREVIEWED-PUSHES", "true")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());

    // The checkout is C's head (only the port): refused, nothing planned.
    let mut c = w.gh.pull(REPO, 42).unwrap();
    c.base_sha = MERGE_A.into();
    w.gh.add_pull(REPO, c);
    w.write_stack(&with_port(&base));
    w.proxy.clear();
    let r = w.run_at(
        "pull_request",
        w.pr_event("opened", 42, HEAD),
        HEAD,
        Some(HEAD),
        &[],
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert_eq!(w.proxy.total(), 0, "{:?}", w.proxy.actions());
    assert!(w.bot_comments(42).is_empty());
    let stderr = String::from_utf8_lossy(&r.out.stderr);
    assert!(
        stderr.contains("::error::Not planned: the workspace holds commit `111111111111`, but pull request #42 merged into its base is"),
        "{stderr}"
    );
    let status = w.gh.checks(HEAD);
    assert_eq!(
        status
            .last()
            .map(|s| (s.state.as_str(), s.description.as_deref().unwrap_or(""))),
        Some((
            "failure",
            "not planned: the workspace is not the pull request's test merge"
        ))
    );

    // The test merge (main with the tag, plus the port): only the port.
    w.write_stack(&with_port(&with_tag(&base)));
    let r = w.run("pull_request", w.pr_event("opened", 42, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let body = &w.bot_comments(42)[0].body;
    assert!(
        body.contains("8443") && !body.contains("spring-sale"),
        "{body}"
    );
    assert_eq!(plan_meta(body).unwrap().base.as_deref(), Some(MERGE_A));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_merge_github_is_still_computing_is_waited_for() {
    let w = World::new("tm3");
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 43,
            head_sha: HEAD.into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            mergeable_unknown_polls: 2,
            ..PullSpec::default()
        },
    );
    let r = w.run("pull_request", w.pr_event("opened", 43, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let gets: Vec<String> =
        w.gh.requests()
            .iter()
            .filter(|q| q.method == "GET" && q.path.contains("/pulls/43"))
            .map(|q| q.path.clone())
            .collect();
    assert_eq!(gets, vec![format!("/repos/{REPO}/pulls/43"); 3]);
    assert_eq!(w.bot_comments(43).len(), 1);
    assert_eq!(w.gh.checks(HEAD)[0].state, "success");

    // Never computed within the polls: not planned, and the status says so.
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 44,
            head_sha: HEAD_2.into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            mergeable_unknown_polls: 100,
            ..PullSpec::default()
        },
    );
    w.proxy.clear();
    let r = w.run("pull_request", w.pr_event("opened", 44, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert_eq!(w.proxy.total(), 0);
    assert!(w.bot_comments(44).is_empty());
    assert!(
        r.summary
            .contains("GitHub has not computed this pull request's test merge"),
        "{}",
        r.text()
    );
    assert_eq!(w.gh.checks(HEAD_2)[0].state, "failure");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conflicting_pr_gets_no_plan_but_a_resolve_conflicts_comment_and_a_failing_status() {
    let w = World::new("tm4");
    w.pull(45, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 45, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    // The base moved and now conflicts; `/plan` is asked.
    let mut p = w.gh.pull(REPO, 45).unwrap();
    p.mergeable = false;
    w.gh.add_pull(REPO, p);
    w.proxy.clear();
    let r = w.run(
        "issue_comment",
        w.comment_event(45, "/plan", "writer"),
        HEAD,
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert_eq!(w.proxy.total(), 0, "{:?}", w.proxy.actions());
    let comments = w.bot_comments(45);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let meta = plan_meta(&comments[0].body).unwrap();
    assert_eq!(meta.status, PlanStatus::Conflict);
    assert!(
        meta.stacks.is_empty(),
        "a conflicting PR has no reviewed plan"
    );
    assert!(
        comments[0]
            .body
            .contains("Not planned: this pull request conflicts with `main`."),
        "{}",
        comments[0].body
    );
    let status = w.gh.checks(HEAD);
    assert_eq!(
        status
            .last()
            .map(|s| (s.state.as_str(), s.description.as_deref().unwrap_or(""))),
        Some((
            "failure",
            "not planned: conflicts with main; resolve them first"
        ))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_pr_whose_file_cannot_be_read_keeps_its_stale_mark_and_fingerprints() {
    let w = World::new("tm5");
    w.pull(46, HEAD, &["infra/web.yaml"]);
    w.pull(47, HEAD_2, &["infra/web.yaml"]);
    for (n, head) in [(46, HEAD), (47, HEAD_2)] {
        let r = w.run("pull_request", w.pr_event("opened", n, head), head);
        assert_eq!(r.code(), Some(0), "{}", r.text());
    }
    let reviewed = plan_meta(&w.bot_comments(47)[0].body).unwrap().stacks;
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 46,
            head_sha: HEAD.into(),
            merged: true,
            merge_commit_sha: Some(MERGE_A.into()),
            state: "closed".into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..PullSpec::default()
        },
    );
    w.gh.add_commit_pulls(MERGE_A, &[46]);
    let mut p = w.gh.pull(REPO, 47).unwrap();
    p.base_sha = MERGE_A.into();
    w.gh.add_pull(REPO, p);
    // No content at 47's new test merge: the contents API answers 404.
    let r = w.run_with(
        "push",
        push(&w, "0000000000000000000000000000000000000001", MERGE_A),
        MERGE_A,
        &[("INPUT_REPLAN-STALE", "true")],
    );
    let _ = w.gh.take_unexpected();
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(
        r.summary.contains(
            // Markdown: the error's quotes are HTML-escaped.
            "- #47: could not be re-planned (&quot;infra/web.yaml&quot; could not be read at its test merge"
        ),
        "{}",
        r.text()
    );
    let c = &w.bot_comments(47)[0];
    let meta = plan_meta(&c.body).unwrap();
    assert_eq!(meta.status, PlanStatus::Stale, "{}", c.body);
    assert_eq!(meta.stacks, reviewed);
    assert!(c.body.contains("**Stale:**"), "{}", c.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_onto_a_base_that_moved_since_review_is_refused_and_says_so() {
    let w = applied_world("tm6");
    let base = stack_yaml("tm6");
    let frontend = |y: &str| y.replace("role: web", "role: frontend");
    // B (a tag) is reviewed on MAIN_0; A (another value of a tag on the same
    // servers) merges first, and B's stale plan is not refreshed: B's merge
    // now changes the tags from other values than the ones reviewed.
    open(&w, 48, HEAD_2, MAIN_0);
    w.write_stack(&with_tag(&base));
    let r = w.run("pull_request", w.pr_event("opened", 48, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    w.write_stack(&frontend(&base));
    // A lands as a direct push (allowed here).
    let r = w.run_with(
        "push",
        push(&w, MAIN_0, MERGE_A),
        MERGE_A,
        &[("INPUT_APPLY-UNREVIEWED-PUSHES", "true")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());

    w.write_stack(&frontend(&with_tag(&base)));
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 48,
            head_sha: HEAD_2.into(),
            base_sha: MERGE_A.into(),
            merged: true,
            merge_commit_sha: Some(MERGE_B.into()),
            state: "closed".into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..PullSpec::default()
        },
    );
    w.gh.add_commit_pulls(MERGE_B, &[48]);
    w.proxy.clear();
    let r = w.run("push", push(&w, MERGE_A, MERGE_B), MERGE_B);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
    assert!(
        r.summary.contains(
            "the plan changed since review: the base branch moved since review (the plan was made on `a000000`, the merge is onto `a111111`)"
        ),
        "{}",
        r.text()
    );
}

/// Merges pull request `number` (branched at `base`) as `merge`.
fn merged(w: &World, number: u64, head: &str, base: &str, merge: &str) {
    w.gh.add_pull(
        REPO,
        PullSpec {
            number,
            head_sha: head.into(),
            base_sha: base.into(),
            merged: true,
            merge_commit_sha: Some(merge.into()),
            state: "closed".into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..PullSpec::default()
        },
    );
    w.gh.add_commit_pulls(merge, &[number]);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_merge_runs_of_one_stack_started_together_are_both_applied_or_one_refused_on_its_pr() {
    let w = applied_world("tm9");
    let base = stack_yaml("tm9");
    // A adds a tag, B opens port 8443: both reviewed on MAIN_0.
    open(&w, 50, HEAD, MAIN_0);
    open(&w, 51, HEAD_2, MAIN_0);
    w.write_stack(&with_tag(&base));
    let r = w.run("pull_request", w.pr_event("opened", 50, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    w.write_stack(&with_port(&base));
    let r = w.run("pull_request", w.pr_event("opened", 51, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());

    // Both merge, A then B; their two runs start at once, each on its own
    // checkout (A's commit holds the tag, B's both changes).
    merged(&w, 50, HEAD, MAIN_0, MERGE_A);
    merged(&w, 51, HEAD_2, MERGE_A, MERGE_B);
    let a_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(a_dir.path().join("infra")).unwrap();
    std::fs::create_dir_all(a_dir.path().join(".git")).unwrap();
    std::fs::write(a_dir.path().join("infra/web.yaml"), with_tag(&base)).unwrap();
    std::fs::write(a_dir.path().join(".git/HEAD"), format!("{MERGE_A}\n")).unwrap();
    w.write_stack(&with_port(&with_tag(&base)));
    let a_summary = a_dir.path().join("summary.md");
    let a_outputs = a_dir.path().join("outputs.txt");
    let a_workspace = a_dir.path().to_str().unwrap().to_string();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            let env = [
                ("GITHUB_WORKSPACE", a_workspace.as_str()),
                ("GITHUB_STEP_SUMMARY", a_summary.to_str().unwrap()),
                ("GITHUB_OUTPUT", a_outputs.to_str().unwrap()),
            ];
            w.run_at(
                "push",
                push(&w, MAIN_0, MERGE_A),
                MERGE_A,
                Some(MERGE_B),
                &env,
            )
        });
        let b = s.spawn(|| w.run("push", push(&w, MERGE_A, MERGE_B), MERGE_B));
        (a.join().unwrap(), b.join().unwrap())
    });
    // A's reviewed plan is what its commit applies: applied, whichever went
    // first (the stack's lease runs one at a time).
    assert_eq!(a.code(), Some(0), "{}", a.text());
    let a_said = w.bot_comments(50).last().unwrap().body.clone();
    assert!(a_said.contains("ec2-gitops apply succeeded"), "{a_said}");
    // B is applied, or refused on its pull request with the reason: never
    // dropped.
    let b_said = w.bot_comments(51).last().unwrap().body.clone();
    match b.code() {
        Some(0) => assert!(b_said.contains("ec2-gitops apply succeeded"), "{b_said}"),
        Some(1) => assert!(
            b_said.contains("not applied") && b_said.contains("the base branch moved since review"),
            "{b_said}"
        ),
        other => panic!("B's run ended with {other:?}: {}", b.text()),
    }
}
