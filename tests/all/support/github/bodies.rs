//! Response bodies: GitHub's documented examples, filled in with what the
//! fake holds.

use serde_json::{Value, json};

use super::REACTIONS;
use super::clock::{CLOCK_START, rfc3339};
use super::openapi::{example, rewrite};
use super::shas::{fake_sha, merge_sha_of};
use super::state::{
    CommentState, DeploymentState, DeploymentStatusState, Inner, PullSpec, StatusState, pull_state,
};

impl Inner {
    pub(super) fn user_json(&mut self, login: &str) -> Value {
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
    pub(super) fn template(&self, name: &str, repo: &str, extra: &[(&str, &str)]) -> Value {
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

    pub(super) fn pull_json(&mut self, repo: &str, p: &PullSpec, full: bool) -> Value {
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

    pub(super) fn diff_entry_json(
        &self,
        repo: &str,
        head_sha: &str,
        file: &str,
        status: &str,
    ) -> Value {
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

    pub(super) fn comment_json(&mut self, c: &CommentState) -> Value {
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

    pub(super) fn reaction_json(&mut self, id: u64, user: &str, content: &str, at: &str) -> Value {
        let mut value = example("reaction");
        value["id"] = json!(id);
        value["node_id"] = json!(format!("REA_{id}"));
        value["user"] = self.user_json(user);
        value["content"] = json!(content);
        value["created_at"] = json!(at);
        value
    }

    pub(super) fn status_json(&mut self, repo: &str, s: &StatusState) -> Value {
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

    pub(super) fn deployment_json(&mut self, repo: &str, d: &DeploymentState) -> Value {
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

    pub(super) fn deployment_status_json(
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

    pub(super) fn label_json(&self, repo: &str, name: &str) -> Value {
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
    pub(super) fn issue_json(&mut self, repo: &str, n: u64) -> Value {
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
