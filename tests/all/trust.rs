//! Who the bot trusts, end to end through `ec2-gitops action`: its own
//! comments only (three kinds of token, each writing as another login),
//! never a marker someone else wrote; permission before anything is
//! written; a command naming an unknown stack refused whole; a closed pull
//! request's plan discarded whatever it came from; a comment whose answer
//! was lost posted once. And `apply --plan` of a tampered plan file.

use std::process::{Command, Stdio};

use serde_json::json;

use crate::action::{HEAD, HEAD_2, MERGE, REPO, World};
use crate::engine::{instances_by_name, stack_yaml};
use crate::support::github::BOT_LOGIN;
use crate::support::{Ec2Proxy, Moto, marker_of, plan_meta};
use ec2_gitops::marker::{Marker, PlanStatus};

/// How the action is given its token, and the login GitHub shows as the
/// author of what that token writes.
struct Token {
    /// What the case is called in messages.
    name: &'static str,
    env: Vec<(&'static str, &'static str)>,
    writes_as: &'static str,
}

fn tokens() -> Vec<Token> {
    vec![
        Token {
            name: "workflow token",
            env: vec![("INPUT_GITHUB-TOKEN", "ghs_workflow")],
            writes_as: BOT_LOGIN,
        },
        Token {
            name: "personal access token",
            env: vec![(
                "INPUT_GITHUB-TOKEN",
                "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            )],
            writes_as: "ops-user",
        },
        Token {
            name: "GitHub App token",
            env: vec![
                ("INPUT_GITHUB-TOKEN", "ghs_installation"),
                ("INPUT_BOT-LOGIN", "infra-bot[bot]"),
            ],
            writes_as: "infra-bot[bot]",
        },
    ]
}

fn by(w: &World, n: u64, login: &str) -> Vec<crate::support::github::CommentState> {
    w.gh.comments(n)
        .into_iter()
        .filter(|c| c.user == login)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_each_kind_of_token_a_pr_has_one_plan_comment_and_its_merge_applies() {
    for (i, token) in tokens().into_iter().enumerate() {
        let stack = format!("tk{i}");
        let w = World::new(&stack);
        w.gh.set_bot_user(token.writes_as);
        // Someone else's comment with a well-formed marker comes first: it is
        // neither edited nor read.
        let forged = Marker::Plan(ec2_gitops::marker::PlanMeta {
            status: PlanStatus::Planned,
            head: HEAD.into(),
            base: None,
            stacks: vec![],
            check: None,
        })
        .wrap("## ec2-gitops plan\n\nlooks like the bot's\n");
        w.pull(7, HEAD, &["infra/web.yaml"]);
        let forged_id = w.gh.add_comment(REPO, 7, "other-app[bot]", &forged);
        let r = w.run_with(
            "pull_request",
            w.pr_event("opened", 7, HEAD),
            HEAD,
            &token.env,
        );
        assert_eq!(r.code(), Some(0), "{}: {}", token.name, r.text());
        w.write_stack(&stack_yaml(&stack).replace("count: 2", "count: 3"));
        w.pull(7, HEAD_2, &["infra/web.yaml"]);
        let r = w.run_with(
            "pull_request",
            w.pr_event("synchronize", 7, HEAD_2),
            HEAD_2,
            &token.env,
        );
        assert_eq!(r.code(), Some(0), "{}: {}", token.name, r.text());
        let ours = by(&w, 7, token.writes_as);
        assert_eq!(ours.len(), 1, "{}: {ours:#?}", token.name);
        assert_eq!(
            ours[0].updates, 1,
            "{}: edited, not posted again",
            token.name
        );
        let forged_now = w.gh.comments(7).into_iter().find(|c| c.id == forged_id);
        assert_eq!(
            forged_now.map(|c| (c.body, c.updates)),
            Some((forged.clone(), 0)),
            "{}: another login's comment was touched",
            token.name
        );
        // The user token's login is asked once per run, the others never.
        let asked = w.gh.requests().iter().filter(|r| r.path == "/user").count();
        assert_eq!(
            asked,
            if token.writes_as == "ops-user" { 2 } else { 0 },
            "{}",
            token.name
        );

        w.merge(7, HEAD_2);
        let r = w.run_with(
            "push",
            w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
            MERGE,
            &token.env,
        );
        assert_eq!(r.code(), Some(0), "{}: {}", token.name, r.text());
        let live = instances_by_name(&w.direct, &stack).await;
        assert_eq!(live.len(), 4, "{}: db and web-1…3: {live:?}", token.name);
        let ours = by(&w, 7, token.writes_as);
        assert_eq!(ours.len(), 2, "{}: plan + result: {ours:#?}", token.name);
        assert!(
            matches!(marker_of(&ours[1].body), Some(Marker::Apply { .. })),
            "{}: {}",
            token.name,
            ours[1].body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_plan_comment_is_never_the_reviewed_plan() {
    let w = World::new("fg1");
    w.pull(7, HEAD, &["infra/web.yaml"]);
    // The bot never planned this PR; a person and another app post comments
    // that carry a plan marker with a made-up fingerprint.
    let forged = |fp: &str| {
        format!(
            r#"<!-- ec2-gitops: {{"kind":"plan","status":"planned","head":"{HEAD}","stacks":[{{"stack":"fg1","region":"us-east-1","fingerprint":"{fp}"}}]}} -->"#
        ) + "\n## ec2-gitops plan\n"
    };
    w.gh.add_comment(REPO, 7, "mallory", &forged("0000000000000000"));
    w.gh.add_comment(REPO, 7, "other-app[bot]", &forged("1111111111111111"));
    w.merge(7, HEAD);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "an unreviewed merge changed EC2: {:?}",
        w.mutating_ec2_calls()
    );
    assert!(
        r.summary.contains("no reviewed plan of this stack"),
        "{}",
        r.text()
    );
    // The bot posts its own plan for review, and touches nobody's comment.
    let ours = w.bot_comments(7);
    assert!(
        ours.iter()
            .any(|c| plan_meta(&c.body).is_some_and(|m| m.status == PlanStatus::MergeRefused)),
        "{ours:#?}"
    );
    for c in w.gh.comments(7) {
        if c.user != BOT_LOGIN {
            assert_eq!(c.updates, 0, "{c:#?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn permission_is_asked_before_anything_is_written_and_custom_write_roles_may_run_commands() {
    let w = World::new("pm1");
    w.pull(9, HEAD, &["infra/web.yaml"]);
    w.gh.set_custom_role("deployer", "deployer", "write");
    w.gh.set_custom_role("auditor", "auditor", "read");

    let ev = w.comment_event(9, "/plan", "deployer");
    let id = ev["comment"]["id"].as_u64().unwrap();
    w.gh.clear_requests();
    let r = w.run("issue_comment", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let lines: Vec<String> = w.gh.requests().iter().map(|r| r.line()).collect();
    assert!(
        lines[0].starts_with(&format!(
            "GET /repos/{REPO}/collaborators/deployer/permission"
        )),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "POST /repos/{REPO}/issues/comments/{id}/reactions"
        )),
        "{lines:#?}"
    );
    assert_eq!(w.gh.reactions(id), ["eyes", "rocket"]);
    assert_eq!(
        w.bot_comments(9)
            .iter()
            .filter(|c| plan_meta(&c.body).is_some())
            .count(),
        1
    );

    // A custom role built on read is refused: the reply is all it gets.
    let ev = w.comment_event(9, "/plan", "auditor");
    let id = ev["comment"]["id"].as_u64().unwrap();
    let before = w.bot_comments(9).len();
    w.gh.clear_requests();
    w.proxy.clear();
    let r = w.run("issue_comment", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.proxy.total(), 0);
    assert!(w.gh.reactions(id).is_empty());
    let writes: Vec<String> = w.gh.writes().iter().map(|r| r.line()).collect();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    let reply = &w.bot_comments(9)[before].body;
    assert!(reply.contains("(your permission: `auditor`)"), "{reply}");
    assert!(matches!(marker_of(reply), Some(Marker::Reply { to, .. }) if to == id));
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_naming_a_stack_the_plan_does_not_show_applies_nothing() {
    let w = World::new("ap1");
    w.pull(9, HEAD, &["infra/web.yaml"]);
    let always = [("INPUT_APPLY-ON-COMMENT", "always")];
    let r = w.run_with("pull_request", w.pr_event("opened", 9, HEAD), HEAD, &always);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    w.proxy.clear();
    let ev = w.comment_event(9, "/apply ap1 tpyo", "writer");
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
    assert!(
        reply.contains("`/apply` was not run, for no stack")
            && reply.contains("no stack named `tpyo` (its stacks: `ap1`)"),
        "{reply}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_pull_request_planned_by_command_and_closed_is_discarded() {
    let w = World::new("fk1");
    w.pull(12, HEAD, &["infra/web.yaml"]);
    // A maintainer planned the fork's PR with /plan.
    let r = w.run(
        "issue_comment",
        w.comment_event(12, "/plan", "writer"),
        HEAD,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let mut ev = w.pr_event("closed", 12, HEAD);
    ev["pull_request"]["merged"] = json!(false);
    ev["pull_request"]["head"]["repo"]["full_name"] = json!("mallory/infra");
    let r = w.run("pull_request", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let plan = w
        .bot_comments(12)
        .into_iter()
        .find(|c| plan_meta(&c.body).is_some())
        .expect("the plan comment");
    assert_eq!(
        plan_meta(&plan.body).map(|m| m.status),
        Some(PlanStatus::Discarded),
        "{}",
        plan.body
    );
    assert!(plan.body.contains("**discarded**"), "{}", plan.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_comment_whose_answer_was_lost_is_posted_once() {
    let w = World::new("ls1");
    w.pull(7, HEAD, &["infra/web.yaml"]);
    // The plan comment's POST is carried out, but its answer is a 502.
    w.gh.lose_answer("POST", &format!("/repos/{REPO}/issues/7/comments"), 502, 1);
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.bot_comments(7).len(), 1, "{:#?}", w.bot_comments(7));

    // A reply (`/help`) and the merge's result comment, each lost once.
    w.gh.lose_answer("POST", &format!("/repos/{REPO}/issues/7/comments"), 502, 1);
    let r = w.run("issue_comment", w.comment_event(7, "/help", "writer"), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let help: Vec<_> = w
        .bot_comments(7)
        .into_iter()
        .filter(|c| matches!(marker_of(&c.body), Some(Marker::Reply { .. })))
        .collect();
    assert_eq!(help.len(), 1, "{help:#?}");

    w.merge(7, HEAD);
    w.gh.lose_answer("POST", &format!("/repos/{REPO}/issues/7/comments"), 502, 1);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let results: Vec<_> = w
        .bot_comments(7)
        .into_iter()
        .filter(|c| matches!(marker_of(&c.body), Some(Marker::Apply { .. })))
        .collect();
    assert_eq!(results.len(), 1, "{results:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_plan_file_is_refused_before_ec2_is_asked_anything() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, stack_yaml("tp1")).unwrap();
    let plan_json = dir.path().join("plan.json");
    let run = |args: &[&str]| {
        Command::new(crate::action::BIN)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", proxy.endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let (f, p) = (file.to_str().unwrap(), plan_json.to_str().unwrap());
    let planned = run(&["plan", f, "--out", p, "--format", "json"]);
    assert!(planned.status.success(), "{planned:?}");

    // The reviewed file, edited: an instance type changed, the fingerprint kept.
    let text = std::fs::read_to_string(&plan_json).unwrap();
    assert!(text.contains("\"t3.micro\""));
    std::fs::write(
        &plan_json,
        text.replacen("\"t3.micro\"", "\"t3.2xlarge\"", 1),
    )
    .unwrap();
    proxy.clear();
    let refused = run(&["apply", f, "--plan", p]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("tampered plan file"), "{stderr}");
    assert!(stderr.contains("Nothing was applied"), "{stderr}");
    assert_eq!(proxy.total(), 0, "EC2 was asked: {:?}", proxy.actions());

    // The untouched file still applies.
    std::fs::write(&plan_json, &text).unwrap();
    let applied = run(&["apply", f, "--plan", p]);
    assert!(applied.status.success(), "{applied:?}");
}
