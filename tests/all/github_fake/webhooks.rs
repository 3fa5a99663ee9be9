//! The webhook fixtures load, and parse as octocrab's events.

use serde_json::{Value, json};

use crate::support::webhooks;

use super::{HEAD, MERGE, NAME, OWNER, REPO};

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
