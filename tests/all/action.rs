//! `ec2-gitops action` end to end: the real binary, driven by real webhook
//! payloads, talking to the stateful GitHub fake and to moto.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::engine::{IMAGE, instances_by_name, stack_yaml};
use crate::support::github::test_merge_sha;
use crate::support::webhooks::{self, event_file};
use crate::support::{Ec2Proxy, FakeGitHub, Moto, PullSpec, plan_meta};
use ec2_gitops::marker::PlanStatus;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_ec2-gitops");
pub(crate) const REPO: &str = "octo/infra";
pub(crate) const HEAD: &str = "1111111111111111111111111111111111111111";
pub(crate) const HEAD_2: &str = "2222222222222222222222222222222222222222";
pub(crate) const MERGE: &str = "3333333333333333333333333333333333333333";

/// A repository checkout with one stack, moto behind a proxy, and the fake.
pub(crate) struct World {
    _moto: Moto,
    pub(crate) proxy: Ec2Proxy,
    pub(crate) gh: FakeGitHub,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) direct: aws_sdk_ec2::Client,
}

pub(crate) struct Run {
    pub(crate) out: Output,
    pub(crate) summary: String,
    pub(crate) outputs: String,
}

impl Run {
    pub(crate) fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
    pub(crate) fn text(&self) -> String {
        format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}\nsummary:\n{}\noutputs:\n{}",
            self.out.status.code(),
            String::from_utf8_lossy(&self.out.stdout),
            String::from_utf8_lossy(&self.out.stderr),
            self.summary,
            self.outputs
        )
    }
}

