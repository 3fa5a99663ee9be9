//! What the fake holds: the public records a test reads (pull requests,
//! comments, statuses, deployments, issues, check runs, requests) and the
//! private store behind them, per repository.

use std::collections::BTreeMap;

use serde_json::Value;

use super::clock::{CLOCK_START, rfc3339};
use super::faults::Fault;
use super::shas::is_sha;
use super::{BOT_ID, BOT_LOGIN};

/// A pull request as a test describes it. `..Default::default()` fills the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct PullSpec {
    pub number: u64,
    pub head_sha: String,
    pub head_ref: String,
    pub base_ref: String,
    /// The tip of the base branch the PR was opened against.
    pub base_sha: String,
    /// `true` makes the PR closed and merged (`merged_at`, `merged_by` set).
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    /// `"open"` or `"closed"` (a merged PR is closed whatever this says).
    pub state: String,
    pub author: String,
    pub title: String,
    /// `(path, status)`, status as GitHub's `diff-entry`: added, removed,
    /// modified, renamed, copied, changed, unchanged. A renamed file is written
    /// `"old/path -> new/path"`.
    pub files: Vec<(String, String)>,
    /// Whether an open PR merges cleanly into `base_sha`; GitHub's test
    /// merge (`merge_commit_sha`, [`test_merge_sha`] unless set) exists only
    /// when it does.
    pub mergeable: bool,
    /// How many `GET /pulls/N` answer `mergeable: null` (GitHub still
    /// computing the test merge) before the answer is known.
    pub mergeable_unknown_polls: u32,
    /// The head's repository when it is a fork (`mallory/infra`); `None`:
    /// this repository.
    pub head_repo: Option<String>,
}

impl Default for PullSpec {
    fn default() -> Self {
        Self {
            number: 1,
            head_sha: "1111111111111111111111111111111111111111".into(),
            head_ref: "feature".into(),
            base_ref: "main".into(),
            base_sha: "0000000000000000000000000000000000000001".into(),
            merged: false,
            merge_commit_sha: None,
            state: "open".into(),
            author: "octocat".into(),
            title: "Change the infrastructure".into(),
            files: Vec::new(),
            mergeable: true,
            mergeable_unknown_polls: 0,
            head_repo: None,
        }
    }
}

/// One issue or PR comment, as the fake holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct CommentState {
    pub id: u64,
    /// `owner/name`.
    pub repo: String,
    /// The issue or pull request number.
    pub issue: u64,
    pub user: String,
    pub body: String,
    /// Reaction contents in the order they were added (`"eyes"`, `"rocket"`…).
    pub reactions: Vec<String>,
    /// How many times it was edited (PATCH).
    pub updates: u32,
    pub created_at: String,
    pub updated_at: String,
}

/// A commit the merge queue made: its parents and the files it changes
/// (`(path, status)`).
pub(super) type QueueCommit = (Vec<String>, Vec<(String, String)>);

/// One commit status.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusState {
    pub id: u64,
    pub repo: String,
    pub sha: String,
    pub state: String,
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub creator: String,
}

/// One deployment with its statuses (oldest first).
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentState {
    pub id: u64,
    pub repo: String,
    pub ref_: String,
    pub sha: String,
    pub task: String,
    pub environment: String,
    pub description: Option<String>,
    pub payload: Value,
    pub transient_environment: bool,
    pub production_environment: bool,
    pub creator: String,
    pub statuses: Vec<DeploymentStatusState>,
}

/// One deployment status.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentStatusState {
    pub id: u64,
    pub state: String,
    pub description: String,
    pub environment: String,
    pub log_url: String,
    pub environment_url: String,
}

/// One issue (not a pull request).
#[derive(Clone, Debug, PartialEq)]
pub struct IssueState {
    pub number: u64,
    pub repo: String,
    pub title: String,
    pub body: Option<String>,
    /// `"open"` or `"closed"`.
    pub state: String,
    pub state_reason: Option<String>,
    pub labels: Vec<String>,
    pub user: String,
}

/// A check run the bot made, as the fake keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckRunState {
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub title: String,
    pub summary: String,
    pub text: String,
    /// `(path, start_line, level, message)`, in the order received.
    pub annotations: Vec<(String, u64, String, String)>,
    /// How many times it was updated after its creation.
    pub updates: u32,
}

/// One request the fake received, with the status it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?` (empty when none).
    pub query: String,
    /// The JSON body; `Null` when empty, a `String` when not JSON.
    pub body: Value,
    pub status: u16,
}

impl Recorded {
    /// `GET /repos/o/r/pulls/1?per_page=100`, for messages.
    pub fn line(&self) -> String {
        if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
}

pub(super) fn pull_state(p: &PullSpec) -> &'static str {
    if p.merged || p.state == "closed" {
        "closed"
    } else {
        "open"
    }
}

