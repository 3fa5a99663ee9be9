//! Self-tests of the GitHub fake (tests/all/support/github.rs), driven by
//! octocrab the way the action drives GitHub, and of the webhook fixtures.

use std::io::{Read, Write};

use octocrab::Octocrab;
use octocrab::models::reactions::ReactionContent;
use octocrab::models::{CommentId, StatusState};
use serde_json::{Value, json};

use crate::support::github::{self, BOT_LOGIN, COMMENT_LIMIT};
use crate::support::webhooks;
use crate::support::{FakeGitHub, PullSpec};

const OWNER: &str = "acme";
const NAME: &str = "infra";
const REPO: &str = "acme/infra";
const HEAD: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const MERGE: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn octo(fake: &FakeGitHub) -> Octocrab {
    Octocrab::builder()
        .base_uri(fake.url())
        .expect("base uri")
        .personal_token("x".to_string())
        .build()
        .expect("octocrab")
}

fn fake_with_pr(files: usize) -> FakeGitHub {
    let fake = FakeGitHub::start();
    fake.add_pull(
        REPO,
        PullSpec {
            number: 7,
            head_sha: HEAD.into(),
            head_ref: "grow-web".into(),
            files: (0..files)
                .map(|i| (format!("infra/stack{i}.yaml"), "modified".to_string()))
                .collect(),
            ..Default::default()
        },
    );
    fake
}

/// The HTTP status of an octocrab error (panics on any other error).
fn status_of(err: octocrab::Error) -> u16 {
    match err {
        octocrab::Error::GitHub { source, .. } => source.status_code.as_u16(),
        other => panic!("expected a GitHub API error, got {other:?}"),
    }
}

/// One HTTP/1.1 request over a plain socket: (status, headers, body). For
/// what octocrab cannot send (no token) and for sync tests.
fn raw(
    fake: &FakeGitHub,
    method: &str,
    path: &str,
    token: bool,
    body: &str,
) -> (u16, String, String) {
    let addr = fake.url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect to the fake");
    let auth = if token {
        "Authorization: token x\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[tokio::test]
async fn comments_are_created_edited_read_and_listed_in_pages() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    let issues = octo.issues(OWNER, NAME);
    let mut ids = Vec::new();
    for i in 0..3 {
        let c = issues
            .create_comment(7, format!("comment {i}"))
            .await
            .unwrap();
        assert_eq!(c.user.login, BOT_LOGIN);
        assert_eq!(c.user.r#type, "Bot");
        assert_eq!(c.body.as_deref(), Some(format!("comment {i}").as_str()));
        ids.push(c.id);
    }
    let edited = issues.update_comment(ids[1], "edited").await.unwrap();
    assert_eq!(edited.body.as_deref(), Some("edited"));
    assert!(edited.updated_at.unwrap() > edited.created_at);
    let got = issues.get_comment(ids[1]).await.unwrap();
    assert_eq!(got.body.as_deref(), Some("edited"));

    let first = issues.list_comments(7).per_page(2).send().await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert!(first.prev.is_none());
    let second = octo
        .get_page::<octocrab::models::issues::Comment>(&first.next)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(second.next.is_none());
    assert_eq!(second.items[0].id, ids[2]);

    // The Link header, exactly as GitHub writes it.
    let url = fake.url();
    let response = octo
        ._get(format!(
            "{url}/repos/{REPO}/issues/7/comments?per_page=1&page=2"
        ))
        .await
        .unwrap();
    assert_eq!(
        response.headers()["link"].to_str().unwrap(),
        format!(
            "<{url}/repos/{REPO}/issues/7/comments?per_page=1&page=1>; rel=\"prev\", \
             <{url}/repos/{REPO}/issues/7/comments?per_page=1&page=3>; rel=\"next\", \
             <{url}/repos/{REPO}/issues/7/comments?per_page=1&page=3>; rel=\"last\", \
             <{url}/repos/{REPO}/issues/7/comments?per_page=1&page=1>; rel=\"first\""
        )
    );

    let state = fake.comments(7);
    assert_eq!(
        state
            .iter()
            .map(|c| (c.body.as_str(), c.updates))
            .collect::<Vec<_>>(),
        [("comment 0", 0), ("edited", 1), ("comment 2", 0)]
    );
    assert_eq!(fake.bot_comments().len(), 3);
    let writes: Vec<String> = fake.writes().iter().map(|w| w.method.clone()).collect();
    // octocrab's update_comment sends POST, which GitHub takes for PATCH.
    assert_eq!(writes, ["POST", "POST", "POST", "POST"]);
    assert_eq!(
        fake.writes()[3].path,
        format!("/repos/{REPO}/issues/comments/{}", ids[1])
    );
    assert_eq!(fake.writes()[3].body, json!({"body": "edited"}));
    assert!(fake.unexpected().is_empty());
}

#[tokio::test]
async fn comment_limits_and_foreign_edits_are_unexpected() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    let issues = octo.issues(OWNER, NAME);
    issues
        .create_comment(7, "x".repeat(COMMENT_LIMIT))
        .await
        .unwrap();
    let err = issues
        .create_comment(7, "x".repeat(COMMENT_LIMIT + 1))
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 422);
    let err = issues.create_comment(99, "no such PR").await.unwrap_err();
    assert_eq!(status_of(err), 404);
    let theirs = fake.add_comment(REPO, 7, "alice", "/plan");
    issues
        .update_comment(CommentId(theirs), "hijacked")
        .await
        .unwrap();
    let unexpected = fake.take_unexpected();
    assert_eq!(unexpected.len(), 3, "{unexpected:#?}");
    assert!(
        unexpected[0]
            .ends_with("→ 422 Validation Failed: body is too long (maximum is 65536 characters)"),
        "{}",
        unexpected[0]
    );
    assert!(
        unexpected[1].starts_with("POST /repos/acme/infra/issues/99/comments → 404"),
        "{}",
        unexpected[1]
    );
    assert!(
        unexpected[2].contains("written by alice"),
        "{}",
        unexpected[2]
    );
}

