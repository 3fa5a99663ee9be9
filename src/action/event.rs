//! The parts of webhook payloads the action reads. Unknown fields are
//! ignored (payloads grow); missing required ones are a clear error.

use serde::Deserialize;

/// A payload's users and comments have the REST API's shape.
pub use crate::github::{Comment, User};

/// A repository named in a payload.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RepoRef {
    /// `owner/name`.
    pub full_name: String,
}

/// A branch tip.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Tip {
    /// Commit.
    pub sha: String,
    /// Branch.
    #[serde(rename = "ref")]
    pub branch: String,
    /// The repository of the branch (`null` when a fork was deleted).
    #[serde(default)]
    pub repo: Option<RepoRef>,
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

impl PullRequest {
    /// The repository the head branch lives in, when it is not the base
    /// repository: the pull request comes from a fork.
    pub fn fork(&self) -> Option<String> {
        let base = &self.base.repo.as_ref()?.full_name;
        match &self.head.repo {
            Some(head) if head.full_name.eq_ignore_ascii_case(base) => None,
            Some(head) => Some(head.full_name.clone()),
            None => Some("a fork that was deleted".into()),
        }
    }
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
    /// Its labels (the drift issue carries the tool's).
    #[serde(default)]
    pub labels: Vec<IssueLabel>,
}

/// A label in a payload.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct IssueLabel {
    /// Its name.
    pub name: String,
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
    /// The commit.
    #[serde(default)]
    pub id: String,
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
    /// The tip before the push (the base a merge was made onto).
    #[serde(default)]
    pub before: String,
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

/// `merge_group` of a `merge_group` event: the queue's temporary branch.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct MergeGroup {
    /// The commit the queue would merge (what the checks run on).
    pub head_sha: String,
    /// `refs/heads/gh-readonly-queue/main/pr-N-SHA`.
    pub head_ref: String,
    /// The base branch's tip the group is built on.
    pub base_sha: String,
    /// `refs/heads/main`.
    pub base_ref: String,
}

/// A `merge_group` event.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct MergeGroupEvent {
    /// `checks_requested` or `destroyed`.
    pub action: String,
    /// The group.
    pub merge_group: MergeGroup,
}

impl MergeGroup {
    /// The base branch's name (`main`).
    pub fn base_branch(&self) -> &str {
        self.base_ref
            .strip_prefix("refs/heads/")
            .unwrap_or(&self.base_ref)
    }
}

/// The event a run is for, its payload typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `pull_request` or `pull_request_target`.
    PullRequest(PullRequestEvent),
    /// `issue_comment`: a command, on a pull request or the drift issue.
    IssueComment(IssueCommentEvent),
    /// `push`.
    Push(PushEvent),
    /// `merge_group`: the merge queue asks for the checks of a group.
    MergeGroup(MergeGroupEvent),
    /// `schedule` or `workflow_dispatch`: the drift check.
    Schedule,
    /// An event the action does nothing for.
    Other(String),
}

impl Event {
    /// The payload of the event `name` (`GITHUB_EVENT_NAME`), typed; an
    /// error says what is wrong with it.
    pub fn parse(name: &str, payload: &[u8]) -> Result<Event, String> {
        Ok(match name {
            "pull_request" | "pull_request_target" => Event::PullRequest(parse(name, payload)?),
            "issue_comment" => Event::IssueComment(parse(name, payload)?),
            "push" => Event::Push(parse(name, payload)?),
            "merge_group" => Event::MergeGroup(parse(name, payload)?),
            "schedule" | "workflow_dispatch" => Event::Schedule,
            other => Event::Other(other.to_string()),
        })
    }
}

/// Parses a payload, naming the event in the error.
pub fn parse<T: serde::de::DeserializeOwned>(event: &str, bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes)
        .map_err(|e| format!("the {event} event payload is not what GitHub sends: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(head: Option<&str>, base: &str) -> PullRequest {
        let repo = |n: &str| {
            Some(RepoRef {
                full_name: n.into(),
            })
        };
        PullRequest {
            number: 1,
            head: Tip {
                sha: "a".into(),
                branch: "b".into(),
                repo: head.and_then(repo),
            },
            base: Tip {
                sha: "c".into(),
                branch: "main".into(),
                repo: repo(base),
            },
            merged: None,
        }
    }

    #[test]
    fn a_head_in_another_repository_is_a_fork() {
        assert_eq!(pr(Some("octo/infra"), "octo/infra").fork(), None);
        assert_eq!(pr(Some("Octo/Infra"), "octo/infra").fork(), None);
        assert_eq!(
            pr(Some("mallory/infra"), "octo/infra").fork().as_deref(),
            Some("mallory/infra")
        );
        assert!(pr(None, "octo/infra").fork().is_some());
    }

    #[test]
    fn errors_name_the_event_and_the_problem() {
        let e = parse::<PullRequestEvent>("pull_request", b"{\"action\": \"opened\"}").unwrap_err();
        assert!(e.starts_with("the pull_request event payload is not what GitHub sends: missing field `pull_request`"), "{e}");
        assert!(parse::<PushEvent>("push", &[0xff, 0xfe]).is_err());
    }
}