impl World {
    pub(crate) fn new(stack: &str) -> World {
        let moto = Moto::start();
        let proxy = Ec2Proxy::start(&moto.endpoint());
        let gh = FakeGitHub::start();
        gh.add_repo(REPO);
        gh.set_permission("writer", "write");
        gh.set_permission("reader", "read");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("infra")).unwrap();
        std::fs::write(dir.path().join("infra/web.yaml"), stack_yaml(stack)).unwrap();
        std::fs::write(dir.path().join("README.md"), "docs\n").unwrap();
        let direct = moto.ec2_client("us-east-1");
        World {
            _moto: moto,
            proxy,
            gh,
            dir,
            direct,
        }
    }

    /// PR `number` (head `head`) merged as MERGE, changing the stack file.
    pub(crate) fn merge(&self, number: u64, head: &str) {
        self.gh.add_pull(
            REPO,
            PullSpec {
                number,
                head_sha: head.into(),
                merged: true,
                merge_commit_sha: Some(MERGE.into()),
                state: "closed".into(),
                files: vec![("infra/web.yaml".into(), "modified".into())],
                ..PullSpec::default()
            },
        );
        self.gh.add_commit_pulls(MERGE, &[number]);
    }

    pub(crate) fn write_stack(&self, yaml: &str) {
        std::fs::write(self.dir.path().join("infra/web.yaml"), yaml).unwrap();
    }

    pub(crate) fn pull(&self, number: u64, head: &str, files: &[&str]) {
        self.gh.add_pull(
            REPO,
            PullSpec {
                number,
                head_sha: head.into(),
                files: files
                    .iter()
                    .map(|f| (f.to_string(), "modified".to_string()))
                    .collect(),
                ..PullSpec::default()
            },
        );
    }

    pub(crate) fn run(&self, event: &str, payload: Value, sha: &str) -> Run {
        self.run_with(event, payload, sha, &[])
    }

    /// Like `run`, with more environment (action inputs: `INPUT_…`).
    pub(crate) fn run_with(
        &self,
        event: &str,
        payload: Value,
        sha: &str,
        env: &[(&str, &str)],
    ) -> Run {
        self.run_at(event, payload, sha, None, env)
    }

    /// What the example workflow checks out for an event: a pull request's
    /// test merge (`refs/pull/N/merge`) for its own events and for a comment
    /// on it while it is open; `sha` (the pushed or default-branch commit)
    /// otherwise.
    fn checkout_for(&self, event: &str, payload: &Value, sha: &str) -> String {
        let number = match event {
            "pull_request" => payload["pull_request"]["number"].as_u64(),
            "issue_comment" => payload["issue"]["number"].as_u64(),
            _ => None,
        };
        number
            .and_then(|n| self.gh.pull(REPO, n))
            .filter(|p| !p.merged && p.state == "open")
            .and_then(|p| crate::support::github::merge_sha_of(&p))
            .unwrap_or_else(|| sha.to_string())
    }

    /// Like `run_with`, with the workspace checked out at `checkout` (by
    /// default what the example workflow checks out). On `pull_request`
    /// events `GITHUB_SHA` is that commit, as on GitHub; `sha` is the
    /// pull request's head there.
    pub(crate) fn run_at(
        &self,
        event: &str,
        mut payload: Value,
        sha: &str,
        checkout: Option<&str>,
        env: &[(&str, &str)],
    ) -> Run {
        let checkout = checkout
            .map(str::to_string)
            .unwrap_or_else(|| self.checkout_for(event, &payload, sha));
        let git = self.dir.path().join(".git");
        std::fs::create_dir_all(&git).unwrap();
        std::fs::write(git.join("HEAD"), format!("{checkout}\n")).unwrap();
        let github_sha = if event == "pull_request" {
            checkout.clone()
        } else {
            sha.to_string()
        };
        let sha = github_sha.as_str();
        webhooks::set_repo(&mut payload, "octo", "infra");
        let file = event_file(&payload);
        let summary = self.dir.path().join("summary.md");
        let outputs = self.dir.path().join("outputs.txt");
        let _ = std::fs::remove_file(&summary);
        let _ = std::fs::remove_file(&outputs);
        let out = Command::new(BIN)
            .arg("action")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", file.path())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_API_URL", self.gh.url())
            .env("GITHUB_SHA", sha)
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_WORKSPACE", self.dir.path())
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "42")
            .env("INPUT_GITHUB-TOKEN", "ghs_test")
            .env("EC2_GITOPS_GITHUB_BACKOFF_MS", "20")
            .env("AWS_ENDPOINT_URL", self.proxy.endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let summary = std::fs::read_to_string(&summary).unwrap_or_default();
        self.gh.check_rendered("job summary", &summary);
        Run {
            out,
            summary,
            outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
        }
    }

    pub(crate) fn pr_event(&self, action: &str, number: u64, head: &str) -> Value {
        let mut p = webhooks::pull_request(action);
        webhooks::set_pr(&mut p, number, head, "main");
        p
    }

    pub(crate) fn comment_event(&self, number: u64, body: &str, user: &str) -> Value {
        let mut p = webhooks::issue_comment_on_pr(body, user);
        webhooks::set_repo(&mut p, "octo", "infra");
        webhooks::set_pr(&mut p, number, HEAD, "main");
        // The comment must exist for reactions to land on it.
        let id = self.gh.add_comment(REPO, number, user, body);
        webhooks::set_comment_id(&mut p, id);
        p
    }

    pub(crate) fn push_event(&self, after: &str, files: &[(&str, &str)]) -> Value {
        let mut p = webhooks::push("refs/heads/main", HEAD, after, files);
        p["repository"]["default_branch"] = json!("main");
        p
    }

    pub(crate) fn bot_comments(&self, n: u64) -> Vec<crate::support::github::CommentState> {
        self.gh
            .comments(n)
            .into_iter()
            .filter(|c| c.user.ends_with("[bot]"))
            .collect()
    }

    pub(crate) fn mutating_ec2_calls(&self) -> Vec<String> {
        self.proxy
            .actions()
            .into_iter()
            .filter(|a| !a.starts_with("Describe"))
            .collect()
    }
}

