//! A stateful fake of the GitHub REST API: the endpoints the action uses, and
//! nothing else.
//!
//! It is an HTTP server on 127.0.0.1 (pass [`FakeGitHub::url`] as
//! `GITHUB_API_URL`), running on its own thread and runtime so sync and async
//! tests can share it. It keeps what the bot wrote (comments, reactions,
//! statuses, deployments, issues) per repository `owner/name`, answers with
//! GitHub's response shapes (each built from the documented example of its
//! schema in npm `@octokit/openapi`, with the fields the fake models filled in),
//! and records every request.
//!
//! Strictness: every 4xx answer the fake gives on its own (a route it does not
//! implement, a body GitHub would refuse, a resource the test never created, a
//! missing token…) is also recorded in [`FakeGitHub::unexpected`], and dropping
//! the last handle panics when that list is not empty, so a test fails when the
//! bot did something nobody expected. Answers injected with
//! [`FakeGitHub::fail_next`] or [`FakeGitHub::set_down`] are not unexpected.
//! A test that provokes an unexpected request on purpose takes it back with
//! [`FakeGitHub::take_unexpected`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

// GitHub's own Markdown engine, for what the bot writes.
#[path = "../../../crates/core/src/render/tests/gfm.rs"]
mod gfm;

/// The login GitHub shows as the author of what a workflow's `GITHUB_TOKEN` writes.
pub const BOT_LOGIN: &str = "github-actions[bot]";
/// GitHub's user id of `github-actions[bot]`.
const BOT_ID: u64 = 41_898_282;
/// GitHub's limit on an issue comment's body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// GitHub's limit on a commit status's description, in characters.
const STATUS_DESCRIPTION_LIMIT: usize = 140;
/// The fake clock starts at 2024-05-01T12:00:00Z and ticks one second per write,
/// so timestamps are ordered and the same in every run.
const CLOCK_START: u64 = 1_714_564_800;

const REACTIONS: [&str; 8] = [
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];
const DOCS: &str = "https://docs.github.com/rest";

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

/// The SHA of the fake's test merge of `head` into `base` (GitHub's
/// `refs/pull/N/merge`): its parents are `base`, then `head`.
pub fn test_merge_sha(head: &str, base: &str) -> String {
    fake_sha(&format!("test-merge:{base}:{head}"))
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

/// A handle on a running fake; clones share it. Dropping the last one stops
/// the server and panics if an unexpected request was recorded.
#[derive(Clone)]
pub struct FakeGitHub {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Arc<Mutex<Inner>>,
    url: String,
    shutdown: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(tx) = self
            .shutdown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = tx.send(());
        }
        if std::thread::panicking() {
            return;
        }
        let (unexpected, written, literal) = {
            let inner = lock(&self.inner);
            (
                inner.unexpected.clone(),
                inner.written.clone(),
                inner.literal_markup,
            )
        };
        let mut rendering = Vec::new();
        for (request, body) in &written {
            let problems = if literal {
                gfm::structure_problems(body)
            } else {
                gfm::problems(body)
            };
            if !problems.is_empty() {
                rendering.push(format!("{request}: {problems:?}\n{body}"));
            }
        }
        if !rendering.is_empty() {
            panic!(
                "GitHub's Markdown engine (cmark-gfm) renders {} body the bot wrote badly:\n{}",
                rendering.len(),
                rendering.join("\n\n")
            );
        }
        if !unexpected.is_empty() {
            panic!(
                "the GitHub fake got {} unexpected request(s):\n  {}\n(a test that expects one takes it with FakeGitHub::take_unexpected)",
                unexpected.len(),
                unexpected.join("\n  ")
            );
        }
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A panic elsewhere must not hide what the fake recorded.
    inner.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeGitHub {
    /// Starts a fake on a free loopback port, with no repository yet.
    pub fn start() -> Self {
        // Parse the OpenAPI description before the first request, not inside it.
        let _ = examples();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let inner = Arc::new(Mutex::new(Inner::new(url.clone())));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(inner.clone());
        std::thread::Builder::new()
            .name("github-fake".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("github fake runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    let shutdown = async move {
                        let _ = rx.await;
                    };
                    // Kept-alive client connections must not keep the thread
                    // alive past the test: stop at once, not gracefully.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = shutdown => {}
                    }
                });
            })
            .expect("spawn github fake");
        Self {
            shared: Arc::new(Shared {
                inner,
                url,
                shutdown: Mutex::new(Some(tx)),
            }),
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash): `GITHUB_API_URL`.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.shared.inner)
    }

    /// Makes the repository `owner/name` exist (idempotent).
    pub fn add_repo(&self, owner_repo: &str) {
        self.inner().repo_mut(owner_repo);
    }

    /// Adds or replaces a pull request (its comments are kept). Its head
    /// branch also resolves to its head SHA (for deployments).
    pub fn add_pull(&self, owner_repo: &str, pull: PullSpec) {
        let mut inner = self.inner();
        let now = inner.tick();
        let repo = inner.repo_mut(owner_repo);
        repo.branches
            .insert(pull.head_ref.clone(), pull.head_sha.clone());
        repo.pull_created.entry(pull.number).or_insert(now);
        repo.pulls.insert(pull.number, pull);
    }

    /// The pull request as the fake holds it now.
    pub fn pull(&self, owner_repo: &str, number: u64) -> Option<PullSpec> {
        self.inner()
            .repos
            .get(owner_repo)
            .and_then(|r| r.pulls.get(&number).cloned())
    }

    /// Makes `GET /repos/{o}/{r}/commits/{sha}/pulls` also list these PRs, in
    /// every repository that has them. A PR whose head SHA or merge commit is
    /// `sha` is listed without this.
    pub fn add_commit_pulls(&self, sha: &str, numbers: &[u64]) {
        let mut inner = self.inner();
        let mut found = BTreeSet::new();
        for repo in inner.repos.values_mut() {
            for n in numbers {
                if repo.pulls.contains_key(n) {
                    found.insert(*n);
                    let list = repo.commit_pulls.entry(sha.to_string()).or_default();
                    if !list.contains(n) {
                        list.push(*n);
                    }
                }
            }
        }
        let missing: Vec<_> = numbers.iter().filter(|n| !found.contains(n)).collect();
        assert!(
            missing.is_empty(),
            "add_commit_pulls: no pull request {missing:?}; add_pull first"
        );
    }

    /// Makes a branch name resolve to a SHA (deployments may name a branch).
    pub fn set_branch(&self, owner_repo: &str, branch: &str, sha: &str) {
        self.inner()
            .repo_mut(owner_repo)
            .branches
            .insert(branch.to_string(), sha.to_string());
    }

    /// Stores a file's content at a commit, for `GET /repos/…/contents/{path}?ref=`.
    pub fn set_file(&self, owner_repo: &str, sha: &str, path: &str, content: &[u8]) {
        self.inner()
            .repo_mut(owner_repo)
            .files
            .insert((sha.to_string(), path.to_string()), content.to_vec());
    }

    /// Sets a user's role on every repository: `admin`, `maintain`, `write`,
    /// `triage`, `read` or `none` (a known user with no access). The API's
    /// `permission` reports maintain as write and triage as read, `role_name`
    /// the role itself. A user never set answers 404 (and is unexpected).
    pub fn set_permission(&self, user: &str, role: &str) {
        assert!(
            ["admin", "maintain", "write", "triage", "read", "none"].contains(&role),
            "set_permission: unknown role {role:?}"
        );
        self.inner()
            .permissions
            .insert(user.to_string(), role.to_string());
    }

    /// Gives `user` a custom repository role `name` built on the base role
    /// `base` (as an organisation defines them): GitHub answers `role_name:
    /// name`, `permission` and `user.permissions` from the base.
    pub fn set_custom_role(&self, user: &str, name: &str, base: &str) {
        assert!(
            ["read", "triage", "write", "maintain"].contains(&base),
            "set_custom_role: a custom role builds on read, triage, write or maintain, not {base:?}"
        );
        self.inner()
            .permissions
            .insert(user.to_string(), format!("{name}:{base}"));
    }

    /// Changes whose name the fake writes as author of what the bot's token writes.
    pub fn set_bot_user(&self, login: &str) {
        self.inner().bot = login.to_string();
    }

    /// Adds a comment written by `user` (a reviewer's `/plan`, an old bot
    /// comment…) and returns its id. The issue or PR must exist.
    pub fn add_comment(&self, owner_repo: &str, issue: u64, user: &str, body: &str) -> u64 {
        let mut inner = self.inner();
        let id = inner.next_id();
        let now = inner.tick();
        let repo = inner.repo_mut(owner_repo);
        assert!(
            repo.has_issue(issue),
            "add_comment: {owner_repo} has no issue or PR #{issue}"
        );
        repo.comments.push(CommentState {
            id,
            repo: owner_repo.to_string(),
            issue,
            user: user.to_string(),
            body: body.to_string(),
            reactions: Vec::new(),
            updates: 0,
            created_at: now.clone(),
            updated_at: now,
        });
        id
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

    /// Puts a label on pull request `n`, as a person would (creating the
    /// label when the repository has none of that name).
    pub fn add_pull_label(&self, owner_repo: &str, n: u64, name: &str) {
        let mut inner = self.inner();
        let r = inner.repo_mut(owner_repo);
        r.labels
            .entry(name.to_string())
            .or_insert_with(|| ("ededed".to_string(), None));
        r.pull_labels.entry(n).or_default().push(name.to_string());
    }

    /// A review of pull request `n` by `user` at `commit`: `APPROVED`,
    /// `CHANGES_REQUESTED`, `COMMENTED` or `DISMISSED`.
    pub fn add_review(&self, owner_repo: &str, n: u64, user: &str, state: &str, commit: &str) {
        self.inner()
            .repo_mut(owner_repo)
            .reviews
            .entry(n)
            .or_default()
            .push((user.to_string(), state.to_string(), commit.to_string()));
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

    /// An issue opened by `user` (a person, not the bot) with `labels`;
    /// returns its number.
    pub fn add_issue(&self, owner_repo: &str, user: &str, body: &str, labels: &[&str]) -> u64 {
        let mut inner = self.inner();
        let now = inner.tick();
        let r = inner.repo_mut(owner_repo);
        let number = r.next_number();
        r.issues.insert(
            number,
            IssueState {
                number,
                repo: owner_repo.to_string(),
                title: "ec2-gitops: EC2 has drifted from the YAML".into(),
                body: Some(body.to_string()),
                state: "open".into(),
                state_reason: None,
                labels: labels.iter().map(|l| l.to_string()).collect(),
                user: user.to_string(),
            },
        );
        r.issue_times.insert(number, (now.clone(), now, None));
        number
    }

    /// The repository's labels: name → (colour, description).
    pub fn repo_labels(&self, owner_repo: &str) -> BTreeMap<String, (String, Option<String>)> {
        self.inner().repo_mut(owner_repo).labels.clone()
    }

    /// Says that this test writes hostile values on purpose: the bodies the
    /// bot wrote are checked for structure only (an escaped value may show
    /// `**` or a backtick as text).
    pub fn allow_literal_markup(&self) {
        self.inner().literal_markup = true;
    }

    /// Panics when GitHub's engine renders `md` (a job summary, say) badly,
    /// as [`Shared`]'s drop does for what the bot wrote to the fake.
    pub fn check_rendered(&self, what: &str, md: &str) {
        if md.is_empty() {
            return;
        }
        let problems = if self.inner().literal_markup {
            gfm::structure_problems(md)
        } else {
            gfm::problems(md)
        };
        assert!(
            problems.is_empty(),
            "GitHub's Markdown engine (cmark-gfm) renders the {what} badly: {problems:#?}\n{md}"
        );
    }

    /// Forgets the requests recorded so far (state and unexpected ones stay).
    pub fn clear_requests(&self) {
        self.inner().requests.clear();
    }

    /// What the fake refused on its own (each with its reason), in order.
    pub fn unexpected(&self) -> Vec<String> {
        self.inner().unexpected.clone()
    }

    /// Returns and forgets the unexpected requests, for a test that provokes them.
    pub fn take_unexpected(&self) -> Vec<String> {
        std::mem::take(&mut self.inner().unexpected)
    }

    /// Makes the next `times` requests matching `method` (`"*"` for any) and
    /// `path` answer `status` instead of running. `path` matches a request's
    /// path when it is a prefix of it, segment by segment, where a `*` segment
    /// matches any one segment: `/repos/o/r/issues/*/comments`. The body is
    /// GitHub's for that status: 403 and 429 are the secondary rate limit
    /// (with `retry-after` when given; 403 without it is the primary rate
    /// limit, `x-ratelimit-remaining: 0`), 5xx a server error.
    pub fn fail_next(
        &self,
        method: &str,
        path: &str,
        status: u16,
        retry_after_seconds: Option<u64>,
        times: u32,
    ) {
        self.inner().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            status,
            retry_after: retry_after_seconds,
            times,
            after: false,
        });
    }

    /// Every request matching `method` and `path` (as in
    /// [`Self::fail_next`]) is refused from now on as GitHub refuses a
    /// token without the permission: 403 "Resource not accessible by
    /// integration", no rate-limit headers.
    pub fn forbid(&self, method: &str, path: &str) {
        self.inner()
            .forbidden
            .push((method.to_ascii_uppercase(), path.to_string()));
    }

    /// The next `times` requests matching `method` and `path` (as in
    /// [`Self::fail_next`]) are carried out, but their answer is lost on the
    /// way back: the client gets `status` (a 502 from a proxy, say) although
    /// the comment, issue… was made.
    pub fn lose_answer(&self, method: &str, path: &str, status: u16, times: u32) {
        self.inner().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            status,
            retry_after: None,
            times,
            after: true,
        });
    }

    /// While down, every request answers 503 with GitHub's "unicorn" error
    /// (HTTP is still spoken, so a client sees an API error it may retry, not a
    /// connection error). Requests are still recorded.
    pub fn set_down(&self, down: bool) {
        self.inner().down = down;
    }
}

