//! The GitHub values the bot reads and writes: repositories, pull requests,
//! commits, comments, users. Plain data, deserialized from GitHub's answers.

use serde::Deserialize;

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// Owner (user or organisation).
    pub owner: String,
    /// Repository name.
    pub name: String,
}

impl Repo {
    /// Parses `owner/name` (`GITHUB_REPOSITORY`).
    pub fn parse(s: &str) -> Option<Repo> {
        let (owner, name) = s.split_once('/')?;
        (!owner.is_empty() && !name.is_empty() && !name.contains('/')).then(|| Repo {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

/// A branch tip of a pull request.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct GitRef {
    /// Commit SHA.
    pub sha: String,
    /// Branch name.
    #[serde(rename = "ref")]
    pub branch: String,
    /// The repository of the branch (`null` once a fork is deleted).
    #[serde(default)]
    pub repo: Option<RefRepo>,
}

/// The repository a branch is in.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RefRepo {
    /// `owner/name`.
    pub full_name: String,
}

/// The fields of a pull request the bot uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PullRequest {
    /// PR number.
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    /// Whether it was merged (absent in list answers: see `merged_at`).
    #[serde(default)]
    pub merged: Option<bool>,
    /// When it was merged.
    #[serde(default)]
    pub merged_at: Option<String>,
    /// The merge commit.
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    /// Head branch and SHA.
    pub head: GitRef,
    /// Base branch.
    pub base: GitRef,
    /// Whether the PR merges cleanly into its base: `None` while GitHub is
    /// still computing the test merge (absent in list answers).
    #[serde(default)]
    pub mergeable: Option<bool>,
    /// The labels on it.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Its author.
    #[serde(default)]
    pub user: Option<User>,
}

/// A review of a pull request.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Review {
    /// The reviewer (`null` for a deleted account).
    #[serde(default)]
    pub user: Option<User>,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`.
    pub state: String,
    /// The head commit the review was made on.
    #[serde(default)]
    pub commit_id: Option<String>,
}

/// A label, by name.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Label {
    /// Its name.
    pub name: String,
}

impl PullRequest {
    /// Whether its head is in another repository than `repo` (`owner/name`):
    /// a fork's pull request (also when the fork was deleted).
    pub fn is_fork(&self, repo: &Repo) -> bool {
        let ours = format!("{}/{}", repo.owner, repo.name);
        !self
            .head
            .repo
            .as_ref()
            .is_some_and(|r| r.full_name.eq_ignore_ascii_case(&ours))
    }

    /// True once merged.
    pub fn is_merged(&self) -> bool {
        self.merged.unwrap_or(false) || self.merged_at.is_some()
    }
}

/// A commit: its parents and the files it changes against its first parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The commit.
    pub sha: String,
    /// Parent SHAs, first parent first.
    pub parents: Vec<String>,
    /// Files changed against the first parent.
    pub files: Vec<ChangedFile>,
}

/// Where a pull request's test merge (the PR merged into its base) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestMerge {
    /// Computed: `merge_commit_sha` is the PR merged into its base.
    Ready(PullRequest),
    /// The PR conflicts with its base: there is no test merge.
    Conflict(PullRequest),
    /// GitHub had not computed it after the polls allowed.
    Pending(PullRequest),
    /// The PR is closed (merged or not): there is nothing to merge.
    Closed(PullRequest),
}

/// A comment's author.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct User {
    /// Login.
    pub login: String,
    /// `User` or `Bot`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// An issue or pull-request comment.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Comment {
    /// Comment id.
    pub id: u64,
    /// Markdown body.
    #[serde(default)]
    pub body: Option<String>,
    /// Author.
    pub user: User,
}

/// An issue as listed.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct IssueRef {
    /// Number.
    pub number: u64,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
    /// Author.
    pub user: User,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

/// A file a pull request changes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ChangedFile {
    /// Path from the repository root.
    pub filename: String,
    /// `added`, `modified`, `removed`, `renamed`, …
    pub status: String,
    /// The old path of a renamed file.
    #[serde(default)]
    pub previous_filename: Option<String>,
}

/// A user's access to the repository, from the collaborator-permission API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// Whether the user may push (write, maintain, admin, or a custom role
    /// built on write).
    pub push: bool,
    /// The role's name as GitHub gives it (`read`, `triage`, a custom role…),
    /// for the reply to a refused user.
    pub role: String,
}

/// A reaction the bot gives a command comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// 👀 received.
    Eyes,
    /// 🚀 done.
    Rocket,
    /// 😕 refused or failed.
    Confused,
}

impl Reaction {
    pub(super) fn content(self) -> &'static str {
        match self {
            Reaction::Eyes => "eyes",
            Reaction::Rocket => "rocket",
            Reaction::Confused => "confused",
        }
    }
}
