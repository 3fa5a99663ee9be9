//! The git data the merge queue is read through: a comparison of two
//! commits (the queue's commits, with the pull requests' heads they merge)
//! and the branches whose names start with a prefix.

use serde_json::{Value, json};

use super::super::request::Query;
use super::super::server::{Answer, Reply};
use super::super::state::Inner;

impl Inner {
    /// `GET /compare/{base}...{head}`: the commits `head` has that `base`
    /// has not, oldest first, paged, and the files they change (page 1).
    pub(super) fn compare(&mut self, repo: &str, basehead: &str, q: &Query) -> Answer {
        let (base, head) = basehead.split_once("...").ok_or_else(Reply::not_found)?;
        let r = &self.repos[repo];
        if !r.commits.contains_key(head) {
            return Err(Reply::not_found());
        }
        let heads: Vec<String> = r.pulls.values().map(|p| p.head_sha.clone()).collect();
        let mut order: Vec<String> = Vec::new();
        let mut stack = vec![(head.to_string(), false)];
        let mut seen = std::collections::BTreeSet::new();
        // Post-order: a commit after its parents (oldest first).
        while let Some((sha, expanded)) = stack.pop() {
            if expanded {
                order.push(sha);
                continue;
            }
            if sha == base || !seen.insert(sha.clone()) {
                continue;
            }
            match r.commits.get(&sha) {
                Some((parents, _)) => {
                    stack.push((sha.clone(), true));
                    for p in parents.iter().rev() {
                        stack.push((p.clone(), false));
                    }
                }
                None if heads.contains(&sha) => order.push(sha),
                None => {}
            }
        }
        let mut files: Vec<(String, String)> = Vec::new();
        for sha in &order {
            for f in r.commits.get(sha).map(|c| c.1.clone()).unwrap_or_default() {
                if !files.contains(&f) {
                    files.push(f);
                }
            }
        }
        let parents_of = |sha: &str| r.commits.get(sha).map(|c| c.0.clone()).unwrap_or_default();
        let total = order.len();
        let per_page = q
            .get("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(250)
            .min(250);
        let page = q
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(1);
        let shown: Vec<(String, Vec<String>)> = order
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|s| (s.clone(), parents_of(s)))
            .collect();
        let mut value = self.template("commit-comparison", repo, &[]);
        let commit_shape = value["commits"][0].clone();
        value["status"] = json!(if total == 0 { "identical" } else { "ahead" });
        value["ahead_by"] = json!(total);
        value["behind_by"] = json!(0);
        value["total_commits"] = json!(total);
        value["commits"] = Value::Array(
            shown
                .into_iter()
                .map(|(sha, parents)| {
                    let mut c = commit_shape.clone();
                    c["sha"] = json!(sha);
                    c["parents"] = json!(
                        parents
                            .iter()
                            .map(|p| json!({"sha": p, "url": format!("{}/repos/{repo}/commits/{p}", self.base)}))
                            .collect::<Vec<_>>()
                    );
                    c
                })
                .collect(),
        );
        value["files"] = if page == 1 {
            Value::Array(
                files
                    .iter()
                    .map(|(f, status)| self.diff_entry_json(repo, head, f, status))
                    .collect(),
            )
        } else {
            json!([])
        };
        Ok(Reply::json(200, value))
    }

    /// `GET /git/matching-refs/{prefix}`: every branch whose full name
    /// starts with `refs/{prefix}`, unpaged, as GitHub answers.
    pub(super) fn matching_refs(&mut self, repo: &str, prefix: &str) -> Answer {
        let want = format!("refs/{prefix}");
        let shape = self.template("git-ref-items", repo, &[])[0].clone();
        let refs: Vec<Value> = self.repos[repo]
            .branches
            .iter()
            .map(|(name, sha)| (format!("refs/heads/{name}"), sha))
            .filter(|(name, _)| name.starts_with(&want))
            .map(|(name, sha)| {
                let mut v = shape.clone();
                v["ref"] = json!(name);
                v["url"] = json!(format!("{}/repos/{repo}/git/{name}", self.base));
                v["object"]["sha"] = json!(sha);
                v["object"]["url"] = json!(format!("{}/repos/{repo}/git/commits/{sha}", self.base));
                v
            })
            .collect();
        Ok(Reply::json(200, Value::Array(refs)))
    }
}
