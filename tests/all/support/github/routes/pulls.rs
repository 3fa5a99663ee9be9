//! Pull requests: list, get (with GitHub's `mergeable: null` while it
//! computes the test merge), files, reviews, the pulls of a commit, and a
//! commit (a test merge or a merge commit).

use serde_json::{Value, json};

use super::super::request::Query;
use super::super::server::{Answer, Reply};
use super::super::shas::merge_sha_of;
use super::super::state::{Inner, PullSpec, pull_state};

impl Inner {
    pub(super) fn list_pulls(&mut self, repo: &str, q: &Query, path: &str, query: &str) -> Answer {
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

    pub(super) fn get_pull(&mut self, repo: &str, n: u64) -> Answer {
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
    pub(super) fn get_commit(&mut self, repo: &str, sha: &str, q: &Query) -> Answer {
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

    pub(super) fn pull_files(
        &mut self,
        repo: &str,
        n: u64,
        q: &Query,
        path: &str,
        query: &str,
    ) -> Answer {
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

    pub(super) fn commit_pulls(
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

    pub(super) fn list_reviews(
        &mut self,
        repo: &str,
        n: u64,
        q: &Query,
        path: &str,
        query: &str,
    ) -> Answer {
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
}
