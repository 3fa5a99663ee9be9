//! What a test asserts on: the state the bot left in the fake and the
//! requests it made.

use std::collections::BTreeMap;

use super::FakeGitHub;
use super::state::{
    CheckRunState, CommentState, DeploymentState, IssueState, PullSpec, Recorded, StatusState,
};

impl FakeGitHub {
    /// The pull request as the fake holds it now.
    pub fn pull(&self, owner_repo: &str, number: u64) -> Option<PullSpec> {
        self.inner()
            .repos
            .get(owner_repo)
            .and_then(|r| r.pulls.get(&number).cloned())
    }

    /// Comments on issue or PR `issue` (any repository), oldest first.
    pub fn comments(&self, issue: u64) -> Vec<CommentState> {
        self.inner()
            .repos
            .values()
            .flat_map(|r| r.comments.iter().filter(|c| c.issue == issue).cloned())
            .collect()
    }

    /// Every comment the bot user wrote, in every repository, oldest first.
    pub fn bot_comments(&self) -> Vec<CommentState> {
        let inner = self.inner();
        inner
            .repos
            .values()
            .flat_map(|r| r.comments.iter().filter(|c| c.user == inner.bot).cloned())
            .collect()
    }

    /// Reaction contents on a comment, in the order they were added.
    pub fn reactions(&self, comment_id: u64) -> Vec<String> {
        self.inner()
            .repos
            .values()
            .flat_map(|r| r.comments.iter())
            .find(|c| c.id == comment_id)
            .map(|c| c.reactions.clone())
            .unwrap_or_default()
    }

    /// Commit statuses on `sha` (any repository), oldest first.
    pub fn statuses(&self, sha: &str) -> Vec<StatusState> {
        self.inner()
            .repos
            .values()
            .flat_map(|r| r.statuses.iter().filter(|s| s.sha == sha).cloned())
            .collect()
    }

    /// Every deployment with its statuses, oldest first.
    pub fn deployments(&self) -> Vec<DeploymentState> {
        self.inner()
            .repos
            .values()
            .flat_map(|r| r.deployments.iter().cloned())
            .collect()
    }

    /// Every issue (pull requests excluded), by number.
    pub fn issues(&self) -> Vec<IssueState> {
        self.inner()
            .repos
            .values()
            .flat_map(|r| r.issues.values().cloned())
            .collect()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner().requests.clone()
    }

    /// Every request but GETs (and HEADs), in order.
    pub fn writes(&self) -> Vec<Recorded> {
        self.inner()
            .requests
            .iter()
            .filter(|r| r.method != "GET" && r.method != "HEAD")
            .cloned()
            .collect()
    }

    /// The labels on pull request or issue `n`.
    pub fn labels_on(&self, n: u64) -> Vec<String> {
        let inner = self.inner();
        inner
            .repos
            .values()
            .find_map(|r| {
                r.issues
                    .get(&n)
                    .map(|i| i.labels.clone())
                    .or_else(|| r.pull_labels.get(&n).cloned())
            })
            .unwrap_or_default()
    }

    /// What GitHub shows as checks of commit `sha`: its check runs (state
    /// their conclusion, description their title), then its commit
    /// statuses, oldest first.
    pub fn checks(&self, sha: &str) -> Vec<StatusState> {
        let bot = self.inner().bot.clone();
        let mut out: Vec<StatusState> = self
            .check_runs(sha)
            .into_iter()
            .map(|c| StatusState {
                id: c.id,
                repo: String::new(),
                sha: c.head_sha,
                state: c.conclusion.unwrap_or(c.status),
                context: c.name,
                description: Some(c.title),
                target_url: None,
                creator: bot.clone(),
            })
            .collect();
        out.extend(self.statuses(sha));
        out
    }

    /// The check runs on commit `sha`, oldest first.
    pub fn check_runs(&self, sha: &str) -> Vec<CheckRunState> {
        let inner = self.inner();
        inner
            .repos
            .values()
            .flat_map(|r| r.check_runs.iter().filter(|c| c.head_sha == sha).cloned())
            .collect()
    }

    /// The repository's labels: name → (colour, description).
    pub fn repo_labels(&self, owner_repo: &str) -> BTreeMap<String, (String, Option<String>)> {
        self.inner().repo_mut(owner_repo).labels.clone()
    }
}