pub(super) struct Repo {
    pub(super) owner: String,
    pub(super) name: String,
    pub(super) id: u64,
    pub(super) pulls: BTreeMap<u64, PullSpec>,
    pub(super) pull_created: BTreeMap<u64, String>,
    pub(super) commit_pulls: BTreeMap<String, Vec<u64>>,
    pub(super) branches: BTreeMap<String, String>,
    pub(super) comments: Vec<CommentState>,
    pub(super) statuses: Vec<StatusState>,
    pub(super) status_created: BTreeMap<u64, String>,
    pub(super) deployments: Vec<DeploymentState>,
    pub(super) created: BTreeMap<u64, String>,
    pub(super) issues: BTreeMap<u64, IssueState>,
    pub(super) issue_times: BTreeMap<u64, (String, String, Option<String>)>,
    /// `(commit, path)` → bytes, for the contents API.
    pub(super) files: BTreeMap<(String, String), Vec<u8>>,
    /// The repository's labels: name → (colour, description).
    pub(super) labels: BTreeMap<String, (String, Option<String>)>,
    /// The labels on each pull request (issues keep theirs in `IssueState`).
    pub(super) pull_labels: BTreeMap<u64, Vec<String>>,
    /// Reviews per pull request: `(reviewer, state, commit)`, in order.
    pub(super) reviews: BTreeMap<u64, Vec<(String, String, String)>>,
    pub(super) check_runs: Vec<CheckRunState>,
    /// Commits the merge queue made: sha → (parents, files as
    /// `(path, status)`).
    pub(super) commits: BTreeMap<String, QueueCommit>,
}

impl Repo {
    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    pub(super) fn has_issue(&self, n: u64) -> bool {
        self.pulls.contains_key(&n) || self.issues.contains_key(&n)
    }

    pub(super) fn next_number(&self) -> u64 {
        let pulls = self.pulls.keys().next_back().copied().unwrap_or(0);
        let issues = self.issues.keys().next_back().copied().unwrap_or(0);
        pulls.max(issues) + 1
    }

    /// A branch name or a full SHA, as GitHub resolves a `ref`.
    pub(super) fn resolve(&self, r: &str) -> Option<String> {
        if is_sha(r) {
            return Some(r.to_string());
        }
        let short = r.strip_prefix("refs/heads/").unwrap_or(r);
        self.branches.get(short).cloned()
    }
}

pub(super) struct Inner {
    pub(super) base: String,
    pub(super) repos: BTreeMap<String, Repo>,
    pub(super) permissions: BTreeMap<String, String>,
    pub(super) user_ids: BTreeMap<String, u64>,
    pub(super) bot: String,
    pub(super) next_id: u64,
    pub(super) clock: u64,
    pub(super) requests: Vec<Recorded>,
    pub(super) unexpected: Vec<String>,
    pub(super) faults: Vec<Fault>,
    pub(super) down: bool,
    /// `(method, path)` patterns (as [`FakeGitHub::fail_next`]'s) that the
    /// token may not call: 403 "Resource not accessible by integration".
    pub(super) forbidden: Vec<(String, String)>,
    /// Every comment and issue body the bot wrote, with the request that
    /// wrote it: rendered with GitHub's engine when the fake is dropped.
    pub(super) written: Vec<(String, String)>,
    /// Set by tests that write hostile values on purpose: their escaped
    /// markup shows as text, so only the structure is checked.
    pub(super) literal_markup: bool,
}

impl Inner {
    pub(super) fn new(base: String) -> Self {
        Self {
            base,
            repos: BTreeMap::new(),
            permissions: BTreeMap::new(),
            user_ids: BTreeMap::new(),
            bot: BOT_LOGIN.to_string(),
            next_id: 1_000_001,
            clock: CLOCK_START,
            requests: Vec::new(),
            unexpected: Vec::new(),
            faults: Vec::new(),
            down: false,
            forbidden: Vec::new(),
            written: Vec::new(),
            literal_markup: false,
        }
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Advances the fake clock and returns the new time, RFC 3339.
    pub(super) fn tick(&mut self) -> String {
        self.clock += 1;
        rfc3339(self.clock)
    }

    pub(super) fn repo_mut(&mut self, owner_repo: &str) -> &mut Repo {
        let (owner, name) = owner_repo
            .split_once('/')
            .unwrap_or_else(|| panic!("repository {owner_repo:?} is not owner/name"));
        let id = 500_000 + self.repos.len() as u64;
        self.repos
            .entry(owner_repo.to_string())
            .or_insert_with(|| Repo {
                owner: owner.to_string(),
                name: name.to_string(),
                id,
                pulls: BTreeMap::new(),
                pull_created: BTreeMap::new(),
                commit_pulls: BTreeMap::new(),
                branches: BTreeMap::new(),
                check_runs: Vec::new(),
                commits: BTreeMap::new(),
                reviews: BTreeMap::new(),
                labels: BTreeMap::new(),
                pull_labels: BTreeMap::new(),
                comments: Vec::new(),
                statuses: Vec::new(),
                status_created: BTreeMap::new(),
                deployments: Vec::new(),
                created: BTreeMap::new(),
                issues: BTreeMap::new(),
                issue_times: BTreeMap::new(),
                files: BTreeMap::new(),
            })
    }

    pub(super) fn user_id(&mut self, login: &str) -> u64 {
        if login == BOT_LOGIN {
            return BOT_ID;
        }
        let next = 7_000_000 + self.user_ids.len() as u64;
        *self.user_ids.entry(login.to_string()).or_insert(next)
    }
}
