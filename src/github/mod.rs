//! The GitHub adapter: one client with domain-level methods (post a comment,
//! set a status, ask a permission…), built on octocrab from an injectable base
//! URL (github.com, GitHub Enterprise, or a local fake). I/O only.
//!
//! Every call is retried on 5xx, on 429 and on secondary rate limits,
//! honouring `retry-after`.

mod checks;
mod comments;
mod labels;
mod pulls;
mod queue;
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
    /// How the login the token writes as is known.
    me_source: IdentitySource,
    /// That login, once known: only its markers are trusted.
    me: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

/// How the client learns the login its token writes as (decided by
/// `action::identity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// Known already.
    Login(String),
    /// Asked with `GET /user` when first needed; a token that is no user's
    /// (an installation's) is `otherwise`.
    TokenUser {
        /// The login of a token GitHub says is no user's.
        otherwise: String,
    },
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
            me_source: IdentitySource::Login(String::new()),
            me: std::sync::Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    /// Says how the login this token writes as is known.
    pub fn set_identity(&mut self, source: IdentitySource) {
        self.me_source = source;
        self.me = std::sync::Arc::new(tokio::sync::OnceCell::new());
    }

    /// The login this token writes as, asked from GitHub the first time it
    /// is needed (never for an event that needs no marker).
    pub async fn identity(&self) -> Result<String, GitHubError> {
        self.me
            .get_or_try_init(|| async {
                match &self.me_source {
                    IdentitySource::Login(login) => Ok(login.clone()),
                    IdentitySource::TokenUser { otherwise } => Ok(self
                        .token_login()
                        .await?
                        .unwrap_or_else(|| otherwise.clone())),
                }
            })
            .await
            .cloned()
    }
}
