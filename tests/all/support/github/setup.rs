//! What a test arranges before the bot runs: repositories, pull requests,
//! branches and files, permissions, and what people wrote (comments,
//! labels, reviews, issues).

use std::collections::BTreeSet;

use super::FakeGitHub;
use super::state::{CommentState, IssueState, PullSpec};

impl FakeGitHub {
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
}
