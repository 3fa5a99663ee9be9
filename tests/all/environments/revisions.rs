//! Going back: planning and applying an earlier revision read with git,
//! and the revert of a merged pull request.

use crate::action::{HEAD, HEAD_2, World};
use crate::engine::{IMAGE, stack_yaml};

use super::review_and_merge;

/// Runs git in `dir`, which must succeed.
fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git is installed (Debian package git)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `plan --at HEAD~1` and `apply --at HEAD~1` in a Git repository: the
/// stack files of the commit before are read with git (the work tree is not
/// touched), planned as the way back, and applied: the server the later
/// commit added goes, the first one stays.
#[tokio::test(flavor = "multi_thread")]
async fn plan_and_apply_at_an_earlier_revision_go_back_without_a_checkout() {
    use crate::crash::{command, text};
    let moto = crate::support::Moto::start();
    let direct = moto.ec2_client("us-east-1");
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path();
    git(root, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(root.join("infra")).unwrap();
    let one = stack_yaml("back");
    let two = one.replace("count: 2", "count: 3");
    std::fs::write(root.join("infra/web.yaml"), &one).unwrap();
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "two servers"]);
    std::fs::write(root.join("infra/web.yaml"), &two).unwrap();
    git(root, &["commit", "-q", "-am", "three servers"]);
    let run = |args: &[&str]| {
        command(&moto.endpoint(), args)
            .current_dir(root)
            .output()
            .expect("run ec2-gitops")
    };
    let applied = run(&["apply", "--auto-approve"]);
    assert!(applied.status.success(), "{}", text(&applied));
    let before = crate::engine::instances_by_name(&direct, "back").await;
    assert_eq!(before.len(), 4, "web-1…3 and db: {before:?}");

    let plan = run(&["plan", "--at", "HEAD~1", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    let out = String::from_utf8_lossy(&plan.stdout);
    assert!(out.contains("instance.web-3"), "{out}");
    assert!(
        out.contains("Plan: 0 to create, 0 to update, 0 to replace, 1 to destroy"),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&plan.stderr).contains("as they were at HEAD~1"));

    let back = run(&["apply", "--at", "HEAD~1", "--auto-approve"]);
    assert!(back.status.success(), "{}", text(&back));
    let after = crate::engine::instances_by_name(&direct, "back").await;
    assert_eq!(after.len(), 3, "{after:?}");
    for kept in ["instance/web-1", "instance/web-2", "instance/db"] {
        assert_eq!(after[kept], before[kept], "{kept} is kept");
    }
    // Nothing was checked out: the work tree still holds the later file.
    assert_eq!(
        std::fs::read_to_string(root.join("infra/web.yaml")).unwrap(),
        two
    );
    let again = run(&["plan", "--at", "HEAD~1", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    let bad = run(&["plan", "--at", "no-such-rev"]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("no such commit"),
        "{}",
        text(&bad)
    );
}

/// Reverting a merged pull request is the way back: PR A adds a server with
/// a data volume and a rule; its revert PR plans exactly the inverse, and
/// its merge leaves EC2 as before A — the untouched resources keep their
/// ids and the removed data volume is snapshotted first.
#[tokio::test(flavor = "multi_thread")]
async fn the_revert_of_a_merged_pr_plans_the_inverse_and_its_merge_goes_back() {
    let w = World::new("rb");
    let before_a = stack_yaml("rb");
    review_and_merge(&w, 1, HEAD, "4444444444444444444444444444444444444444");
    let ids = crate::engine::instances_by_name(&w.direct, "rb").await;
    assert_eq!(ids.len(), 3, "{ids:?}");

    // PR A: a cache server with a data volume, and a rule for it.
    let a = before_a
        .replace(
            "      - { protocol: tcp, ports: 22, cidr: 203.0.113.0/24 }",
            "      - { protocol: tcp, ports: 22, cidr: 203.0.113.0/24 }\n      - { protocol: tcp, ports: 6379, cidr: 10.0.0.0/8 }",
        )
        .replace(
            "instances:\n",
            &format!(
                "instances:\n  cache:\n    image: {IMAGE}\n    type: t3.micro\n    security_groups: [admin]\n    volumes:\n      - {{ name: data, device: /dev/sdf, size_gb: 5 }}\n"
            ),
        );
    w.write_stack(&a);
    let plan_a = review_and_merge(&w, 2, HEAD_2, "5555555555555555555555555555555555555555");
    assert!(
        plan_a.contains("Plan: 2 to create, 1 to update"),
        "{plan_a}"
    );
    let with_a = crate::engine::instances_by_name(&w.direct, "rb").await;
    assert_eq!(with_a.len(), 4, "{with_a:?}");

    // The revert PR: the file as before A.
    w.write_stack(&before_a);
    let revert = review_and_merge(
        &w,
        3,
        "6666666666666666666666666666666666666666",
        "7777777777777777777777777777777777777777",
    );
    assert!(
        revert.contains("Plan: 0 to create, 1 to update, 0 to replace, 2 to destroy"),
        "the inverse of A: {revert}"
    );
    assert!(revert.contains("snapshot, then delete"), "{revert}");
    let after = crate::engine::instances_by_name(&w.direct, "rb").await;
    assert_eq!(after, ids, "the servers A did not touch keep their ids");
    let snapshots = w
        .direct
        .describe_snapshots()
        .owner_ids("self")
        .filters(crate::engine::tag_filter("rb"))
        .send()
        .await
        .unwrap();
    assert_eq!(snapshots.snapshots().len(), 1, "the cache's data is kept");
    // The merge's result comment says how to roll back.
    let result = w.bot_comments(3).last().unwrap().body.clone();
    assert!(result.contains("To roll back"), "{result}");
    // Nothing left to do.
    let plan = crate::crash::run(
        &w.proxy.endpoint(),
        &[
            "plan",
            &w.dir.path().join("infra/web.yaml").display().to_string(),
            "--detailed-exitcode",
        ],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", crate::crash::text(&plan));
}
