//! The routes the fake implements, one file per API area; anything else
//! is a 404 (and unexpected).

mod checks;
mod comments;
mod contents;
mod deployments;
mod issues;
mod labels;
mod permissions;
mod pulls;
mod queue;
mod statuses;

use serde_json::Value;

use super::request::{Query, number, percent_decode};
use super::server::{Answer, Reply};
use super::state::Inner;

impl Inner {
    pub(super) fn route(
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
            ("GET", ["compare", basehead]) => self.compare(&repo, &percent_decode(basehead), &q),
            ("GET", ["git", "matching-refs", ..]) => {
                let prefix = path.split_once("/git/matching-refs/").map(|(_, p)| p);
                self.matching_refs(&repo, &percent_decode(prefix.unwrap_or_default()))
            }
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
}
