//! The parts of webhook payloads the action reads. Unknown fields are
//! ignored (payloads grow); missing required ones are a clear error.

use serde::Deserialize;

/// A user in a payload.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct User {
    /// Login.
    pub login: String,
    /// `User` or `Bot`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// A branch tip.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Tip {
    /// Commit.
    pub sha: String,
    /// Branch.
    #[serde(rename = "ref")]
    pub branch: String,
}

/// `pull_request.*` of a `pull_request` event.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PullRequest {
    /// Number.
    pub number: u64,
    /// Head.
    pub head: Tip,
    /// Base.
    pub base: Tip,
    /// Merged (only meaningful on `closed`).
    #[serde(default)]
    pub merged: Option<bool>,
}

/// A `pull_request` event.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PullRequestEvent {
    /// `opened`, `synchronize`, `reopened`, `closed`, …
    pub action: String,
    /// The PR.
    pub pull_request: PullRequest,
}

/// `issue` of an `issue_comment` event.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Issue {
    /// Issue or PR number.
    pub number: u64,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

/// `comment` of an `issue_comment` event.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Comment {
    /// Comment id.
    pub id: u64,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
    /// Author.
    pub user: User,
}

/// An `issue_comment` event.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct IssueCommentEvent {
    /// `created`, `edited`, `deleted`.
    pub action: String,
    /// The issue or PR.
    pub issue: Issue,
    /// The comment.
    pub comment: Comment,
}

/// A commit of a `push` event.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct PushCommit {
    /// Files added.
    #[serde(default)]
    pub added: Vec<String>,
    /// Files removed.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Files modified.
    #[serde(default)]
    pub modified: Vec<String>,
}

/// `repository` of a payload.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Repository {
    /// The default branch.
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// A `push` event.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PushEvent {
    /// `refs/heads/main`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The new tip.
    pub after: String,
    /// Commits pushed (up to 2048; file lists as GitHub gives them).
    #[serde(default)]
    pub commits: Vec<PushCommit>,
    /// The repository.
    pub repository: Repository,
}

impl PushEvent {
    /// Every file the pushed commits touch.
    pub fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .commits
            .iter()
            .flat_map(|c| c.added.iter().chain(&c.removed).chain(&c.modified))
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Whether the push is to the repository's default branch.
    pub fn is_default_branch(&self) -> bool {
        match &self.repository.default_branch {
            Some(b) => self.git_ref == format!("refs/heads/{b}"),
            None => false,
        }
    }
}

/// Parses a payload, naming the event in the error.
pub fn parse<T: serde::de::DeserializeOwned>(event: &str, text: &str) -> Result<T, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("the {event} event payload is not what GitHub sends: {e}"))
}