#[tokio::test]
async fn pull_requests_and_their_files_paginate() {
    let fake = fake_with_pr(250);
    fake.add_pull(
        REPO,
        PullSpec {
            number: 8,
            state: "closed".into(),
            ..Default::default()
        },
    );
    let octo = octo(&fake);
    let pulls = octo.pulls(OWNER, NAME);
    let pr = pulls.get(7).await.unwrap();
    assert_eq!(pr.number, 7);
    assert_eq!(pr.head.sha, HEAD);
    assert_eq!(pr.head.ref_field, "grow-web");
    assert_eq!(pr.base.ref_field, "main");
    assert_eq!(pr.changed_files, Some(250));
    assert_eq!(
        pr.base.repo.as_ref().unwrap().full_name.as_deref(),
        Some(REPO)
    );

    let page = pulls.list_files(7).await.unwrap();
    assert_eq!(page.items.len(), 30, "GitHub's default page size");
    let all = octo.all_pages(page).await.unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(all[249].filename, "infra/stack249.yaml");
    let big = octo
        .get::<Vec<Value>, _, _>(
            format!("/repos/{REPO}/pulls/7/files"),
            Some(&json!({"per_page": 100, "page": 3})),
        )
        .await
        .unwrap();
    assert_eq!(big.len(), 50);

    let open = pulls
        .list()
        .state(octocrab::params::State::Open)
        .per_page(100)
        .send()
        .await
        .unwrap();
    assert_eq!(open.items.iter().map(|p| p.number).collect::<Vec<_>>(), [7]);
    let all = pulls
        .list()
        .state(octocrab::params::State::All)
        .send()
        .await
        .unwrap();
    assert_eq!(
        all.items.iter().map(|p| p.number).collect::<Vec<_>>(),
        [8, 7]
    );
    assert!(fake.unexpected().is_empty());
}

#[tokio::test]
async fn reactions_are_kept_once_per_kind() {
    let fake = fake_with_pr(0);
    let id = fake.add_comment(REPO, 7, "alice", "/plan web");
    let octo = octo(&fake);
    let issues = octo.issues(OWNER, NAME);
    let eyes = issues
        .create_comment_reaction(id, ReactionContent::Eyes)
        .await
        .unwrap();
    assert_eq!(eyes.user.login, BOT_LOGIN);
    issues
        .create_comment_reaction(id, ReactionContent::Rocket)
        .await
        .unwrap();
    let again = issues
        .create_comment_reaction(id, ReactionContent::Eyes)
        .await
        .unwrap();
    assert_eq!(
        again.id, eyes.id,
        "the same reaction twice is the same reaction"
    );
    assert_eq!(fake.reactions(id), ["eyes", "rocket"]);
    assert_eq!(fake.comments(7)[0].reactions, ["eyes", "rocket"]);
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.path.ends_with("/reactions"))
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [201, 201, 200]
    );
    let comment = issues.get_comment(CommentId(id)).await.unwrap();
    assert_eq!(comment.user.login, "alice");

    let err = octo
        .post::<_, Value>(
            format!("/repos/{REPO}/issues/comments/{id}/reactions"),
            Some(&json!({"content": "thumbsup"})),
        )
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 422);
    assert_eq!(fake.take_unexpected().len(), 1);
}