#[derive(Clone, Debug)]
struct Fault {
    method: String,
    path: String,
    status: u16,
    retry_after: Option<u64>,
    times: u32,
    /// Carry the request out, then answer `status` instead.
    after: bool,
}

impl Fault {
    fn matches(&self, method: &str, path: &str) -> bool {
        if self.times == 0 || (self.method != "*" && self.method != method) {
            return false;
        }
        let want: Vec<&str> = self.path.trim_end_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        want.len() <= got.len() && want.iter().zip(&got).all(|(w, g)| *w == "*" || w == g)
    }
}

struct Repo {
    owner: String,
    name: String,
    id: u64,
    pulls: BTreeMap<u64, PullSpec>,
    pull_created: BTreeMap<u64, String>,
    commit_pulls: BTreeMap<String, Vec<u64>>,
    branches: BTreeMap<String, String>,
    comments: Vec<CommentState>,
    statuses: Vec<StatusState>,
    status_created: BTreeMap<u64, String>,
    deployments: Vec<DeploymentState>,
    created: BTreeMap<u64, String>,
    issues: BTreeMap<u64, IssueState>,
    issue_times: BTreeMap<u64, (String, String, Option<String>)>,
    /// `(commit, path)` → bytes, for the contents API.
    files: BTreeMap<(String, String), Vec<u8>>,
    /// The repository's labels: name → (colour, description).
    labels: BTreeMap<String, (String, Option<String>)>,
    /// The labels on each pull request (issues keep theirs in `IssueState`).
    pull_labels: BTreeMap<u64, Vec<String>>,
    /// Reviews per pull request: `(reviewer, state, commit)`, in order.
    reviews: BTreeMap<u64, Vec<(String, String, String)>>,
    check_runs: Vec<CheckRunState>,
}

impl Repo {
    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    fn has_issue(&self, n: u64) -> bool {
        self.pulls.contains_key(&n) || self.issues.contains_key(&n)
    }

    fn next_number(&self) -> u64 {
        let pulls = self.pulls.keys().next_back().copied().unwrap_or(0);
        let issues = self.issues.keys().next_back().copied().unwrap_or(0);
        pulls.max(issues) + 1
    }

    /// A branch name or a full SHA, as GitHub resolves a `ref`.
    fn resolve(&self, r: &str) -> Option<String> {
        if is_sha(r) {
            return Some(r.to_string());
        }
        let short = r.strip_prefix("refs/heads/").unwrap_or(r);
        self.branches.get(short).cloned()
    }
}

struct Inner {
    base: String,
    repos: BTreeMap<String, Repo>,
    permissions: BTreeMap<String, String>,
    user_ids: BTreeMap<String, u64>,
    bot: String,
    next_id: u64,
    clock: u64,
    requests: Vec<Recorded>,
    unexpected: Vec<String>,
    faults: Vec<Fault>,
    down: bool,
    /// `(method, path)` patterns (as [`FakeGitHub::fail_next`]'s) that the
    /// token may not call: 403 "Resource not accessible by integration".
    forbidden: Vec<(String, String)>,
    /// Every comment and issue body the bot wrote, with the request that
    /// wrote it: rendered with GitHub's engine when the fake is dropped.
    written: Vec<(String, String)>,
    /// Set by tests that write hostile values on purpose: their escaped
    /// markup shows as text, so only the structure is checked.
    literal_markup: bool,
}

/// An answer, built under the lock and sent after it.
struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
    /// Set for fault injection and `set_down`: never unexpected.
    injected: bool,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
            injected: false,
        }
    }
    /// A 404 the client asks for on purpose (does this label exist?): not
    /// unexpected.
    fn absent() -> Self {
        Self {
            injected: true,
            ..Self::not_found()
        }
    }

    fn not_found() -> Self {
        Self::json(
            404,
            json!({"message": "Not Found", "documentation_url": DOCS, "status": "404"}),
        )
    }
    fn invalid(message: &str) -> Self {
        Self::json(
            422,
            json!({"message": message, "documentation_url": DOCS, "status": "422"}),
        )
    }
    /// GitHub's "Validation Failed" with one error on a field.
    fn validation(resource: &str, field: &str, code: &str, message: Option<&str>) -> Self {
        let mut error = json!({"resource": resource, "field": field, "code": code});
        if let Some(m) = message {
            error["message"] = json!(m);
        }
        Self::json(
            422,
            json!({"message": "Validation Failed", "errors": [error], "documentation_url": DOCS, "status": "422"}),
        )
    }
    fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

type Answer = Result<Reply, Reply>;

async fn handle(
    AxState(inner): AxState<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = lock(&inner).serve(&method, &uri, &headers, &body);
    let mut response = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json; charset=utf-8")
        .header("x-github-media-type", "github.v3; format=json");
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    let body = if reply.body.is_null() {
        Body::empty()
    } else {
        Body::from(reply.body.to_string())
    };
    response.body(body).expect("response")
}

impl Inner {
    fn new(base: String) -> Self {
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

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Advances the fake clock and returns the new time, RFC 3339.
    fn tick(&mut self) -> String {
        self.clock += 1;
        rfc3339(self.clock)
    }

    fn repo_mut(&mut self, owner_repo: &str) -> &mut Repo {
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

    fn user_id(&mut self, login: &str) -> u64 {
        if login == BOT_LOGIN {
            return BOT_ID;
        }
        let next = 7_000_000 + self.user_ids.len() as u64;
        *self.user_ids.entry(login.to_string()).or_insert(next)
    }

    fn serve(&mut self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Reply {
        let path = uri.path().to_string();
        let query = uri.query().unwrap_or("").to_string();
        let parsed = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
        };
        let mut notes = Vec::new();
        let reply = self.answer(method.as_str(), &path, &query, headers, &parsed, &mut notes);
        let recorded = Recorded {
            method: method.to_string(),
            path,
            query,
            body: parsed,
            status: reply.status,
        };
        if (400..500).contains(&reply.status) && !reply.injected {
            let mut reason = reply.body["message"]
                .as_str()
                .unwrap_or("")
                .replace('\n', " ");
            for error in reply.body["errors"].as_array().into_iter().flatten() {
                if let Some(m) = error["message"].as_str() {
                    reason.push_str(": ");
                    reason.push_str(m);
                }
            }
            self.unexpected
                .push(format!("{} → {} {}", recorded.line(), reply.status, reason));
        }
        for note in notes {
            self.unexpected.push(format!("{}: {note}", recorded.line()));
        }
        if matches!(recorded.method.as_str(), "POST" | "PATCH")
            && (200..300).contains(&recorded.status)
            && recorded.path.contains("/issues")
            && let Some(text) = recorded.body["body"].as_str()
        {
            self.written.push((recorded.line(), text.to_string()));
        }
        self.requests.push(recorded);
        reply
    }

    fn answer(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: &Value,
        notes: &mut Vec<String>,
    ) -> Reply {
        if self.down {
            let mut reply = Reply::json(
                503,
                json!({"message": "No server is currently available to service your request. Sorry about that. Please try resubmitting your request and contact us if the problem persists."}),
            );
            reply.injected = true;
            return reply;
        }
        let forbidden = self.forbidden.iter().any(|(m, p)| {
            Fault {
                method: m.clone(),
                path: p.clone(),
                status: 403,
                retry_after: None,
                times: 1,
                after: false,
            }
            .matches(method, path)
        });
        if forbidden {
            let mut reply = Reply::json(
                403,
                json!({"message": "Resource not accessible by integration", "documentation_url": DOCS, "status": "403"}),
            );
            reply.injected = true;
            return reply;
        }
        let mut lost = None;
        if let Some(fault) = self.faults.iter_mut().find(|f| f.matches(method, path)) {
            fault.times -= 1;
            let fault = fault.clone();
            self.faults.retain(|f| f.times > 0);
            if !fault.after {
                return injected(&fault, self.clock);
            }
            lost = Some(fault);
        }
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("token "))
            })
            .map(str::trim)
            .unwrap_or("");
        if token.is_empty() {
            return Reply::json(
                401,
                json!({"message": "Requires authentication", "documentation_url": DOCS, "status": "401"}),
            );
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let reply = match self.route(method, &segments, path, query, body, notes) {
            Ok(reply) | Err(reply) => reply,
        };
        match lost {
            Some(fault) => injected(&fault, self.clock),
            None => reply,
        }
    }

