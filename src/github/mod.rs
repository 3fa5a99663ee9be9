//! The GitHub adapter: one client with domain-level methods (post a comment,
//! set a status, ask a permission…), built on octocrab from an injectable base
//! URL (github.com, GitHub Enterprise, or a local fake). I/O only.
//!
//! Every call is retried on 5xx, on 429 and on secondary rate limits,
//! honouring `retry-after`.

use std::time::Duration;

use http::{Method, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::marker::{self, Marker};

/// A GitHub call that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GitHub {method} {path} failed: {detail}")]
pub struct GitHubError {
    /// HTTP method.
    pub method: String,
    /// Path called.
    pub path: String,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// GitHub's message or the transport error.
    pub detail: String,
    /// The request may have taken effect: it went unanswered or GitHub
    /// answered a server error (a create must be looked for before it is
    /// sent again).
    pub maybe_done: bool,
}

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

impl PullRequest {
    /// True once merged.
    pub fn is_merged(&self) -> bool {
        self.merged.unwrap_or(false) || self.merged_at.is_some()
    }
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
    fn content(self) -> &'static str {
        match self {
            Reaction::Eyes => "eyes",
            Reaction::Rocket => "rocket",
            Reaction::Confused => "confused",
        }
    }
}

/// How hard to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// First backoff (doubled each time) when GitHub gives no `retry-after`.
    pub backoff: Duration,
    /// Longest wait honoured from `retry-after`.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// The GitHub client of one repository.
#[derive(Clone)]
pub struct GitHub {
    client: Octocrab,
    repo: Repo,
    retry: RetryPolicy,
    /// The login the token writes as: only its markers are trusted.
    me: String,
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

/// Whether a request is sent again after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// Sending it twice does no harm: retried on every transient failure.
    Always,
    /// It creates something: after a failure that may have taken effect, it
    /// is returned to the caller, which looks for what it created.
    NotIfMaybeDone,
}

/// Pages fetched at most when listing (100 items a page).
const MAX_PAGES: u32 = 30;

