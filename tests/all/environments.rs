//! Environments on one base, end to end: a pull request that changes only
//! the base plans every stack that extends it.

use crate::action::{HEAD, World};
use crate::engine::{IMAGE, stack_yaml};

/// `infra/base/web.yaml` and the staging and production stacks on it, in
/// the checkout of `w` (beside its own `infra/web.yaml`).
fn environments(w: &World, base_type: &str) {
    let root = w.dir.path();
    for d in ["infra/base", "infra/staging", "infra/production"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let base = stack_yaml("unused")
        .replace("stack: unused\n", "")
        .replace("type: t3.micro", &format!("type: {base_type}"));
    std::fs::write(root.join("infra/base/web.yaml"), base).unwrap();
    std::fs::write(
        root.join("infra/staging/web.yaml"),
        "extends: ../base/web.yaml\nstack: web-staging\n",
    )
    .unwrap();
    std::fs::write(
        root.join("infra/production/web.yaml"),
        format!(
            "extends: ../base/web.yaml\nstack: web-production\ninstances:\n  web:\n    count: 3\n    image: {IMAGE}\n"
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pr_changing_only_the_base_plans_both_environments() {
    let w = World::new("main");
    environments(&w, "t3.small");
    w.pull(41, HEAD, &["infra/base/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 41, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let comments = w.bot_comments(41);
    assert_eq!(comments.len(), 1, "{}", r.text());
    let body = &comments[0].body;
    assert!(body.contains("web-staging"), "{body}");
    assert!(body.contains("web-production"), "{body}");
    assert!(
        !body.contains("| main |") && !body.contains("stack `main`"),
        "the stack that does not extend the base is not planned: {body}"
    );
    // Only reads: a plan changes nothing.
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
}

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