    fn route(
        &mut self,
        method: &str,
        seg: &[&str],
        path: &str,
        query: &str,
        body: &Value,
        notes: &mut Vec<String>,
    ) -> Answer {
        if let ("GET", ["user"]) = (method, seg) {
            return self.authenticated_user();
        }
        let ["repos", owner, name, rest @ ..] = seg else {
            return Err(Reply::not_found());
        };
        let repo = format!("{owner}/{name}");
        if !self.repos.contains_key(&repo) {
            return Err(Reply::not_found());
        }
        let q = Query::parse(query);
        match (method, rest) {
            ("GET", ["pulls"]) => self.list_pulls(&repo, &q, path, query),
            ("GET", ["pulls", n]) => self.get_pull(&repo, number(n)?),
            ("GET", ["pulls", n, "files"]) => self.pull_files(&repo, number(n)?, &q, path, query),
            ("GET", ["pulls", n, "reviews"]) => {
                self.list_reviews(&repo, number(n)?, &q, path, query)
            }
            ("GET", ["issues", "comments", id]) => self.get_comment(&repo, number(id)?),
            // GitHub takes POST for PATCH ("resource endpoints also accept
            // POST requests"), and octocrab's update_comment sends POST.
            ("PATCH" | "POST", ["issues", "comments", id]) => {
                self.update_comment(&repo, number(id)?, body, notes)
            }
            ("GET", ["issues", "comments", id, "reactions"]) => {
                self.list_reactions(&repo, number(id)?, &q, path, query)
            }
            ("POST", ["issues", "comments", id, "reactions"]) => {
                self.add_reaction(&repo, number(id)?, body)
            }
            ("GET", ["issues"]) => self.list_issues(&repo, &q, path, query),
            ("POST", ["issues"]) => self.create_issue(&repo, body),
            ("GET", ["issues", n]) => self.get_issue(&repo, number(n)?),
            ("PATCH" | "POST", ["issues", n]) => self.update_issue(&repo, number(n)?, body),
            ("GET", ["issues", n, "comments"]) => {
                self.list_comments(&repo, number(n)?, &q, path, query)
            }
            ("POST", ["issues", n, "comments"]) => self.create_comment(&repo, number(n)?, body),
            ("POST", ["issues", n, "labels"]) => self.add_labels(&repo, number(n)?, body),
            ("DELETE", ["issues", n, "labels", name]) => {
                self.remove_label(&repo, number(n)?, &percent_decode(name))
            }
            ("POST", ["labels"]) => self.create_label(&repo, body),
            ("POST", ["check-runs"]) => self.create_check_run(&repo, body),
            ("PATCH", ["check-runs", id]) => self.update_check_run(&repo, number(id)?, body),
            ("GET", ["labels", name]) => self.get_label(&repo, &percent_decode(name)),
            ("GET", ["collaborators", user, "permission"]) => self.permission(user),
            ("POST", ["statuses", sha]) => self.create_status(&repo, sha, body),
            ("GET", ["commits", r, "statuses"]) => self.list_statuses(&repo, r, &q, path, query),
            ("GET", ["commits", sha, "pulls"]) => self.commit_pulls(&repo, sha, &q, path, query),
            ("GET", ["commits", sha]) => self.get_commit(&repo, sha, &q),
            ("GET", ["contents", file @ ..]) if !file.is_empty() => {
                self.get_content(&repo, &file.join("/"), &q)
            }
            ("GET", ["deployments"]) => self.list_deployments(&repo, &q, path, query),
            ("POST", ["deployments"]) => self.create_deployment(&repo, body),
            ("GET", ["deployments", id]) => self.get_deployment(&repo, number(id)?),
            ("GET", ["deployments", id, "statuses"]) => {
                self.list_deployment_statuses(&repo, number(id)?, &q, path, query)
            }
            ("POST", ["deployments", id, "statuses"]) => {
                self.create_deployment_status(&repo, number(id)?, body)
            }
            _ => Err(Reply::not_found()),
        }
    }

    // ----- pulls -----

    fn list_pulls(&mut self, repo: &str, q: &Query, path: &str, query: &str) -> Answer {
        let state = q.get("state").unwrap_or("open");
        if !["open", "closed", "all"].contains(&state) {
            return Err(Reply::invalid("Validation Failed: state"));
        }
        let r = &self.repos[repo];
        let mut pulls: Vec<PullSpec> = r
            .pulls
            .values()
            .filter(|p| state == "all" || pull_state(p) == state)
            .filter(|p| q.get("base").is_none_or(|b| b == p.base_ref))
            .cloned()
            .collect();
        // GitHub's default: newest first.
        pulls.reverse();
        let items = pulls
            .iter()
            .map(|p| self.pull_json(repo, p, false))
            .collect();
        Ok(self.page(items, q, path, query))
    }

    fn get_pull(&mut self, repo: &str, n: u64) -> Answer {
        let pull = self.repos[repo]
            .pulls
            .get(&n)
            .cloned()
            .ok_or_else(Reply::not_found)?;
        let mut value = self.pull_json(repo, &pull, true);
        if pull_state(&pull) == "open" && pull.mergeable_unknown_polls > 0 {
            // Still computing: GitHub answers null until the test merge exists.
            value["mergeable"] = Value::Null;
            value["mergeable_state"] = json!("unknown");
            value["merge_commit_sha"] = Value::Null;
            if let Some(p) = self.repos.get_mut(repo).and_then(|r| r.pulls.get_mut(&n)) {
                p.mergeable_unknown_polls -= 1;
            }
        }
        Ok(Reply::json(200, value))
    }

    /// `GET /commits/{sha}`: a PR's test merge or merge commit (parents:
    /// the base, then the head; files: the PR's).
    fn get_commit(&mut self, repo: &str, sha: &str, q: &Query) -> Answer {
        let pull = self.repos[repo]
            .pulls
            .values()
            .find(|p| merge_sha_of(p).as_deref() == Some(sha))
            .cloned()
            .ok_or_else(Reply::not_found)?;
        let mut value = self.template(
            "commit",
            repo,
            &[("6dcb09b5b57875f334f61aebed695e2e4193db5e", sha)],
        );
        value["sha"] = json!(sha);
        value["parents"] =
            json!([pull.base_sha.clone(), pull.head_sha.clone()]
            .iter()
            .map(|p| json!({"url": format!("{}/repos/{repo}/commits/{p}", self.base), "sha": p}))
            .collect::<Vec<_>>());
        // GitHub pages a commit's files; the fake has few, on page 1.
        let page = q
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(1);
        let files: Vec<Value> = if page == 1 {
            pull.files
                .iter()
                .map(|(file, status)| self.diff_entry_json(repo, sha, file, status))
                .collect()
        } else {
            vec![]
        };
        value["files"] = json!(files);
        Ok(Reply::json(200, value))
    }

    fn pull_files(&mut self, repo: &str, n: u64, q: &Query, path: &str, query: &str) -> Answer {
        let pull = self.repos[repo]
            .pulls
            .get(&n)
            .cloned()
            .ok_or_else(Reply::not_found)?;
        let items = pull
            .files
            .iter()
            .map(|(file, status)| self.diff_entry_json(repo, &pull.head_sha, file, status))
            .collect();
        Ok(self.page(items, q, path, query))
    }

    fn commit_pulls(
        &mut self,
        repo: &str,
        sha: &str,
        q: &Query,
        path: &str,
        query: &str,
    ) -> Answer {
        let r = &self.repos[repo];
        let explicit = r.commit_pulls.get(sha).cloned().unwrap_or_default();
        let pulls: Vec<PullSpec> = r
            .pulls
            .values()
            .filter(|p| {
                p.head_sha == sha
                    || p.merge_commit_sha.as_deref() == Some(sha)
                    || explicit.contains(&p.number)
            })
            .cloned()
            .collect();
        let items = pulls
            .iter()
            .map(|p| self.pull_json(repo, p, false))
            .collect();
        Ok(self.page(items, q, path, query))
    }

    // ----- contents -----