fn path(p: &Path) -> PathBuf {
    p.to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn pr_plan_comment_is_one_and_stays_current_then_merge_applies_and_records() {
    let w = World::new("gh1");
    // Opened: one comment, one status.
    w.pull(7, HEAD, &["infra/web.yaml", "README.md"]);
    let r = w.run("pull_request", w.pr_event("opened", 7, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let comments = w.bot_comments(7);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let body = &comments[0].body;
    let meta = plan_meta(body).expect("the plan comment's marker");
    assert!(body.contains("Plan: 8 to create"), "{body}");
    assert_eq!(meta.head, HEAD);
    assert_eq!(meta.status, PlanStatus::Planned);
    let status = w.gh.checks(HEAD);
    assert_eq!(status.len(), 1);
    assert_eq!(
        (status[0].state.as_str(), status[0].context.as_str()),
        ("success", "ec2-gitops/plan")
    );
    assert!(r.outputs.contains("plan<<"), "{}", r.text());
    assert!(r.outputs.contains("result-json=[{"), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "a plan changed EC2: {:?}",
        w.mutating_ec2_calls()
    );

    // New push: the same comment is edited, never a second one.
    w.write_stack(&stack_yaml("gh1").replace("count: 2", "count: 3"));
    w.pull(7, HEAD_2, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("synchronize", 7, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let comments = w.bot_comments(7);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].updates, 1);
    assert!(
        comments[0].body.contains("Plan: 9 to create"),
        "{}",
        comments[0].body
    );
    assert_eq!(
        plan_meta(&comments[0].body).map(|m| m.head),
        Some(HEAD_2.to_string())
    );

    // Merge: the reviewed plan is applied and recorded everywhere.
    w.merge(7, HEAD_2);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let by_name = instances_by_name(&w.direct, "gh1").await;
    assert_eq!(by_name.len(), 4, "{by_name:?}");
    let comments = w.bot_comments(7);
    assert_eq!(comments.len(), 2, "plan comment + apply result");
    assert!(
        comments[1].body.contains("ec2-gitops apply succeeded"),
        "{}",
        comments[1].body
    );
    assert!(
        comments[1].body.contains("launched i-"),
        "{}",
        comments[1].body
    );
    let status = w.gh.checks(MERGE);
    assert_eq!(
        (status[0].state.as_str(), status[0].context.as_str()),
        ("success", "ec2-gitops/apply")
    );
    let deployments = w.gh.deployments();
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].environment, "gh1");
    assert_eq!(
        deployments[0].statuses.last().map(|s| s.state.as_str()),
        Some("success")
    );
    assert!(
        r.summary.contains("ec2-gitops apply succeeded"),
        "{}",
        r.text()
    );
    assert!(r.outputs.contains("applied=true"), "{}", r.text());
    assert!(r.outputs.contains("result-json="), "{}", r.text());
    let _ = path(w.dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn live_state_moved_between_review_and_merge_refuses_and_posts_the_new_plan() {
    let w = World::new("gh2");
    w.pull(8, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 8, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());

    // Someone launches a tagged instance of this stack by hand after review.
    w.direct
        .run_instances()
        .image_id(IMAGE)
        .instance_type("t3.micro".into())
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("ec2-gitops:stack")
                        .value("gh2")
                        .build(),
                )
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("ec2-gitops:name")
                        .value("instance/web-1")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    w.proxy.clear();
    w.merge(8, HEAD);
    let r = w.run(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "refused apply changed EC2: {:?}",
        w.mutating_ec2_calls()
    );
    let comments = w.bot_comments(8);
    let plan = &comments[0].body;
    assert!(plan.contains("The merge was not applied"), "{plan}");
    assert_eq!(
        plan_meta(plan).map(|m| m.status),
        Some(PlanStatus::MergeRefused),
        "{plan}"
    );
    assert!(
        comments.last().unwrap().body.contains("not applied"),
        "{comments:#?}"
    );
    assert_eq!(w.gh.checks(MERGE)[0].state, "failure");
    assert!(r.outputs.contains("applied=false"), "{}", r.text());

    // /apply by a writer (allowed after a refused merge): applies the new plan.
    let ev = w.comment_event(8, "/apply", "writer");
    let r = w.run("issue_comment", ev, MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let by_name = instances_by_name(&w.direct, "gh2").await;
    assert!(by_name.values().all(|ids| ids.len() == 1), "{by_name:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_command_by_a_writer_reacts_and_updates_by_a_reader_is_refused() {
    let w = World::new("gh3");
    w.pull(9, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 9, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    w.proxy.clear();

    // Read user: one polite reply, no EC2 call, and nothing else written
    // (the permission is asked before any reaction).
    let ev = w.comment_event(9, "please\n/plan", "reader");
    let id = ev["comment"]["id"].as_u64().unwrap();
    let r = w.run("issue_comment", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.proxy.total(), 0, "a refused command called EC2");
    assert_eq!(w.gh.reactions(id), Vec::<String>::new());
    let replies: Vec<_> = w
        .bot_comments(9)
        .into_iter()
        .filter(|c| c.body.contains("only people with write access"))
        .collect();
    assert_eq!(replies.len(), 1);

    // Writer: 👀, re-plan into the same comment, 🚀.
    w.write_stack(&stack_yaml("gh3").replace("count: 2", "count: 3"));
    let ev = w.comment_event(9, "/plan", "writer");
    let id = ev["comment"]["id"].as_u64().unwrap();
    let r = w.run("issue_comment", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(w.gh.reactions(id), ["eyes", "rocket"]);
    let plans: Vec<_> = w
        .bot_comments(9)
        .into_iter()
        .filter(|c| plan_meta(&c.body).is_some())
        .collect();
    assert_eq!(plans.len(), 1);
    assert!(
        plans[0].body.contains("Plan: 9 to create"),
        "{}",
        plans[0].body
    );

    // A command inside a code block: nothing at all happens.
    w.gh.clear_requests();
    let ev = w.comment_event(9, "Run this:\n```\n/plan\n```", "writer");
    w.gh.clear_requests();
    let r = w.run("issue_comment", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(w.gh.requests().is_empty(), "{:?}", w.gh.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_unmerged_marks_the_plan_discarded_and_a_pr_without_stacks_gets_nothing() {
    let w = World::new("gh4");
    w.pull(10, HEAD, &["infra/web.yaml"]);
    assert_eq!(
        w.run("pull_request", w.pr_event("opened", 10, HEAD), HEAD)
            .code(),
        Some(0)
    );
    let mut ev = w.pr_event("closed", 10, HEAD);
    ev["pull_request"]["merged"] = json!(false);
    let r = w.run("pull_request", ev, HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let c = &w.bot_comments(10)[0];
    assert!(c.body.contains("discarded"), "{}", c.body);
    assert_eq!(
        plan_meta(&c.body).map(|m| m.status),
        Some(PlanStatus::Discarded),
        "{}",
        c.body
    );

    // A PR that touches no stack: no comment, no status.
    w.pull(11, HEAD_2, &["README.md"]);
    let r = w.run("pull_request", w.pr_event("opened", 11, HEAD_2), HEAD_2);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(w.bot_comments(11).is_empty());
    assert!(w.gh.checks(HEAD_2).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_200_instance_plan_fits_in_one_comment() {
    let w = World::new("gh5");
    w.write_stack(&stack_yaml("gh5").replace("count: 2", "count: 200"));
    w.pull(12, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 12, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let c = &w.bot_comments(12)[0];
    assert!(c.body.len() <= 65_536, "{} chars", c.body.len());
    assert!(
        c.body.contains("Plan: 206 to create"),
        "{}",
        &c.body[..500.min(c.body.len())]
    );
}

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

#[tokio::test(flavor = "multi_thread")]
async fn drift_opens_one_issue_updates_it_and_closes_it_when_clean() {
    let w = World::new("gh7");
    let dispatch = || {
        let mut p = webhooks::example("workflow_dispatch", |_| true);
        p["ref"] = json!("refs/heads/main");
        p
    };
    // Apply the stack (a direct push, allowed here), then check: clean, no
    // issue.
    let r = w.run_with(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
        &[("INPUT_APPLY-UNREVIEWED-PUSHES", "true")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let r = w.run("workflow_dispatch", dispatch(), MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.outputs.contains("drifted=false"), "{}", r.text());
    assert!(w.gh.issues().is_empty());

    // Someone changes an instance by hand: one issue names it.
    let db = instances_by_name(&w.direct, "gh7").await["instance/db"][0].clone();
    w.direct
        .create_tags()
        .resources(&db)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("owner")
                .value("alice")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = w.run("workflow_dispatch", dispatch(), MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.outputs.contains("drifted=true"), "{}", r.text());
    let issues = w.gh.issues();
    assert_eq!(issues.len(), 1);
    let body = issues[0].body.clone().unwrap_or_default();
    assert!(
        body.contains("`instance.db`") && body.contains("owner=alice"),
        "{body}"
    );
    assert!(body.contains("How to fix it"), "{body}");

    // More drift: the same issue is edited, never a second one.
    w.direct
        .create_tags()
        .resources(&db)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("team")
                .value("ops")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = w.run("workflow_dispatch", dispatch(), MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let issues = w.gh.issues();
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0]
            .body
            .as_deref()
            .unwrap_or_default()
            .contains("team=ops")
    );

    // Fixed (re-applied by a direct push, allowed here): the issue is
    // closed with a comment.
    let r = w.run_with(
        "push",
        w.push_event(MERGE, &[("infra/web.yaml", "modified")]),
        MERGE,
        &[("INPUT_APPLY-UNREVIEWED-PUSHES", "true")],
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let r = w.run("workflow_dispatch", dispatch(), MERGE);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let issues = w.gh.issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].state, "closed");
    assert!(
        w.gh.comments(issues[0].number)
            .iter()
            .any(|c| c.body.contains("match the YAML again")),
        "no closing comment"
    );
}

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

#[tokio::test(flavor = "multi_thread")]
async fn twenty_stacks_in_two_regions_one_comment_with_a_table_and_one_failing_stack() {
    let w = World::new("main");
    let mut files = vec!["infra/web.yaml".to_string()];
    for i in 0..19 {
        let name = format!("s{i:02}");
        let mut yaml = stack_yaml(&name);
        if i % 4 == 0 {
            // Moto knows this Amazon Linux 2 image in every region.
            yaml = yaml
                .replace("region: us-east-1", "region: eu-west-1")
                .replace(IMAGE, "ami-04681a1dbd79675a5");
        }
        std::fs::write(w.dir.path().join(format!("infra/{name}.yaml")), yaml).unwrap();
        files.push(format!("infra/{name}.yaml"));
    }
    // EC2 refuses to describe one stack (a role without access to it).
    w.proxy.set_hook(|req| {
        (req.action == "DescribeInstances" && req.params.iter().any(|(_, v)| v == "s07")).then(
            || {
                crate::support::ProxyResponse::ec2_error(
                    403,
                    "UnauthorizedOperation",
                    "You are not authorized to perform this operation.",
                )
            },
        )
    });
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    w.pull(30, HEAD, &refs);
    let r = w.run("pull_request", w.pr_event("opened", 30, HEAD), HEAD);
    assert_eq!(r.code(), Some(1), "one stack failed: {}", r.text());
    let comments = w.bot_comments(30);
    assert_eq!(comments.len(), 1);
    let body = &comments[0].body;
    assert!(body.contains("Plan of `1111111` for 20 stacks."), "{body}");
    assert!(body.contains("| stack | region | plan |"), "{body}");
    assert!(
        body.contains("| s04 | eu-west-1 | Plan: 8 to create"),
        "{body}"
    );
    assert!(
        body.contains("`infra/s07.yaml` | - | could not be planned"),
        "{body}"
    );
    assert!(body.contains("UnauthorizedOperation"), "{body}");
    // Every other stack still has its plan and fingerprint.
    let marked = plan_meta(body).map(|m| m.stacks.len());
    assert_eq!(marked, Some(19), "{body}");
    assert!(body.len() <= 65_536);
    assert_eq!(w.gh.checks(HEAD)[0].state, "failure");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_yaml_in_a_pr_fails_the_status_with_annotations_and_calls_no_ec2() {
    let w = World::new("gh9");
    w.write_stack(&stack_yaml("gh9").replace("    type: t3.small\n", "    tpye: t3.small\n"));
    w.pull(40, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 40, HEAD), HEAD);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let stdout = String::from_utf8_lossy(&r.out.stdout);
    assert!(
        stdout.contains("::error file=infra/web.yaml,line=") && stdout.contains("tpye"),
        "{}",
        r.text()
    );
    let status = w.gh.checks(HEAD);
    assert_eq!(status[0].state, "failure");
    let body = &w.bot_comments(40)[0].body;
    assert!(
        body.contains("`infra/web.yaml`: invalid") && body.contains("did you mean `type`"),
        "{body}"
    );
    assert_eq!(w.proxy.total(), 0, "invalid YAML must not reach EC2");
}
