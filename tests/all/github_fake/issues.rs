//! Issues: open, close, filter by label.

use serde_json::{Value, json};

use super::{NAME, OWNER, REPO, fake_with_pr, octo};

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