    /// A file at `ref` (a commit SHA or a branch name): base64 in lines of
    /// 60 characters like GitHub, or, over 1 MB, `encoding: none` and no
    /// content (GitHub's answer for 1–100 MB files).
    fn get_content(&mut self, repo: &str, encoded_path: &str, q: &Query) -> Answer {
        use base64::Engine as _;
        let path = percent_decode(encoded_path);
        let r = &self.repos[repo];
        let wanted = q.get("ref").unwrap_or("main");
        let sha = r.branches.get(wanted).map_or(wanted, String::as_str);
        let bytes = r
            .files
            .get(&(sha.to_string(), path.clone()))
            .cloned()
            .ok_or_else(Reply::not_found)?;
        let name = path.rsplit('/').next().unwrap_or(&path).to_string();
        let blob = fake_sha(&format!("{sha}:{path}"));
        let mut value = self.template(
            "content-file-response-if-content-is-a-file",
            repo,
            &[
                ("octokit/octokit.rb", repo),
                ("3d21ec53a331a6f037a91c368710b99387d012c1", &blob),
                ("README.md", &path),
                ("master", sha),
            ],
        );
        value["name"] = json!(name);
        value["path"] = json!(path);
        value["size"] = json!(bytes.len());
        if bytes.len() > 1024 * 1024 {
            value["encoding"] = json!("none");
            value["content"] = json!("");
        } else {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(60)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            value["content"] = json!(format!("{}\n", lines.join("\n")));
        }
        Ok(Reply::json(200, value))
    }

    // ----- comments and reactions -----

    fn find_comment(&self, repo: &str, id: u64) -> Result<usize, Reply> {
        self.repos[repo]
            .comments
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(Reply::not_found)
    }

    fn list_comments(&mut self, repo: &str, n: u64, q: &Query, path: &str, query: &str) -> Answer {
        let r = &self.repos[repo];
        if !r.has_issue(n) {
            return Err(Reply::not_found());
        }
        let comments: Vec<CommentState> = r
            .comments
            .iter()
            .filter(|c| c.issue == n)
            .cloned()
            .collect();
        let items = comments.iter().map(|c| self.comment_json(c)).collect();
        Ok(self.page(items, q, path, query))
    }

    fn get_comment(&mut self, repo: &str, id: u64) -> Answer {
        let i = self.find_comment(repo, id)?;
        let comment = self.repos[repo].comments[i].clone();
        Ok(Reply::json(200, self.comment_json(&comment)))
    }

    fn comment_body(body: &Value) -> Result<String, Reply> {
        match body.get("body") {
            Some(Value::String(text)) if text.chars().count() > COMMENT_LIMIT => {
                Err(Reply::validation(
                    "IssueComment",
                    "body",
                    "custom",
                    Some("body is too long (maximum is 65536 characters)"),
                ))
            }
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(Reply::invalid(
                "Invalid request.\n\nFor 'properties/body', it is not a string.",
            )),
            None => Err(Reply::invalid(
                "Invalid request.\n\n\"body\" wasn't supplied.",
            )),
        }
    }

    fn create_comment(&mut self, repo: &str, n: u64, body: &Value) -> Answer {
        if !self.repos[repo].has_issue(n) {
            return Err(Reply::not_found());
        }
        let text = Self::comment_body(body)?;
        let id = self.next_id();
        let now = self.tick();
        let comment = CommentState {
            id,
            repo: repo.to_string(),
            issue: n,
            user: self.bot.clone(),
            body: text,
            reactions: Vec::new(),
            updates: 0,
            created_at: now.clone(),
            updated_at: now,
        };
        self.repos
            .get_mut(repo)
            .unwrap()
            .comments
            .push(comment.clone());
        let json = self.comment_json(&comment);
        let location = json["url"].as_str().unwrap_or_default().to_string();
        Ok(Reply::json(201, json).header("location", location))
    }

    fn update_comment(
        &mut self,
        repo: &str,
        id: u64,
        body: &Value,
        notes: &mut Vec<String>,
    ) -> Answer {
        let i = self.find_comment(repo, id)?;
        let text = Self::comment_body(body)?;
        let now = self.tick();
        let bot = self.bot.clone();
        let comment = &mut self.repos.get_mut(repo).unwrap().comments[i];
        if comment.user != bot {
            notes.push(format!(
                "the bot edited comment {id} written by {}, not by {bot}",
                comment.user
            ));
        }
        comment.body = text;
        comment.updates += 1;
        comment.updated_at = now;
        let comment = comment.clone();
        Ok(Reply::json(200, self.comment_json(&comment)))
    }

    fn list_reactions(
        &mut self,
        repo: &str,
        id: u64,
        q: &Query,
        path: &str,
        query: &str,
    ) -> Answer {
        let i = self.find_comment(repo, id)?;
        let comment = self.repos[repo].comments[i].clone();
        let items = comment
            .reactions
            .iter()
            .enumerate()
            .map(|(k, content)| {
                self.reaction_json(
                    reaction_id(id, k),
                    &self.bot.clone(),
                    content,
                    &comment.updated_at,
                )
            })
            .collect();
        Ok(self.page(items, q, path, query))
    }

    fn add_reaction(&mut self, repo: &str, id: u64, body: &Value) -> Answer {
        let i = self.find_comment(repo, id)?;
        let content = match body.get("content").and_then(Value::as_str) {
            Some(c) if REACTIONS.contains(&c) => c.to_string(),
            Some(_) => {
                return Err(Reply::invalid(&format!(
                    "Invalid request.\n\nFor 'properties/content', {} is not one of {REACTIONS:?}.",
                    body["content"]
                )));
            }
            None => {
                return Err(Reply::invalid(
                    "Invalid request.\n\n\"content\" wasn't supplied.",
                ));
            }
        };
        let now = self.tick();
        let bot = self.bot.clone();
        let comment = &mut self.repos.get_mut(repo).unwrap().comments[i];
        // One reaction of a kind per user: GitHub answers 200 with the existing one.
        if let Some(k) = comment.reactions.iter().position(|r| *r == content) {
            return Ok(Reply::json(
                200,
                self.reaction_json(reaction_id(id, k), &bot, &content, &now),
            ));
        }
        comment.reactions.push(content.clone());
        let k = comment.reactions.len() - 1;
        Ok(Reply::json(
            201,
            self.reaction_json(reaction_id(id, k), &bot, &content, &now),
        ))
    }

    // ----- permissions -----

    /// `GET /user`: the token's user; an installation token (the bot writes
    /// as `…[bot]`) is no user's, and GitHub answers 403.
    fn authenticated_user(&mut self) -> Answer {
        let login = self.bot.clone();
        if login.ends_with("[bot]") {
            // GitHub's own answer, not a mistake of the caller's.
            let mut reply = Reply::json(
                403,
                json!({"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user", "status": "403"}),
            );
            reply.injected = true;
            return Err(reply);
        }
        let mut user = example("private-user")
            .as_object()
            .cloned()
            .map(Value::Object)
            .unwrap_or_else(|| json!({}));
        let basic = self.user_json(&login);
        for (k, v) in basic.as_object().into_iter().flatten() {
            user[k] = v.clone();
        }
        Ok(Reply::json(200, user))
    }

    fn permission(&mut self, user: &str) -> Answer {
        let role = self
            .permissions
            .get(user)
            .cloned()
            .ok_or_else(Reply::not_found)?;
        // A custom role (`name:base`) reports its base as the permission.
        let (role, base) = match role.split_once(':') {
            Some((name, base)) => (name.to_string(), base.to_string()),
            None => (role.clone(), role),
        };
        let permission = match base.as_str() {
            "maintain" => "write",
            "triage" => "read",
            other => other,
        };
        let mut value =
            example("repository-collaborator-permission-response-if-user-has-admin-permissions");
        value["permission"] = json!(permission);
        value["role_name"] = json!(role);
        let mut user_json = self.user_json(user);
        let rank = ["none", "read", "triage", "write", "maintain", "admin"]
            .iter()
            .position(|r| *r == base)
            .unwrap_or(0);
        user_json["permissions"] = json!({
            "pull": rank >= 1, "triage": rank >= 2, "push": rank >= 3,
            "maintain": rank >= 4, "admin": rank >= 5,
        });
        user_json["role_name"] = json!(role);
        value["user"] = user_json;
        Ok(Reply::json(200, value))
    }

    // ----- commit statuses -----

