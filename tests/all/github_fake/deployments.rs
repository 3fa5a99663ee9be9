//! Commit statuses, and deployments that check them.

use octocrab::models::StatusState;
use serde_json::{Value, json};

use crate::support::github::BOT_LOGIN;

use super::{HEAD, MERGE, NAME, OWNER, REPO, fake_with_pr, octo, status_of};

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
