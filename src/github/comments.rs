//! Comments and issues: found by the bot's own marker, created once.

use http::Method;

use super::transport::{Resend, parse_answer};
use super::{Comment, GitHub, GitHubError, IssueRef, Reaction};
use crate::marker::{self, Marker};

impl GitHub {
    /// The first comment on an issue or PR that this token's identity wrote
    /// and whose marker `want` accepts, with that marker. A marker in anyone
    /// else's comment (a person quoting it, another app) is never read.
    pub async fn find_comment(
        &self,
        number: u64,
        want: impl Fn(&Marker) -> bool,
    ) -> Result<Option<(Comment, Marker)>, GitHubError> {
        let me = self.identity().await?;
        let ours = |c: &Comment| {
            marker::trusted(&c.user.login, &me, c.body.as_deref().unwrap_or("")).filter(|m| want(m))
        };
        let all: Vec<Comment> = self
            .list(&self.path(&format!("/issues/{number}/comments")), |c| {
                ours(c).is_some()
            })
            .await?;
        Ok(all.into_iter().find_map(|c| ours(&c).map(|m| (c, m))))
    }

    /// The last comment on an issue that this token's identity wrote and
    /// whose marker `want` accepts (every page is read).
    pub async fn find_last_comment(
        &self,
        number: u64,
        want: impl Fn(&Marker) -> bool,
    ) -> Result<Option<(Comment, Marker)>, GitHubError> {
        let me = self.identity().await?;
        let ours = |c: &Comment| {
            marker::trusted(&c.user.login, &me, c.body.as_deref().unwrap_or("")).filter(|m| want(m))
        };
        let all: Vec<Comment> = self
            .list(&self.path(&format!("/issues/{number}/comments")), |_| false)
            .await?;
        Ok(all.into_iter().rev().find_map(|c| ours(&c).map(|m| (c, m))))
    }

    /// Posts a comment, once: `body` starts with its marker, and when the
    /// answer to the POST is lost (no answer, or a server error that may
    /// have come after the comment was made) the comments are searched for
    /// that marker before the POST is sent again.
    pub async fn create_comment(&self, number: u64, body: &str) -> Result<Comment, GitHubError> {
        let path = self.path(&format!("/issues/{number}/comments"));
        let marker = Marker::parse(body);
        self.create_once(&path, &serde_json::json!({ "body": body }), || async {
            let found = self
                .find_comment(number, |m| Some(m) == marker.as_ref())
                .await?;
            Ok(found.map(|(c, _)| c))
        })
        .await
    }

    /// POSTs `body` to `path` to create something, at most once: when the
    /// answer is lost (no answer, or a server error that may have come after
    /// the creation), `find` looks for what the POST may have made before it
    /// is sent again.
    async fn create_once<T, F, Fut>(
        &self,
        path: &str,
        body: &serde_json::Value,
        find: F,
    ) -> Result<T, GitHubError>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, GitHubError>>,
    {
        let mut last = None;
        for _ in 0..self.retry.attempts.max(1) {
            match self
                .call_with(Method::POST, path, Some(body), Resend::NotIfMaybeDone)
                .await
            {
                Ok((_, _, text)) => return parse_answer(&Method::POST, path, &text),
                Err(e) if e.maybe_done => {
                    tracing::warn!(%path, error = %e, "create unanswered; looking for it before sending it again");
                    if let Some(made) = find().await? {
                        return Ok(made);
                    }
                    tokio::time::sleep(self.retry.backoff).await;
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// Replaces a comment's body.
    pub async fn update_comment(&self, id: u64, body: &str) -> Result<Comment, GitHubError> {
        self.json(
            Method::PATCH,
            &self.path(&format!("/issues/comments/{id}")),
            Some(&serde_json::json!({ "body": body })),
        )
        .await
    }

    /// Reacts to a comment.
    pub async fn react(&self, comment_id: u64, reaction: Reaction) -> Result<(), GitHubError> {
        self.call(
            Method::POST,
            &self.path(&format!("/issues/comments/{comment_id}/reactions")),
            Some(&serde_json::json!({ "content": reaction.content() })),
        )
        .await
        .map(|_| ())
    }

    /// The open issue (not PR) with `label` that this token's identity
    /// opened and whose marker `want` accepts.
    pub async fn find_issue(
        &self,
        label: &str,
        want: impl Fn(&Marker) -> bool,
    ) -> Result<Option<IssueRef>, GitHubError> {
        let me = self.identity().await?;
        let found = |i: &IssueRef| {
            i.pull_request.is_none()
                && marker::trusted(&i.user.login, &me, i.body.as_deref().unwrap_or(""))
                    .is_some_and(|m| want(&m))
        };
        let all: Vec<IssueRef> = self
            .list(
                &self.path(&format!("/issues?state=open&labels={label}")),
                found,
            )
            .await?;
        Ok(all.into_iter().find(found))
    }

    /// Opens an issue with a label, once (as [`Self::create_comment`]: a
    /// lost answer is looked for by the body's marker before sending again);
    /// returns its number.
    pub async fn create_issue(
        &self,
        title: &str,
        body: &str,
        label: &str,
    ) -> Result<u64, GitHubError> {
        let path = self.path("/issues");
        let marker = Marker::parse(body);
        let issue: IssueRef = self
            .create_once(
                &path,
                &serde_json::json!({ "title": title, "body": body, "labels": [label] }),
                || async { self.find_issue(label, |m| Some(m) == marker.as_ref()).await },
            )
            .await?;
        Ok(issue.number)
    }

    /// Edits an issue's body, and closes it when `close`.
    pub async fn update_issue(
        &self,
        number: u64,
        body: &str,
        close: bool,
    ) -> Result<(), GitHubError> {
        let mut patch = serde_json::json!({ "body": body });
        if close {
            patch["state"] = "closed".into();
            patch["state_reason"] = "completed".into();
        }
        self.call(
            Method::PATCH,
            &self.path(&format!("/issues/{number}")),
            Some(&patch),
        )
        .await
        .map(|_| ())
    }
}