    fn create_status(&mut self, repo: &str, sha: &str, body: &Value) -> Answer {
        if !is_sha(sha) {
            return Err(Reply::invalid(&format!("No commit found for SHA: {sha}")));
        }
        let state = match body.get("state").and_then(Value::as_str) {
            Some(s) if ["error", "failure", "pending", "success"].contains(&s) => s.to_string(),
            Some(_) => {
                return Err(Reply::validation(
                    "Status",
                    "state",
                    "custom",
                    Some("state is not included in the list"),
                ));
            }
            None => {
                return Err(Reply::invalid(
                    "Invalid request.\n\n\"state\" wasn't supplied.",
                ));
            }
        };
        let description = opt_string(body, "description")?;
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > STATUS_DESCRIPTION_LIMIT)
        {
            return Err(Reply::validation(
                "Status",
                "description",
                "custom",
                Some("description is too long (maximum is 140 characters)"),
            ));
        }
        let target_url = opt_string(body, "target_url")?;
        let context = opt_string(body, "context")?.unwrap_or_else(|| "default".into());
        let id = self.next_id();
        let now = self.tick();
        let status = StatusState {
            id,
            repo: repo.to_string(),
            sha: sha.to_string(),
            state,
            context,
            description,
            target_url,
            creator: self.bot.clone(),
        };
        let r = self.repos.get_mut(repo).unwrap();
        r.statuses.push(status.clone());
        r.status_created.insert(id, now);
        Ok(Reply::json(201, self.status_json(repo, &status)))
    }

    fn list_statuses(&mut self, repo: &str, r: &str, q: &Query, path: &str, query: &str) -> Answer {
        let sha = self.repos[repo].resolve(r).ok_or_else(Reply::not_found)?;
        let statuses: Vec<StatusState> = self.repos[repo]
            .statuses
            .iter()
            .rev()
            .filter(|s| s.sha == sha)
            .cloned()
            .collect();
        let items = statuses.iter().map(|s| self.status_json(repo, s)).collect();
        Ok(self.page(items, q, path, query))
    }

    // ----- deployments -----

    fn create_deployment(&mut self, repo: &str, body: &Value) -> Answer {
        let Some(ref_) = body.get("ref").and_then(Value::as_str) else {
            return Err(Reply::invalid(
                "Invalid request.\n\n\"ref\" wasn't supplied.",
            ));
        };
        let sha = self.repos[repo].resolve(ref_).ok_or_else(|| {
            Reply::validation(
                "Deployment",
                "ref",
                "invalid",
                Some(&format!("No ref found for: {ref_}")),
            )
        })?;
        let task = opt_string(body, "task")?.unwrap_or_else(|| "deploy".into());
        let environment = opt_string(body, "environment")?.unwrap_or_else(|| "production".into());
        let description = opt_string(body, "description")?;
        let payload = match body.get("payload") {
            None | Some(Value::Null) => json!({}),
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => {
                return Err(Reply::invalid(
                    "Invalid request.\n\nFor 'properties/payload', it is not an object or a string.",
                ));
            }
        };
        let transient = opt_bool(body, "transient_environment")?.unwrap_or(false);
        let production =
            opt_bool(body, "production_environment")?.unwrap_or(environment == "production");
        opt_bool(body, "auto_merge")?;
        // GitHub checks every context on the commit unless told which: a
        // deployment of a commit with a failed or pending status is refused.
        let required: Option<Vec<String>> = match body.get("required_contexts") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        Reply::invalid("Invalid request.\n\nFor 'items', it is not a string.")
                    })?,
            ),
            Some(_) => {
                return Err(Reply::invalid(
                    "Invalid request.\n\nFor 'properties/required_contexts', it is not an array.",
                ));
            }
        };
        let mut latest: BTreeMap<String, String> = BTreeMap::new();
        for s in self.repos[repo].statuses.iter().filter(|s| s.sha == sha) {
            latest.insert(s.context.clone(), s.state.clone());
        }
        let failing: Vec<String> = match &required {
            None => latest
                .iter()
                .filter(|(_, st)| *st != "success")
                .map(|(c, _)| c.clone())
                .collect(),
            Some(req) => req
                .iter()
                .filter(|c| latest.get(*c).map(String::as_str) != Some("success"))
                .cloned()
                .collect(),
        };
        if !failing.is_empty() {
            return Err(Reply::json(
                409,
                json!({
                    "message": format!("Conflict: Commit status checks failed for {ref_}."),
                    "errors": [{"contexts": failing.iter().map(|c| json!({"context": c, "state": latest.get(c).cloned().unwrap_or_else(|| "missing".into())})).collect::<Vec<_>>(),
                                "resource": "Deployment", "field": "required_contexts", "code": "invalid"}],
                    "documentation_url": DOCS, "status": "409",
                }),
            ));
        }
        let id = self.next_id();
        let now = self.tick();
        let deployment = DeploymentState {
            id,
            repo: repo.to_string(),
            ref_: ref_.to_string(),
            sha,
            task,
            environment,
            description,
            payload,
            transient_environment: transient,
            production_environment: production,
            creator: self.bot.clone(),
            statuses: Vec::new(),
        };
        let r = self.repos.get_mut(repo).unwrap();
        r.deployments.push(deployment.clone());
        r.created.insert(id, now);
        Ok(Reply::json(201, self.deployment_json(repo, &deployment)))
    }

    fn list_deployments(&mut self, repo: &str, q: &Query, path: &str, query: &str) -> Answer {
        let deployments: Vec<DeploymentState> = self.repos[repo]
            .deployments
            .iter()
            .rev()
            .filter(|d| q.get("sha").is_none_or(|v| v == d.sha))
            .filter(|d| q.get("ref").is_none_or(|v| v == d.ref_))
            .filter(|d| q.get("task").is_none_or(|v| v == d.task))
            .filter(|d| q.get("environment").is_none_or(|v| v == d.environment))
            .cloned()
            .collect();
        let items = deployments
            .iter()
            .map(|d| self.deployment_json(repo, d))
            .collect();
        Ok(self.page(items, q, path, query))
    }

    fn find_deployment(&self, repo: &str, id: u64) -> Result<usize, Reply> {
        self.repos[repo]
            .deployments
            .iter()
            .position(|d| d.id == id)
            .ok_or_else(Reply::not_found)
    }

    fn get_deployment(&mut self, repo: &str, id: u64) -> Answer {
        let i = self.find_deployment(repo, id)?;
        let d = self.repos[repo].deployments[i].clone();
        Ok(Reply::json(200, self.deployment_json(repo, &d)))
    }

    fn list_deployment_statuses(
        &mut self,
        repo: &str,
        id: u64,
        q: &Query,
        path: &str,
        query: &str,
    ) -> Answer {
        let i = self.find_deployment(repo, id)?;
        let d = self.repos[repo].deployments[i].clone();
        let items = d
            .statuses
            .iter()
            .rev()
            .map(|s| self.deployment_status_json(repo, &d, s))
            .collect();
        Ok(self.page(items, q, path, query))
    }

    fn create_deployment_status(&mut self, repo: &str, id: u64, body: &Value) -> Answer {
        const STATES: [&str; 7] = [
            "error",
            "failure",
            "inactive",
            "in_progress",
            "queued",
            "pending",
            "success",
        ];
        let i = self.find_deployment(repo, id)?;
        let state = match body.get("state").and_then(Value::as_str) {
            Some(s) if STATES.contains(&s) => s.to_string(),
            Some(_) => {
                return Err(Reply::validation(
                    "DeploymentStatus",
                    "state",
                    "custom",
                    Some("state is not included in the list"),
                ));
            }
            None => {
                return Err(Reply::invalid(
                    "Invalid request.\n\n\"state\" wasn't supplied.",
                ));
            }
        };
        let description = opt_string(body, "description")?.unwrap_or_default();
        if description.chars().count() > STATUS_DESCRIPTION_LIMIT {
            return Err(Reply::validation(
                "DeploymentStatus",
                "description",
                "custom",
                Some("description is too long (maximum is 140 characters)"),
            ));
        }
        let log_url = opt_string(body, "log_url")?
            .or(opt_string(body, "target_url")?)
            .unwrap_or_default();
        let environment_url = opt_string(body, "environment_url")?.unwrap_or_default();
        let new_environment = opt_string(body, "environment")?;
        let auto_inactive = opt_bool(body, "auto_inactive")?.unwrap_or(true);
        let status_id = self.next_id();
        self.tick();
        let r = self.repos.get_mut(repo).unwrap();
        if let Some(env) = new_environment {
            r.deployments[i].environment = env;
        }
        let environment = r.deployments[i].environment.clone();
        let status = DeploymentStatusState {
            id: status_id,
            state: state.clone(),
            description,
            environment: environment.clone(),
            log_url,
            environment_url,
        };
        r.deployments[i].statuses.push(status.clone());
        // GitHub's auto_inactive: earlier successful deployments to the same
        // non-transient, non-production environment become inactive.
        if state == "success" && auto_inactive {
            let mut extra = Vec::new();
            for (k, d) in r.deployments.iter().enumerate() {
                if k != i
                    && d.environment == environment
                    && !d.transient_environment
                    && !d.production_environment
                    && d.statuses.last().is_some_and(|s| s.state == "success")
                {
                    extra.push(k);
                }
            }
            for k in extra {
                self.next_id += 1;
                let sid = self.next_id;
                let r = self.repos.get_mut(repo).unwrap();
                let d = &mut r.deployments[k];
                let last = d.statuses.last().cloned().unwrap();
                d.statuses.push(DeploymentStatusState {
                    id: sid,
                    state: "inactive".into(),
                    description: String::new(),
                    ..last
                });
            }
        }
        let d = self.repos[repo].deployments[i].clone();
        Ok(Reply::json(
            201,
            self.deployment_status_json(repo, &d, &status),
        ))
    }

    // ----- issues -----

    fn list_issues(&mut self, repo: &str, q: &Query, path: &str, query: &str) -> Answer {
        let state = q.get("state").unwrap_or("open");
        if !["open", "closed", "all"].contains(&state) {
            return Err(Reply::invalid("Validation Failed: state"));
        }
        let labels: Vec<&str> = q
            .get("labels")
            .map(|l| {
                l.split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let r = &self.repos[repo];
        let mut numbers: Vec<u64> = r.issues.keys().chain(r.pulls.keys()).copied().collect();
        // GitHub's default: newest first; pull requests are issues here too.
        numbers.sort_unstable_by(|a, b| b.cmp(a));
        let mut items = Vec::new();
        for n in numbers {
            let (issue_state, issue_labels) = match (r.issues.get(&n), r.pulls.get(&n)) {
                (Some(i), _) => (i.state.clone(), i.labels.clone()),
                (None, Some(p)) => (pull_state(p).to_string(), Vec::new()),
                _ => continue,
            };
            if (state == "all" || state == issue_state)
                && labels.iter().all(|l| issue_labels.iter().any(|il| il == l))
            {
                items.push(n);
            }
        }
        let items = items
            .into_iter()
            .map(|n| self.issue_json(repo, n))
            .collect();
        Ok(self.page(items, q, path, query))
    }

    fn get_issue(&mut self, repo: &str, n: u64) -> Answer {
        if !self.repos[repo].has_issue(n) {
            return Err(Reply::not_found());
        }
        Ok(Reply::json(200, self.issue_json(repo, n)))
    }

    fn create_issue(&mut self, repo: &str, body: &Value) -> Answer {
        let title = match body.get("title") {
            Some(Value::String(t)) if !t.trim().is_empty() => t.clone(),
            Some(Value::Number(t)) => t.to_string(),
            Some(Value::String(_)) => {
                return Err(Reply::validation("Issue", "title", "missing_field", None));
            }
            Some(_) => {
                return Err(Reply::invalid(
                    "Invalid request.\n\nFor 'properties/title', it is not a string or an integer.",
                ));
            }
            None => {
                return Err(Reply::invalid(
                    "Invalid request.\n\n\"title\" wasn't supplied.",
                ));
            }
        };
        let issue_body = opt_string(body, "body")?;
        let labels = labels_of(body.get("labels"))?.unwrap_or_default();
        let now = self.tick();
        let user = self.bot.clone();
        let r = self.repos.get_mut(repo).unwrap();
        let number = r.next_number();
        r.issues.insert(
            number,
            IssueState {
                number,
                repo: repo.to_string(),
                title,
                body: issue_body,
                state: "open".into(),
                state_reason: None,
                labels,
                user,
            },
        );
        r.issue_times.insert(number, (now.clone(), now, None));
        let json = self.issue_json(repo, number);
        let location = json["url"].as_str().unwrap_or_default().to_string();
        Ok(Reply::json(201, json).header("location", location))
    }

    fn update_issue(&mut self, repo: &str, n: u64, body: &Value) -> Answer {
        if !self.repos[repo].issues.contains_key(&n) {
            return Err(Reply::not_found());
        }
        let state = opt_string(body, "state")?;
        if state
            .as_deref()
            .is_some_and(|s| s != "open" && s != "closed")
        {
            return Err(Reply::validation("Issue", "state", "invalid", None));
        }
        let reason = opt_string(body, "state_reason")?;
        if reason
            .as_deref()
            .is_some_and(|s| !["completed", "not_planned", "reopened", "duplicate"].contains(&s))
        {
            return Err(Reply::validation("Issue", "state_reason", "invalid", None));
        }
        let title = opt_string(body, "title")?;
        let labels = labels_of(body.get("labels"))?;
        let now = self.tick();
        let r = self.repos.get_mut(repo).unwrap();
        let issue = r.issues.get_mut(&n).unwrap();
        let times = r.issue_times.get_mut(&n).unwrap();
        if let Some(t) = title {
            issue.title = t;
        }
        if body.get("body").is_some() {
            issue.body = opt_string(body, "body")?;
        }
        if let Some(l) = labels {
            issue.labels = l;
        }
        if let Some(s) = state {
            if s != issue.state {
                times.2 = (s == "closed").then(|| now.clone());
                issue.state_reason = Some(
                    if s == "closed" {
                        "completed"
                    } else {
                        "reopened"
                    }
                    .into(),
                );
            }
            issue.state = s;
        }
        if reason.is_some() {
            issue.state_reason = reason;
        }
        times.1 = now;
        Ok(Reply::json(200, self.issue_json(repo, n)))
    }

    fn add_labels(&mut self, repo: &str, n: u64, body: &Value) -> Answer {
        if !self.repos[repo].has_issue(n) {
            return Err(Reply::not_found());
        }
        let given = match body {
            Value::Array(_) => labels_of(Some(body))?,
            _ => labels_of(body.get("labels"))?,
        }
        .ok_or_else(|| Reply::invalid("Invalid request.\n\n\"labels\" wasn't supplied."))?;
        let r = self.repos.get_mut(repo).unwrap();
        // GitHub creates a label it does not know, grey and undescribed.
        for l in &given {
            r.labels
                .entry(l.clone())
                .or_insert_with(|| ("ededed".to_string(), None));
        }
        let on = match r.issues.get_mut(&n) {
            Some(issue) => &mut issue.labels,
            None => r.pull_labels.entry(n).or_default(),
        };
        for l in given {
            if !on.contains(&l) {
                on.push(l);
            }
        }
        let labels = on.clone();
        let body = labels.iter().map(|l| self.label_json(repo, l)).collect();
        Ok(Reply::json(200, Value::Array(body)))
    }

    /// GitHub's checks on a check run's `output` (title and summary needed,
    /// 65,535 characters at most for summary and text, 50 annotations a
    /// request, each with a path, lines and a level) and its conclusion.
    fn check_run_fields(body: &Value, run: &mut CheckRunState) -> Result<(), Reply> {
        let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        if let Some(status) = text_of(body, "status") {
            if !["queued", "in_progress", "completed"].contains(&status.as_str()) {
                return Err(Reply::validation("CheckRun", "status", "invalid", None));
            }
            run.status = status;
        }
        if let Some(c) = text_of(body, "conclusion") {
            let known = [
                "action_required",
                "cancelled",
                "failure",
                "neutral",
                "success",
                "skipped",
                "stale",
                "timed_out",
            ];
            if !known.contains(&c.as_str()) {
                return Err(Reply::validation("CheckRun", "conclusion", "invalid", None));
            }
            run.conclusion = Some(c);
            run.status = "completed".into();
        }
        if run.status == "completed" && run.conclusion.is_none() {
            return Err(Reply::invalid(
                "Invalid request.\n\nNo conclusion: a completed check run needs one.",
            ));
        }
        let Some(output) = body.get("output") else {
            return Ok(());
        };
        let (Some(title), Some(summary)) = (text_of(output, "title"), text_of(output, "summary"))
        else {
            return Err(Reply::invalid(
                "Invalid request.\n\n\"title\" and \"summary\" weren't supplied.",
            ));
        };
        let text = text_of(output, "text");
        for (what, v) in [("summary", Some(&summary)), ("text", text.as_ref())] {
            if v.is_some_and(|v| v.chars().count() > 65_535) {
                return Err(Reply::validation("CheckRun", what, "too_long", None));
            }
        }
        let annotations = output
            .get("annotations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if annotations.len() > 50 {
            return Err(Reply::invalid(
                "Invalid request.\n\nOnly 50 annotations are allowed per request.",
            ));
        }
        for a in &annotations {
            let (Some(path), Some(start), Some(_end), Some(level), Some(message)) = (
                text_of(a, "path"),
                a.get("start_line").and_then(Value::as_u64),
                a.get("end_line").and_then(Value::as_u64),
                text_of(a, "annotation_level"),
                text_of(a, "message"),
            ) else {
                return Err(Reply::invalid(
                    "Invalid request.\n\nAn annotation needs path, start_line, end_line, annotation_level and message.",
                ));
            };
            if !["notice", "warning", "failure"].contains(&level.as_str()) {
                return Err(Reply::validation(
                    "CheckRun",
                    "annotation_level",
                    "invalid",
                    None,
                ));
            }
            run.annotations.push((path, start, level, message));
        }
        run.title = title;
        run.summary = summary;
        if let Some(t) = text {
            run.text = t;
        }
        Ok(())
    }

    fn check_run_json(&self, repo: &str, run: &CheckRunState) -> Value {
        let mut value = self.template("check-run", repo, &[]);
        value["id"] = json!(run.id);
        value["node_id"] = json!(format!("CR_{}", run.id));
        value["name"] = json!(run.name);
        value["head_sha"] = json!(run.head_sha);
        value["status"] = json!(run.status);
        value["conclusion"] = json!(run.conclusion);
        value["output"]["title"] = json!(run.title);
        value["output"]["summary"] = json!(run.summary);
        value["output"]["text"] = json!(run.text);
        value["output"]["annotations_count"] = json!(run.annotations.len());
        value
    }

    fn create_check_run(&mut self, repo: &str, body: &Value) -> Answer {
        let (Some(name), Some(head_sha)) = (
            body.get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty()),
            body.get("head_sha")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty()),
        ) else {
            return Err(Reply::invalid(
                "Invalid request.\n\n\"name\" and \"head_sha\" weren't supplied.",
            ));
        };
        let mut run = CheckRunState {
            id: self.next_id(),
            name: name.to_string(),
            head_sha: head_sha.to_string(),
            status: "queued".into(),
            conclusion: None,
            title: String::new(),
            summary: String::new(),
            text: String::new(),
            annotations: Vec::new(),
            updates: 0,
        };
        Self::check_run_fields(body, &mut run)?;
        let value = self.check_run_json(repo, &run);
        self.repos.get_mut(repo).unwrap().check_runs.push(run);
        Ok(Reply::json(201, value))
    }

    fn update_check_run(&mut self, repo: &str, id: u64, body: &Value) -> Answer {
        let Some(at) = self.repos[repo].check_runs.iter().position(|r| r.id == id) else {
            return Err(Reply::not_found());
        };
        let mut run = self.repos[repo].check_runs[at].clone();
        Self::check_run_fields(body, &mut run)?;
        run.updates += 1;
        let value = self.check_run_json(repo, &run);
        self.repos.get_mut(repo).unwrap().check_runs[at] = run;
        Ok(Reply::json(200, value))
    }

    fn list_reviews(&mut self, repo: &str, n: u64, q: &Query, path: &str, query: &str) -> Answer {
        if !self.repos[repo].pulls.contains_key(&n) {
            return Err(Reply::not_found());
        }
        let reviews = self.repos[repo]
            .reviews
            .get(&n)
            .cloned()
            .unwrap_or_default();
        let mut items = Vec::new();
        for (i, (user, state, commit)) in reviews.iter().enumerate() {
            let mut value = self.template("pull-request-review-items", repo, &[])[0].clone();
            let id = 70_000 + n * 100 + i as u64;
            value["id"] = json!(id);
            value["node_id"] = json!(format!("PRR_{id}"));
            value["user"] = self.user_json(user);
            value["state"] = json!(state);
            value["commit_id"] = json!(commit);
            value["body"] = json!("");
            value["pull_request_url"] = json!(format!("{}/repos/{repo}/pulls/{n}", self.base));
            items.push(value);
        }
        Ok(self.page(items, q, path, query))
    }

    fn remove_label(&mut self, repo: &str, n: u64, name: &str) -> Answer {
        let r = self.repos.get_mut(repo).unwrap();
        if !r.has_issue(n) {
            return Err(Reply::not_found());
        }
        let on = match r.issues.get_mut(&n) {
            Some(issue) => &mut issue.labels,
            None => r.pull_labels.entry(n).or_default(),
        };
        let Some(at) = on.iter().position(|l| l == name) else {
            return Err(Reply::json(
                404,
                json!({"message": "Label does not exist", "documentation_url": DOCS, "status": "404"}),
            ));
        };
        on.remove(at);
        let labels = on.clone();
        let body = labels.iter().map(|l| self.label_json(repo, l)).collect();
        Ok(Reply::json(200, Value::Array(body)))
    }

    fn get_label(&mut self, repo: &str, name: &str) -> Answer {
        let found = self.repos[repo]
            .labels
            .keys()
            .find(|l| l.eq_ignore_ascii_case(name))
            .cloned();
        match found {
            Some(l) => Ok(Reply::json(200, self.label_json(repo, &l))),
            None => Err(Reply::absent()),
        }
    }

    fn create_label(&mut self, repo: &str, body: &Value) -> Answer {
        let Some(name) = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return Err(Reply::validation("Label", "name", "missing_field", None));
        };
        let color = body
            .get("color")
            .and_then(Value::as_str)
            .unwrap_or("ededed");
        if color.len() != 6 || !color.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Reply::validation("Label", "color", "invalid", None));
        }
        let description = body.get("description").and_then(Value::as_str);
        if description.is_some_and(|d| d.chars().count() > 100) {
            return Err(Reply::validation("Label", "description", "invalid", None));
        }
        let r = self.repos.get_mut(repo).unwrap();
        if r.labels.keys().any(|l| l.eq_ignore_ascii_case(name)) {
            return Err(Reply::validation("Label", "name", "already_exists", None));
        }
        r.labels.insert(
            name.to_string(),
            (color.to_string(), description.map(str::to_string)),
        );
        Ok(Reply::json(201, self.label_json(repo, name)))
    }

    // ----- pagination -----

    /// One page of `items` with GitHub's `Link` header (`per_page` default 30,
    /// at most 100).
    fn page(&self, items: Vec<Value>, q: &Query, path: &str, query: &str) -> Reply {
        let per_page = q
            .get("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(30)
            .min(100);
        let page = q
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(1);
        let last = items.len().div_ceil(per_page).max(1);
        let slice: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let mut reply = Reply::json(200, Value::Array(slice));
        if last > 1 {
            let link_to = |p: usize| {
                let mut ser = form_urlencoded::Serializer::new(String::new());
                for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                    if k != "page" {
                        ser.append_pair(&k, &v);
                    }
                }
                ser.append_pair("page", &p.to_string());
                format!("<{}{}?{}>", self.base, path, ser.finish())
            };
            let mut parts = Vec::new();
            if page > 1 {
                parts.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
            }
            if page < last {
                parts.push(format!("{}; rel=\"next\"", link_to(page + 1)));
                parts.push(format!("{}; rel=\"last\"", link_to(last)));
            }
            if page > 1 {
                parts.push(format!("{}; rel=\"first\"", link_to(1)));
            }
            reply = reply.header("link", parts.join(", "));
        }
        reply
    }

    // ----- response bodies: GitHub's documented examples, filled in -----

    fn user_json(&mut self, login: &str) -> Value {
        let id = self.user_id(login);
        let mut user = example("issue-comment")["user"].clone();
        rewrite(
            &mut user,
            &[("https://api.github.com", &self.base), ("octocat", login)],
        );
        user["login"] = json!(login);
        user["id"] = json!(id);
        user["node_id"] = json!(format!("U_{id}"));
        user["avatar_url"] = json!(format!("https://avatars.githubusercontent.com/u/{id}?v=4"));
        user["html_url"] = json!(format!("https://github.com/{login}"));
        user["type"] = json!(if login.ends_with("[bot]") {
            "Bot"
        } else {
            "User"
        });
        user
    }

    /// An example with the repository, the API host and the example's numbers
    /// replaced by ours.
    fn template(&self, name: &str, repo: &str, extra: &[(&str, &str)]) -> Value {
        let mut value = example(name);
        let mut pairs: Vec<(&str, &str)> = vec![
            ("https://api.github.com", &self.base),
            ("octocat/Hello-World", repo),
            ("octocat/example", repo),
        ];
        pairs.extend_from_slice(extra);
        rewrite(&mut value, &pairs);
        value
    }

    fn repo_json(&mut self, repo: &str) -> Value {
        let (owner, name, id) = {
            let r = &self.repos[repo];
            (r.owner.clone(), r.name.clone(), r.id)
        };
        let mut value = self.template("pull-request", repo, &[])["base"]["repo"].clone();
        value["id"] = json!(id);
        value["node_id"] = json!(format!("R_{id}"));
        value["name"] = json!(name);
        value["full_name"] = json!(repo);
        value["owner"] = self.user_json(&owner);
        value["private"] = json!(false);
        value["fork"] = json!(false);
        value["default_branch"] = json!("main");
        value
    }

    fn pull_json(&mut self, repo: &str, p: &PullSpec, full: bool) -> Value {
        let n = p.number.to_string();
        let name = if full {
            "pull-request"
        } else {
            "pull-request-simple-items"
        };
        let mut value = self.template(
            name,
            repo,
            &[
                ("1347", &n),
                ("6dcb09b5b57875f334f61aebed695e2e4193db5e", &p.head_sha),
            ],
        );
        if !full {
            value = value[0].clone();
        }
        let (owner, id, created, comments) = {
            let r = &self.repos[repo];
            let comments = r.comments.iter().filter(|c| c.issue == p.number).count();
            (
                r.owner.clone(),
                r.id * 100_000 + p.number,
                r.pull_created
                    .get(&p.number)
                    .cloned()
                    .unwrap_or_else(|| rfc3339(CLOCK_START)),
                comments,
            )
        };
        let repo_json = self.repo_json(repo);
        let owner_json = self.user_json(&owner);
        let author = self.user_json(&p.author);
        let closed = p.merged || p.state == "closed";
        let closed_at = if closed { json!(created) } else { Value::Null };
        value["id"] = json!(id);
        value["node_id"] = json!(format!("PR_{id}"));
        value["number"] = json!(p.number);
        value["state"] = json!(pull_state(p));
        value["locked"] = json!(false);
        value["title"] = json!(p.title);
        value["user"] = author;
        value["body"] = Value::Null;
        let labels: Vec<String> = self.repos[repo]
            .pull_labels
            .get(&p.number)
            .cloned()
            .unwrap_or_default();
        value["labels"] = Value::Array(labels.iter().map(|l| self.label_json(repo, l)).collect());
        value["milestone"] = Value::Null;
        value["active_lock_reason"] = Value::Null;
        value["created_at"] = json!(created);
        value["updated_at"] = json!(created);
        value["closed_at"] = closed_at.clone();
        value["merged_at"] = if p.merged { closed_at } else { Value::Null };
        value["merge_commit_sha"] = json!(merge_sha_of(p));
        value["assignee"] = Value::Null;
        value["assignees"] = json!([]);
        value["requested_reviewers"] = json!([]);
        value["requested_teams"] = json!([]);
        value["author_association"] = json!("CONTRIBUTOR");
        value["auto_merge"] = Value::Null;
        value["draft"] = json!(false);
        for (side, r#ref, sha) in [
            ("head", &p.head_ref, &p.head_sha),
            ("base", &p.base_ref, &p.base_sha),
        ] {
            value[side] = json!({
                "label": format!("{owner}:{}", r#ref),
                "ref": r#ref,
                "sha": sha,
                "user": owner_json,
                "repo": repo_json,
            });
        }
        if let Some(fork) = &p.head_repo {
            value["head"]["repo"]["full_name"] = json!(fork);
            value["head"]["repo"]["fork"] = json!(true);
            value["head"]["label"] = json!(format!(
                "{}:{}",
                fork.split('/').next().unwrap_or(fork),
                p.head_ref
            ));
        }
        if full {
            let (additions, deletions) = (p.files.len() as u64 * 3, p.files.len() as u64);
            value["merged"] = json!(p.merged);
            value["mergeable"] = if closed {
                Value::Null
            } else {
                json!(p.mergeable)
            };
            value["rebaseable"] = if closed {
                Value::Null
            } else {
                json!(p.mergeable)
            };
            value["mergeable_state"] = json!(match (closed, p.mergeable) {
                (true, _) => "unknown",
                (false, true) => "clean",
                (false, false) => "dirty",
            });
            value["merged_by"] = if p.merged {
                self.user_json(&owner)
            } else {
                Value::Null
            };
            value["comments"] = json!(comments);
            value["review_comments"] = json!(0);
            value["maintainer_can_modify"] = json!(false);
            value["commits"] = json!(1);
            value["additions"] = json!(additions);
            value["deletions"] = json!(deletions);
            value["changed_files"] = json!(p.files.len());
        }
        value
    }

    fn diff_entry_json(&self, repo: &str, head_sha: &str, file: &str, status: &str) -> Value {
        let (previous, filename) = match file.split_once(" -> ") {
            Some((old, new)) => (Some(old), new),
            None => (None, file),
        };
        let mut value = self.template(
            "diff-entry-items",
            repo,
            &[
                ("6dcb09b5b57875f334f61aebed695e2e4193db5e", head_sha),
                ("file1.txt", filename),
            ],
        )[0]
        .clone();
        let (additions, deletions) = match status {
            "added" => (3, 0),
            "removed" => (0, 3),
            "renamed" | "unchanged" => (0, 0),
            _ => (2, 1),
        };
        value["sha"] = json!(fake_sha(&format!("{head_sha}:{filename}")));
        value["filename"] = json!(filename);
        value["status"] = json!(status);
        value["additions"] = json!(additions);
        value["deletions"] = json!(deletions);
        value["changes"] = json!(additions + deletions);
        value["patch"] = json!("@@ -1,1 +1,2 @@");
        if let Some(old) = previous {
            value["previous_filename"] = json!(old);
        }
        value
    }

    fn comment_json(&mut self, c: &CommentState) -> Value {
        let kind = if self.repos[&c.repo].pulls.contains_key(&c.issue) {
            "pull"
        } else {
            "issues"
        };
        let mut value = self.template("issue-comment", &c.repo, &[]);
        let base = &self.base;
        let repo = &c.repo;
        value["id"] = json!(c.id);
        value["node_id"] = json!(format!("IC_{}", c.id));
        value["url"] = json!(format!("{base}/repos/{repo}/issues/comments/{}", c.id));
        value["html_url"] = json!(format!(
            "https://github.com/{repo}/{kind}/{}#issuecomment-{}",
            c.issue, c.id
        ));
        value["issue_url"] = json!(format!("{base}/repos/{repo}/issues/{}", c.issue));
        value["body"] = json!(c.body);
        value["created_at"] = json!(c.created_at);
        value["updated_at"] = json!(c.updated_at);
        value["author_association"] = json!(if c.user.ends_with("[bot]") {
            "NONE"
        } else {
            "CONTRIBUTOR"
        });
        value["performed_via_github_app"] = Value::Null;
        let mut rollup = json!({
            "url": format!("{base}/repos/{repo}/issues/comments/{}/reactions", c.id),
            "total_count": c.reactions.len(),
        });
        for r in REACTIONS {
            rollup[r] = json!(c.reactions.iter().filter(|x| *x == r).count());
        }
        value["reactions"] = rollup;
        value["user"] = self.user_json(&c.user);
        value
    }

    fn reaction_json(&mut self, id: u64, user: &str, content: &str, at: &str) -> Value {
        let mut value = example("reaction");
        value["id"] = json!(id);
        value["node_id"] = json!(format!("REA_{id}"));
        value["user"] = self.user_json(user);
        value["content"] = json!(content);
        value["created_at"] = json!(at);
        value
    }

    fn status_json(&mut self, repo: &str, s: &StatusState) -> Value {
        let at = self.repos[repo]
            .status_created
            .get(&s.id)
            .cloned()
            .unwrap_or_default();
        let mut value = self.template("status", repo, &[]);
        value["url"] = json!(format!("{}/repos/{repo}/statuses/{}", self.base, s.sha));
        value["id"] = json!(s.id);
        value["node_id"] = json!(format!("SC_{}", s.id));
        value["state"] = json!(s.state);
        value["description"] = json!(s.description);
        value["target_url"] = json!(s.target_url);
        value["context"] = json!(s.context);
        value["created_at"] = json!(at);
        value["updated_at"] = json!(at);
        value["creator"] = self.user_json(&s.creator);
        value
    }

    fn deployment_json(&mut self, repo: &str, d: &DeploymentState) -> Value {
        let at = self.repos[repo]
            .created
            .get(&d.id)
            .cloned()
            .unwrap_or_default();
        let mut value = self.template("deployment-simple-example", repo, &[]);
        let base = &self.base;
        value["url"] = json!(format!("{base}/repos/{repo}/deployments/{}", d.id));
        value["id"] = json!(d.id);
        value["node_id"] = json!(format!("DE_{}", d.id));
        value["sha"] = json!(d.sha);
        value["ref"] = json!(d.ref_);
        value["task"] = json!(d.task);
        value["payload"] = d.payload.clone();
        value["original_environment"] = json!(d.environment);
        value["environment"] = json!(d.environment);
        value["description"] = json!(d.description);
        value["created_at"] = json!(at);
        value["updated_at"] = json!(at);
        value["statuses_url"] = json!(format!("{base}/repos/{repo}/deployments/{}/statuses", d.id));
        value["repository_url"] = json!(format!("{base}/repos/{repo}"));
        value["transient_environment"] = json!(d.transient_environment);
        value["production_environment"] = json!(d.production_environment);
        value["creator"] = self.user_json(&d.creator);
        value
    }

    fn deployment_status_json(
        &mut self,
        repo: &str,
        d: &DeploymentState,
        s: &DeploymentStatusState,
    ) -> Value {
        let at = self.repos[repo]
            .created
            .get(&d.id)
            .cloned()
            .unwrap_or_default();
        let mut value = self.template("deployment-status", repo, &[]);
        let base = &self.base;
        value["url"] = json!(format!(
            "{base}/repos/{repo}/deployments/{}/statuses/{}",
            d.id, s.id
        ));
        value["id"] = json!(s.id);
        value["node_id"] = json!(format!("DES_{}", s.id));
        value["state"] = json!(s.state);
        value["description"] = json!(s.description);
        value["environment"] = json!(s.environment);
        value["target_url"] = json!(s.log_url);
        value["log_url"] = json!(s.log_url);
        value["environment_url"] = json!(s.environment_url);
        value["created_at"] = json!(at);
        value["updated_at"] = json!(at);
        value["deployment_url"] = json!(format!("{base}/repos/{repo}/deployments/{}", d.id));
        value["repository_url"] = json!(format!("{base}/repos/{repo}"));
        value["creator"] = self.user_json(&d.creator);
        value
    }

    fn label_json(&self, repo: &str, name: &str) -> Value {
        let mut value = self.template("label-items", repo, &[])[0].clone();
        let id = 9_000_000 + u64::from_str_radix(&fake_sha(name)[..6], 16).unwrap_or(0);
        value["id"] = json!(id);
        value["node_id"] = json!(format!("LA_{id}"));
        value["url"] = json!(format!("{}/repos/{repo}/labels/{name}", self.base));
        value["name"] = json!(name);
        let (color, description) = self.repos[repo]
            .labels
            .get(name)
            .cloned()
            .unwrap_or_else(|| ("ededed".to_string(), None));
        value["color"] = json!(color);
        value["description"] = json!(description);
        value["default"] = json!(false);
        value
    }

    /// An issue, or a pull request seen through the issues API.
    fn issue_json(&mut self, repo: &str, n: u64) -> Value {
        let number = n.to_string();
        let mut value = self.template("issue", repo, &[("1347", &number)]);
        let r = &self.repos[repo];
        let id = r.id * 100_000 + n;
        let comments = r.comments.iter().filter(|c| c.issue == n).count();
        let (title, body, state, reason, labels, user, times, pull) =
            match (r.issues.get(&n), r.pulls.get(&n)) {
                (Some(i), _) => {
                    let t = r.issue_times[&n].clone();
                    (
                        i.title.clone(),
                        i.body.clone(),
                        i.state.clone(),
                        i.state_reason.clone(),
                        i.labels.clone(),
                        i.user.clone(),
                        t,
                        None,
                    )
                }
                (None, Some(p)) => {
                    let created = r
                        .pull_created
                        .get(&n)
                        .cloned()
                        .unwrap_or_else(|| rfc3339(CLOCK_START));
                    let closed = (pull_state(p) == "closed").then(|| created.clone());
                    (
                        p.title.clone(),
                        None,
                        pull_state(p).to_string(),
                        None,
                        Vec::new(),
                        p.author.clone(),
                        (created.clone(), created, closed),
                        Some(p.clone()),
                    )
                }
                (None, None) => unreachable!("issue_json on a missing issue"),
            };
        value["id"] = json!(id);
        value["node_id"] = json!(format!("I_{id}"));
        value["number"] = json!(n);
        value["title"] = json!(title);
        value["body"] = json!(body);
        value["state"] = json!(state);
        value["state_reason"] = json!(reason);
        value["labels"] = Value::Array(labels.iter().map(|l| self.label_json(repo, l)).collect());
        value["assignee"] = Value::Null;
        value["assignees"] = json!([]);
        value["milestone"] = Value::Null;
        value["locked"] = json!(false);
        value["active_lock_reason"] = Value::Null;
        value["pinned_comment"] = Value::Null;
        value["comments"] = json!(comments);
        value["created_at"] = json!(times.0);
        value["updated_at"] = json!(times.1);
        value["closed_at"] = json!(times.2);
        value["closed_by"] = Value::Null;
        value["author_association"] = json!("NONE");
        value["user"] = self.user_json(&user);
        match pull {
            Some(p) => {
                value["pull_request"]["merged_at"] = if p.merged {
                    json!(times.2)
                } else {
                    Value::Null
                };
            }
            None => {
                value.as_object_mut().unwrap().remove("pull_request");
            }
        }
        value
    }
}

