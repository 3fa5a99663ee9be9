//! Issue comments (create, edit, read, page, limits) and their reactions.

use octocrab::models::CommentId;
use octocrab::models::reactions::ReactionContent;
use serde_json::{Value, json};

use crate::support::github::{BOT_LOGIN, COMMENT_LIMIT};

use super::{NAME, OWNER, REPO, fake_with_pr, octo, status_of};

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