#[tokio::test]
async fn permission_reports_legacy_levels_and_the_role() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    for (role, permission) in [
        ("admin", "admin"),
        ("maintain", "write"),
        ("write", "write"),
        ("triage", "read"),
        ("read", "read"),
        ("none", "none"),
    ] {
        fake.set_permission("bob", role);
        let answer: Value = octo
            .get(
                format!("/repos/{REPO}/collaborators/bob/permission"),
                None::<&()>,
            )
            .await
            .unwrap();
        assert_eq!(answer["permission"], permission, "{role}");
        assert_eq!(answer["role_name"], role);
        assert_eq!(answer["user"]["login"], "bob");
    }
    let err = octo
        .get::<Value, _, _>(
            format!("/repos/{REPO}/collaborators/stranger/permission"),
            None::<&()>,
        )
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 404);
    assert_eq!(fake.take_unexpected().len(), 1);
}

#[tokio::test]
async fn commit_statuses_are_recorded_and_listed_newest_first() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    let repos = octo.repos(OWNER, NAME);
    repos
        .create_status(HEAD.into(), StatusState::Pending)
        .context("ec2-gitops/plan".into())
        .send()
        .await
        .unwrap();
    let done = repos
        .create_status(HEAD.into(), StatusState::Success)
        .context("ec2-gitops/plan".into())
        .description("1 to add".into())
        .target("https://example.com/run/1".into())
        .send()
        .await
        .unwrap();
    assert_eq!(done.context.as_deref(), Some("ec2-gitops/plan"));
    let listed = repos.list_statuses(HEAD.into()).send().await.unwrap();
    assert_eq!(
        listed.items.iter().map(|s| s.state).collect::<Vec<_>>(),
        [StatusState::Success, StatusState::Pending]
    );
    let state = fake.statuses(HEAD);
    assert_eq!(state.len(), 2);
    assert_eq!(state[1].description.as_deref(), Some("1 to add"));
    assert_eq!(
        state[1].target_url.as_deref(),
        Some("https://example.com/run/1")
    );
    assert_eq!(state[1].creator, BOT_LOGIN);

    let err = repos
        .create_status(HEAD.into(), StatusState::Failure)
        .description("x".repeat(141))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 422);
    assert_eq!(fake.take_unexpected().len(), 1);
}

#[tokio::test]
async fn deployments_check_statuses_and_older_ones_become_inactive() {
    let fake = fake_with_pr(0);
    fake.set_branch(REPO, "main", MERGE);
    let octo = octo(&fake);
    let repos = octo.repos(OWNER, NAME);
    repos
        .create_status(MERGE.into(), StatusState::Pending)
        .context("ci".into())
        .send()
        .await
        .unwrap();

    // Like GitHub, unless told which contexts matter, a pending one refuses it.
    let deployments = repos.deployments();
    let err = deployments
        .create(MERGE)
        .environment("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 409);
    assert_eq!(fake.take_unexpected().len(), 1);

    let mut ids = Vec::new();
    for _ in 0..2 {
        let d = deployments
            .create("main")
            .environment("web")
            .description("apply web")
            .required_contexts(Vec::<String>::new())
            .auto_merge(false)
            .payload(json!({"stack": "web"}))
            .send()
            .await
            .unwrap();
        assert_eq!(d.sha, MERGE);
        assert_eq!(d.environment, "web");
        let status: Value = octo
            .post(
                format!("/repos/{REPO}/deployments/{}/statuses", d.id),
                Some(&json!({"state": "success", "description": "applied", "log_url": "https://example.com/run/2", "environment_url": "https://web.example.com"})),
            )
            .await
            .unwrap();
        assert_eq!(status["state"], "success");
        ids.push(d.id.0);
    }
    let state = fake.deployments();
    assert_eq!(state.len(), 2);
    assert_eq!(state[0].payload, json!({"stack": "web"}));
    assert_eq!(
        state[0]
            .statuses
            .iter()
            .map(|s| s.state.as_str())
            .collect::<Vec<_>>(),
        ["success", "inactive"],
        "auto_inactive"
    );
    assert_eq!(
        state[1]
            .statuses
            .iter()
            .map(|s| s.state.as_str())
            .collect::<Vec<_>>(),
        ["success"]
    );
    assert_eq!(state[1].statuses[0].log_url, "https://example.com/run/2");

    let listed = deployments.list().environment("web").send().await.unwrap();
    assert_eq!(
        listed.items.iter().map(|d| d.id.0).collect::<Vec<_>>(),
        [ids[1], ids[0]]
    );
    let statuses: Vec<Value> = octo
        .get(
            format!("/repos/{REPO}/deployments/{}/statuses", ids[0]),
            None::<&()>,
        )
        .await
        .unwrap();
    assert_eq!(statuses[0]["state"], "inactive");

    let err = deployments
        .create("no-such-branch")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 422);
    assert_eq!(fake.take_unexpected().len(), 1);
}

