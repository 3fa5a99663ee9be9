//! The GitHub adapter: one client with domain-level methods (post a comment,
//! set a status, ask a permission…), built on octocrab from an injectable base
//! URL (github.com, GitHub Enterprise, or a local fake). I/O only.
//!
//! Every call is retried on 5xx, on 429 and on secondary rate limits,
//! honouring `retry-after`.

mod comments;
mod pulls;
mod records;
mod transport;
mod types;
mod users;

use std::time::Duration;

use octocrab::Octocrab;

pub use transport::{GitHubError, RetryPolicy};
pub use types::*;

/// The GitHub client of one repository.
#[derive(Clone)]
pub struct GitHub {
    client: Octocrab,
    repo: Repo,
    retry: RetryPolicy,
    /// The login the token writes as: only its markers are trusted.
    me: String,
}

impl GitHub {
    /// Connects to `api_url` (`GITHUB_API_URL`) with a token.
    pub fn new(
        api_url: &str,
        token: &str,
        repo: Repo,
        retry: RetryPolicy,
    ) -> Result<Self, GitHubError> {
        let err = |detail: String| GitHubError {
            method: "-".into(),
            path: api_url.to_string(),
            status: None,
            detail,
            maybe_done: false,
        };
        let client = Octocrab::builder()
            .base_uri(api_url.trim_end_matches('/'))
            .map_err(|e| err(format!("bad API URL: {e}")))?
            .personal_token(token.to_string())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            client,
            repo,
            retry,
            me: String::new(),
        })
    }

    /// Sets the login this token writes as (see `action::identity`).
    pub fn set_identity(&mut self, login: &str) {
        self.me = login.to_string();
    }

    /// The login this token writes as.
    pub fn identity(&self) -> &str {
        &self.me
    }
}
