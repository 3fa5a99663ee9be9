//! Plans of other open pull requests after an apply: marked stale, or
//! re-planned on their new test merge.

use crate::engine::{instances_by_name, stack_yaml};
use crate::support::github::test_merge_sha;
use crate::support::{PullSpec, plan_meta};
use ec2_gitops::marker::PlanStatus;

use super::{HEAD, HEAD_2, MERGE, REPO, World};

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_marks_other_open_plans_of_the_same_stack_stale() {
    let w = World::new("gh8");
    w.pull(20, HEAD, &["infra/web.yaml"]);
    w.pull(21, HEAD_2, &["infra/web.yaml"]);
    w.pull(
        22,
        "4444444444444444444444444444444444444444",
        &["README.md"],
    );
    for (n, head) in [(20, HEAD), (21, HEAD_2)] {
        let r = w.run("pull_request", w.pr_event("opened", n, head), head);
        assert_eq!(r.code(), Some(0), "{}", r.text());
    }
    // PR 20 merges and applies.
    w.merge(20, HEAD);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let pr21 = &w.bot_comments(21)[0].body;
    assert!(
        plan_meta(pr21).is_some_and(|m| m.status == PlanStatus::Stale)
            && pr21.contains("**Stale:** `gh8`"),
        "{pr21}"
    );
    let pr20 = &w.bot_comments(20)[0].body;
    assert!(
        !pr20.contains("Stale"),
        "the merged PR is not stale: {pr20}"
    );
    assert!(w.bot_comments(22).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn replan_stale_replans_other_prs_on_their_new_test_merge_and_that_plan_applies_on_merge() {
    let w = World::new("gh9");
    // PR 31 adds an instance whose user data is a new file; its versions of
    // both files exist only in its test merge (GitHub's contents API), which
    // GitHub recomputes on the new base after PR 30 is merged.
    let pr31_stack = stack_yaml("gh9").replace(
        "elastic_ips:",
        "  worker:\n    user_data_file: init/worker.sh\nelastic_ips:",
    );
    let merged_31 = test_merge_sha(HEAD_2, MERGE);
    w.gh.set_file(REPO, &merged_31, "infra/web.yaml", pr31_stack.as_bytes());
    w.gh.set_file(
        REPO,
        &merged_31,
        "infra/init/worker.sh",
        b"#!/bin/sh\necho worker\n",
    );
    w.pull(30, HEAD, &["infra/web.yaml"]);
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 31,
            head_sha: HEAD_2.into(),
            files: vec![
                ("infra/web.yaml".into(), "modified".into()),
                ("infra/init/worker.sh".into(), "added".into()),
            ],
            ..PullSpec::default()
        },
    );
    for (n, head) in [(30, HEAD), (31, HEAD_2)] {
        let r = w.run("pull_request", w.pr_event("opened", n, head), head);
        assert_eq!(r.code(), Some(0), "{}", r.text());
    }
    let before = w.bot_comments(31)[0].updates;

    // PR 30 merges: applied, and PR 31 is re-planned on its test merge once
    // GitHub has recomputed it on the merge (`mergeable: null` twice first).
    w.merge(30, HEAD);
    let mut p31 = w.gh.pull(REPO, 31).unwrap();
    p31.base_sha = MERGE.into();
    p31.mergeable_unknown_polls = 2;
    w.gh.add_pull(REPO, p31);
    w.gh.clear_requests();
    let replan = [("INPUT_REPLAN-STALE", "true")];
    let r = w.run_with(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
        &replan,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(
        r.summary
            .contains("- #31: re-planned (head `2222222` merged into `3333333`)"),
        "{}",
        r.text()
    );
    let polls =
        w.gh.requests()
            .iter()
            .filter(|q| q.path == format!("/repos/{REPO}/pulls/31"))
            .count();
    assert_eq!(polls, 3, "mergeable null twice, then known");
    let fetched: Vec<String> =
        w.gh.requests()
            .into_iter()
            .filter(|q| q.path.contains("/contents/"))
            .map(|q| format!("{}?{}", q.path, q.query))
            .collect();
    assert_eq!(
        fetched,
        [
            format!("/repos/{REPO}/contents/infra/web.yaml?ref={merged_31}"),
            format!("/repos/{REPO}/contents/infra/init/worker.sh?ref={merged_31}"),
        ]
    );
    let c31 = &w.bot_comments(31)[0];
    assert_eq!(c31.updates, before + 2, "marked stale, then re-planned");
    assert!(
        plan_meta(&c31.body).is_some_and(|m| m.status == PlanStatus::Planned
            && m.head == HEAD_2
            && m.base.as_deref() == Some(MERGE)),
        "{}",
        c31.body
    );
    assert!(
        c31.body
            .contains("Re-planned automatically after `3333333`"),
        "{}",
        c31.body
    );
    // Against EC2 after PR 30's apply, only the new instance is left to do.
    assert!(c31.body.contains("1 to create"), "{}", c31.body);
    assert!(c31.body.contains("worker"), "{}", c31.body);
    let status = w.gh.checks(HEAD_2);
    assert_eq!(status.last().map(|s| s.state.as_str()), Some("success"));

    // PR 31 merges (git writes its files into the checkout): the re-planned
    // fingerprint is the one the merge computes, so it applies.
    w.write_stack(&pr31_stack);
    std::fs::create_dir_all(w.dir.path().join("infra/init")).unwrap();
    std::fs::write(
        w.dir.path().join("infra/init/worker.sh"),
        "#!/bin/sh\necho worker\n",
    )
    .unwrap();
    const MERGE_2: &str = "5555555555555555555555555555555555555555";
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 31,
            head_sha: HEAD_2.into(),
            merged: true,
            merge_commit_sha: Some(MERGE_2.into()),
            state: "closed".into(),
            files: vec![
                ("infra/web.yaml".into(), "modified".into()),
                ("infra/init/worker.sh".into(), "added".into()),
            ],
            ..PullSpec::default()
        },
    );
    let r = w.run_with(
        "push",
        w.push_event(MERGE_2, &[("infra/web.yaml", "modified")]),
        MERGE_2,
        &replan,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.outputs.contains("applied=true"), "{}", r.text());
    let names: Vec<String> = instances_by_name(&w.direct, "gh9")
        .await
        .into_keys()
        .collect();
    assert!(names.contains(&"instance/worker".to_string()), "{names:?}");
}
