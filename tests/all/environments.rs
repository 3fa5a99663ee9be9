//! Environments on one base, end to end: a pull request that changes only
//! the base plans every stack that extends it.

use crate::action::{HEAD, HEAD_2, World};
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

/// Opens PR `number` at `head` (its plan comment), then merges it as
/// `merge` and runs the push: the reviewed plan is applied.
fn review_and_merge(w: &World, number: u64, head: &str, merge: &str) -> String {
    let (plan, r) = review_and_merge_files(w, number, head, merge, &["infra/web.yaml"], &[]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    plan
}

/// Like [`review_and_merge`] for a PR changing `files`, the push run with
/// `env` (action inputs): the plan comment and the push's run.
fn review_and_merge_files(
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

/// The first `RunInstances` of `stack` and the last one, by arrival.
fn launches(w: &World, stack: &str) -> Vec<u64> {
    w.proxy
        .requests_for("RunInstances")
        .iter()
        .filter(|r| r.params.iter().any(|(_, v)| v == stack))
        .map(|r| r.seq)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_applies_staging_before_production_and_a_failed_staging_stops_production() {
    let w = World::new("main");
    environments(&w, "t3.micro");
    let prod = w.dir.path().join("infra/production/web.yaml");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(
        &prod,
        text.replace(
            "stack: web-production\n",
            "stack: web-production\nenvironment: production\nafter: [web-staging]\n",
        ),
    )
    .unwrap();
    let files = ["infra/staging/web.yaml", "infra/production/web.yaml"];
    let (_, r) = review_and_merge_files(
        &w,
        51,
        HEAD,
        "8888888888888888888888888888888888888888",
        &files,
        &[],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let staging = launches(&w, "web-staging");
    let production = launches(&w, "web-production");
    assert!(!staging.is_empty() && !production.is_empty());
    assert!(
        staging.iter().max() < production.iter().min(),
        "production waits for staging: {staging:?} then {production:?}"
    );
    let deployments: Vec<String> =
        w.gh.deployments()
            .iter()
            .map(|d| d.environment.clone())
            .collect();
    assert!(
        deployments.contains(&"production".to_string()),
        "{deployments:?}"
    );
    assert!(
        deployments.contains(&"web-staging".to_string()),
        "{deployments:?}"
    );

    // The base changes; staging's launch fails: production is not attempted.
    let base = w.dir.path().join("infra/base/web.yaml");
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(&base, text.replace("count: 2", "count: 3")).unwrap();
    w.proxy.set_hook(|req| {
        (req.action == "RunInstances" && req.params.iter().any(|(_, v)| v == "web-staging")).then(
            || {
                crate::support::ProxyResponse::ec2_error(
                    500,
                    "InsufficientInstanceCapacity",
                    "We currently do not have sufficient t3.micro capacity.",
                )
            },
        )
    });
    let before = launches(&w, "web-production").len();
    let (plan, r) = review_and_merge_files(
        &w,
        52,
        HEAD_2,
        "9999999999999999999999999999999999999999",
        &["infra/base/web.yaml"],
        &[],
    );
    assert!(
        plan.contains("web-staging") && plan.contains("web-production"),
        "{plan}"
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert_eq!(
        launches(&w, "web-production").len(),
        before,
        "production untouched"
    );
    let result = w.bot_comments(52).last().unwrap().body.clone();
    assert!(
        result.contains(
            "not attempted: it is applied after stack `web-staging`, which was not applied"
        ),
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environments_input_applies_only_the_stacks_of_those_environments() {
    let w = World::new("main");
    environments(&w, "t3.micro");
    let prod = w.dir.path().join("infra/production/web.yaml");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(
        &prod,
        text.replace(
            "stack: web-production\n",
            "stack: web-production\nenvironment: production\n",
        ),
    )
    .unwrap();
    let (_, r) = review_and_merge_files(
        &w,
        61,
        HEAD,
        "abababababababababababababababababababab",
        &["infra/base/web.yaml"],
        &[("INPUT_ENVIRONMENTS", "production")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(!launches(&w, "web-production").is_empty(), "{}", r.text());
    assert!(
        launches(&w, "web-staging").is_empty(),
        "staging is another job's: {}",
        r.text()
    );
    let out = String::from_utf8_lossy(&r.out.stdout);
    assert!(
        out.contains("stack web-staging (environment web-staging) is left to the job that applies that environment"),
        "{out}"
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

/// The stack of `World::new("pv")` (it has an elastic IP) with previews
/// allowed.
fn previewed(count: u32) -> String {
    stack_yaml("pv")
        .replace("count: 2", &format!("count: {count}"))
        .replace(
            "region: us-east-1\n",
            "region: us-east-1\npreview: { max_instances: 4, ttl: 72h }\n",
        )
}

/// A writer's comment `body` on pull request `n` at `sha`, and its run.
fn say(w: &World, n: u64, body: &str, sha: &str) -> crate::action::Run {
    w.run("issue_comment", w.comment_event(n, body, "writer"), sha)
}

/// Pull request `n` (head `head`) is closed without merge, changing the
/// stack file.
fn closed(w: &World, n: u64, head: &str) {
    w.gh.add_pull(
        crate::action::REPO,
        crate::support::PullSpec {
            number: n,
            head_sha: head.into(),
            state: "closed".into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..crate::support::PullSpec::default()
        },
    );
}

/// The bot's latest reply on pull request `n` (not its plan comment).
fn latest_reply(w: &World, n: u64) -> String {
    w.bot_comments(n)
        .into_iter()
        .rev()
        .find(|c| c.body.contains("\"kind\":\"reply\""))
        .map(|c| c.body)
        .expect("a reply")
}

/// The plan comment of pull request `n`.
fn plan_comment(w: &World, n: u64) -> String {
    w.bot_comments(n)
        .into_iter()
        .find(|c| crate::support::plan_meta(&c.body).is_some())
        .map(|c| c.body)
        .unwrap_or_else(|| {
            let said: Vec<String> = w.gh.comments(n).into_iter().map(|c| c.body).collect();
            panic!("no plan comment on #{n}; its comments: {said:#?}")
        })
}

/// Resources tagged for `stack` that are not gone: instances, groups,
/// volumes and key pairs.
async fn left(c: &aws_sdk_ec2::Client, stack: &str) -> usize {
    let f = crate::engine::tag_filter(stack);
    let instances = crate::engine::instances_by_name(c, stack).await.len();
    let groups = c
        .describe_security_groups()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .security_groups()
        .len();
    let volumes = c
        .describe_volumes()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .volumes()
        .iter()
        .filter(|v| v.state().map(|s| s.as_str()) != Some("deleted"))
        .count();
    let keys = c
        .describe_key_pairs()
        .filters(f)
        .send()
        .await
        .unwrap()
        .key_pairs()
        .len();
    instances + groups + volumes + keys
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_creates_updates_and_closing_the_pr_destroys_it() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    w.pull(7, HEAD, &["infra/web.yaml"]);
    let r = say(&w, 7, "/preview", HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let reply = w.bot_comments(7).last().unwrap().body.clone();
    assert!(
        reply.contains("### Preview `web-pr7`") || reply.contains("### Preview `pv-pr7`"),
        "{reply}"
    );
    assert!(reply.contains("| `web-1` | `i-"), "{reply}");
    let plan = plan_comment(&w, 7);
    assert!(plan.contains("## Previews"), "{plan}");
    assert!(plan.contains("### Preview `pv-pr7` (us-east-1)"), "{plan}");
    assert!(plan.contains("public DNS name"), "{plan}");
    let preview = crate::engine::instances_by_name(&w.direct, "pv-pr7").await;
    assert_eq!(preview.len(), 3, "web-1, web-2 and db: {preview:?}");
    assert!(
        crate::engine::instances_by_name(&w.direct, "pv")
            .await
            .is_empty(),
        "the stack itself is untouched"
    );
    let addresses = w.direct.describe_addresses().send().await.unwrap();
    assert!(
        addresses.addresses().is_empty(),
        "a preview gets no elastic IP"
    );
    // Everything of the preview carries its tag, from its creation: the
    // preview role may change nothing else.
    let tagged = preview_tagged(&w.direct, "pv-pr7").await;
    assert!(
        tagged.len() >= 8,
        "instances, volumes, groups, key pair: {tagged:?}"
    );
    assert!(
        tagged.iter().all(|(_, v)| v.as_deref() == Some("7")),
        "{tagged:?}"
    );
    // Its apply lease had a name no other stack's lease can have.
    let leases: Vec<String> = w
        .proxy
        .requests_for("CreateKeyPair")
        .iter()
        .filter_map(|r| r.param("KeyName").map(str::to_string))
        .collect();
    assert!(
        leases.contains(&"ec2-gitops-preview-lease-pv-pr7".to_string()),
        "{leases:?}"
    );
    assert!(
        !leases
            .iter()
            .any(|l| l.starts_with("ec2-gitops-lease-pv-pr")),
        "{leases:?}"
    );

    // A push changes nothing until `/preview` again, which updates it.
    w.write_stack(&previewed(3));
    w.pull(7, HEAD_2, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("synchronize", 7, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(
        crate::engine::instances_by_name(&w.direct, "pv-pr7")
            .await
            .len(),
        3
    );
    let r = say(&w, 7, "/preview", HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let now = crate::engine::instances_by_name(&w.direct, "pv-pr7").await;
    assert_eq!(now.len(), 4, "{now:?}");
    assert_eq!(
        now["instance/web-1"], preview["instance/web-1"],
        "updated in place"
    );

    // `/preview destroy` removes it; `/preview` makes it again.
    let r = say(&w, 7, "/preview destroy", HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(left(&w.direct, "pv-pr7").await, 0, "{}", r.text());
    let reply = latest_reply(&w, 7);
    assert!(reply.contains("### Preview `pv-pr7`: destroyed"), "{reply}");
    let plan = plan_comment(&w, 7);
    assert!(
        !plan.contains("## Previews"),
        "gone from the plan comment: {plan}"
    );
    let r = say(&w, 7, "/preview", HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(
        crate::engine::instances_by_name(&w.direct, "pv-pr7")
            .await
            .len(),
        4
    );

    // Closing the pull request destroys it: nothing with its tag is left.
    closed(&w, 7, HEAD_2);
    let r = w.run("pull_request", w.pr_event("closed", 7, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(left(&w.direct, "pv-pr7").await, 0, "{}", r.text());
    assert!(r.summary.contains("destroyed"), "{}", r.text());
}

/// Every resource tagged `ec2-gitops:stack=<stack>` (key pairs, groups,
/// instances, volumes), with its `ec2-gitops:preview` tag.
async fn preview_tagged(c: &aws_sdk_ec2::Client, stack: &str) -> Vec<(String, Option<String>)> {
    let f = aws_sdk_ec2::types::Filter::builder()
        .name("tag:ec2-gitops:stack")
        .values(stack)
        .build();
    let preview = |tags: &[aws_sdk_ec2::types::Tag]| {
        tags.iter()
            .find(|t| t.key() == Some("ec2-gitops:preview"))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    let mut out = Vec::new();
    let i = c
        .describe_instances()
        .filters(f.clone())
        .send()
        .await
        .unwrap();
    for x in i.reservations().iter().flat_map(|r| r.instances()) {
        if x.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated") {
            out.push((x.instance_id().unwrap().to_string(), preview(x.tags())));
        }
    }
    let v = c
        .describe_volumes()
        .filters(f.clone())
        .send()
        .await
        .unwrap();
    out.extend(
        v.volumes()
            .iter()
            .map(|x| (x.volume_id().unwrap().to_string(), preview(x.tags()))),
    );
    let g = c
        .describe_security_groups()
        .filters(f.clone())
        .send()
        .await
        .unwrap();
    out.extend(
        g.security_groups()
            .iter()
            .map(|x| (x.group_id().unwrap().to_string(), preview(x.tags()))),
    );
    let k = c.describe_key_pairs().filters(f).send().await.unwrap();
    out.extend(
        k.key_pairs()
            .iter()
            .map(|x| (x.key_name().unwrap().to_string(), preview(x.tags()))),
    );
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_tagged_for_a_stack_and_a_preview_is_never_the_stacks() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    w.pull(8, HEAD, &["infra/web.yaml"]);
    let r = say(&w, 8, "/preview", HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    // Whoever holds the preview role tags a preview's server with the real
    // stack's name: the real stack must not take it for its own.
    let preview = crate::engine::instances_by_name(&w.direct, "pv-pr8").await;
    let id = preview["instance/web-1"][0].clone();
    w.direct
        .create_tags()
        .resources(&id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("ec2-gitops:stack")
                .value("pv")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let file = w.dir.path().join("infra/web.yaml");
    let out = crate::crash::run(&w.proxy.endpoint(), &["plan", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains(&id),
        "warned about: {}",
        crate::crash::text(&out)
    );
    assert!(
        text.contains("another stack's preview"),
        "{}",
        crate::crash::text(&out)
    );
    let json = crate::crash::run(
        &w.proxy.endpoint(),
        &["plan", file.to_str().unwrap(), "--format", "json"],
    );
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).expect("a JSON plan");
    let touched: Vec<&serde_json::Value> = plan["plans"][0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["live_id"].as_str() == Some(id.as_str()))
        .collect();
    assert!(touched.is_empty(), "never planned: {touched:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_is_refused_for_a_fork_with_no_ec2_call_and_over_its_size() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    w.gh.add_pull(
        crate::action::REPO,
        crate::support::PullSpec {
            number: 8,
            head_sha: HEAD.into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            head_repo: Some("mallory/infra".into()),
            ..crate::support::PullSpec::default()
        },
    );
    w.proxy.clear();
    let r = say(&w, 8, "/preview", HEAD);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert!(
        w.proxy.requests().is_empty(),
        "no EC2 call: {:?}",
        w.proxy.actions()
    );
    let reply = latest_reply(&w, 8);
    assert!(reply.contains("comes from a fork"), "{reply}");

    // A job that checked out something else than the test merge: refused.
    w.pull(10, HEAD, &["infra/web.yaml"]);
    let r = w.run_at(
        "issue_comment",
        w.comment_event(10, "/preview", "writer"),
        HEAD,
        Some("cccccccccccccccccccccccccccccccccccccccc"),
        &[],
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let reply = latest_reply(&w, 10);
    assert!(
        reply.contains("not this pull request's test merge"),
        "{reply}"
    );
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );

    // Over `max_instances` (4): refused, nothing launched.
    w.write_stack(&previewed(4));
    w.pull(9, HEAD, &["infra/web.yaml"]);
    let r = say(&w, 9, "/preview", HEAD);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let reply = latest_reply(&w, 9);
    assert!(reply.contains("would have 5 instances"), "{reply}");
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
}

/// The scheduled run destroys a preview whose pull request is closed (its
/// close event's job did not run) and keeps an open one's.
#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_run_destroys_the_preview_of_a_closed_pr_and_keeps_an_open_ones() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    for n in [11, 12] {
        w.pull(n, HEAD, &["infra/web.yaml"]);
        let r = say(&w, n, "/preview", HEAD);
        assert_eq!(r.code(), Some(0), "{}", r.text());
    }
    assert_eq!(
        crate::engine::instances_by_name(&w.direct, "pv-pr11")
            .await
            .len(),
        3
    );
    // #11 is closed; no job ran on its close event.
    closed(&w, 11, HEAD);
    let mut dispatch = crate::support::webhooks::example("workflow_dispatch", |_| true);
    dispatch["ref"] = serde_json::json!("refs/heads/main");
    let r = w.run("workflow_dispatch", dispatch, crate::action::MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(left(&w.direct, "pv-pr11").await, 0, "{}", r.text());
    assert!(
        r.summary.contains("its pull request is closed"),
        "{}",
        r.text()
    );
    assert_eq!(
        crate::engine::instances_by_name(&w.direct, "pv-pr12")
            .await
            .len(),
        3,
        "an open pull request's preview stays"
    );
}

/// The scheduled run destroys a preview older than the stack's
/// `preview.ttl`. Moto cannot age an instance, so the proxy answers the
/// run's listing of previews (`tag:ec2-gitops:stack = pv-pr*`) with the
/// preview's real instance launched four days ago; everything else is
/// moto's.
#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_run_destroys_a_preview_past_its_ttl() {
    let w = World::new("pv");
    w.write_stack(&previewed(2));
    w.pull(13, HEAD, &["infra/web.yaml"]);
    let r = say(&w, 13, "/preview", HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let ids = crate::engine::instances_by_name(&w.direct, "pv-pr13").await;
    let id = ids["instance/web-1"][0].clone();
    w.proxy.set_hook(move |req| {
        let listing = req.action == "DescribeInstances"
            && req.params.iter().any(|(_, v)| v == "pv-pr*");
        listing.then(|| {
            crate::support::ProxyResponse::xml(
                200,
                format!(
                    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet><item><instanceId>{id}</instanceId><instanceState><code>16</code><name>running</name></instanceState><launchTime>2020-01-01T00:00:00.000Z</launchTime><tagSet><item><key>ec2-gitops:stack</key><value>pv-pr13</value></item></tagSet></item></instancesSet></item></reservationSet></DescribeInstancesResponse>"
                ),
            )
        })
    });
    let mut dispatch = crate::support::webhooks::example("workflow_dispatch", |_| true);
    dispatch["ref"] = serde_json::json!("refs/heads/main");
    let r = w.run("workflow_dispatch", dispatch, crate::action::MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(
        r.summary.contains("older than its `preview.ttl`"),
        "{}",
        r.text()
    );
    w.proxy.clear_hook();
    assert_eq!(left(&w.direct, "pv-pr13").await, 0, "{}", r.text());
}
