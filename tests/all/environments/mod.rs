//! Environments on one base, end to end: a pull request that changes only
//! the base plans every stack that extends it.
//!
//! This file holds the review-and-merge helper the scenarios share; they
//! are in one file per topic (staging and production on one base, going
//! back to an earlier revision, preview environments).

mod previews;
mod revisions;
mod staging_and_production;

use crate::action::World;

/// Opens PR `number` at `head` (its plan comment), then merges it as
/// `merge` and runs the push: the reviewed plan is applied.
pub(super) fn review_and_merge(w: &World, number: u64, head: &str, merge: &str) -> String {
    let (plan, r) = review_and_merge_files(w, number, head, merge, &["infra/web.yaml"], &[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    plan
}

/// Like [`review_and_merge`] for a PR changing `files`, the push run with
/// `env` (action inputs): the plan comment and the push's run.
pub(super) fn review_and_merge_files(
    w: &World,
    number: u64,
    head: &str,
    merge: &str,
    files: &[&str],
    env: &[(&str, &str)],
) -> (String, crate::action::Run) {
    w.pull(number, head, files);
    let r = w.run("pull_request", w.pr_event("opened", number, head), head);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let plan = w.bot_comments(number)[0].body.clone();
    w.gh.add_pull(
        crate::action::REPO,
        crate::support::PullSpec {
            number,
            head_sha: head.into(),
            merged: true,
            merge_commit_sha: Some(merge.into()),
            state: "closed".into(),
            files: files
                .iter()
                .map(|f| (f.to_string(), "modified".to_string()))
                .collect(),
            ..crate::support::PullSpec::default()
        },
    );
    w.gh.add_commit_pulls(merge, &[number]);
    let changed: Vec<(&str, &str)> = files.iter().map(|f| (*f, "modified")).collect();
    let r = w.run_with("push", w.push_event(merge, &changed), merge, env);
    (plan, r)
}
