//! Labels on pull requests: created in the repository when missing, added
//! and removed by name.

use http::Method;

use super::transport::encode_path;
use super::{GitHub, GitHubError};

impl GitHub {
    /// Creates a repository label unless one of that name exists (it is
    /// then left as it is: someone may have recoloured it).
    pub async fn ensure_label(
        &self,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<(), GitHubError> {
        let path = self.path(&format!("/labels/{}", encode_path(name)));
        match self.call(Method::GET, &path, None).await {
            Ok(_) => return Ok(()),
            Err(e) if e.status == Some(404) => {}
            Err(e) => return Err(e),
        }
        let body = serde_json::json!({ "name": name, "color": color, "description": description });
        match self
            .call(Method::POST, &self.path("/labels"), Some(&body))
            .await
        {
            Ok(_) => Ok(()),
            // 422 `already_exists`: another run made it since.
            Err(e) if e.status == Some(422) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds labels to an issue or pull request.
    pub async fn add_labels(&self, number: u64, names: &[&str]) -> Result<(), GitHubError> {
        self.call(
            Method::POST,
            &self.path(&format!("/issues/{number}/labels")),
            Some(&serde_json::json!({ "labels": names })),
        )
        .await
        .map(|_| ())
    }

    /// Removes a label from an issue or pull request; one already gone is
    /// not an error.
    pub async fn remove_label(&self, number: u64, name: &str) -> Result<(), GitHubError> {
        let path = self.path(&format!("/issues/{number}/labels/{}", encode_path(name)));
        match self.call(Method::DELETE, &path, None).await {
            Ok(_) => Ok(()),
            Err(e) if e.status == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