#[tokio::test]
async fn a_commit_lists_the_pull_requests_it_belongs_to() {
    let fake = fake_with_pr(0);
    fake.add_pull(
        REPO,
        PullSpec {
            number: 9,
            merged: true,
            merge_commit_sha: Some(MERGE.into()),
            ..Default::default()
        },
    );
    let octo = octo(&fake);
    let route = format!("/repos/{REPO}/commits/{MERGE}/pulls");
    let pulls: Vec<octocrab::models::pulls::PullRequest> =
        octo.get(&route, None::<&()>).await.unwrap();
    assert_eq!(pulls.iter().map(|p| p.number).collect::<Vec<_>>(), [9]);
    assert!(pulls[0].merged_at.is_some());
    assert_eq!(pulls[0].merge_commit_sha.as_deref(), Some(MERGE));

    fake.add_commit_pulls(MERGE, &[7]);
    let pulls: Vec<octocrab::models::pulls::PullRequest> =
        octo.get(&route, None::<&()>).await.unwrap();
    assert_eq!(pulls.iter().map(|p| p.number).collect::<Vec<_>>(), [7, 9]);
    let none: Vec<Value> = octo
        .get(
            format!("/repos/{REPO}/commits/{}/pulls", "c".repeat(40)),
            None::<&()>,
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn issues_open_close_and_filter_by_label() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    let issues = octo.issues(OWNER, NAME);
    let drift = issues
        .create("Drift in web")
        .body("1 to change")
        .labels(vec!["ec2-gitops-drift".to_string()])
        .send()
        .await
        .unwrap();
    assert_eq!(drift.number, 8, "after PR #7: issues and PRs share numbers");
    let found = issues
        .list()
        .state(octocrab::params::State::Open)
        .labels(&["ec2-gitops-drift".to_string()])
        .send()
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|i| i.number).collect::<Vec<_>>(),
        [8]
    );
    // Without a label filter, GitHub lists pull requests among issues.
    let everything = issues.list().send().await.unwrap();
    assert_eq!(
        everything
            .items
            .iter()
            .map(|i| (i.number, i.pull_request.is_some()))
            .collect::<Vec<_>>(),
        [(8, false), (7, true)]
    );

    issues
        .update(8)
        .state(octocrab::models::IssueState::Closed)
        .body("clean")
        .send()
        .await
        .unwrap();
    let label: Value = octo
        .post(
            format!("/repos/{REPO}/issues/8/labels"),
            Some(&json!({"labels": ["infra"]})),
        )
        .await
        .unwrap();
    assert_eq!(label.as_array().unwrap().len(), 2);
    let state = fake.issues();
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].state, "closed");
    assert_eq!(state[0].state_reason.as_deref(), Some("completed"));
    assert_eq!(state[0].body.as_deref(), Some("clean"));
    assert_eq!(state[0].labels, ["ec2-gitops-drift", "infra"]);
    let open = issues
        .list()
        .labels(&["ec2-gitops-drift".to_string()])
        .send()
        .await
        .unwrap();
    assert!(open.items.is_empty());
    assert!(fake.unexpected().is_empty());
}

#[tokio::test]
async fn injected_faults_answer_then_the_route_runs() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    fake.fail_next("GET", "/repos/acme/infra/pulls/7", 502, None, 1);
    assert_eq!(
        status_of(octo.pulls(OWNER, NAME).get(7).await.unwrap_err()),
        502
    );
    octo.pulls(OWNER, NAME).get(7).await.unwrap();
    assert_eq!(
        fake.requests().iter().map(|r| r.status).collect::<Vec<_>>(),
        [502, 200]
    );

    fake.fail_next(
        "POST",
        "/repos/acme/infra/issues/*/comments",
        429,
        Some(3),
        2,
    );
    let url = fake.url();
    for _ in 0..2 {
        let (status, headers, body) = raw(
            &fake,
            "POST",
            "/repos/acme/infra/issues/7/comments",
            true,
            r#"{"body":"hi"}"#,
        );
        assert_eq!(status, 429);
        assert!(headers.contains("retry-after: 3"), "{headers}");
        assert!(body.contains("secondary rate limit"), "{body}");
    }
    assert!(
        fake.comments(7).is_empty(),
        "a refused write changes nothing"
    );
    octo.issues(OWNER, NAME)
        .create_comment(7, "hi")
        .await
        .unwrap();

    fake.fail_next("*", "/repos/acme/infra", 403, Some(60), 1);
    let response = octo
        ._get(format!("{url}/repos/{REPO}/pulls/7"))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["retry-after"], "60");
    fake.fail_next("GET", "/repos/acme/infra/pulls", 403, None, 1);
    let response = octo
        ._get(format!("{url}/repos/{REPO}/pulls/7"))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");

    fake.set_down(true);
    assert_eq!(
        status_of(octo.pulls(OWNER, NAME).get(7).await.unwrap_err()),
        503
    );
    assert_eq!(
        status_of(
            octo.issues(OWNER, NAME)
                .create_comment(7, "x")
                .await
                .unwrap_err()
        ),
        503
    );
    fake.set_down(false);
    octo.pulls(OWNER, NAME).get(7).await.unwrap();
    assert_eq!(fake.comments(7).len(), 1);
    assert!(
        fake.unexpected().is_empty(),
        "injected answers are expected: {:?}",
        fake.unexpected()
    );
}

