//! Check runs (`checks: write`): created completed, updated in place, their
//! annotations sent 50 a request as GitHub takes them.

use http::Method;
use serde::Deserialize;

use super::{GitHub, GitHubError};
use crate::outcome::{Annotation, CheckOutput};

/// Annotations GitHub takes per request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;

fn annotation_json(a: &Annotation) -> serde_json::Value {
    serde_json::json!({
        "path": a.path,
        "start_line": a.line,
        "end_line": a.line,
        "annotation_level": a.level,
        "message": a.message,
        "title": "ec2-gitops",
    })
}

fn output_json(o: &CheckOutput, annotations: &[Annotation]) -> serde_json::Value {
    serde_json::json!({
        "title": o.title,
        "summary": o.summary,
        "text": o.text,
        "annotations": annotations.iter().map(annotation_json).collect::<Vec<_>>(),
    })
}

impl GitHub {
    /// Creates the check run `name` on `sha`, completed with `o`; returns its
    /// id. Annotations beyond the first 50 follow in updates.
    pub async fn create_check(
        &self,
        sha: &str,
        name: &str,
        o: &CheckOutput,
        details_url: Option<&str>,
    ) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let mut batches = o.annotations.chunks(ANNOTATIONS_PER_REQUEST);
        let mut body = serde_json::json!({
            "name": name,
            "head_sha": sha,
            "status": "completed",
            "conclusion": o.conclusion,
            "output": output_json(o, batches.next().unwrap_or_default()),
        });
        if let Some(u) = details_url {
            body["details_url"] = serde_json::Value::String(u.to_string());
        }
        // A check run made twice is harmless: GitHub shows the latest.
        let created: Created = self
            .json(Method::POST, &self.path("/check-runs"), Some(&body))
            .await?;
        for batch in batches {
            self.annotate(created.id, o, batch).await?;
        }
        Ok(created.id)
    }

    /// Updates the check run `id` in place to `o`. GitHub keeps the
    /// annotations a check run has and appends new ones: a caller with other
    /// annotations than the run's makes a new run instead.
    pub async fn update_check(&self, id: u64, o: &CheckOutput) -> Result<(), GitHubError> {
        let mut batches = o.annotations.chunks(ANNOTATIONS_PER_REQUEST);
        let body = serde_json::json!({
            "status": "completed",
            "conclusion": o.conclusion,
            "output": output_json(o, batches.next().unwrap_or_default()),
        });
        self.call(
            Method::PATCH,
            &self.path(&format!("/check-runs/{id}")),
            Some(&body),
        )
        .await?;
        for batch in batches {
            self.annotate(id, o, batch).await?;
        }
        Ok(())
    }

    async fn annotate(
        &self,
        id: u64,
        o: &CheckOutput,
        batch: &[Annotation],
    ) -> Result<(), GitHubError> {
        let body = serde_json::json!({
            "output": {
                "title": o.title,
                "summary": o.summary,
                "annotations": batch.iter().map(annotation_json).collect::<Vec<_>>(),
            }
        });
        self.call(
            Method::PATCH,
            &self.path(&format!("/check-runs/{id}")),
            Some(&body),
        )
        .await
        .map(|_| ())
    }
}