fn injected(fault: &Fault, clock: u64) -> Reply {
    let mut reply = match fault.status {
        403 | 429 if fault.retry_after.is_some() || fault.status == 429 => Reply::json(
            fault.status,
            json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
                "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                "status": fault.status.to_string(),
            }),
        ),
        403 => Reply::json(
            403,
            json!({
                "message": "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                "status": "403",
            }),
        )
        .header("x-ratelimit-limit", "5000".into())
        .header("x-ratelimit-remaining", "0".into())
        .header("x-ratelimit-used", "5000".into())
        .header("x-ratelimit-resource", "core".into())
        .header("x-ratelimit-reset", (clock + 1).to_string()),
        500..=599 => Reply::json(
            fault.status,
            json!({"message": "Server Error", "status": fault.status.to_string()}),
        ),
        status => Reply::json(status, json!({"message": "Injected by the GitHub fake", "documentation_url": DOCS})),
    };
    if let Some(seconds) = fault.retry_after {
        reply = reply.header("retry-after", seconds.to_string());
    }
    reply.injected = true;
    reply
}

/// The decoded query string.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: &str) -> Self {
        Self(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `%XX` escapes of a URL path decoded (as UTF-8, lossily).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn number(segment: &str) -> Result<u64, Reply> {
    segment.parse().map_err(|_| Reply::not_found())
}

fn pull_state(p: &PullSpec) -> &'static str {
    if p.merged || p.state == "closed" {
        "closed"
    } else {
        "open"
    }
}

