//! Pull requests, their files, the pull requests of a commit, and the
//! contents of a file at a commit.

use serde_json::{Value, json};

use crate::support::PullSpec;

use super::{HEAD, MERGE, NAME, OWNER, REPO, fake_with_pr, octo};

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
