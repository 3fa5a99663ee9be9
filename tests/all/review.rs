//! Review where GitHub users look: the plan's labels on the pull request.

use aws_sdk_ec2::types::Tag;
use serde_json::json;

use crate::action::{HEAD, HEAD_2, MERGE, REPO, World};
use crate::engine::{instances_by_name, stack_yaml};
use crate::support::plan_meta;
use crate::support::webhooks;

/// The managed labels on pull request `n`, and the others.
fn labels(w: &World, n: u64) -> Vec<String> {
    w.gh.labels_on(n)
}

/// The requests to label routes since the last `clear_requests`.
fn label_requests(w: &World) -> Vec<String> {
    w.gh.requests()
        .iter()
        .filter(|r| r.path.contains("/labels"))
        .map(|r| r.line())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn labels_follow_the_plan_and_leave_everyone_elses_alone() {
    let w = World::new("lb1");
    w.gh.set_permission("writer", "write");

    // Opened: the plan creates the stack.
    w.pull(7, HEAD, &["infra/web.yaml"]);
    w.gh.add_pull_label(REPO, 7, "needs-review");
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(labels(&w, 7), ["needs-review", "ec2-gitops: changes"]);
    let made = w.gh.repo_labels(REPO);
    let (color, description) = &made["ec2-gitops: changes"];
    assert_eq!(color, "fbca04");
    assert!(
        description.as_deref().unwrap().contains("changes EC2"),
        "{description:?}"
    );

    // Merged and applied; another pull request of the same file changes
    // nothing, and a stale label of ours goes.
    w.merge(7, HEAD);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    w.pull(8, HEAD_2, &["infra/web.yaml"]);
    w.gh.add_pull_label(REPO, 8, "ec2-gitops: destroy");
    w.gh.add_pull_label(REPO, 8, "ec2-gitops: mine");
    let r = w.run("pull_request", w.pr_event("opened", 8, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(
        labels(&w, 8),
        ["ec2-gitops: mine", "ec2-gitops: no changes"]
    );

    // A push that destroys the database server and restarts the web
    // servers: `/plan` puts changes, destroy and restart on.
    w.write_stack(
        &stack_yaml("lb1")
            .replace("  db:\n    type: t3.small\n    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 20, type: gp3 }\n", "")
            .replace("    count: 2\n", "    count: 2\n    type: t3.small\n"),
    );
    let r = w.run(
        "issue_comment",
        w.comment_event(8, "/plan", "writer"),
        HEAD_2,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(
        labels(&w, 8),
        [
            "ec2-gitops: mine",
            "ec2-gitops: changes",
            "ec2-gitops: destroy",
            "ec2-gitops: restart"
        ],
        "{}",
        r.text()
    );

    // The same plan again: no label call at all, and the budget holds.
    let ev = w.comment_event(8, "/plan", "writer");
    w.gh.clear_requests();
    let r = w.run("issue_comment", ev, HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(label_requests(&w).is_empty(), "{:?}", label_requests(&w));
    let (calls, writes) = (w.gh.requests().len(), w.gh.writes().len());
    assert!(
        calls <= 8 && writes <= 4,
        "{calls} calls, {writes} writes: {:#?}",
        w.gh.requests()
    );

    // `labels: false`: nothing about labels, whatever the plan.
    w.write_stack(&stack_yaml("lb1"));
    let ev = w.comment_event(8, "/plan", "writer");
    w.gh.clear_requests();
    let r = w.run_with("issue_comment", ev, HEAD_2, &[("INPUT_LABELS", "false")]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(label_requests(&w).is_empty(), "{:?}", label_requests(&w));
    assert_eq!(labels(&w, 8).len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_may_not_label_leaves_the_plan_standing() {
    let w = World::new("lb2");
    w.pull(7, HEAD, &["infra/web.yaml"]);
    w.gh.forbid("POST", "/repos/octo/infra/labels");
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.bot_comments(7).len(), 1, "the plan comment is there");
    assert!(
        r.summary.contains("could not be updated (the plan stands)"),
        "{}\n{:#?}",
        r.text(),
        w.gh.requests().iter().map(|r| r.line()).collect::<Vec<_>>()
    );
    assert!(labels(&w, 7).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_before_merge_needs_an_approval_of_the_head_and_a_clean_merge() {
    let w = World::new("ar1");
    w.gh.set_permission("writer", "write");
    let always = [("INPUT_APPLY-ON-COMMENT", "always")];
    w.pull(9, HEAD, &["infra/web.yaml"]);
    let author = w.gh.pull(REPO, 9).unwrap().author;
    let r = w.run_with("pull_request", w.pr_event("opened", 9, HEAD), HEAD, &always);
    assert_eq!(r.code(), Some(0), "{}", r.text());

    // Each refusal names what is missing, and nothing reaches EC2.
    let refused = |why: &str| {
        w.proxy.clear();
        let ev = w.comment_event(9, "/apply", "writer");
        let id = ev["comment"]["id"].as_u64().unwrap();
        let r = w.run_with("issue_comment", ev, HEAD, &always);
        assert_eq!(r.code(), Some(1), "{}", r.text());
        assert!(
            w.mutating_ec2_calls().is_empty(),
            "{:?}",
            w.mutating_ec2_calls()
        );
        assert_eq!(w.gh.reactions(id), ["eyes", "confused"]);
        let reply = w.bot_comments(9).last().unwrap().body.clone();
        assert!(reply.contains("`/apply` did not run"), "{reply}");
        assert!(reply.contains(why), "{why}\n{reply}");
        assert!(reply.contains("Nothing was applied."), "{reply}");
    };
    refused("an approving review by someone other than the author, on the current head `1111111`");
    // The author's own approval does not count.
    w.gh.add_review(REPO, 9, &author, "APPROVED", HEAD);
    refused("an approving review by someone other than the author");
    // An approval of an older head: a push came after it.
    w.gh.add_review(REPO, 9, "reviewer", "APPROVED", HEAD_2);
    refused("`reviewer` approved `2222222`, and commits came after");
    // Approved on the head, but the pull request conflicts with its base.
    w.gh.add_review(REPO, 9, "reviewer", "APPROVED", HEAD);
    let mut spec = w.gh.pull(REPO, 9).unwrap();
    spec.mergeable = false;
    w.gh.add_pull(REPO, spec.clone());
    refused("GitHub says it conflicts with its base");

    // Every requirement met: the reviewed plan is applied.
    spec.mergeable = true;
    w.gh.add_pull(REPO, spec);
    w.proxy.clear();
    let r = w.run_with(
        "issue_comment",
        w.comment_event(9, "/apply", "writer"),
        HEAD,
        &always,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().iter().any(|a| a == "RunInstances"),
        "{:?}",
        w.mutating_ec2_calls()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_requirements_none_lets_an_open_pull_request_apply_unreviewed() {
    let w = World::new("ar2");
    w.gh.set_permission("writer", "write");
    let inputs = [
        ("INPUT_APPLY-ON-COMMENT", "always"),
        ("INPUT_APPLY-REQUIREMENTS", "none"),
    ];
    w.pull(9, HEAD, &["infra/web.yaml"]);
    let r = w.run_with("pull_request", w.pr_event("opened", 9, HEAD), HEAD, &inputs);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    w.gh.clear_requests();
    let r = w.run_with(
        "issue_comment",
        w.comment_event(9, "/apply", "writer"),
        HEAD,
        &inputs,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(
        !w.gh.requests().iter().any(|r| r.path.ends_with("/reviews")),
        "no review is read when none is required"
    );
}

/// The 1-based line of the first line of `yaml` equal to `line`.
fn line_of(yaml: &str, line: &str) -> u64 {
    yaml.lines().position(|l| l == line).expect("the line") as u64 + 1
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_is_a_check_run_created_completed_and_updated_in_place() {
    let w = World::new("ck1");
    w.gh.set_permission("writer", "write");
    // A rule that opens SSH to the internet: a warning at its group.
    let yaml = stack_yaml("ck1").replace("ports: 22, from: admin", "ports: 22, cidr: 0.0.0.0/0");
    w.write_stack(&yaml);
    w.pull(7, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let runs = w.gh.check_runs(HEAD);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let run = &runs[0];
    assert_eq!(run.name, "ec2-gitops/plan");
    assert_eq!(
        (run.status.as_str(), run.conclusion.as_deref()),
        ("completed", Some("success"))
    );
    assert!(run.title.starts_with("Plan: 8 to create"), "{}", run.title);
    assert!(
        run.summary.contains(
            "| stack | region | plan |\n| --- | --- | --- |\n| ck1 | us-east-1 | Plan: 8 to create"
        ),
        "{}",
        run.summary
    );
    assert!(
        run.text.contains("### Stack `ck1` (us-east-1)"),
        "{}",
        run.text
    );
    assert!(run.text.contains("**+ `instance.web-1`"), "{}", run.text);
    assert_eq!(run.annotations.len(), 1, "{:?}", run.annotations);
    let (path, line, level, message) = &run.annotations[0];
    assert_eq!(
        (path.as_str(), *line, level.as_str()),
        ("infra/web.yaml", line_of(&yaml, "  web:"), "warning")
    );
    assert!(
        message.contains("opens 22 (SSH) to the whole internet"),
        "{message}"
    );
    assert!(w.gh.statuses(HEAD).is_empty(), "no commit status beside it");

    // The rule fixed, `/plan`: no annotation either side, so the same run
    // is updated in place.
    w.write_stack(&stack_yaml("ck1"));
    let r = w.run("issue_comment", w.comment_event(7, "/plan", "writer"), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let runs = w.gh.check_runs(HEAD);
    assert_eq!(runs.len(), 2, "the annotated run is not reused: {runs:#?}");
    let r = w.run("issue_comment", w.comment_event(7, "/plan", "writer"), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let runs = w.gh.check_runs(HEAD);
    assert_eq!(runs.len(), 2, "updated in place: {runs:#?}");
    assert_eq!(runs[1].updates, 1);
    assert!(runs[1].annotations.is_empty());

    // The merge: `ec2-gitops/apply` on the merge commit.
    w.merge(7, HEAD);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let runs = w.gh.check_runs(MERGE);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].name, "ec2-gitops/apply");
    assert_eq!(runs[0].conclusion.as_deref(), Some("success"));
    assert!(
        runs[0].title.starts_with("Applied: 1 of 1"),
        "{}",
        runs[0].title
    );
    assert!(
        runs[0].text.contains("ec2-gitops apply succeeded"),
        "{}",
        runs[0].text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sixty_validation_errors_are_sixty_annotations_fifty_a_request() {
    let w = World::new("ck2");
    let mut yaml = stack_yaml("ck2");
    let mut keys = String::new();
    for i in 0..60 {
        keys.push_str(&format!("    tpye{i}: t3.small\n"));
    }
    yaml = yaml.replace("    count: 2\n", &format!("    count: 2\n{keys}"));
    w.write_stack(&yaml);
    w.pull(7, HEAD, &["infra/web.yaml"]);
    w.gh.clear_requests();
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let runs = w.gh.check_runs(HEAD);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].conclusion.as_deref(), Some("failure"));
    assert_eq!(runs[0].annotations.len(), 60, "{:?}", runs[0].annotations);
    let first = line_of(&yaml, "    tpye0: t3.small");
    for (i, (path, line, level, message)) in runs[0].annotations.iter().enumerate() {
        assert_eq!(
            (path.as_str(), level.as_str()),
            ("infra/web.yaml", "failure")
        );
        assert_eq!(*line, first + i as u64, "{message}");
        assert!(message.contains(&format!("tpye{i}")), "{message}");
    }
    let sent: Vec<String> =
        w.gh.requests()
            .iter()
            .filter(|r| r.path.contains("/check-runs"))
            .map(|r| {
                let n = r.body["output"]["annotations"]
                    .as_array()
                    .map_or(0, Vec::len);
                format!("{} {n}", r.method)
            })
            .collect();
    assert_eq!(sent, ["POST 50", "PATCH 10"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_checks_write_gets_commit_statuses_once_asked() {
    let w = World::new("ck3");
    w.gh.forbid("POST", "/repos/octo/infra/check-runs");
    w.pull(7, HEAD, &["infra/web.yaml"]);
    w.gh.clear_requests();
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let asked =
        w.gh.requests()
            .iter()
            .filter(|r| r.path.contains("/check-runs"))
            .count();
    assert_eq!(asked, 1, "asked once");
    let statuses = w.gh.statuses(HEAD);
    assert_eq!(statuses.len(), 1);
    assert_eq!(
        (statuses[0].context.as_str(), statuses[0].state.as_str()),
        ("ec2-gitops/plan", "success")
    );
    assert!(r.summary.contains("lacks `checks: write`"), "{}", r.summary);
    assert!(r.text().contains("::warning::"), "{}", r.text());
}

/// A world whose stack was applied, then drifted (someone tagged the
/// database server by hand), with the drift issue open: its number.
async fn drifted(stack: &str) -> (World, u64) {
    let w = World::new(stack);
    w.gh.set_permission("writer", "write");
    // Applied by a direct push (allowed here).
    let r = w.run_with(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
        &[("INPUT_APPLY-UNREVIEWED-PUSHES", "true")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let db = instances_by_name(&w.direct, stack).await["instance/db"][0].clone();
    w.direct
        .create_tags()
        .resources(&db)
        .tags(Tag::builder().key("owner").value("alice").build())
        .send()
        .await
        .unwrap();
    let mut dispatch = webhooks::example("workflow_dispatch", |_| true);
    dispatch["ref"] = json!("refs/heads/main");
    let r = w.run("workflow_dispatch", dispatch, MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let issue = w.gh.issues()[0].number;
    (w, issue)
}

/// `user` comments `body` on issue `n` (labelled as the drift issue); the
/// run is for commit `sha`. Returns the comment's id and the run.
fn say_on_issue(w: &World, n: u64, body: &str, user: &str, sha: &str) -> (u64, crate::action::Run) {
    let mut ev = webhooks::issue_comment_on_issue(n, &["ec2-gitops-drift"], body, user);
    webhooks::set_repo(&mut ev, "octo", "infra");
    let id = w.gh.add_comment(REPO, n, user, body);
    webhooks::set_comment_id(&mut ev, id);
    (id, w.run("issue_comment", ev, sha))
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_planned_and_applied_from_its_issue_which_then_closes() {
    let (w, issue) = drifted("dr1").await;
    let say = |body: &str, user: &str| say_on_issue(&w, issue, body, user, MERGE);

    // `/apply` before any plan: refused, nothing applied.
    w.proxy.clear();
    let (id, r) = say("/apply dr1", "writer");
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert_eq!(w.gh.reactions(id), ["eyes", "confused"]);
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );

    // `/plan dr1`: the plan of the default branch against EC2, as a reply
    // with its fingerprint.
    let (id, r) = say("/plan dr1", "writer");
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.gh.reactions(id), ["eyes", "rocket"]);
    let plan = w.bot_comments(issue).last().unwrap().body.clone();
    assert!(plan.contains("## ec2-gitops plan of the drift"), "{plan}");
    assert!(
        plan.contains("`instance.db`") && plan.contains("owner=alice"),
        "{plan}"
    );
    let meta = plan_meta(&plan).expect("the plan's marker");
    assert_eq!(meta.head, MERGE);
    assert!(
        plan.contains(&format!("Fingerprint `{}`", meta.stacks[0].fingerprint)),
        "{plan}"
    );

    // Someone without write access: refused politely, nothing applied.
    w.proxy.clear();
    let (_, r) = say("/apply dr1", "reader");
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );

    // `/apply dr1`: exactly that plan; recorded as a merge-apply is; the
    // issue closes, EC2 being clean.
    let (id, r) = say("/apply dr1", "writer");
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.gh.reactions(id), ["eyes", "rocket"]);
    assert!(
        w.mutating_ec2_calls().iter().any(|a| a == "DeleteTags"),
        "{:?}",
        w.mutating_ec2_calls()
    );
    let tags = instances_by_name(&w.direct, "dr1").await;
    assert!(tags.contains_key("instance/db"));
    assert!(
        w.bot_comments(issue)
            .iter()
            .any(|c| c.body.contains("ec2-gitops apply succeeded")),
        "{:#?}",
        w.bot_comments(issue)
    );
    assert_eq!(
        w.gh.check_runs(MERGE)
            .iter()
            .filter(|c| c.name == "ec2-gitops/apply")
            .count(),
        2,
        "the merge's and the issue's apply"
    );
    assert_eq!(w.gh.deployments().len(), 2, "one deployment per apply");
    let closed = &w.gh.issues()[0];
    assert_eq!(closed.state, "closed", "{closed:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_drift_plan_or_a_labelled_stranger_issue_applies_nothing() {
    let (w, issue) = drifted("dr2").await;
    let say = |n: u64, body: &str, sha: &str| say_on_issue(&w, n, body, "writer", sha).1;
    let r = say(issue, "/plan", MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    // The default branch moved since: `/apply` refuses, names both commits.
    w.proxy.clear();
    let r = say(issue, "/apply", HEAD_2);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
    let reply = w.bot_comments(issue).last().unwrap().body.clone();
    assert!(
        reply.contains(
            "the default branch moved since the plan was made (planned at `3333333`, now `2222222`)"
        ),
        "{reply}"
    );

    // An issue anyone opened with the drift label and a copied marker is
    // not the drift issue: its commands are not run, nothing is written.
    let forged = w.gh.add_issue(
        REPO,
        "mallory",
        "<!-- ec2-gitops: {\"kind\":\"drift\"} -->\nlooks like the bot's",
        &["ec2-gitops-drift"],
    );
    w.proxy.clear();
    let before = w.gh.writes().len();
    let r = say(forged, "/apply", MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
    // The only write is the comment the test itself added.
    assert_eq!(w.gh.writes().len(), before, "nothing written");
    // Not even a refusal for someone without write access.
    let (_, r) = say_on_issue(&w, forged, "/plan", "reader", MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.gh.writes().len(), before, "nothing written");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_run_github_refuses_leaves_the_plan_comment_standing() {
    let w = World::new("ck4");
    w.pull(7, HEAD, &["infra/web.yaml"]);
    w.gh.fail_next("POST", "/repos/octo/infra/check-runs", 422, None, 1);
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.bot_comments(7).len(), 1, "the plan comment is there");
    assert!(
        r.text()
            .contains("could not record the check run ec2-gitops/plan"),
        "{}",
        r.text()
    );
    assert!(w.gh.check_runs(HEAD).is_empty());
    let meta = crate::support::plan_meta(&w.bot_comments(7)[0].body).unwrap();
    assert_eq!(meta.head, HEAD);
}
