//! What the bot records on commits: statuses and deployments.

use http::Method;
use serde::Deserialize;

use super::{GitHub, GitHubError};

impl GitHub {
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
