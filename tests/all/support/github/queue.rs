//! GitHub's merge queue as a test arranges it: each entry a commit on the
//! one ahead of it (the queue's merge of the pull request's head), and a
//! temporary branch `gh-readonly-queue/{base}/pr-{N}-{sha}` at it, until the
//! test merges or dequeues the entries.

use super::FakeGitHub;
use super::shas::fake_sha;

/// One queue entry: what the `merge_group` event of its group names.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueEntry {
    pub number: u64,
    /// `refs/heads/gh-readonly-queue/main/pr-N-SHA`.
    pub head_ref: String,
    /// The group's head: this entry's commit.
    pub head_sha: String,
    /// The base branch's tip the queue builds on.
    pub base_sha: String,
}

impl FakeGitHub {
    /// Puts pull requests in the merge queue of `base` (at `base_sha`), in
    /// this order, as GitHub does: entry k's commit merges pull request k's
    /// head onto entry k-1's (the base for the first), so the group of
    /// entry k holds the entries ahead of it. Returns the entries in order.
    pub fn enqueue(
        &self,
        owner_repo: &str,
        base: &str,
        base_sha: &str,
        numbers: &[u64],
    ) -> Vec<QueueEntry> {
        let mut inner = self.inner();
        let repo = inner.repo_mut(owner_repo);
        let mut previous = base_sha.to_string();
        let mut out = Vec::new();
        for n in numbers {
            let pull = repo
                .pulls
                .get(n)
                .unwrap_or_else(|| panic!("enqueue: no pull request #{n}; add_pull first"))
                .clone();
            let sha = fake_sha(&format!("queue:{previous}:{n}:{}", pull.head_sha));
            repo.commits.insert(
                sha.clone(),
                (
                    vec![previous.clone(), pull.head_sha.clone()],
                    pull.files.clone(),
                ),
            );
            let branch = format!("gh-readonly-queue/{base}/pr-{n}-{}", pull.head_sha);
            repo.branches.insert(branch.clone(), sha.clone());
            out.push(QueueEntry {
                number: *n,
                head_ref: format!("refs/heads/{branch}"),
                head_sha: sha.clone(),
                base_sha: base_sha.to_string(),
            });
            previous = sha;
        }
        out
    }

    /// Takes an entry out of the queue (merged or dropped): its branch goes.
    pub fn dequeue(&self, owner_repo: &str, entry: &QueueEntry) {
        let branch = entry.head_ref.trim_start_matches("refs/heads/");
        self.inner().repo_mut(owner_repo).branches.remove(branch);
    }
}