#[tokio::test]
async fn unknown_routes_bad_bodies_and_missing_tokens_are_unexpected() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    let err = octo
        .get::<Value, _, _>(format!("/repos/{REPO}/branches"), None::<&()>)
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 404);
    let err = octo
        .get::<Value, _, _>("/repos/other/repo/pulls/7", None::<&()>)
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 404);
    let err = octo
        .post::<_, Value>(
            format!("/repos/{REPO}/issues/7/comments"),
            Some(&json!({"text": "hi"})),
        )
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 422);
    let (status, _, body) = raw(&fake, "GET", "/repos/acme/infra/pulls/7", false, "");
    assert_eq!(status, 401);
    assert!(body.contains("Requires authentication"));

    let unexpected = fake.take_unexpected();
    assert_eq!(unexpected.len(), 4, "{unexpected:#?}");
    assert_eq!(
        unexpected[0],
        "GET /repos/acme/infra/branches → 404 Not Found"
    );
    assert!(
        unexpected[2].contains("\"body\" wasn't supplied"),
        "{}",
        unexpected[2]
    );
    assert_eq!(
        unexpected[3],
        "GET /repos/acme/infra/pulls/7 → 401 Requires authentication"
    );
    assert_eq!(fake.requests().len(), 4, "every request is recorded");
}

#[test]
#[should_panic(
    expected = "the GitHub fake got 1 unexpected request(s):\n  DELETE /repos/acme/infra/issues/comments/1 → 404"
)]
fn dropping_the_fake_fails_the_test_on_an_unexpected_request() {
    let fake = fake_with_pr(0);
    let clone = fake.clone();
    raw(
        &fake,
        "DELETE",
        "/repos/acme/infra/issues/comments/1",
        true,
        "",
    );
    drop(fake);
    // The last handle is the one that checks.
    drop(clone);
}

#[test]
fn a_sync_test_can_use_the_fake() {
    let fake = fake_with_pr(0);
    fake.set_permission("carol", "write");
    let (status, _, body) = raw(
        &fake,
        "GET",
        "/repos/acme/infra/collaborators/carol/permission",
        true,
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["permission"],
        "write"
    );
}

/// Every required property of `schema` (GitHub's OpenAPI) present in `value`,
/// recursively; types checked for scalars. Returns what is wrong.
fn shape_errors(value: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    let spec = github::openapi();
    let mut schema = schema;
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        schema = spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("no {r}"));
    }
    if value.is_null() {
        return; // nullability is not checked: the fake copies GitHub's own examples
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            shape_errors(value, s, at, out);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array) {
            let fits = alternatives.iter().any(|s| {
                let mut e = Vec::new();
                shape_errors(value, s, at, &mut e);
                e.is_empty()
            });
            if !fits {
                out.push(format!("{at}: fits none of {key}"));
            }
            return;
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ if schema.get("properties").is_some() => vec!["object"],
        _ => return,
    };
    let fits = types.iter().any(|t| match *t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    });
    if !fits {
        out.push(format!("{at}: {value} is not {types:?}"));
        return;
    }
    if let Some(object) = value.as_object() {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = required.as_str().unwrap();
            if !object.contains_key(key) {
                out.push(format!("{at}.{key}: missing"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (key, sub) in props {
                if let Some(v) = object.get(key) {
                    shape_errors(v, sub, &format!("{at}.{key}"), out);
                }
            }
        }
    }
    if let (Some(items), Some(sub)) = (value.as_array(), schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            shape_errors(v, sub, &format!("{at}[{i}]"), out);
        }
    }
}

