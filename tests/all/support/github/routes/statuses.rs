//! Commit statuses: create (GitHub's checks on state and description) and
//! list, newest first.

use serde_json::Value;

use super::super::STATUS_DESCRIPTION_LIMIT;
use super::super::request::{Query, opt_string};
use super::super::server::{Answer, Reply};
use super::super::shas::is_sha;
use super::super::state::{Inner, StatusState};

impl Inner {
    pub(super) fn create_status(&mut self, repo: &str, sha: &str, body: &Value) -> Answer {
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

    pub(super) fn list_statuses(
        &mut self,
        repo: &str,
        r: &str,
        q: &Query,
        path: &str,
        query: &str,
    ) -> Answer {
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
}
