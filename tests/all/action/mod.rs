//! `ec2-gitops action` end to end: the real binary, driven by real webhook
//! payloads, talking to the stateful GitHub fake and to moto.
//!
//! This file holds the [`World`] every action test runs in (the other test
//! files use it too); the scenarios are in one file per topic.

mod accounts;
mod drift;
mod github_failures;
mod merge_queue;
mod plan_contents;
mod pull_requests;
mod stale_plans;

use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::engine::stack_yaml;
use crate::support::webhooks::{self, event_file};
use crate::support::{Ec2Proxy, FakeGitHub, Moto, PullSpec};

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
        self.merged(number, head, MERGE, &["infra/web.yaml"]);
        self.gh.add_commit_pulls(MERGE, &[number]);
    }

    /// PR `number` (head `head`) closed and merged as `merge`, having
    /// modified `files`.
    pub(crate) fn merged(&self, number: u64, head: &str, merge: &str, files: &[&str]) {
        self.gh.add_pull(
            REPO,
            PullSpec {
                number,
                head_sha: head.into(),
                merged: true,
                merge_commit_sha: Some(merge.into()),
                state: "closed".into(),
                files: files
                    .iter()
                    .map(|f| (f.to_string(), "modified".to_string()))
                    .collect(),
                ..PullSpec::default()
            },
        );
    }

    /// Launches, as someone would by hand, a server carrying the tags of
    /// `stack`'s `name` (EC2 moved since review).
    pub(crate) async fn launch_by_hand(&self, stack: &str, name: &str) {
        let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
        self.direct
            .run_instances()
            .image_id(crate::engine::IMAGE)
            .instance_type("t3.micro".into())
            .min_count(1)
            .max_count(1)
            .tag_specifications(
                aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                    .tags(tag("ec2-gitops:stack", stack))
                    .tags(tag("ec2-gitops:name", name))
                    .build(),
            )
            .send()
            .await
            .unwrap();
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
            .filter(|a| !crate::support::is_read(a))
            .collect()
    }
}