/// The JSON schema of an operation's response in GitHub's OpenAPI description.
fn response_schema(path: &str, method: &str, status: &str) -> &'static Value {
    let spec = github::openapi();
    let mut response = &spec["paths"][path][method]["responses"][status];
    if let Some(r) = response.get("$ref").and_then(Value::as_str) {
        response = spec.pointer(r.trim_start_matches('#')).unwrap();
    }
    let schema = &response["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "no schema for {method} {path} {status}");
    schema
}

#[tokio::test]
async fn every_response_has_the_shape_github_documents() {
    let fake = fake_with_pr(2);
    fake.add_pull(
        REPO,
        PullSpec {
            number: 9,
            merged: true,
            merge_commit_sha: Some(MERGE.into()),
            ..Default::default()
        },
    );
    fake.set_permission("bob", "maintain");
    let octo = octo(&fake);
    let r = format!("/repos/{REPO}");
    let comment: Value = octo
        .post(
            format!("{r}/issues/7/comments"),
            Some(&json!({"body": "hi"})),
        )
        .await
        .unwrap();
    let id = comment["id"].as_u64().unwrap();
    let reaction: Value = octo
        .post(
            format!("{r}/issues/comments/{id}/reactions"),
            Some(&json!({"content": "eyes"})),
        )
        .await
        .unwrap();
    let status: Value = octo
        .post(
            format!("{r}/statuses/{HEAD}"),
            Some(&json!({"state": "success", "context": "c"})),
        )
        .await
        .unwrap();
    let deployment: Value = octo
        .post(
            format!("{r}/deployments"),
            Some(&json!({"ref": HEAD, "environment": "web", "required_contexts": []})),
        )
        .await
        .unwrap();
    let did = deployment["id"].as_u64().unwrap();
    let dstatus: Value = octo
        .post(
            format!("{r}/deployments/{did}/statuses"),
            Some(&json!({"state": "success"})),
        )
        .await
        .unwrap();
    let issue: Value = octo
        .post(
            format!("{r}/issues"),
            Some(&json!({"title": "Drift", "labels": ["drift"]})),
        )
        .await
        .unwrap();
    let patched: Value = octo
        .patch(format!("{r}/issues/10"), Some(&json!({"state": "closed"})))
        .await
        .unwrap();
    let edited: Value = octo
        .patch(
            format!("{r}/issues/comments/{id}"),
            Some(&json!({"body": "edited"})),
        )
        .await
        .unwrap();
    let labels: Value = octo
        .post(
            format!("{r}/issues/10/labels"),
            Some(&json!({"labels": ["x"]})),
        )
        .await
        .unwrap();
    // Labels, reviews and check runs (plan labels, apply requirements,
    // the plan's check run).
    let made_label: Value = octo
        .post(
            format!("{r}/labels"),
            Some(&json!({"name": "ec2-gitops: changes", "color": "fbca04", "description": "d"})),
        )
        .await
        .unwrap();
    let got_label: Value = octo
        .get(format!("{r}/labels/ec2-gitops%3A%20changes"), None::<&()>)
        .await
        .unwrap();
    let removed_label: Value = octo
        .delete(format!("{r}/issues/10/labels/x"), None::<&()>)
        .await
        .unwrap();
    fake.add_review(REPO, 7, "bob", "APPROVED", HEAD);
    let reviews: Value = octo
        .get(format!("{r}/pulls/7/reviews"), None::<&()>)
        .await
        .unwrap();
    let check: Value = octo
        .post(
            format!("{r}/check-runs"),
            Some(&json!({
                "name": "ec2-gitops/plan", "head_sha": HEAD, "status": "completed",
                "conclusion": "success",
                "output": {"title": "Plan: 1 to create", "summary": "s", "text": "t",
                    "annotations": [{"path": "infra/web.yaml", "start_line": 3, "end_line": 3,
                        "annotation_level": "warning", "message": "m"}]},
            })),
        )
        .await
        .unwrap();
    let check_id = check["id"].as_u64().unwrap();
    let updated_check: Value = octo
        .patch(
            format!("{r}/check-runs/{check_id}"),
            Some(&json!({"conclusion": "failure", "output": {"title": "x", "summary": "y"}})),
        )
        .await
        .unwrap();

    let get = |path: String| {
        let octo = octo.clone();
        async move { octo.get::<Value, _, _>(path, None::<&()>).await.unwrap() }
    };
    fake.set_file(REPO, HEAD, "infra/web.yaml", b"version: 1\n");
    let checks: Vec<(&str, &str, &str, Value)> = vec![
        (
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            "get",
            "200",
            get(format!("{r}/pulls/7")).await,
        ),
        (
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            "get",
            "200",
            get(format!("{r}/pulls/9")).await,
        ),
        (
            "/repos/{owner}/{repo}/pulls",
            "get",
            "200",
            get(format!("{r}/pulls?state=all")).await,
        ),
        (
            "/repos/{owner}/{repo}/pulls/{pull_number}/files",
            "get",
            "200",
            get(format!("{r}/pulls/7/files")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            "get",
            "200",
            get(format!("{r}/issues/7/comments")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            "post",
            "201",
            comment,
        ),
        (
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            "patch",
            "200",
            edited,
        ),
        (
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            "get",
            "200",
            get(format!("{r}/issues/comments/{id}")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            "post",
            "201",
            reaction,
        ),
        (
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            "get",
            "200",
            get(format!("{r}/issues/comments/{id}/reactions")).await,
        ),
        (
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            "get",
            "200",
            get(format!("{r}/collaborators/bob/permission")).await,
        ),
        (
            "/repos/{owner}/{repo}/statuses/{sha}",
            "post",
            "201",
            status,
        ),
        (
            "/repos/{owner}/{repo}/commits/{ref}/statuses",
            "get",
            "200",
            get(format!("{r}/commits/{HEAD}/statuses")).await,
        ),
        (
            "/repos/{owner}/{repo}/deployments",
            "post",
            "201",
            deployment,
        ),
        (
            "/repos/{owner}/{repo}/deployments",
            "get",
            "200",
            get(format!("{r}/deployments")).await,
        ),
        (
            "/repos/{owner}/{repo}/deployments/{deployment_id}",
            "get",
            "200",
            get(format!("{r}/deployments/{did}")).await,
        ),
        (
            "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
            "post",
            "201",
            dstatus,
        ),
        (
            "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
            "get",
            "200",
            get(format!("{r}/deployments/{did}/statuses")).await,
        ),
        (
            "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
            "get",
            "200",
            get(format!("{r}/commits/{MERGE}/pulls")).await,
        ),
        ("/repos/{owner}/{repo}/issues", "post", "201", issue),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}",
            "patch",
            "200",
            patched,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}",
            "get",
            "200",
            get(format!("{r}/issues/7")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues",
            "get",
            "200",
            get(format!("{r}/issues?state=all")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/labels",
            "post",
            "200",
            labels,
        ),
        (
            "/repos/{owner}/{repo}/contents/{path}",
            "get",
            "200",
            get(format!("{r}/contents/infra/web.yaml?ref={HEAD}")).await,
        ),
        ("/repos/{owner}/{repo}/labels", "post", "201", made_label),
        (
            "/repos/{owner}/{repo}/labels/{name}",
            "get",
            "200",
            got_label,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
            "delete",
            "200",
            removed_label,
        ),
        (
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
            "get",
            "200",
            reviews,
        ),
        ("/repos/{owner}/{repo}/check-runs", "post", "201", check),
        (
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            "patch",
            "200",
            updated_check,
        ),
    ];
    // The check itself finds a missing field and a wrong type.
    let mut broken = checks[5].3.clone();
    broken.as_object_mut().unwrap().remove("user");
    broken["id"] = json!("1");
    let mut errors = Vec::new();
    shape_errors(
        &broken,
        response_schema(checks[5].0, "post", "201"),
        "comment",
        &mut errors,
    );
    assert_eq!(
        errors,
        [
            "comment.user: missing",
            "comment.id: \"1\" is not [\"integer\"]"
        ]
    );

    let mut errors = Vec::new();
    for (path, method, status, value) in &checks {
        assert!(
            !value.is_null() && value.as_array().is_none_or(|a| !a.is_empty()),
            "{method} {path}: nothing to check"
        );
        shape_errors(
            value,
            response_schema(path, method, status),
            &format!("{method} {path}"),
            &mut errors,
        );
    }
    assert!(
        errors.is_empty(),
        "responses differ from GitHub's OpenAPI description:\n{}",
        errors.join("\n")
    );
    assert!(fake.unexpected().is_empty(), "{:?}", fake.unexpected());
}

#[test]
fn webhook_examples_load_and_parse_as_octocrab_events() {
    use octocrab::models::webhook_events::{WebhookEvent, WebhookEventPayload};

    for action in ["opened", "synchronize", "reopened", "closed"] {
        let mut payload = webhooks::pull_request(action);
        webhooks::set_repo(&mut payload, OWNER, NAME);
        webhooks::set_pr(&mut payload, 7, HEAD, "main");
        assert_eq!(payload["action"], action);
        assert_eq!(payload["repository"]["full_name"], REPO);
        assert_eq!(payload["pull_request"]["base"]["repo"]["full_name"], REPO);
        assert_eq!(payload["pull_request"]["head"]["sha"], HEAD);
        assert_eq!(
            payload["pull_request"]["url"],
            "https://api.github.com/repos/acme/infra/pulls/7"
        );
        let event =
            WebhookEvent::try_from_header_and_body("pull_request", &payload.to_string()).unwrap();
        let WebhookEventPayload::PullRequest(pr) = event.specific else {
            panic!("not a pull_request event")
        };
        assert_eq!(pr.number, 7);
        assert_eq!(pr.pull_request.head.sha, HEAD);
    }

    let merged = webhooks::merged_pr_closed();
    assert_eq!(merged["pull_request"]["merged"], true);
    assert!(merged["pull_request"]["merge_commit_sha"].is_string());
    assert!(merged["pull_request"]["merged_at"].is_string());
    let event =
        WebhookEvent::try_from_header_and_body("pull_request", &merged.to_string()).unwrap();
    let WebhookEventPayload::PullRequest(pr) = event.specific else {
        panic!("not a pull_request event")
    };
    assert_eq!(pr.pull_request.merged, Some(true));

    let mut comment = webhooks::issue_comment_on_pr("/plan web", "alice");
    webhooks::set_repo(&mut comment, OWNER, NAME);
    webhooks::set_pr(&mut comment, 7, HEAD, "main");
    webhooks::set_comment_id(&mut comment, 1_000_123);
    assert_eq!(comment["issue"]["number"], 7);
    assert_eq!(
        comment["issue"]["pull_request"]["url"],
        "https://api.github.com/repos/acme/infra/pulls/7"
    );
    assert_eq!(comment["comment"]["user"]["login"], "alice");
    assert_eq!(comment["sender"]["login"], "alice");
    assert_eq!(comment["comment"]["id"], 1_000_123);
    assert!(
        comment["comment"]["html_url"]
            .as_str()
            .unwrap()
            .ends_with("/acme/infra/pull/7#issuecomment-1000123")
    );
    assert!(
        comment["comment"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/repos/acme/infra/issues/comments/1000123")
    );
    let event =
        WebhookEvent::try_from_header_and_body("issue_comment", &comment.to_string()).unwrap();
    let WebhookEventPayload::IssueComment(ic) = event.specific else {
        panic!("not an issue_comment event")
    };
    assert!(ic.issue.pull_request.is_some());
    assert_eq!(ic.comment.body.as_deref(), Some("/plan web"));

    let mut push = webhooks::push(
        "refs/heads/main",
        HEAD,
        MERGE,
        &[("infra/web.yaml", "modified"), ("infra/db.yaml", "added")],
    );
    webhooks::set_repo(&mut push, OWNER, NAME);
    assert_eq!(push["after"], MERGE);
    assert_eq!(push["head_commit"]["id"], MERGE);
    assert_eq!(push["head_commit"]["modified"], json!(["infra/web.yaml"]));
    assert_eq!(push["commits"][0]["added"], json!(["infra/db.yaml"]));
    assert_eq!(push["repository"]["owner"]["login"], OWNER);
    let event = WebhookEvent::try_from_header_and_body("push", &push.to_string()).unwrap();
    let WebhookEventPayload::Push(p) = event.specific else {
        panic!("not a push event")
    };
    assert_eq!(p.r#ref, "refs/heads/main");

    let dispatch = webhooks::example("workflow_dispatch", |_| true);
    assert!(dispatch["ref"].is_string());

    let file = webhooks::event_file(&comment);
    let back: Value = serde_json::from_str(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
    assert_eq!(back, comment);
}

#[tokio::test]
async fn contents_serve_files_by_commit_like_github() {
    use ec2_gitops::github::{GitHub, Repo, RetryPolicy};
    let fake = fake_with_pr(2);
    fake.set_file(REPO, HEAD, "infra/prod web/é.yaml", b"stack: web\n");
    fake.set_file(REPO, HEAD, "big.yaml", &vec![b'#'; 1024 * 1024 + 1]);
    let gh = GitHub::new(
        &fake.url(),
        "t",
        Repo::parse(REPO).unwrap(),
        RetryPolicy::default(),
    )
    .unwrap();
    assert_eq!(
        gh.file_at("infra/prod web/é.yaml", HEAD).await.unwrap(),
        Some(b"stack: web\n".to_vec())
    );
    assert_eq!(
        gh.file_at("infra/prod web/é.yaml", MERGE).await.unwrap(),
        None
    );
    let big = gh.file_at("big.yaml", HEAD).await.unwrap_err().to_string();
    assert!(big.contains("only inlines files up to 1 MB"), "{big}");
    // 404s are answers here, not surprises.
    fake.take_unexpected();
}