impl GitHub {
    /// Connects to `api_url` (`GITHUB_API_URL`) with a token.
    pub fn new(
        api_url: &str,
        token: &str,
        repo: Repo,
        retry: RetryPolicy,
    ) -> Result<Self, GitHubError> {
        let err = |detail: String| GitHubError {
            method: "-".into(),
            path: api_url.to_string(),
            status: None,
            detail,
            maybe_done: false,
        };
        let client = Octocrab::builder()
            .base_uri(api_url.trim_end_matches('/'))
            .map_err(|e| err(format!("bad API URL: {e}")))?
            .personal_token(token.to_string())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            client,
            repo,
            retry,
            me: String::new(),
        })
    }

    /// Sets the login this token writes as (see `action::identity`).
    pub fn set_identity(&mut self, login: &str) {
        self.me = login.to_string();
    }

    /// The login this token writes as.
    pub fn identity(&self) -> &str {
        &self.me
    }

    /// The login of the token's user (`GET /user`); `None` for a token that
    /// is no user's (an app installation's, the workflow token), which GitHub
    /// answers with 401 or 403.
    pub async fn token_login(&self) -> Result<Option<String>, GitHubError> {
        #[derive(Deserialize)]
        struct Me {
            login: String,
        }
        match self.json::<Me>(Method::GET, "/user", None).await {
            Ok(me) => Ok(Some(me.login)),
            Err(e) if matches!(e.status, Some(401 | 403)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.repo.owner, self.repo.name)
    }

    /// One call with retries; returns status, `Link` header and body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, Option<String>, String), GitHubError> {
        self.call_with(method, path, body, Resend::Always).await
    }

    /// [`Self::call`], resending as `resend` allows.
    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        resend: Resend,
    ) -> Result<(StatusCode, Option<String>, String), GitHubError> {
        let mut delay = self.retry.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let fail = |status: Option<u16>, detail: String| GitHubError {
                method: method.to_string(),
                path: path.to_string(),
                status,
                maybe_done: status.is_none_or(|s| s >= 500),
                detail,
            };
            let resend_maybe_done = resend == Resend::Always;
            let sent = match method {
                Method::GET => self.client._get(path).await,
                Method::POST => self.client._post(path, body).await,
                Method::PATCH => self.client._patch(path, body).await,
                _ => unreachable!("only GET, POST and PATCH are used"),
            };
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < self.retry.attempts && resend_maybe_done => {
                    tracing::warn!(%path, error = %e, attempt, "GitHub unreachable; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    continue;
                }
                Err(e) => return Err(fail(None, format!("unreachable: {e}"))),
            };
            let status = response.status();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let retry_after = header("retry-after").and_then(|s| s.trim().parse::<u64>().ok());
            let link = header("link");
            let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                || (status == StatusCode::FORBIDDEN
                    && (retry_after.is_some()
                        || header("x-ratelimit-remaining").as_deref() == Some("0")));
            let text = self
                .client
                .body_to_string(response)
                .await
                .unwrap_or_default();
            if status.is_success() {
                return Ok((status, link, text));
            }
            let transient = (status.is_server_error() && resend_maybe_done) || rate_limited;
            if transient && attempt < self.retry.attempts {
                let wait = retry_after
                    .map(Duration::from_secs)
                    .unwrap_or(delay)
                    .min(self.retry.max_wait);
                tracing::warn!(%path, %status, attempt, wait_ms = wait.as_millis() as u64, "GitHub asked to retry");
                tokio::time::sleep(wait).await;
                delay *= 2;
                continue;
            }
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or(text);
            return Err(fail(Some(status.as_u16()), format!("{status}: {message}")));
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, GitHubError> {
        let (_, _, text) = self.call(method.clone(), path, body).await?;
        serde_json::from_str(&text).map_err(|e| GitHubError {
            method: method.to_string(),
            path: path.to_string(),
            status: None,
            detail: format!("unexpected answer: {e}"),
            maybe_done: false,
        })
    }

    /// Every page of a list (100 a page, following `Link: rel="next"`);
    /// `stop` ends early once an item is found.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        stop: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, GitHubError> {
        let mut out = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        for page in 1..=MAX_PAGES {
            let p = format!("{path}{sep}per_page=100&page={page}");
            let (_, link, text) = self.call(Method::GET, &p, None).await?;
            let items: Vec<T> = serde_json::from_str(&text).map_err(|e| GitHubError {
                method: "GET".into(),
                path: p.clone(),
                status: None,
                detail: format!("unexpected answer: {e}"),
                maybe_done: false,
            })?;
            let done = items.iter().any(&stop);
            out.extend(items);
            let has_next = link.is_some_and(|l| l.contains("rel=\"next\""));
            if done || !has_next {
                break;
            }
        }
        Ok(out)
    }

    /// A pull request with its test merge computed: GitHub computes it
    /// lazily, answering `mergeable: null` until it is done, so this polls
    /// `GET /pulls/N` (at most `polls` times, backing off) until `mergeable`
    /// is known and, with `base`, until the test merge is made on that base
    /// commit (after a push to the base, the old test merge is answered until
    /// GitHub recomputed it).
    pub async fn test_merge(
        &self,
        number: u64,
        base: Option<&str>,
        polls: u32,
    ) -> Result<(TestMerge, Option<Commit>), GitHubError> {
        let mut delay = self.retry.backoff;
        let mut polled = 0;
        loop {
            polled += 1;
            let pr = self.pull(number).await?;
            if pr.state != "open" {
                return Ok((TestMerge::Closed(pr), None));
            }
            let last = polled >= polls.max(1);
            match (pr.mergeable, pr.merge_commit_sha.clone()) {
                (Some(false), _) => return Ok((TestMerge::Conflict(pr), None)),
                (Some(true), Some(sha)) => {
                    let commit = self.commit(&sha).await?;
                    let on_base =
                        base.is_none_or(|b| commit.parents.first().is_some_and(|p| p == b));
                    if on_base {
                        return Ok((TestMerge::Ready(pr), Some(commit)));
                    }
                    if last {
                        return Ok((TestMerge::Pending(pr), None));
                    }
                }
                _ if last => return Ok((TestMerge::Pending(pr), None)),
                _ => {}
            }
            tracing::info!(number, polled, "test merge not computed yet; polling again");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.retry.max_wait);
        }
    }

    /// A commit's parents and changed files (every page of them: GitHub
    /// pages a commit's files past 300).
    pub async fn commit(&self, sha: &str) -> Result<Commit, GitHubError> {
        #[derive(Deserialize)]
        struct Parent {
            sha: String,
        }
        #[derive(Deserialize)]
        struct Page {
            sha: String,
            #[serde(default)]
            parents: Vec<Parent>,
            #[serde(default)]
            files: Vec<ChangedFile>,
        }
        let mut out: Option<Commit> = None;
        for page in 1..=MAX_PAGES {
            let path = self.path(&format!(
                "/commits/{}?per_page=100&page={page}",
                encode_path(sha)
            ));
            let (_, link, text) = self.call(Method::GET, &path, None).await?;
            let p: Page = parse_answer(&Method::GET, &path, &text)?;
            let got = p.files.len();
            match &mut out {
                None => {
                    out = Some(Commit {
                        sha: p.sha,
                        parents: p.parents.into_iter().map(|p| p.sha).collect(),
                        files: p.files,
                    })
                }
                Some(c) => c.files.extend(p.files),
            }
            if got == 0 || !link.is_some_and(|l| l.contains("rel=\"next\"")) {
                break;
            }
        }
        Ok(out.expect("at least one page"))
    }

    /// A pull request.
    pub async fn pull(&self, number: u64) -> Result<PullRequest, GitHubError> {
        self.json(Method::GET, &self.path(&format!("/pulls/{number}")), None)
            .await
    }

    /// The files a pull request changes.
    pub async fn pull_files(&self, number: u64) -> Result<Vec<ChangedFile>, GitHubError> {
        self.list(&self.path(&format!("/pulls/{number}/files")), |_| false)
            .await
    }

    /// A file's bytes at a commit (the contents API); `None` when the file
    /// does not exist there. Files over 1 MB (which the API does not inline)
    /// and directories are errors.
    pub async fn file_at(&self, path: &str, sha: &str) -> Result<Option<Vec<u8>>, GitHubError> {
        #[derive(Deserialize)]
        struct Content {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            encoding: Option<String>,
            #[serde(default)]
            content: Option<String>,
            #[serde(default)]
            size: u64,
        }
        let route = self.path(&format!(
            "/contents/{}?ref={}",
            encode_path(path),
            encode_path(sha)
        ));
        let fail = |detail: String| GitHubError {
            method: "GET".into(),
            path: route.clone(),
            status: None,
            detail,
            maybe_done: false,
        };
        let value: serde_json::Value = match self.json(Method::GET, &route, None).await {
            Ok(v) => v,
            Err(e) if e.status == Some(404) => return Ok(None),
            Err(e) => return Err(e),
        };
        if value.is_array() {
            return Err(fail(format!("{path} is a directory at {sha}")));
        }
        let c: Content =
            serde_json::from_value(value).map_err(|e| fail(format!("unexpected answer: {e}")))?;
        match (c.kind.as_str(), c.encoding.as_deref(), c.content) {
            ("file", Some("base64"), Some(text)) => {
                let compact: String = text.split_whitespace().collect();
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, compact)
                    .map(Some)
                    .map_err(|e| fail(format!("content is not base64: {e}")))
            }
            ("file", _, _) => Err(fail(format!(
                "{path} is {} bytes at {sha}: the contents API only inlines files up to 1 MB",
                c.size
            ))),
            (other, _, _) => Err(fail(format!("{path} is a {other}, not a file, at {sha}"))),
        }
    }

    /// The first comment on an issue or PR that this token's identity wrote
    /// and whose marker `want` accepts, with that marker. A marker in anyone
    /// else's comment (a person quoting it, another app) is never read.
    pub async fn find_comment(
        &self,
        number: u64,
        want: impl Fn(&Marker) -> bool,
    ) -> Result<Option<(Comment, Marker)>, GitHubError> {
        let ours = |c: &Comment| {
            marker::trusted(&c.user.login, &self.me, c.body.as_deref().unwrap_or(""))
                .filter(|m| want(m))
        };
        let all: Vec<Comment> = self
            .list(&self.path(&format!("/issues/{number}/comments")), |c| {
                ours(c).is_some()
            })
            .await?;
        Ok(all.into_iter().find_map(|c| ours(&c).map(|m| (c, m))))
    }

    /// Posts a comment, once: `body` starts with its marker, and when the
    /// answer to the POST is lost (no answer, or a server error that may
    /// have come after the comment was made) the comments are searched for
    /// that marker before the POST is sent again.
    pub async fn create_comment(&self, number: u64, body: &str) -> Result<Comment, GitHubError> {
        let path = self.path(&format!("/issues/{number}/comments"));
        let first_line = body.lines().next().unwrap_or("");
        let mut last = None;
        for _ in 0..self.retry.attempts.max(1) {
            match self
                .call_with(
                    Method::POST,
                    &path,
                    Some(&serde_json::json!({ "body": body })),
                    Resend::NotIfMaybeDone,
                )
                .await
            {
                Ok((_, _, text)) => return parse_answer(&Method::POST, &path, &text),
                Err(e) if e.maybe_done => {
                    tracing::warn!(%path, error = %e, "comment POST unanswered; looking for it before posting again");
                    let posted = self
                        .find_comment(number, |m| Some(m) == Marker::parse(first_line).as_ref())
                        .await?;
                    if let Some((c, _)) = posted {
                        return Ok(c);
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

    /// A user's access to the repository, from the collaborator-permission
    /// API: `user.permissions.push` decides (so custom roles built on write
    /// work); a user GitHub does not know has none.
    pub async fn permission(&self, user: &str) -> Result<Permission, GitHubError> {
        #[derive(Deserialize)]
        struct Flags {
            #[serde(default)]
            push: bool,
        }
        #[derive(Deserialize)]
        struct Who {
            #[serde(default)]
            permissions: Option<Flags>,
        }
        #[derive(Deserialize)]
        struct Answer {
            permission: String,
            #[serde(default)]
            role_name: Option<String>,
            #[serde(default)]
            user: Option<Who>,
        }
        match self
            .json::<Answer>(
                Method::GET,
                &self.path(&format!("/collaborators/{user}/permission")),
                None,
            )
            .await
        {
            Ok(a) => Ok(Permission {
                // Older GitHub Enterprise answers lack `user.permissions`:
                // then the coarse permission decides.
                push: a
                    .user
                    .and_then(|u| u.permissions)
                    .map_or(matches!(a.permission.as_str(), "admin" | "write"), |p| {
                        p.push
                    }),
                // role_name is the finer one (`maintain`, `triage`, custom
                // roles); permission maps those to write/read.
                role: a
                    .role_name
                    .filter(|r| !r.is_empty())
                    .unwrap_or(a.permission),
            }),
            Err(e) if e.status == Some(404) => Ok(Permission {
                push: false,
                role: "none".into(),
            }),
            Err(e) => Err(e),
        }
    }

    /// Sets a commit status.
    pub async fn set_status(
        &self,
        sha: &str,
        state: &str,
        context: &str,
        description: &str,
        target_url: Option<&str>,
    ) -> Result<(), GitHubError> {
        // GitHub truncates nothing: it refuses descriptions over 140 chars.
        let description: String = description.chars().take(140).collect();
        let mut body =
            serde_json::json!({ "state": state, "context": context, "description": description });
        if let Some(u) = target_url {
            body["target_url"] = serde_json::Value::String(u.to_string());
        }
        self.call(
            Method::POST,
            &self.path(&format!("/statuses/{sha}")),
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    /// The pull requests a commit belongs to (the merged PR of a merge commit).
    pub async fn pulls_for_commit(&self, sha: &str) -> Result<Vec<PullRequest>, GitHubError> {
        self.json(
            Method::GET,
            &self.path(&format!("/commits/{sha}/pulls")),
            None,
        )
        .await
    }

    /// Creates a deployment of `git_ref` to `environment`; returns its id.
    pub async fn create_deployment(
        &self,
        git_ref: &str,
        environment: &str,
        description: &str,
    ) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let created: Created = self
            .json(
                Method::POST,
                &self.path("/deployments"),
                Some(&serde_json::json!({
                    "ref": git_ref,
                    "environment": environment,
                    "description": description,
                    "auto_merge": false,
                    "required_contexts": [],
                    "production_environment": true,
                })),
            )
            .await?;
        Ok(created.id)
    }

    /// Open pull requests of the repository.
    pub async fn open_pulls(&self) -> Result<Vec<PullRequest>, GitHubError> {
        self.list(&self.path("/pulls?state=open"), |_| false).await
    }

    /// The open issue (not PR) with `label` that this token's identity
    /// opened and whose marker `want` accepts.
    pub async fn find_issue(
        &self,
        label: &str,
        want: impl Fn(&Marker) -> bool,
    ) -> Result<Option<IssueRef>, GitHubError> {
        let found = |i: &IssueRef| {
            i.pull_request.is_none()
                && marker::trusted(&i.user.login, &self.me, i.body.as_deref().unwrap_or(""))
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
        let first_line = body.lines().next().unwrap_or("");
        let mut last = None;
        for _ in 0..self.retry.attempts.max(1) {
            match self
                .call_with(
                    Method::POST,
                    &path,
                    Some(&serde_json::json!({ "title": title, "body": body, "labels": [label] })),
                    Resend::NotIfMaybeDone,
                )
                .await
            {
                Ok((_, _, text)) => {
                    return parse_answer::<IssueRef>(&Method::POST, &path, &text).map(|i| i.number);
                }
                Err(e) if e.maybe_done => {
                    let opened = self
                        .find_issue(label, |m| Some(m) == Marker::parse(first_line).as_ref())
                        .await?;
                    if let Some(i) = opened {
                        return Ok(i.number);
                    }
                    tokio::time::sleep(self.retry.backoff).await;
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
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

    /// Records a deployment's outcome (`success`, `failure`, `in_progress`).
    pub async fn deployment_status(
        &self,
        deployment: u64,
        state: &str,
        description: &str,
        log_url: Option<&str>,
    ) -> Result<(), GitHubError> {
        let description: String = description.chars().take(140).collect();
        let mut body = serde_json::json!({ "state": state, "description": description });
        if let Some(u) = log_url {
            body["log_url"] = serde_json::Value::String(u.to_string());
        }
        self.call(
            Method::POST,
            &self.path(&format!("/deployments/{deployment}/statuses")),
            Some(&body),
        )
        .await
        .map(|_| ())
    }
}

/// An answer's JSON as `T`.
fn parse_answer<T: DeserializeOwned>(
    method: &Method,
    path: &str,
    text: &str,
) -> Result<T, GitHubError> {
    serde_json::from_str(text).map_err(|e| GitHubError {
        method: method.to_string(),
        path: path.to_string(),
        status: None,
        detail: format!("unexpected answer: {e}"),
        maybe_done: false,
    })
}

/// Percent-encodes a repository path for a URL, keeping `/` between segments.
fn encode_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_percent_encoded_between_slashes() {
        assert_eq!(
            encode_path("infra/prod web/é#1.yaml"),
            "infra/prod%20web/%C3%A9%231.yaml"
        );
    }

    #[test]
    fn repo_parses_owner_and_name_only() {
        assert_eq!(
            Repo::parse("octo/infra"),
            Some(Repo {
                owner: "octo".into(),
                name: "infra".into()
            })
        );
        assert_eq!(Repo::parse("octo"), None);
        assert_eq!(Repo::parse("octo/infra/x"), None);
        assert_eq!(Repo::parse("/infra"), None);
    }
}
