//! Deployments and their statuses: the commit's statuses checked on
//! create, and GitHub's `auto_inactive` on success.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::request::{Query, opt_bool, opt_string};
use super::super::server::{Answer, Reply};
use super::super::state::{DeploymentState, DeploymentStatusState, Inner};
use super::super::{DOCS, STATUS_DESCRIPTION_LIMIT};

impl Inner {
    pub(super) fn create_deployment(&mut self, repo: &str, body: &Value) -> Answer {
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

    pub(super) fn list_deployments(
        &mut self,
        repo: &str,
        q: &Query,
        path: &str,
        query: &str,
    ) -> Answer {
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

    pub(super) fn get_deployment(&mut self, repo: &str, id: u64) -> Answer {
        let i = self.find_deployment(repo, id)?;
        let d = self.repos[repo].deployments[i].clone();
        Ok(Reply::json(200, self.deployment_json(repo, &d)))
    }

    pub(super) fn list_deployment_statuses(
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

    pub(super) fn create_deployment_status(&mut self, repo: &str, id: u64, body: &Value) -> Answer {
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
}