fn reaction_id(comment: u64, k: usize) -> u64 {
    comment * 100 + k as u64
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn opt_string(body: &Value, key: &str) -> Result<Option<String>, Reply> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Reply::invalid(&format!(
            "Invalid request.\n\nFor 'properties/{key}', it is not a string."
        ))),
    }
}

fn opt_bool(body: &Value, key: &str) -> Result<Option<bool>, Reply> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Reply::invalid(&format!(
            "Invalid request.\n\nFor 'properties/{key}', it is not a boolean."
        ))),
    }
}

/// Labels as GitHub takes them: names, or objects with a `name`.
fn labels_of(value: Option<&Value>) -> Result<Option<Vec<String>>, Reply> {
    let Some(value) = value else { return Ok(None) };
    let Value::Array(items) = value else {
        return Err(Reply::invalid(
            "Invalid request.\n\nFor 'properties/labels', it is not an array.",
        ));
    };
    items
        .iter()
        .map(|i| match i {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => o
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| Reply::invalid("Invalid request.\n\nA label has no name.")),
            _ => Err(Reply::invalid(
                "Invalid request.\n\nA label is not a string.",
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Replaces substrings in every string of a JSON value.
fn rewrite(value: &mut Value, pairs: &[(&str, &str)]) {
    match value {
        Value::String(s) => {
            for (from, to) in pairs {
                if s.contains(from) {
                    *s = s.replace(from, to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, pairs)),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite(v, pairs)),
        _ => {}
    }
}

/// A stable 40-hex-digit name for a string (not a real git object id).
/// The merge commit of a merged PR, the test merge of an open one that
/// merges cleanly, else none.
pub fn merge_sha_of(p: &PullSpec) -> Option<String> {
    match (&p.merge_commit_sha, p.merged || p.state == "closed") {
        (Some(sha), _) => Some(sha.clone()),
        (None, false) if p.mergeable => Some(test_merge_sha(&p.head_sha, &p.base_sha)),
        (None, _) => None,
    }
}

fn fake_sha(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))[..40].to_string()
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// GitHub's OpenAPI description of api.github.com (npm `@octokit/openapi`),
/// parsed once per test binary.
pub fn openapi() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/node_modules/@octokit/openapi/generated/api.github.com.json"
        );
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {path} ({e}): run scripts/setup-test-deps.sh"));
        serde_json::from_str(&text).expect("GitHub's OpenAPI description is JSON")
    })
}

fn examples() -> &'static serde_json::Map<String, Value> {
    openapi()["components"]["examples"]
        .as_object()
        .expect("components.examples in the OpenAPI description")
}

/// The `value` of one of the OpenAPI description's examples.
fn example(name: &str) -> Value {
    examples()
        .get(name)
        .unwrap_or_else(|| panic!("no example {name:?} in @octokit/openapi"))["value"]
        .clone()
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn clock_renders_rfc3339() {
        assert_eq!(rfc3339(super::CLOCK_START), "2024-05-01T12:00:00Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
